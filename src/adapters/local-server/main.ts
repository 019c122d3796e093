// `npm start`: the whole API on http://127.0.0.1:3000 with DynamoDB Local,
// software OEM root keys and an OEM token, all under `.data/` (see
// local-deployment.ts). This file only reads flags and environment, prints where
// everything is, and stops everything on Ctrl-C; a failure to start is one
// line on stderr and exit code 1, because the usual causes (no Java, a port
// in use, a KMS alias that does not exist) each have a one-line fix.
import { readFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { toHex } from "../../protocol/bytes.js";
import {
  DEFAULT_PORT,
  EXPIRY_SWEEP_FUNCTION,
  type LocalDeployment,
  type LocalDeploymentOptions,
  startLocalDeployment,
} from "./local-deployment.js";

// The project runs on Node 20 on purpose (docs/toolchain.md); the SDK's multi-line notice about Node 22
// would bury the one-line messages this command prints. An explicit setting of it is respected.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

interface Flags {
  readonly port?: number;
  readonly inMemory?: boolean;
  readonly dataDir: string;
  readonly quiet?: boolean;
  readonly mtls?: boolean;
  readonly mtlsCa?: string;
  readonly mtlsPort?: number;
  readonly mtlsCert?: string;
  readonly mtlsKey?: string;
  readonly webhookUrl?: string;
  readonly trustDeviceOem?: string[];
  readonly expirySweepInterval: number;
}

/** How often `npm start` runs the expiry sweep (the stack: hourly), seconds. */
const DEFAULT_EXPIRY_SWEEP_SECONDS = 60;

function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (!/^\d+$/.test(value) || seconds > 86_400)
    throw new InvalidArgumentError("must be a number of seconds (0 to 86400)");
  return seconds;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535)
    throw new InvalidArgumentError("must be a port number (0 to 65535)");
  return port;
}

function program(): Command {
  return new Command("npm start --")
    .description(
      "Runs the Car Keys API locally: the Lambda handlers behind an API Gateway stand-in, DynamoDB Local, " +
        "software OEM root keys. Environment: PORT, OEM_API_TOKEN, AWS_ENDPOINT_URL_DYNAMODB, " +
        "DEVICE_OEM_SIGNER_URI, VEHICLE_OEM_SIGNER_URI (with AWS_ENDPOINT_URL_KMS for a KMS emulator).",
    )
    .option(
      "--port <port>",
      `port to listen on, 127.0.0.1 only (default: PORT or ${DEFAULT_PORT})`,
      parsePort,
    )
    .option("--in-memory", "keep DynamoDB Local's data in memory instead of <data-dir>/dynamodb")
    .option("--data-dir <dir>", "where data, keys and the OEM token live", ".data")
    .option("--quiet", "no access log")
    .option(
      "--mtls",
      "also serve HTTPS with mutual TLS for partner servers; the server-to-server routes then refuse plain HTTP",
    )
    .option("--mtls-ca <file>", "with --mtls: PEM truststore, the CAs whose client certificates are accepted")
    .option(
      "--mtls-port <port>",
      "with --mtls: port of the HTTPS listener (default 3443; 0 picks a free one)",
      parsePort,
    )
    .option(
      "--mtls-cert <file>",
      "with --mtls: the server certificate (PEM; default a self-signed one in <data-dir>/tls/)",
    )
    .option(
      "--webhook-url <url>",
      "POST every service event there, signed (key in <data-dir>/keys/webhook-signing.json, published at GET /v1/webhook-signing-key)",
    )
    .option("--mtls-key <file>", "with --mtls: the server certificate's private key (PEM)")
    .option(
      "--expiry-sweep-interval <seconds>",
      "revoke keys past their end (reason expired) every this many seconds, as the stack does hourly; 0: never",
      parseSeconds,
      DEFAULT_EXPIRY_SWEEP_SECONDS,
    )
    .option(
      "--trust-device-oem <file>",
      "also trust this phone maker's Device OEM root certificate (PEM) for key registration; repeatable",
      (file: string, previous: string[] = []) => [...previous, file],
    )
    .configureOutput({
      outputError: (text, write) => write(`carkeys: ${text.replace(/^error: /, "").trim()}\n`),
    });
}

