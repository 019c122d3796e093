// `npm run bench -- load`: the local server under concurrent clients. The
// server runs in a child process (bench/load-server.ts: DynamoDB Local in
// memory, loopback only, stopped at the end); autocannon drives it from this
// process with `--connections` (default 32) for `--seconds` (default 30) per
// route: relay put, relay get, certificate issuance and a device-signed read
// (a device's notices); `--issuance-pool` (default 4000) bounds the issuance
// run, which needs a fresh SE per request. Every request is a real one: fresh mailbox claims and
// request ids, a fresh SE per issuance, a fresh nonce and signature per signed
// request. It reports throughput, p50/p99 latency, connection errors and
// non-2xx/5xx answers; a correct run has 0 of each. Heavy: not part of
// `npm test`, and not run by a bare `npm run bench`.
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { CarKeysClient } from "../src/client/car-keys-client.js";
import { signedRequestHeaders } from "../src/client/signed-fetch.js";
import { newDeviceClaim, rfc3339Utc, TigressClient } from "../src/client/tigress-client.js";
import { factoryAttesterFromFile } from "../src/emulator/secure-element/factory-attester-file.js";
import { SecureElement } from "../src/emulator/secure-element/secure-element.js";
import { toHex } from "../src/protocol/bytes.js";
import { emitRecord, printTable } from "./measure.js";

function flag(name: string, fallback: number, max: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  const value = arg ? Number(arg.slice(name.length + 3)) : fallback;
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new Error(`--${name} must be an integer from 1 to ${max}`);
  }
  return value;
}

interface Server {
  url: string;
  keysDir: string;
  child: ChildProcess;
}

async function startServer(): Promise<Server> {
  const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "load-server.ts")], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once("line", resolve);
    child.once("exit", (code) => reject(new Error(`load server exited (${code}) before it was ready`)));
  });
  lines.close();
  child.stdout!.resume();
  const { url, keysDir } = JSON.parse(first) as { url: string; keysDir: string };
  if (!url.startsWith("http://127.0.0.1:")) throw new Error(`load server is not on loopback: ${url}`);
  return { url, keysDir, child };
}

async function stopServer(server: Server): Promise<void> {
  const exited = new Promise((resolve) => server.child.once("exit", resolve));
  server.child.stdin!.end();
  const timer = setTimeout(() => server.child.kill("SIGTERM"), 30_000);
  await exited;
  clearTimeout(timer);
}

/** The part of autocannon's API this bench uses (autocannon 9, a pinned dev dependency). */
interface RequestSpec {
  method: "GET" | "POST";
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (request: RequestSpec, context: object) => RequestSpec;
}
interface Histogram {
  average: number;
  p50: number;
  p99: number;
}
interface LoadResult {
  requests: Histogram;
  latency: Histogram;
  duration: number;
  errors: number;
  non2xx: number;
  "2xx": number;
  "5xx": number;
  statusCodeStats?: Record<string, { count?: number }>;
}
type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  maxOverallRequests?: number;
  requests: RequestSpec[];
  timeout: number;
}) => Promise<LoadResult>;

async function loadAutocannon(): Promise<Autocannon> {
  // Imported by name at run time, so type-checking and the other bench parts never need it installed.
  const specifier = "autocannon";
  try {
    return ((await import(specifier)) as { default: Autocannon }).default;
  } catch (cause) {
    throw new Error("npm run bench -- load needs the dev dependency autocannon: run npm ci", { cause });
  }
}

