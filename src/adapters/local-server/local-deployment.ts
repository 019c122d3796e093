// The whole service on a laptop, as one call: DynamoDB Local (or a DynamoDB
// you name), the table, the two OEM root signers and an emulated SE
// manufacturer key, a static OEM token, and the local server in front of the
// Lambda handlers. `npm start` (main.ts) and the tests and demos all start it
// through here, so they run one configuration, not three.
//
// The stack builds the settings a Lambda would read from its environment
// (src/adapters/service-assembly.ts, relay-assembly.ts) as objects, and each
// function's handler with `makeHandler(dependencies)` from them, so the
// handlers run the very code a Lambda runs with what this stack assembled.
// Nothing goes through process.env: the DynamoDB endpoint, region and local
// credentials are in the settings, and two stacks run side by side in one
// process, each with its own database, keys and handlers.
//
import { randomBytes } from "node:crypto";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { KMSClient } from "@aws-sdk/client-kms";
import type { MessageSigner } from "../../protocol/signer.js";
import { parseDeviceOemRoots } from "../../service/device-oem-roots.js";
import type { ExpirySweepReport } from "../../service/expiry-sweep.js";
import { buildOnce } from "../../service/http/dependency-source.js";
import type { RateLimits } from "../../service/relay/rate-limiter.js";
import { TigressRelay } from "../../service/relay/relay-service.js";
import {
  type AwsClientSettings,
  documentClientFor,
  dynamoDbClientConfig,
  kmsClientConfig,
} from "../aws-client-settings.js";
import { type DynamoDbLocal, startDynamoDbLocal } from "../dynamodb/dynamodb-local.js";
import { DynamoDbRelayStore } from "../dynamodb/dynamodb-relay-store.js";
import { ensureTable } from "../dynamodb/table-design.js";
import {
  EXPIRY_SWEEP_TIMEOUT_MS,
  makeHandler as expirySweepHandler,
  sweepExpiredKeys,
} from "../function-handlers/expiry-sweep.js";
import { provisionSigningKey } from "../kms/kms-key-provisioner.js";
import { fileMacKey } from "../kms/mac-keys.js";
import { signerFromUri } from "../kms/signer-from-uri.js";
import { SoftSigner } from "../kms/soft-signer.js";
import { relayLinkBase } from "../relay-assembly.js";
import {
  assembleServiceDependencies,
  type ServiceDependencies,
  type ServiceSettings,
} from "../service-assembly.js";
import { openEmulatedDeviceMaker } from "./emulated-device-maker.js";
import { LocalDeploymentError } from "./errors.js";
import { startExpiryTimer } from "./expiry-timer.js";
import { type AccessLogEntry, type HandlerMap, type LocalServer, startLocalServer } from "./local-server.js";
import { localServerTlsIdentity, type TlsIdentity } from "./tls-server-certificate.js";

