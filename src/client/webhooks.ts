// The receiving end of the service's signed webhooks, for an OEM backend:
// fetch the verification key once (GET /v1/webhook-signing-key, public) and
// check each delivery with verifyWebhook (src/protocol/webhook-signature.ts:
// ECDSA P-256 over "carkeys-webhook-v1" LF id LF timestamp LF body, a
// timestamp within 300 s, an id not seen before). The body is the event
// (docs/events/service-event.v1.schema.json).
import type { ResponseBody } from "../api/contract-types.js";
import { fromHex } from "../protocol/bytes.js";
import { ServiceResponseError } from "./errors.js";
import { type FetchOptions, publicFetch } from "./signed-fetch.js";

export {
  DEFAULT_WEBHOOK_TOLERANCE_SECONDS,
  verifyWebhook,
  WEBHOOK_HEADERS,
  type WebhookRefusal,
  type WebhookVerification,
  type WebhookVerifyOptions,
} from "../protocol/webhook-signature.js";

export type WebhookSigningKey = ResponseBody<"GET /v1/webhook-signing-key">;

/** GET /v1/webhook-signing-key: the key and its public point as bytes, for verifyWebhook's `publicKey`. */
export async function fetchWebhookSigningKey(
  baseUrl: string,
  options: FetchOptions = {},
): Promise<{ key: WebhookSigningKey; publicKey: Uint8Array }> {
  const { body } = await publicFetch<WebhookSigningKey>(baseUrl, "GET", "/v1/webhook-signing-key", options);
  if (typeof body?.publicKey !== "string" || !/^04[0-9a-f]{128}$/.test(body.publicKey)) {
    throw new ServiceResponseError("GET /v1/webhook-signing-key: the response has no P-256 publicKey");
  }
  return { key: body, publicKey: fromHex(body.publicKey, "publicKey") };
}