export async function benchLoad(): Promise<void> {
  const autocannon = await loadAutocannon();
  const connections = flag("connections", 32, 256);
  const seconds = flag("seconds", 30, 600);
  // Issuance needs a fresh SE per request; the pool bounds that run (an SE costs ~2 ms to make).
  const issuancePool = flag("issuance-pool", 4000, 50_000);
  const server = await startServer();
  try {
    const { url } = server;
    const { attester } = factoryAttesterFromFile(join(server.keysDir, "se-manufacturer.json"));
    const relay = TigressClient.forService(url);
    const client = new CarKeysClient(url);

    // Relay put: CreateMailbox with a fresh claim and request id each time.
    const createBody = JSON.stringify({
      payload: { type: "AEAD_AES_128_GCM", data: Buffer.alloc(1024, 7).toString("base64") },
      displayInformation: {
        title: "Car key",
        description: "A shared car key",
        imageURL: "https://example.com/key.png",
      },
      mailboxConfiguration: { accessRights: "RWD", expiration: rfc3339Utc(new Date(Date.now() + 3600_000)) },
    });
    const relayPut: RequestSpec = {
      method: "POST",
      path: "/v1/m",
      setupRequest: (request) => ({
        ...request,
        headers: {
          "content-type": "application/json",
          "mailbox-request-id": randomUUID(),
          "mailbox-device-claim": newDeviceClaim(),
        },
        body: createBody,
      }),
    };

    // Relay get: mailboxes made beforehand, each read by its bound recipient.
    const mailboxes: { id: string; recipient: string }[] = [];
    for (let i = 0; i < connections; i++) {
      const created = await relay.createMailbox(newDeviceClaim(), JSON.parse(createBody));
      const recipient = newDeviceClaim();
      await relay.readSecureContent(created.mailboxId, recipient);
      mailboxes.push({ id: created.mailboxId, recipient });
    }
    let nextRead = 0;
    const relayGet: RequestSpec = {
      method: "POST",
      setupRequest: (request) => {
        const mailbox = mailboxes[nextRead++ % mailboxes.length]!;
        return {
          ...request,
          path: `/v1/m/${mailbox.id}`,
          headers: { "mailbox-device-claim": mailbox.recipient },
        };
      },
    };

    // Issuance: a fresh SE per request, its instance CA key signs the request.
    const pool = Array.from(
      { length: issuancePool },
      () => SecureElement.create({ manufacturer: attester }).se,
    );
    let nextSe = 0;
    const issuance: RequestSpec = {
      method: "POST",
      path: "/v1/devices",
      setupRequest: (request) => {
        const se = pool[nextSe++ % pool.length]!;
        const body = JSON.stringify({
          seId: se.seId,
          instanceCaPublicKey: toHex(se.instanceCaPublicKey),
          factoryAttestation: toHex(se.factoryAttestation!),
        });
        const headers = signedRequestHeaders(se, `instance:${se.seId}`, {
          method: "POST",
          path: "/v1/devices",
          body: new TextEncoder().encode(body),
        });
        return { ...request, body, headers: { ...headers, "content-type": "application/json" } };
      },
    };

    // Device-signed read: enrolled SEs fetch their notices, each request with its own nonce and signature.
    const readers = Array.from(
      { length: connections },
      () => SecureElement.create({ manufacturer: attester }).se,
    );
    for (const se of readers) await client.enrollSecureElement(se);
    let nextReader = 0;
    const signedRead: RequestSpec = {
      method: "GET",
      setupRequest: (request) => {
        const se = readers[nextReader++ % readers.length]!;
        const path = `/v1/devices/${se.seId}/notices?after=0`;
        const headers = signedRequestHeaders(se, `instance:${se.seId}`, {
          method: "GET",
          path,
          body: new Uint8Array(0),
        });
        return { ...request, path, headers };
      },
    };

    const routes: { name: string; request: RequestSpec; amount?: number }[] = [
      { name: "relay-put", request: relayPut },
      { name: "relay-get", request: relayGet },
      // Bounded by the pool: each SE enrolls once (a repeat is the idempotent retry, not issuance).
      { name: "issuance", request: issuance, amount: issuancePool },
      { name: "device-signed-read", request: signedRead },
    ];
    const rows: Record<string, string | number>[] = [];
    for (const route of routes) {
      const result = await autocannon({
        url,
        connections,
        duration: seconds,
        ...(route.amount ? { maxOverallRequests: route.amount } : {}),
        requests: [route.request],
        timeout: 30,
      });
      const statuses = Object.entries(result.statusCodeStats ?? {})
        .map(([code, s]) => `${code}×${s.count ?? 0}`)
        .join(" ");
      rows.push({
        route: route.name,
        connections,
        "seconds run": Number(result.duration.toFixed(1)),
        requests: result["2xx"] + result.non2xx,
        "req/s": Number(result.requests.average.toFixed(1)),
        "p50 ms": result.latency.p50,
        "p99 ms": result.latency.p99,
        errors: result.errors,
        non2xx: result.non2xx,
        "5xx": result["5xx"],
        statuses,
      });
      emitRecord({
        name: `load-${route.name}`,
        rps: Number(result.requests.average.toFixed(1)),
        p50_ms: result.latency.p50,
        p99_ms: result.latency.p99,
        errors: result.errors,
        non2xx: result.non2xx,
        status_5xx: result["5xx"],
        requests: result["2xx"] + result.non2xx,
        connections,
        seconds: Number(result.duration.toFixed(1)),
      });
    }
    printTable(
      `Load: local server (child process, DynamoDB Local in memory), loopback, ${connections} connections`,
      rows,
    );
  } finally {
    await stopServer(server);
  }
}