export interface LocalDeploymentOptions {
  /** Port of the API; default 3000, 0 picks a free one. */
  readonly port?: number;
  /** Where data, keys and the token live; default `.data` in the working directory. */
  readonly dataDir?: string;
  /** Run DynamoDB Local in memory instead of in `<dataDir>/dynamodb`. */
  readonly inMemory?: boolean;
  /** Use this DynamoDB (e.g. LocalStack, or one already running) instead of starting DynamoDB Local. */
  readonly dynamoDbEndpoint?: string;
  /** Default "carkeys-local". */
  readonly tableName?: string;
  /** Default `softkms:<dataDir>/keys#device-oem-root`; e.g. `awskms:alias/…` for a KMS emulator. */
  readonly deviceOemSignerUri?: string;
  /** Default `softkms:<dataDir>/keys#vehicle-oem-root`. */
  readonly vehicleOemSignerUri?: string;
  /** The OEM token; default: `<dataDir>/oem-token`, generated on first run. */
  readonly oemToken?: string;
  /** Organization name in the roots and the certificates they issue; default "Car Keys Local". */
  readonly oemName?: string;
  /** Handlers to serve instead of the functions' own (benchmarks and tests of the server only). */
  readonly handlers?: HandlerMap;
  readonly onRequest?: (entry: AccessLogEntry) => void;
  readonly onHandlerError?: (error: unknown, routeKey: string) => void;
  /**
   * Serve the server-to-server routes over mutual TLS too (`npm start -- --mtls`): an HTTPS listener
   * that accepts only client certificates chaining to `ca`; those routes then refuse the plain listener.
   */
  readonly mtls?: LocalDeploymentMtlsOptions;
  /** POST every service event, signed, to this URL (https, or http on loopback); key `<dataDir>/keys/webhook-signing.json`. */
  readonly webhookUrl?: string;
  /**
   * Other phone makers' Device OEM root certificates (PEM, each string one or more) the service
   * trusts for key registration, beside the emulated second maker it always trusts
   * (emulated-device-maker.ts); `npm start -- --trust-device-oem FILE`.
   */
  readonly trustedDeviceOemRoots?: readonly string[];
  /**
   * Run the expiry sweep (src/adapters/function-handlers/expiry-sweep.ts, hourly in AWS) every this many milliseconds;
   * `npm start` runs it every minute. Default: never by itself, only `sweepExpiredKeys()`, so a test
   * or bench that counts DynamoDB operations per request sees no sweep in between.
   */
  readonly expirySweepIntervalMs?: number;
  /** Each expiry sweep's report, or a timed run's failure; default: nothing. */
  readonly onExpirySweep?: (outcome: { report?: ExpirySweepReport; error?: unknown }) => void;
  /** The origin of the relay's share links; default this stack's own URL (`RELAY_LINK_BASE_URL` for `npm start`). */
  readonly relayLinkBase?: string;
  /** The relay's rate limits; default the relay's own (the load bench opens them wide). */
  readonly relayRateLimits?: RateLimits;
}

export interface LocalDeploymentMtlsOptions {
  /** Port of the HTTPS listener; default 3443, 0 picks a free one. */
  readonly port?: number;
  /** The truststore: PEM of the CA certificates whose client certificates are accepted. */
  readonly ca: string;
  /** The server's certificate and key (PEM); default a self-signed one under `<dataDir>/tls/`. */
  readonly cert?: string;
  readonly key?: string;
}

export const DEFAULT_MTLS_PORT = 3443;

export interface LocalDeployment {
  /** e.g. http://127.0.0.1:3000 */
  readonly url: string;
  readonly port: number;
  readonly oemToken: string;
  /** Where the token came from: given in the options, read from the file, or generated now (and written). */
  readonly oemTokenSource: "option" | "file" | "generated";
  /** The token file (absent when the token was given). */
  readonly oemTokenFile: string | undefined;
  readonly dataDir: string;
  readonly keysDir: string;
  readonly dynamoDb: {
    readonly endpoint: string;
    /** "local-file": DynamoDB Local with its data in `dataDir`; "local-memory": in memory; "external": not ours. */
    readonly kind: "local-file" | "local-memory" | "external";
    readonly dataDir: string | undefined;
  };
  readonly tableName: string;
  readonly signerUris: { readonly deviceOemRoot: string; readonly vehicleOemRoot: string };
  /** The emulated second phone maker whose Device OEM root the service trusts (for demos and tests). */
  readonly emulatedDeviceMaker: { readonly name: string; readonly rootFile: string };
  /** Every configured Device OEM root the service trusts beside its own: the emulated maker's first. */
  readonly trustedDeviceOemRoots: readonly string[];
  /** The emulated SE manufacturer: signs factory attestations the service trusts (for demos and tests). */
  readonly manufacturer: MessageSigner;
  readonly manufacturerPublicKey: Uint8Array;
  /** The mutual-TLS listener (https://127.0.0.1:3443) and the certificate it presents, when `mtls` was given. */
  readonly mtls:
    | { readonly url: string; readonly serverCertPem: string; readonly serverCertFile?: string }
    | undefined;
  /** Milliseconds between the stack's own expiry sweeps; 0: none. */
  readonly expirySweepIntervalMs: number;
  /** One run of the expiry sweep now, as the scheduled function runs it: revokes keys past their end. */
  sweepExpiredKeys(): Promise<ExpirySweepReport>;
  /** Stops the server, then DynamoDB Local if this stack started it. */
  stop(): Promise<void>;
}

export const DEFAULT_PORT = 3000;
export const DEFAULT_TABLE_NAME = "carkeys-local";
/** The expiry sweep's function name on the local server's Invoke API path (the stack's function's). */
export const EXPIRY_SWEEP_FUNCTION = "expiry-sweep";
const MANUFACTURER_KEY_NAME = "se-manufacturer";
const WEBHOOK_KEY_NAME = "webhook-signing";

