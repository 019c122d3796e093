// Signed webhook deliveries of the service's events (README "Integrating as
// an OEM"). The service signs, with a P-256 key held in KMS (a software key
// locally) that is used for nothing else, the bytes
//
//   "carkeys-webhook-v1" LF <delivery id> LF <timestamp> LF <body>
//
// where the delivery id is a UUID, the timestamp decimal Unix seconds, and the
// body the exact bytes POSTed; ECDSA-P256-SHA256, the signature sent raw r‖s
// in base64url. The headers:
//
//   Carkeys-Webhook-Id         the delivery id
//   Carkeys-Webhook-Timestamp  the timestamp
//   Carkeys-Webhook-Signature  v1=<base64url signature>
//
// A receiver verifies with the published key (`GET /v1/webhook-signing-key`)
// and refuses a timestamp more than the tolerance (default 300 s) from its own
// clock; within that window it keeps the ids it accepted and refuses a repeat.
// Old deliveries are refused by their timestamp and recent ones by their id,
// so a captured request cannot be replayed. Everything here is pure, so a
// receiver can use this file as it is.
import { ProtocolInputError } from "./errors.js";
import { verifyRaw } from "./p256.js";
import type { MessageSigner } from "./signer.js";

export const WEBHOOK_HEADERS = {
  id: "carkeys-webhook-id",
  timestamp: "carkeys-webhook-timestamp",
  signature: "carkeys-webhook-signature",
} as const;

export const WEBHOOK_SIGNATURE_VERSION = "v1";
export const DEFAULT_WEBHOOK_TOLERANCE_SECONDS = 300;
const DOMAIN = "carkeys-webhook-v1";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The exact bytes the signature covers. */
export function webhookSigningInput(id: string, timestamp: number, body: Uint8Array): Uint8Array {
  if (!UUID.test(id)) throw new ProtocolInputError("webhook delivery id must be a lower-case UUID");
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new ProtocolInputError("webhook timestamp must be non-negative Unix seconds");
  }
  const head = new TextEncoder().encode(`${DOMAIN}\n${id}\n${timestamp}\n`);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

/** The three headers of a delivery of `body`, signed by `signer`. */
export async function signWebhook(
  signer: MessageSigner,
  body: Uint8Array,
  id: string,
  timestamp: number,
): Promise<Record<string, string>> {
  const signature = await signer.sign(webhookSigningInput(id, timestamp, body));
  return {
    [WEBHOOK_HEADERS.id]: id,
    [WEBHOOK_HEADERS.timestamp]: String(timestamp),
    [WEBHOOK_HEADERS.signature]: `${WEBHOOK_SIGNATURE_VERSION}=${Buffer.from(signature).toString("base64url")}`,
  };
}

export type WebhookRefusal = "missing-header" | "bad-signature" | "stale-timestamp" | "replayed";

export interface WebhookVerification {
  readonly ok: boolean;
  readonly reason?: WebhookRefusal;
  readonly id?: string;
}

export interface WebhookVerifyOptions {
  /** 65-byte uncompressed P-256 public key (the published key). */
  readonly publicKey: Uint8Array;
  /** Header values by lower-case name. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: Uint8Array;
  /** The receiver's clock, Unix seconds. */
  readonly now: number;
  readonly toleranceSeconds?: number;
  /** Ids accepted within the tolerance window; a verified id is added. Without it replays are not checked. */
  readonly seenIds?: Set<string>;
}

/** What a receiver does with a delivery: verify the signature, the timestamp's freshness, the id's novelty. */
export function verifyWebhook(options: WebhookVerifyOptions): WebhookVerification {
  const id = options.headers[WEBHOOK_HEADERS.id];
  const timestampText = options.headers[WEBHOOK_HEADERS.timestamp];
  const signatureText = options.headers[WEBHOOK_HEADERS.signature];
  if (!id || !timestampText || !signatureText) return { ok: false, reason: "missing-header" };
  if (!/^\d{1,12}$/.test(timestampText) || !UUID.test(id)) return { ok: false, reason: "bad-signature" };
  const timestamp = Number(timestampText);
  const prefix = `${WEBHOOK_SIGNATURE_VERSION}=`;
  if (!signatureText.startsWith(prefix)) return { ok: false, reason: "bad-signature" };
  const signature = new Uint8Array(Buffer.from(signatureText.slice(prefix.length), "base64url"));
  if (!verifyRaw(signature, webhookSigningInput(id, timestamp, options.body), options.publicKey)) {
    return { ok: false, reason: "bad-signature" };
  }
  const tolerance = options.toleranceSeconds ?? DEFAULT_WEBHOOK_TOLERANCE_SECONDS;
  if (Math.abs(options.now - timestamp) > tolerance) return { ok: false, reason: "stale-timestamp", id };
  if (options.seenIds) {
    if (options.seenIds.has(id)) return { ok: false, reason: "replayed", id };
    options.seenIds.add(id);
  }
  return { ok: true, id };
}
