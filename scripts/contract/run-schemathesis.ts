// The contract test: Schemathesis generates requests for every operation of
// the served OpenAPI document (/openapi.json) and checks every answer against
// it, here against the whole local stack (startLocalDeployment: the Lambda
// handlers behind the local server, DynamoDB Local in memory). A 500, a status
// the document does not list, a wrong content type or a body that does not
// match its schema is a failure.
//
// How the requests are authenticated: OEM routes with the stack's OEM token
// (Schemathesis sends it for the document's bearer scheme); device routes
// through the signing proxy (device-signing-proxy.ts), which signs each one
// with the fixture SE's keys using the project's client code. The fixture
// (contract-fixture.ts) gives the read routes real identifiers.
//
// `npm run contract-test` runs it and prints Schemathesis's own output;
// test/contract/schemathesis.test.ts runs it in the suite. Schemathesis comes
// from scripts/install-schemathesis.sh (.tools/schemathesis). Everything
// listens on 127.0.0.1 and stops at the end.
// The service's per-request logs would drown Schemathesis's report (WARN and above still show).
import "../../src/cli/quiet-service-logs.js";
// @peculiar/x509 (through tsyringe) needs the Reflect metadata polyfill before it loads.
import "reflect-metadata";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startLocalDeployment } from "../../src/adapters/local-server/local-deployment.js";
import { type ContractFixture, makeContractFixture } from "./contract-fixture.js";
import { startDeviceSigningProxy } from "./device-signing-proxy.js";

const ROOT = resolve(fileURLToPath(new URL("../../", import.meta.url)));
export const SCHEMATHESIS_BIN = join(ROOT, ".tools", "schemathesis", "bin", "schemathesis");

/** The checks every answer must pass (Schemathesis 4 names). */
export const CONTRACT_CHECKS = [
  "not_a_server_error",
  "status_code_conformance",
  "content_type_conformance",
  "response_headers_conformance",
  "response_schema_conformance",
  // Not `missing_required_header`: the relay's per-claim rate limit answers 429 before it reads the
  // headers once a fixed claim has made 60 requests. Not `ignored_auth`: it sends made-up signature
  // headers, which the signing proxy replaces with a real signature, so the route accepts.
] as const;

export interface ContractRunOptions {
  /** Test cases per operation and phase (Schemathesis --max-examples); default 20. */
  readonly maxExamples?: number;
  /** Default CONTRACT_CHECKS. */
  readonly checks?: readonly string[];
  /** Default 1, so a failure replays with the same seed. */
  readonly seed?: number;
  /** Schemathesis's output, as it comes; default: kept and returned only. */
  readonly onOutput?: (chunk: string) => void;
}

export interface ContractRunResult {
  /** Schemathesis's exit code: 0 when every check passed. */
  readonly exitCode: number;
  readonly output: string;
  /** Operations in the document and operations Schemathesis tested. */
  readonly operations: { readonly total: number; readonly tested: number };
  /** The operations (and "Stateful tests") of Schemathesis's JUnit report, and those with a failure. */
  readonly testedOperations: readonly string[];
  readonly failedOperations: readonly string[];
  /** From Schemathesis's summary line, e.g. "1091 generated, 1091 passed". */
  readonly cases: { readonly generated: number; readonly passed: number; readonly failed: number };
  /** Device requests the proxy signed, by route. */
  readonly signed: Readonly<Record<string, number>>;
  /** Handler failures the local server reported (each would be a 500). */
  readonly handlerErrors: readonly { readonly routeKey: string; readonly error: string }[];
}

/** Schemathesis is not installed (scripts/install-schemathesis.sh puts it in .tools/). */
export class SchemathesisMissingError extends Error {
  override name = "SchemathesisMissingError";
}

