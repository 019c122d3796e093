// `npm run capture-examples`: captures the OpenAPI document's examples from
// real exchanges. It starts the local stack (in memory, with a webhook
// receiver on loopback), puts a recording proxy in front of it, runs the
// whole `carkey demo` story through the proxy, then the few requests the
// story does not make (partner events, the webhook key, OEM reads, refusals
// of each kind it can provoke), and writes, per route, the first request and
// the first answer of each success status it saw, one problem document per
// status, and one webhook delivery, to src/api/examples/exchanges.json
// (src/api/openapi/examples.ts reads it; test/api/api-examples.test.ts checks
// it). Nothing secret is kept: no authorization header, and the keys behind
// the signatures are emulated ones that are gone when the script ends.
//
// The 500 and the 503 come from a second stack, on a DynamoDB Local this
// script starts, in the two states that make the service answer them: a
// Vehicle OEM root whose certificate has expired (signed by the configured
// root key, as a deployment holds it once its root outlives its validity
// without a key rotation: issuing under it is refused as a misconfiguration,
// 500), then the database stopped (503, the request safe to repeat).
//
// A capture never covers less than the file it replaces: before writing, every
// route, success status and problem status of the checked-in file that the
// contract still has must be in the new capture, and every route its success
// status; otherwise nothing is written and the script exits 1 naming what
// would be lost (a demo step that failed on a loaded machine: run it again).
import "reflect-metadata";
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request as httpRequest, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startDynamoDbLocal } from "../src/adapters/dynamodb/dynamodb-local.js";
import { DynamoDbStore } from "../src/adapters/dynamodb/dynamodb-store.js";
import { SoftSigner } from "../src/adapters/kms/soft-signer.js";
import { type LocalDeployment, startLocalDeployment } from "../src/adapters/local-server/local-deployment.js";
import { Router } from "../src/adapters/local-server/router.js";
import type { ApiExamples, CapturedExchange } from "../src/api/openapi/examples.js";
import { ROUTE_TABLE, ROUTES } from "../src/api/routes.js";
import { runDemoStory } from "../src/cli/demo/demo-story.js";
import { otherDeviceMakerIn } from "../src/cli/demo/other-device-maker.js";
import { factoryAttesterFromFile } from "../src/emulator/secure-element/factory-attester-file.js";
import { toHex } from "../src/protocol/bytes.js";
import { createSelfSignedRoot } from "../src/protocol/certificate-issuer.js";
import { subjectKeyIdentifier } from "../src/protocol/certificate-profiles.js";

export const EXAMPLES_FILE = fileURLToPath(new URL("../src/api/examples/exchanges.json", import.meta.url));

/** Answers whose body is the document or page itself: an example of them would be the whole document again. */
export const NOT_CAPTURED = ["GET /openapi.json", "GET /docs"] as const;

/** Request headers an example keeps (what the route reads); never authorization. */
const KEPT_HEADERS = /^(content-type|carkey-[a-z]+|mailbox-[a-z-]+)$/;

interface Recorded {
  readonly routeKey: string;
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: unknown;
  readonly status: number;
  readonly responseType: string;
  readonly responseBody: unknown;
}

function decode(bytes: Buffer, type: string | undefined): unknown {
  if (bytes.length === 0) return undefined;
  const text = bytes.toString("utf8");
  if (type && /json/.test(type)) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

function readAll(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => resolve(Buffer.concat(chunks)));
    stream.on("error", reject);
  });
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );
}

/** A loopback proxy that forwards to `target()` and records each exchange with its route. */
function recordingProxy(target: () => string, recorded: Recorded[]): Server {
  const router = new Router(ROUTES);
  return createServer(async (req, res) => {
    const body = await readAll(req);
    const url = new URL(target());
    const forwarded = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: url.host },
      },
      async (answer) => {
        const answerBody = await readAll(answer);
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        res.end(answerBody);
        const path = req.url ?? "/";
        const match = router.match(req.method ?? "GET", decodeURIComponent(path.split("?")[0]!));
        if (match.kind !== "matched") return;
        const headers = Object.fromEntries(
          Object.entries(req.headers).filter(
            (entry): entry is [string, string] => KEPT_HEADERS.test(entry[0]) && typeof entry[1] === "string",
          ),
        );
        recorded.push({
          routeKey: match.routeKey,
          method: req.method ?? "GET",
          path,
          headers,
          body: decode(body, req.headers["content-type"] ?? "application/json"),
          status: answer.statusCode ?? 0,
          responseType: String(answer.headers["content-type"] ?? ""),
          responseBody: decode(answerBody, answer.headers["content-type"]),
        });
      },
    );
    forwarded.on("error", (error) => {
      res.writeHead(502).end(String(error));
    });
    forwarded.end(body);
  });
}