/** The stack's options from flags and environment (flags win). */
function stackOptions(flags: Flags, env: NodeJS.ProcessEnv): LocalDeploymentOptions {
  const port =
    flags.port ?? (env.PORT === undefined || env.PORT === "" ? DEFAULT_PORT : parsePortEnv(env.PORT));
  const nonEmpty = (value: string | undefined) => (value === undefined || value === "" ? undefined : value);
  const dynamoDbEndpoint = nonEmpty(env.AWS_ENDPOINT_URL_DYNAMODB);
  const deviceOemSignerUri = nonEmpty(env.DEVICE_OEM_SIGNER_URI);
  const vehicleOemSignerUri = nonEmpty(env.VEHICLE_OEM_SIGNER_URI);
  const oemToken = nonEmpty(env.OEM_API_TOKEN);
  const relayLinkBase = nonEmpty(env.RELAY_LINK_BASE_URL);
  return {
    port,
    ...mtlsOptions(flags),
    ...trustedRoots(flags),
    ...(flags.webhookUrl ? { webhookUrl: flags.webhookUrl } : {}),
    dataDir: flags.dataDir,
    expirySweepIntervalMs: flags.expirySweepInterval * 1000,
    ...(flags.inMemory ? { inMemory: true } : {}),
    ...(dynamoDbEndpoint ? { dynamoDbEndpoint } : {}),
    ...(deviceOemSignerUri ? { deviceOemSignerUri } : {}),
    ...(vehicleOemSignerUri ? { vehicleOemSignerUri } : {}),
    ...(oemToken ? { oemToken } : {}),
    ...(relayLinkBase ? { relayLinkBase } : {}),
  };
}

/** `--mtls` and its files, read now so a missing file is one line before anything starts. */
function mtlsOptions(flags: Flags): Pick<LocalDeploymentOptions, "mtls"> {
  const given = [flags.mtlsCa, flags.mtlsPort, flags.mtlsCert, flags.mtlsKey].some((v) => v !== undefined);
  if (!flags.mtls) {
    if (given) throw new Error("--mtls-ca, --mtls-port, --mtls-cert and --mtls-key need --mtls");
    return {};
  }
  if (!flags.mtlsCa)
    throw new Error("--mtls needs --mtls-ca FILE: the CA certificates (PEM) of the partner servers");
  if ((flags.mtlsCert === undefined) !== (flags.mtlsKey === undefined)) {
    throw new Error("--mtls-cert and --mtls-key go together");
  }
  const read = (file: string, flag: string) => {
    try {
      return readFileSync(file, "utf8");
    } catch (error) {
      throw new Error(`${flag} ${file}: ${(error as Error).message}`);
    }
  };
  const ca = read(flags.mtlsCa, "--mtls-ca");
  if (!ca.includes("-----BEGIN CERTIFICATE-----"))
    throw new Error(`--mtls-ca ${flags.mtlsCa} holds no PEM certificate`);
  return {
    mtls: {
      ca,
      ...(flags.mtlsPort === undefined ? {} : { port: flags.mtlsPort }),
      ...(flags.mtlsCert && flags.mtlsKey
        ? { cert: read(flags.mtlsCert, "--mtls-cert"), key: read(flags.mtlsKey, "--mtls-key") }
        : {}),
    },
  };
}

/** `--trust-device-oem` files, read now so a missing one is one line before anything starts. */
function trustedRoots(flags: Flags): Pick<LocalDeploymentOptions, "trustedDeviceOemRoots"> {
  if (!flags.trustDeviceOem) return {};
  return {
    trustedDeviceOemRoots: flags.trustDeviceOem.map((file) => {
      try {
        return readFileSync(file, "utf8");
      } catch (error) {
        throw new Error(`--trust-device-oem ${file}: ${(error as Error).message}`);
      }
    }),
  };
}

function parsePortEnv(value: string): number {
  try {
    return parsePort(value);
  } catch {
    throw new Error(`PORT=${value} is not a port number (0 to 65535)`);
  }
}