/** Under `<dataDir>/keys`: the device pseudonym secret (src/service/device-pseudonyms.ts). */
export const DEVICE_PSEUDONYM_KEY_FILE = "device-pseudonym.key";

export async function startLocalDeployment(options: LocalDeploymentOptions = {}): Promise<LocalDeployment> {
  return start(options);
}

async function start(options: LocalDeploymentOptions): Promise<LocalDeployment> {
  const dataDir = resolve(options.dataDir ?? ".data");
  const keysDir = join(dataDir, "keys");
  const tableName = options.tableName ?? DEFAULT_TABLE_NAME;
  const port = options.port ?? DEFAULT_PORT;
  await mkdir(dataDir, { recursive: true, mode: 0o700 });

  const token = await resolveOemToken(options.oemToken, join(dataDir, "oem-token"));
  if (!/^[\x21-\x7e]{16,512}$/.test(token.value)) {
    throw new LocalDeploymentError(
      `the OEM token (${token.file ?? "OEM_API_TOKEN"}) must be 16 to 512 printable ASCII characters without spaces`,
    );
  }
  const deviceOemSignerUri = options.deviceOemSignerUri ?? `softkms:${keysDir}#device-oem-root`;
  const vehicleOemSignerUri = options.vehicleOemSignerUri ?? `softkms:${keysDir}#vehicle-oem-root`;
  const manufacturer = await SoftSigner.open(keysDir, MANUFACTURER_KEY_NAME);
  // The secret that names devices in the table: generated (mode 0600) on the first start, kept after.
  const pseudonymKeyPath = join(keysDir, DEVICE_PSEUDONYM_KEY_FILE);
  await fileMacKey(pseudonymKeyPath);
  const manufacturerPublicKey = await manufacturer.publicKey();
  // The other phone maker of the demos: its root is trusted as a configured one, never held as a signer.
  const deviceMaker = await openEmulatedDeviceMaker(keysDir);
  const trustedDeviceOemRoots = [deviceMaker.rootPem, ...(options.trustedDeviceOemRoots ?? [])];
  let trustedRoots: ServiceSettings["trustedDeviceOemRoots"];
  try {
    // Checked here, so a wrong file is one line at start-up rather than a failing first request.
    trustedRoots = parseDeviceOemRoots(trustedDeviceOemRoots.join("\n"), "the trusted Device OEM roots");
  } catch (cause) {
    throw new LocalDeploymentError((cause as Error).message, { cause });
  }
  let linkBaseOption: string | undefined;
  try {
    linkBaseOption = options.relayLinkBase ? relayLinkBase(options.relayLinkBase) : undefined;
  } catch (cause) {
    throw new LocalDeploymentError((cause as Error).message, { cause });
  }
  const dynamoDbIsLocal = options.dynamoDbEndpoint === undefined || isLoopback(options.dynamoDbEndpoint);
  const aws = awsClientSettings(dynamoDbIsLocal && !usesRealKms(deviceOemSignerUri, vehicleOemSignerUri));
  // Ask each root signer for its public key now: a KMS alias that does not exist fails here, in one line.
  for (const [name, uri] of [
    ["Device OEM root", deviceOemSignerUri],
    ["Vehicle OEM root", vehicleOemSignerUri],
  ] as const) {
    try {
      await provisionEmulatedKey(uri, name, aws);
      const kmsClient = uri.startsWith("awskms:") ? new KMSClient(kmsClientConfig(aws)) : undefined;
      try {
        await (await signerFromUri(uri, kmsClient ? { kmsClient } : {})).publicKey();
      } finally {
        kmsClient?.destroy();
      }
    } catch (cause) {
      throw new LocalDeploymentError(
        `the ${name} signer ${uri} does not answer: ${(cause as Error).message}`,
        {
          cause,
        },
      );
    }
  }

  let local: DynamoDbLocal | undefined;
  let dynamoDb: LocalDeployment["dynamoDb"];
  if (options.dynamoDbEndpoint !== undefined) {
    dynamoDb = { endpoint: options.dynamoDbEndpoint, kind: "external", dataDir: undefined };
  } else {
    const dbDir = options.inMemory ? undefined : join(dataDir, "dynamodb");
    local = await startDynamoDbLocal(dbDir === undefined ? {} : { dataDir: dbDir });
    dynamoDb = { endpoint: local.endpoint, kind: dbDir ? "local-file" : "local-memory", dataDir: dbDir };
  }

  let server: LocalServer | undefined;
  let service: () => Promise<ServiceDependencies> = async () => {
    throw new LocalDeploymentError("the stack is not started");
  };
  let ownUrl = "";
  let tls: (Pick<TlsIdentity, "certPem" | "keyPem"> & { certFile?: string }) | undefined;
  try {
    if (options.mtls) {
      tls =
        options.mtls.cert !== undefined && options.mtls.key !== undefined
          ? { certPem: options.mtls.cert, keyPem: options.mtls.key }
          : await localServerTlsIdentity(join(dataDir, "tls"));
    }
    const oemName = options.oemName ?? "Car Keys Local";
    const stackAws: AwsClientSettings = { ...aws, dynamoDbEndpoint: dynamoDb.endpoint };
    const settings: ServiceSettings = {
      tableName,
      deviceOemSignerUri,
      vehicleOemSignerUri,
      manufacturerPublicKey,
      deviceOem: { organization: oemName },
      vehicleOem: { organization: oemName },
      creatableRoots: ["device-oem-root", "vehicle-oem-root"],
      devicePseudonymKeyUri: `file:${pseudonymKeyPath}`,
      ...(options.webhookUrl
        ? { webhook: { url: options.webhookUrl, signerUri: `softkms:${keysDir}#${WEBHOOK_KEY_NAME}` } }
        : {}),
      trustedDeviceOemRoots: trustedRoots,
      serverToServerMtls: options.mtls !== undefined,
      aws: stackAws,
    };
    service = buildOnce(() => assembleServiceDependencies(settings));
    const relay = buildOnce(async () => ({
      relay: new TigressRelay({
        store: new DynamoDbRelayStore({ tableName, client: documentClientFor(stackAws) }),
        ...(options.relayRateLimits ? { rateLimits: options.relayRateLimits } : {}),
      }),
      // Share links point at this server, as in AWS they point at the API's endpoint: never at a Host
      // header a client sent. Read at the first relay request, when the server listens.
      linkBase: linkBaseOption ?? ownUrl,
    }));
    const client = new DynamoDBClient(dynamoDbClientConfig(stackAws));
    try {
      await ensureTable(client, tableName);
    } finally {
      client.destroy();
    }
    server = await startLocalServer({
      ...(tls && options.mtls
        ? {
            mtls: {
              port: options.mtls.port ?? DEFAULT_MTLS_PORT,
              ca: options.mtls.ca,
              cert: tls.certPem,
              key: tls.keyPem,
            },
          }
        : {}),
      port,
      host: "127.0.0.1",
      oemCredential: token.value,
      ...(options.handlers ? { handlers: options.handlers } : {}),
      // The relay takes the relay's dependencies, the documents none, every other function the service's.
      dependencies: (name) => (name === "relay" ? relay : name === "openapi" ? {} : service),
      // The sweep on demand, as the deployed function is invoked (`carkey oem sweep-expired`).
      invocableFunctions: {
        [EXPIRY_SWEEP_FUNCTION]: {
          handler: expirySweepHandler(service),
          timeoutMs: EXPIRY_SWEEP_TIMEOUT_MS,
        },
      },
      ...(options.onRequest ? { onRequest: options.onRequest } : {}),
      ...(options.onHandlerError ? { onHandlerError: options.onHandlerError } : {}),
    });
  } catch (error) {
    await local?.stop();
    if ((error as NodeJS.ErrnoException).code === "EADDRINUSE") {
      const busy = (error as { port?: number }).port ?? port;
      const setting = busy === port ? "PORT" : "--mtls-port";
      throw new LocalDeploymentError(
        `port ${busy} is in use: set ${setting} to another port (0 picks a free one)`,
        {
          cause: error,
        },
      );
    }
    throw error;
  }

  const listening = server;
  ownUrl = listening.url;
  const onSweep = options.onExpirySweep ?? (() => {});
  const expiry = startExpiryTimer({
    intervalMs: options.expirySweepIntervalMs ?? 0,
    run: async () => {
      const report = await sweepExpiredKeys((await service()).service);
      onSweep({ report });
      return report;
    },
    onError: (error) => onSweep({ error }),
  });
  let stopped: Promise<void> | undefined;
  return {
    url: listening.url,
    port: listening.port,
    oemToken: token.value,
    oemTokenSource: token.source,
    oemTokenFile: token.file,
    dataDir,
    keysDir,
    dynamoDb,
    tableName,
    signerUris: { deviceOemRoot: deviceOemSignerUri, vehicleOemRoot: vehicleOemSignerUri },
    manufacturer,
    manufacturerPublicKey,
    emulatedDeviceMaker: { name: deviceMaker.name, rootFile: deviceMaker.rootFile },
    trustedDeviceOemRoots,
    mtls:
      listening.mtlsUrl && tls
        ? {
            url: listening.mtlsUrl,
            serverCertPem: tls.certPem,
            ...(tls.certFile ? { serverCertFile: tls.certFile } : {}),
          }
        : undefined,
    expirySweepIntervalMs: Math.max(0, options.expirySweepIntervalMs ?? 0),
    sweepExpiredKeys: () => expiry.runOnce(),
    stop() {
      stopped ??= (async () => {
        try {
          await expiry.stop();
          await listening.close();
        } finally {
          await local?.stop();
        }
      })();
      return stopped;
    },
  };
}