/** Picks, per route, the first request and the first answer of each success status; per status one problem. */
export function examplesFrom(recorded: readonly Recorded[], webhook: ApiExamples["webhook"]): ApiExamples {
  const operations: Record<
    string,
    { request?: CapturedExchange["request"]; responses: Record<string, { body?: unknown }> }
  > = {};
  const problems: Record<string, unknown> = {};
  for (const exchange of recorded) {
    if ((NOT_CAPTURED as readonly string[]).includes(exchange.routeKey)) continue;
    const route = ROUTE_TABLE[exchange.routeKey as keyof typeof ROUTE_TABLE] as
      | { response: { status: number; repeatStatus?: number } }
      | undefined;
    if (!route) continue;
    const success =
      exchange.status === route.response.status || exchange.status === route.response.repeatStatus;
    if (!success) {
      if (exchange.status >= 400 && /problem\+json/.test(exchange.responseType)) {
        problems[String(exchange.status)] ??= exchange.responseBody;
      }
      continue;
    }
    const operation = operations[exchange.routeKey] ?? { responses: {} };
    operations[exchange.routeKey] = operation;
    operation.request ??= {
      method: exchange.method,
      path: exchange.path,
      ...(Object.keys(exchange.headers).length > 0 ? { headers: exchange.headers } : {}),
      ...(exchange.body !== undefined ? { body: exchange.body } : {}),
    };
    operation.responses[String(exchange.status)] ??=
      exchange.responseBody === undefined ? {} : { body: exchange.responseBody };
  }
  const sorted = <T>(record: Record<string, T>) =>
    Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
  return { operations: sorted(operations), problems: sorted(problems), ...(webhook ? { webhook } : {}) };
}

/** Runs the story and the extra requests through the proxy; returns what was recorded. */
export async function captureExamples(): Promise<ApiExamples> {
  const recorded: Recorded[] = [];
  let webhook: ApiExamples["webhook"];
  const receiver = createServer(async (req, res) => {
    const body = await readAll(req);
    webhook ??= {
      headers: Object.fromEntries(
        Object.entries(req.headers).filter(
          (entry): entry is [string, string] =>
            entry[0].startsWith("carkeys-webhook-") && typeof entry[1] === "string",
        ),
      ),
      body: JSON.parse(body.toString("utf8")) as unknown,
    };
    res.writeHead(204).end();
  });
  const receiverUrl = await listen(receiver);
  let stackUrl = "";
  const proxy = recordingProxy(() => stackUrl, recorded);
  const proxyUrl = await listen(proxy);
  const dataDir = mkdtempSync(join(tmpdir(), "carkeys-capture-"));
  try {
    const stack = await startLocalDeployment({
      port: 0,
      inMemory: true,
      dataDir: join(dataDir, "story"),
      webhookUrl: `${receiverUrl}/events`,
      // Share links point at the proxy, so the friend's reads of a mailbox are recorded too.
      relayLinkBase: proxyUrl,
    });
    stackUrl = stack.url;
    try {
      const { attester } = factoryAttesterFromFile(join(stack.keysDir, "se-manufacturer.json"));
      // The stack's emulated second phone maker, whose root it trusts: the story's cross-platform share.
      const otherDeviceMaker = await otherDeviceMakerIn(stack.keysDir);
      const failed: string[] = [];
      const ok = await runDemoStory(
        {
          url: proxyUrl,
          oemToken: stack.oemToken,
          manufacturer: attester,
          ...(otherDeviceMaker ? { otherDeviceMaker } : {}),
        },
        (step) => {
          if (!step.ok) failed.push(`${step.step}: ${step.detail}`);
        },
      );
      // A step whose outcome depends on timing (a key valid for 3 s) can miss on a loaded machine; the
      // exchanges it made are real all the same, and only answers the route documents as success are kept.
      // What a failed step would leave out, the coverage check below refuses.
      if (!ok) process.stderr.write(`note: demo steps not as expected: ${failed.join("; ")}\n`);
      await extraRequests(proxyUrl, stack.oemToken, recorded);
    } finally {
      await stack.stop();
    }
    await misconfiguredAndUnavailable(proxyUrl, join(dataDir, "outage"), recorded, (url) => {
      stackUrl = url;
    });
  } finally {
    await new Promise((resolve) => proxy.close(resolve));
    await new Promise((resolve) => receiver.close(resolve));
    rmSync(dataDir, { recursive: true, force: true });
  }
  return examplesFrom(recorded, webhook);
}