export async function runContractTest(options: ContractRunOptions = {}): Promise<ContractRunResult> {
  if (!existsSync(SCHEMATHESIS_BIN)) {
    throw new SchemathesisMissingError(
      `${SCHEMATHESIS_BIN} is missing: run bash scripts/install-schemathesis.sh`,
    );
  }
  const workdir = await mkdtemp(join(tmpdir(), "carkeys-contract-"));
  const handlerErrors: { routeKey: string; error: string }[] = [];
  // Webhooks on, so GET /v1/webhook-signing-key answers its key and every event is delivered (and signed).
  const webhooks = await startWebhookSink();
  try {
    const stack = await startLocalDeployment({
      port: 0,
      inMemory: true,
      dataDir: join(workdir, "data"),
      webhookUrl: webhooks.url,
      onHandlerError: (error, routeKey) =>
        handlerErrors.push({
          routeKey,
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        }),
    });
    try {
      const fixture = await makeContractFixture(stack);
      const proxy = await startDeviceSigningProxy({
        upstream: stack.url,
        se: fixture.se,
        signers: fixture.signers,
      });
      try {
        // The served document, from a file: Schemathesis leaves out the operation that serves the
        // document it was loaded from, and GET /openapi.json is an operation of the contract too.
        const documentText = await (await fetch(`${stack.url}/openapi.json`)).text();
        const document = JSON.parse(documentText) as OpenApiShape;
        const documentFile = join(workdir, "openapi.json");
        await writeFile(documentFile, documentText);
        const config = join(workdir, "schemathesis.toml");
        await writeFile(config, schemathesisConfig(document, stack.oemToken, fixture));
        const run = await runSchemathesis(
          [
            "--config-file",
            config,
            "run",
            documentFile,
            "--url",
            proxy.url,
            "--checks",
            (options.checks ?? CONTRACT_CHECKS).join(","),
            "--max-examples",
            String(options.maxExamples ?? 20),
            "--seed",
            String(options.seed ?? 1),
            "--workers",
            "1",
            // A read route whose only parameter is a fixed fixture id has nothing left to vary, which
            // Hypothesis reports as "too many examples filtered out": a property of the fixture, not the API.
            "--suppress-health-check",
            "filter_too_much",
            "--generation-database",
            "none",
            "--no-color",
            "--request-timeout",
            "30",
            "--report",
            "junit",
            "--report-junit-path",
            join(workdir, "junit.xml"),
          ],
          workdir,
          options.onOutput,
        );
        const junit = await readFile(join(workdir, "junit.xml"), "utf8").catch(() => "");
        return {
          exitCode: run.exitCode,
          output: run.output,
          operations: {
            total: Object.values(document.paths).reduce((n, item) => n + Object.keys(item).length, 0),
            tested: Number(/Tested:\s+(\d+)/.exec(run.output)?.[1] ?? 0),
          },
          testedOperations: testcases(junit)
            .map((c) => c.name)
            .filter((name) => name !== "Stateful tests"),
          failedOperations: testcases(junit)
            .filter((c) => c.failed)
            .map((c) => c.name),
          cases: casesOf(run.output),
          signed: Object.fromEntries(proxy.signed),
          handlerErrors,
        };
      } finally {
        await proxy.close();
      }
    } finally {
      await stack.stop();
    }
  } finally {
    await webhooks.close();
    await rm(workdir, { recursive: true, force: true });
  }
}

