// The webhook endpoint an automaker's backend runs to receive the Car Keys
// service's events (docs/events/service-event.v1.schema.json), written against
// the published client package (`carkeys/client`) alone.
//
// Every delivery is an HTTPS POST whose body is one event, signed by the
// service (ECDSA P-256 over "carkeys-webhook-v1" LF id LF timestamp LF body;
// README "Events: a versioned schema, EventBridge and signed webhooks"). The
// receiver trusts nothing it has not checked:
// - the signature, with the key the service publishes at
//   GET /v1/webhook-signing-key (fetched at start; fetched again, at most once
//   a minute, when a signature fails, so a rotated key is picked up without a
//   restart and a stream of forgeries cannot make it hammer the service);
// - the timestamp, within 300 s of this machine's clock, so an old capture is
//   refused;
// - the delivery id, remembered while its timestamp could still pass, so a
//   recent capture sent again is refused too.
// Anything refused answers 401 with the reason, and the service logs it (a
// delivery is not retried: subscribe to EventBridge where every event
// matters). An accepted event answers 204; types this receiver does not know
// are accepted and ignored, as a v1 receiver must.
//
// Run it, then point the service at it:
//   npm run build && npx tsx examples/webhook-receiver.ts
//   npm start -- --webhook-url http://127.0.0.1:8787/carkeys-events
// Settings: CARKEYS_URL (default http://127.0.0.1:3000), WEBHOOK_PORT (default
// 8787; 0 picks a free one). It prints one JSON line when it listens and one
// per delivery, and stops on SIGINT or SIGTERM.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  DEFAULT_WEBHOOK_TOLERANCE_SECONDS,
  fetchWebhookSigningKey,
  verifyWebhook,
  WEBHOOK_HEADERS,
  type WebhookVerification,
} from "carkeys/client";

const baseUrl = process.env.CARKEYS_URL ?? "http://127.0.0.1:3000";
const port = Number(process.env.WEBHOOK_PORT ?? 8787);
const PATH = "/carkeys-events";
/** Events are a few hundred bytes; anything far larger is not one of the service's. */
const MAX_BODY_BYTES = 64 * 1024;
const KEY_REFRESH_INTERVAL_MS = 60_000;
const EVENT_SCHEMA = "urn:carkeys:event:v1";

/** What the backend reads of an event: the envelope every v1 event has, and the ids it may carry. */
interface ServiceEvent {
  readonly schema: string;
  readonly type: string;
  readonly occurredAt: string;
  /** Key events (key.revoked, key.terminated, key.expired). */
  readonly keyId?: string;
  readonly vehicleId?: string;
  /** Device events carry the secure element in their detail. */
  readonly detail?: { readonly seId?: string; readonly [field: string]: unknown };
}

const log = (facts: Record<string, unknown>) => console.log(JSON.stringify(facts));
const nowSeconds = () => Math.floor(Date.now() / 1000);

// ---- the verification key, refreshed when a signature fails (bounded) -----------------------------

let publicKey = (await fetchWebhookSigningKey(baseUrl)).publicKey;
let keyFetchedAt = Date.now();

async function refreshedKey(): Promise<boolean> {
  if (Date.now() - keyFetchedAt < KEY_REFRESH_INTERVAL_MS) return false;
  keyFetchedAt = Date.now();
  const fresh = (await fetchWebhookSigningKey(baseUrl)).publicKey;
  const changed = Buffer.compare(Buffer.from(fresh), Buffer.from(publicKey)) !== 0;
  publicKey = fresh;
  return changed;
}

// ---- delivery ids accepted, each kept until its timestamp is too old to pass anyway ----------------

const seenIds = new Set<string>();
const forgetAt = new Map<string, number>();

function forgetExpiredIds(now: number): void {
  for (const [id, at] of forgetAt) {
    if (at >= now) continue;
    forgetAt.delete(id);
    seenIds.delete(id);
  }
}

async function verify(headers: Record<string, string | undefined>, body: Uint8Array) {
  const now = nowSeconds();
  forgetExpiredIds(now);
  const check = (): WebhookVerification => verifyWebhook({ publicKey, headers, body, now, seenIds });
  let result = check();
  if (result.reason === "bad-signature" && (await refreshedKey())) result = check();
  if (result.ok && result.id) {
    const timestamp = Number(headers[WEBHOOK_HEADERS.timestamp]);
    forgetAt.set(result.id, timestamp + DEFAULT_WEBHOOK_TOLERANCE_SECONDS);
  }
  return result;
}

// ---- the endpoint -------------------------------------------------------------------------------------

function readBody(req: IncomingMessage): Promise<Uint8Array | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on("end", () => resolve(size > MAX_BODY_BYTES ? undefined : new Uint8Array(Buffer.concat(chunks))));
    req.on("error", reject);
  });
}

/** What the backend does with an event it verified: here, say what happened; a real one updates its records. */
function handle(event: ServiceEvent, id: string): void {
  const subject = { keyId: event.keyId, vehicleId: event.vehicleId, seId: event.detail?.seId };
  switch (event.type) {
    case "key.revoked":
    case "key.terminated":
    case "key.expired":
      log({ delivery: "accepted", id, type: event.type, action: "mark the key unusable", ...subject });
      return;
    case "device.suspended":
    case "device.resumed":
      log({ delivery: "accepted", id, type: event.type, action: "show the device's lost mode", ...subject });
      return;
    default:
      log({ delivery: "accepted", id, type: event.type, action: "none", ...subject });
  }
}

async function receive(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://receiver");
  if (url.pathname !== PATH) {
    res.writeHead(404).end();
    return;
  }
  if (req.method !== "POST") {
    res.writeHead(405, { allow: "POST" }).end();
    return;
  }
  const body = await readBody(req);
  if (!body) {
    log({ delivery: "refused", status: 413, reason: "body-too-large" });
    res.writeHead(413).end();
    return;
  }
  const headers = Object.fromEntries(
    Object.entries(req.headers).map(([name, value]) => [name, Array.isArray(value) ? value[0] : value]),
  );
  const check = await verify(headers, body);
  if (!check.ok || !check.id) {
    log({ delivery: "refused", status: 401, reason: check.reason, id: check.id });
    res.writeHead(401, { "content-type": "text/plain" }).end(check.reason);
    return;
  }
  let event: ServiceEvent;
  try {
    event = JSON.parse(Buffer.from(body).toString("utf8")) as ServiceEvent;
  } catch {
    log({ delivery: "refused", status: 400, reason: "not-json", id: check.id });
    res.writeHead(400).end();
    return;
  }
  if (event?.schema !== EVENT_SCHEMA || typeof event.type !== "string") {
    // Signed by the service but of a format this receiver was not written for: a new schema identifier.
    log({ delivery: "refused", status: 400, reason: "unknown-schema", id: check.id, schema: event?.schema });
    res.writeHead(400).end();
    return;
  }
  handle(event, check.id);
  res.writeHead(204).end();
}

const server = createServer((req, res) => {
  receive(req, res).catch((error: unknown) => {
    log({ delivery: "failed", error: (error as Error).message });
    if (!res.headersSent) res.writeHead(500);
    res.end();
  });
});
await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
log({ listening: `http://127.0.0.1:${(server.address() as AddressInfo).port}${PATH}`, keyFrom: baseUrl });

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => server.close(() => process.exit(0)));
}