/** What `npm start` prints once it is serving: where to call it and where everything lives. */
function banner(stack: LocalDeployment, cwd: string = process.cwd()): string {
  const show = (path: string) => {
    const rel = relative(cwd, path);
    return rel === "" || rel.startsWith("..") ? path : rel;
  };
  const database = {
    "local-file": `DynamoDB Local at ${stack.dynamoDb.endpoint}, data in ${show(stack.dynamoDb.dataDir ?? "")}/`,
    "local-memory": `DynamoDB Local at ${stack.dynamoDb.endpoint}, in memory (gone on exit)`,
    external: `${stack.dynamoDb.endpoint} (AWS_ENDPOINT_URL_DYNAMODB)`,
  }[stack.dynamoDb.kind];
  const token =
    stack.oemTokenSource === "option"
      ? "from OEM_API_TOKEN"
      : stack.oemTokenSource === "generated"
        ? // The token is a bearer secret: a terminal's scrollback, a CI log or a screen share must not hold it.
          `${show(stack.oemTokenFile!)} (new, mode 0600; read it from the file)`
        : show(stack.oemTokenFile!);
  const keys = (uri: string) => (uri.startsWith("softkms:") ? show(uri.slice("softkms:".length)) : uri);
  return [
    `Car Keys API listening on ${stack.url}`,
    `  OpenAPI:     ${stack.url}/openapi.json`,
    `  DynamoDB:    ${database}, table ${stack.tableName}`,
    `  root keys:   Device OEM ${keys(stack.signerUris.deviceOemRoot)}, Vehicle OEM ${keys(stack.signerUris.vehicleOemRoot)}`,
    `  SE maker:    ${show(stack.keysDir)}/se-manufacturer.json (emulated), trusted public key`,
    `               ${toHex(stack.manufacturerPublicKey)}`,
    `  Device OEMs: roots trusted beside the service's own: ${stack.trustedDeviceOemRoots.length}, ` +
      `the emulated "${stack.emulatedDeviceMaker.name}" (${show(stack.emulatedDeviceMaker.rootFile)}) first`,
    `  expiry:      ${
      stack.expirySweepIntervalMs > 0
        ? `keys past their end revoked every ${stack.expirySweepIntervalMs / 1000} s (reason expired)`
        : "no sweep (--expiry-sweep-interval 0): keys past their end stay active in the service"
    }`,
    `               once now: npx carkey oem sweep-expired --function ${EXPIRY_SWEEP_FUNCTION} --endpoint ${stack.url}` +
      (stack.dataDir === resolve(cwd, ".data") ? "" : ` --data-dir ${show(stack.dataDir)}`),
    `  OEM token:   ${token}`,
    "               OEM routes want `authorization: Bearer <token>`, e.g.",
    `               curl -H "authorization: Bearer $(cat ${show(stack.oemTokenFile ?? "<token file>")})" ${stack.url}/v1/keys/000000000000`,
    ...(stack.mtls
      ? [
          `  mTLS:        ${stack.mtls.url} (client certificate required; server certificate ${show(stack.mtls.serverCertFile ?? "as given")})`,
          "               server-to-server routes answer only here; OEM routes take the client certificate as credential",
        ]
      : []),
    "Ctrl-C stops the server and DynamoDB Local.",
  ].join("\n");
}

async function main(): Promise<void> {
  const flags = program().parse(process.argv).opts<Flags>();
  let stack: LocalDeployment;
  try {
    stack = await startLocalDeployment({
      ...stackOptions(flags, process.env),
      ...(flags.quiet
        ? {}
        : {
            onRequest: (entry) =>
              process.stdout.write(`${entry.method} ${entry.path} ${entry.status} ${entry.durationMs} ms\n`),
          }),
      onExpirySweep: ({ report, error }) => {
        if (error) process.stderr.write(`expiry sweep failed: ${oneLine(error)}\n`);
        else if (report && (report.revoked > 0 || report.failed > 0) && !flags.quiet) {
          process.stdout.write(`expiry sweep: ${report.revoked} revoked, ${report.failed} failed\n`);
        }
      },
      onHandlerError: (error, routeKey) => {
        process.stderr.write(`${routeKey} failed: ${(error as Error).stack ?? String(error)}\n`);
      },
    });
  } catch (error) {
    process.stderr.write(`carkeys: ${oneLine(error)}\n`);
    process.exit(1);
  }
  process.stdout.write(`${banner(stack)}\n`);

  let stoppingSince: number | undefined;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stoppingSince !== undefined) {
      // A Ctrl-C in a terminal reaches this process twice: from the terminal
      // (the whole foreground group) and relayed by npm. A repeat within a
      // second is that same keypress; a later one does not wait for a slow
      // shutdown (DynamoDB Local's exit hook still ends the JVM).
      if (Date.now() - stoppingSince < 1000) return;
      process.exit(130);
    }
    stoppingSince = Date.now();
    process.stdout.write(`\n${signal}: stopping the server and DynamoDB Local\n`);
    stack.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`carkeys: ${oneLine(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
}

function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s*\n\s*/g, " ");
}

await main();