/** What the story does not do: partner events, the webhook key, OEM reads by id, and refusals. */
async function extraRequests(url: string, token: string, recorded: readonly Recorded[]): Promise<void> {
  const oem = { authorization: `Bearer ${token}` };
  const json = { ...oem, "content-type": "application/json" };
  const call = (method: string, path: string, headers: Record<string, string> = {}, body?: string) =>
    fetch(`${url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const seen = (key: string) => recorded.find((r) => r.routeKey === key && r.status < 300);

  await call("GET", "/v1/webhook-signing-key");
  const event = (type: string, extra: Record<string, string> = {}) =>
    JSON.stringify({ eventId: randomUUID(), type, occurredAt: new Date().toISOString(), ...extra });
  await call("POST", "/v1/events", json, event("heartbeat"));
  const registered = seen("POST /v1/keys");
  const keyId = (registered?.responseBody as { keyId?: string } | undefined)?.keyId;
  const vehicleId = (registered?.responseBody as { vehicleId?: string } | undefined)?.vehicleId;
  if (keyId) await call("GET", `/v1/keys/${keyId}`, oem);
  if (vehicleId) await call("GET", `/v1/vehicles/${vehicleId}/keys`, oem);

  // A mailbox of the story's invitation body, to show the preview, a read, a relinquish and a repeated create.
  const created = seen("POST /v1/m");
  if (created) {
    const initiator = { "mailbox-device-claim": randomUUID(), "mailbox-request-id": randomUUID() };
    const body = JSON.stringify(created.body);
    const first = await call("POST", "/v1/m", { ...initiator, "content-type": "application/json" }, body);
    const link = new URL(((await first.json()) as { urlLink: string }).urlLink);
    await call("POST", "/v1/m", { ...initiator, "content-type": "application/json" }, body); // repeat: 201
    await call("GET", link.pathname);
    const recipient = { "mailbox-device-claim": randomUUID() };
    await call("POST", link.pathname, recipient);
    // 403: only the Recipient may relinquish; the Initiator's claim is refused by the access rights.
    await call("PATCH", link.pathname, {
      "mailbox-device-claim": initiator["mailbox-device-claim"],
      "mailbox-request-id": randomUUID(),
    });
    await call("PATCH", link.pathname, { ...recipient, "mailbox-request-id": randomUUID() });
  }
  // Repeats an OEM makes: the same vehicle enrolled again answers 200 with what the first did.
  const vehicle = seen("POST /v1/vehicles");
  if (vehicle) await call("POST", "/v1/vehicles", json, JSON.stringify(vehicle.body));

  // Refusals, one per status the story did not already provoke.
  await call("POST", "/v1/vehicles", json, JSON.stringify({ vehicleId: "not hex" })); // 400
  await call("GET", "/v1/keys/000000000000"); // 401: no credential
  await call("GET", "/v1/keys/000000000000", oem); // 404
  if (vehicleId) await call("GET", `/v1/vehicles/${vehicleId}/revocations?after=999999`, oem); // 409
  await call("POST", "/v1/vehicles", { ...oem, "content-type": "text/plain" }, "{}"); // 415
  await call("POST", "/v1/vehicles", json, JSON.stringify({ pad: "x".repeat(300 * 1024) })); // 413
  await relayRateLimit(call);
}

/**
 * 429 from the relay's own limits (src/service/relay/rate-limiter.ts): one device claim reads
 * mailboxes faster than its bucket refills (a burst of 60, one a second). Each read of an unknown
 * mailbox still costs a token, so bursts of reads with one claim spend it; a loaded machine that
 * sends them slowly gets a few more bursts before the bucket is empty.
 */
async function relayRateLimit(
  call: (method: string, path: string, headers?: Record<string, string>) => Promise<Response>,
): Promise<void> {
  const claim = { "mailbox-device-claim": randomUUID() };
  for (let burst = 0; burst < 10; burst++) {
    const answers = await Promise.all(
      Array.from({ length: 80 }, () => call("POST", `/v1/m/${randomUUID()}`, claim)),
    );
    await Promise.all(answers.map((answer) => answer.arrayBuffer()));
    if (answers.some((answer) => answer.status === 429)) return;
  }
  process.stderr.write("note: the relay never answered 429 to ten bursts of 80 reads\n");
}

/**
 * The 500 and the 503, from a stack in the states that cause them (the file's header says which),
 * through the same proxy. The vehicle enrolled is a new one each time, so nothing is a repeat.
 */
async function misconfiguredAndUnavailable(
  proxyUrl: string,
  dataDir: string,
  recorded: readonly Recorded[],
  route: (stackUrl: string) => void,
): Promise<void> {
  const enrolled = recorded.find((r) => r.routeKey === "POST /v1/vehicles" && r.status === 201);
  if (!enrolled) throw new Error("the story enrolled no vehicle: nothing to enroll on the second stack");
  const database = await startDynamoDbLocal();
  let databaseRunning = true;
  let stack: LocalDeployment | undefined;
  try {
    stack = await startLocalDeployment({
      port: 0,
      dataDir,
      dynamoDbEndpoint: database.endpoint,
      relayLinkBase: proxyUrl,
    });
    route(stack.url);
    await storeExpiredVehicleRoot(stack);
    const enroll = () =>
      fetch(`${proxyUrl}/v1/vehicles`, {
        method: "POST",
        headers: { authorization: `Bearer ${stack!.oemToken}`, "content-type": "application/json" },
        body: JSON.stringify(enrolled.body),
      });
    const misconfigured = await enroll();
    await misconfigured.arrayBuffer();
    if (misconfigured.status !== 500)
      throw new Error(`an expired root answered ${misconfigured.status}, not 500`);
    await database.stop();
    databaseRunning = false;
    const unavailable = await enroll();
    await unavailable.arrayBuffer();
    if (unavailable.status !== 503)
      throw new Error(`a stopped database answered ${unavailable.status}, not 503`);
  } finally {
    await stack?.stop();
    if (databaseRunning) await database.stop();
  }
}

/** A Vehicle OEM root certificate that expired yesterday, self-signed by the stack's own root key. */
async function storeExpiredVehicleRoot(stack: LocalDeployment): Promise<void> {
  const signer = await SoftSigner.open(stack.keysDir, "vehicle-oem-root");
  const publicKey = await signer.publicKey();
  const day = 24 * 3600 * 1000;
  const notAfter = new Date(Date.now() - day);
  const notBefore = new Date(notAfter.getTime() - 365 * day);
  const root = await createSelfSignedRoot({
    profile: "vehicle-oem-root",
    signer,
    subject: { organization: "Car Keys Local" },
    notBefore,
    notAfter,
  });
  const store = new DynamoDbStore({
    tableName: stack.tableName,
    clientConfig: { endpoint: stack.dynamoDb.endpoint },
  });
  await store.createRootCertificate({
    profile: "vehicle-oem-root",
    keyId: toHex(subjectKeyIdentifier(publicKey)),
    publicKey: toHex(publicKey),
    certificatePem: root.pem,
    serialNumber: root.serialNumber,
    createdAt: notBefore.toISOString(),
  });
}

/**
 * What `next` would lose against `previous` (the checked-in capture) and against the contract:
 * routes, success statuses and problem statuses `previous` has for routes the contract still has,
 * the webhook delivery, and any route of the contract (but the document and page) without its
 * success status. Empty when `next` may replace `previous`.
 */
export function coverageLost(previous: ApiExamples | undefined, next: ApiExamples): string[] {
  const lost: string[] = [];
  const routes = new Set(Object.keys(ROUTE_TABLE));
  for (const [key, exchange] of Object.entries(previous?.operations ?? {})) {
    if (!routes.has(key)) continue;
    const now = next.operations[key];
    if (!now) {
      lost.push(`${key}: no exchange`);
      continue;
    }
    if (exchange.request && !now.request) lost.push(`${key}: no request`);
    for (const status of Object.keys(exchange.responses)) {
      if (!now.responses[status]) lost.push(`${key}: no ${status} answer`);
    }
  }
  for (const route of ROUTES) {
    if ((NOT_CAPTURED as readonly string[]).includes(route.key)) continue;
    if (!next.operations[route.key]?.responses[String(route.response.status)]) {
      const line = `${route.key}: no ${route.response.status} answer`;
      if (!lost.includes(line) && !lost.includes(`${route.key}: no exchange`)) lost.push(line);
    }
  }
  for (const status of Object.keys(previous?.problems ?? {})) {
    if (!(status in next.problems)) lost.push(`problem ${status}: none`);
  }
  if (previous?.webhook && !next.webhook) lost.push("webhook: no delivery");
  return lost;
}

async function main(): Promise<void> {
  const previous = existsSync(EXAMPLES_FILE)
    ? (JSON.parse(readFileSync(EXAMPLES_FILE, "utf8")) as ApiExamples)
    : undefined;
  const examples = await captureExamples();
  const lost = coverageLost(previous, examples);
  if (lost.length > 0) {
    process.stderr.write(
      `${EXAMPLES_FILE} not written: this capture covers less than the contract or the file it would replace:\n` +
        lost.map((line) => `  ${line}\n`).join(""),
    );
    process.exitCode = 1;
    return;
  }
  writeFileSync(EXAMPLES_FILE, `${JSON.stringify(examples, null, 2)}\n`);
  const routes = Object.keys(examples.operations).length;
  process.stdout.write(
    `${EXAMPLES_FILE}: ${routes} routes, problems ${Object.keys(examples.problems).join(" ")}, webhook ${examples.webhook ? "yes" : "no"}\n`,
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