/**
 * Region and, when nothing real is reached, placeholder credentials: the SDK insists on both. A
 * developer's own AWS settings (region, profile, keys in the environment) are never overridden.
 */
function awsClientSettings(localOnly: boolean): AwsClientSettings {
  const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1";
  const kms = kmsEndpoint();
  // DynamoDB Local and KMS emulators accept any credentials.
  const placeholder = localOnly && !process.env.AWS_ACCESS_KEY_ID && !process.env.AWS_PROFILE;
  return {
    region,
    ...(placeholder ? { credentials: { accessKeyId: "local", secretAccessKey: "local" } } : {}),
    ...(kms ? { kmsEndpoint: kms } : {}),
  };
}

/**
 * `awskms:alias/…` against a KMS emulator on this machine: creates the key
 * behind the alias on first use, as `npm start` does for softkms keys. Never
 * against a real KMS, where the stack owns the keys.
 */
async function provisionEmulatedKey(uri: string, name: string, aws: AwsClientSettings): Promise<void> {
  if (!uri.startsWith("awskms:alias/") || !isLoopback(kmsEndpoint() ?? "")) return;
  const client = new KMSClient(kmsClientConfig(aws));
  try {
    await provisionSigningKey(client, uri.slice("awskms:".length), { description: `Car Keys local ${name}` });
  } finally {
    client.destroy();
  }
}

