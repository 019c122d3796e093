// The key that signs webhook deliveries (src/protocol/webhook-signature.ts),
// published at `GET /v1/webhook-signing-key` so a receiver can verify them:
// the uncompressed point in hex and the same key as a JWK (RFC 7517/7518,
// ES256). A deployment without webhooks has no such key, and the route says so
// with a 404 rather than an empty answer.

import type { WebhookSigningKeyView } from "../api/webhook-signing-key-schemas.js";
import { toHex } from "../protocol/bytes.js";
import type { MessageSigner } from "../protocol/signer.js";
import { WEBHOOK_HEADERS } from "../protocol/webhook-signature.js";
import { NotFoundError } from "./errors.js";

export class WebhookSigningKey {
  constructor(private readonly signer: MessageSigner | undefined) {}

  async view(): Promise<WebhookSigningKeyView> {
    if (!this.signer)
      throw new NotFoundError("this deployment delivers no webhooks, so it has no webhook key");
    const point = await this.signer.publicKey();
    const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");
    return {
      algorithm: "ES256",
      publicKey: toHex(point),
      jwk: {
        kty: "EC",
        crv: "P-256",
        x: b64(point.slice(1, 33)),
        y: b64(point.slice(33, 65)),
        alg: "ES256",
        use: "sig",
      },
      headers: {
        id: WEBHOOK_HEADERS.id,
        timestamp: WEBHOOK_HEADERS.timestamp,
        signature: WEBHOOK_HEADERS.signature,
      },
      signedBytes:
        '"carkeys-webhook-v1" LF <id> LF <timestamp> LF <body>; signature header "v1=" base64url(r‖s)',
    };
  }
}