/** A loopback receiver that takes every webhook delivery and answers 204. */
async function startWebhookSink(): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    req.resume();
    req.once("end", () => res.writeHead(204).end());
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolveListen());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks`,
    close: () =>
      new Promise<void>((resolveClose) => {
        server.close(() => resolveClose());
        server.closeAllConnections();
      }),
  };
}

interface OpenApiShape {
  readonly paths: Record<string, Record<string, unknown>>;
  readonly components?: { readonly securitySchemes?: Record<string, { type?: string; scheme?: string }> };
}

/**
 * The configuration file: the OEM token for the document's bearer scheme
 * (found by its type, whatever it is named) and the fixture's identifiers as
 * the path parameters of the routes that act on them (and the mailbox
 * Initiator's claim where only it gets past authentication).
 */
export function schemathesisConfig(
  document: OpenApiShape,
  oemToken: string,
  fixture: ContractFixture,
): string {
  const schemes = Object.entries(document.components?.securitySchemes ?? {});
  const bearer = schemes.find(([, s]) => s.type === "http" && s.scheme?.toLowerCase() === "bearer")?.[0];
  if (!bearer) throw new Error("the OpenAPI document has no bearer security scheme for the OEM token");
  const quote = (text: string) => JSON.stringify(text);
  const { mailbox } = fixture;
  const fixed: [string, Record<string, string>][] = [
    ["GET /v1/keys/{keyId}", { "path.keyId": fixture.ownerKeyId }],
    ["GET /v1/vehicles/{vehicleId}/keys", { "path.vehicleId": fixture.vehicleId }],
    ["GET /v1/vehicles/{vehicleId}/notices", { "path.vehicleId": fixture.vehicleId }],
    ["GET /v1/vehicles/{vehicleId}/revocations", { "path.vehicleId": fixture.vehicleId }],
    ["POST /v1/vehicles/{vehicleId}/pairing", { "path.vehicleId": fixture.vehicleId }],
    ["GET /v1/devices/{seId}/notices", { "path.seId": fixture.seId }],
    ["GET /v1/m/{id}", { "path.id": mailbox.id }],
    ["POST /v1/m/{id}", { "path.id": mailbox.id }],
    ["PATCH /v1/m/{id}", { "path.id": mailbox.id }],
    ["PUT /v1/m/{id}", { "path.id": mailbox.id, "header.mailbox-device-claim": mailbox.claim }],
    ["DELETE /v1/m/{id}", { "path.id": mailbox.deletableId, "header.mailbox-device-claim": mailbox.claim }],
  ];
  return [
    `[auth.openapi.${quote(bearer)}]`,
    `bearer = ${quote(oemToken)}`,
    "",
    ...fixed.flatMap(([name, parameters]) => [
      "[[operations]]",
      `include-name = ${quote(name)}`,
      `parameters = { ${Object.entries(parameters)
        .map(([key, value]) => `${quote(key)} = ${quote(value)}`)
        .join(", ")} }`,
      "",
    ]),
  ].join("\n");
}

/** `<testcase name="GET /v1/keys/{keyId}" …>`, failed when a `<failure` or `<error` follows before its end. */
function testcases(junit: string): { name: string; failed: boolean }[] {
  return [...junit.matchAll(/<testcase name="([^"]*)"[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g)].map((m) => ({
    name: m[1]!.replaceAll("&quot;", '"').replaceAll("&amp;", "&"),
    failed: /<(failure|error)\b/.test(m[3] ?? ""),
  }));
}

function casesOf(output: string): ContractRunResult["cases"] {
  const line = /Test cases:\s*\n\s*([^\n]+)/.exec(output)?.[1] ?? "";
  const count = (word: string) => Number(new RegExp(`(\\d+) ${word}`).exec(line)?.[1] ?? 0);
  const unique = Number(/(\d+) unique failures?/.exec(line)?.[1] ?? 0);
  return { generated: count("generated"), passed: count("passed"), failed: count("failed") + unique };
}

function runSchemathesis(
  args: string[],
  cwd: string,
  onOutput: ((chunk: string) => void) | undefined,
): Promise<{ exitCode: number; output: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(SCHEMATHESIS_BIN, args, {
      cwd,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1", COLUMNS: "120" },
    });
    let output = "";
    const take = (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      output += text;
      onOutput?.(text);
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.once("error", reject);
    child.once("close", (code) => resolvePromise({ exitCode: code ?? 1, output }));
  });
}

// `npm run contract-test [-- --max-examples N]`
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf("--max-examples");
  const maxExamples = at > 0 ? Number(process.argv[at + 1]) : undefined;
  const checksAt = process.argv.indexOf("--checks");
  const checks = checksAt > 0 ? process.argv[checksAt + 1]?.split(",") : undefined;
  runContractTest({
    ...(checks ? { checks } : {}),
    ...(maxExamples ? { maxExamples } : {}),
    onOutput: (chunk) => process.stdout.write(chunk),
  }).then(
    (result) => {
      console.log(
        JSON.stringify({
          operations: result.operations,
          cases: result.cases,
          signed: result.signed,
          handlerErrors: result.handlerErrors.length,
        }),
      );
      for (const { routeKey, error } of result.handlerErrors)
        console.error(`handler error ${routeKey}: ${error}`);
      process.exitCode = result.exitCode === 0 && result.handlerErrors.length === 0 ? 0 : 1;
    },
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : String(error));
      process.exitCode = 1;
    },
  );
}