function kmsEndpoint(): string | undefined {
  return process.env.AWS_ENDPOINT_URL_KMS || process.env.AWS_ENDPOINT_URL || undefined;
}

async function resolveOemToken(
  given: string | undefined,
  file: string,
): Promise<{ value: string; source: LocalDeployment["oemTokenSource"]; file: string | undefined }> {
  if (given !== undefined) return { value: given, source: "option", file: undefined };
  try {
    const info = await stat(file);
    if (process.platform !== "win32" && (info.mode & 0o077) !== 0) {
      throw new LocalDeploymentError(`${file} is readable by others: chmod 600 it`);
    }
    const value = (await readFile(file, "utf8")).trim();
    return { value, source: "file", file };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const value = randomBytes(32).toString("base64url");
  try {
    await writeFile(file, `${value}\n`, { mode: 0o600, flag: "wx" });
    return { value, source: "generated", file };
  } catch (error) {
    // Another start wrote it first: use theirs.
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    return { value: (await readFile(file, "utf8")).trim(), source: "file", file };
  }
}

function isLoopback(endpoint: string): boolean {
  try {
    const host = new URL(endpoint).hostname;
    return host === "127.0.0.1" || host === "localhost" || host === "[::1]";
  } catch {
    return false;
  }
}

/** True when a root lives in KMS that is not a local emulator. */
function usesRealKms(...uris: string[]): boolean {
  if (!uris.some((uri) => uri.startsWith("awskms:"))) return false;
  const endpoint = kmsEndpoint();
  return endpoint === undefined || !isLoopback(endpoint);
}
