// The key that signs webhook deliveries (src/protocol/webhook-signature.ts),
// published at `GET /v1/webhook-signing-key` so a receiver can verify them:
// the uncompressed point in hex and the same key as a JWK (RFC 7517/7518,
// ES256). A deployment without webhooks has no such key, and the route says so
// with a 404 rather than an empty answer.
import { z } from "zod";
import { toHex } from "../protocol/bytes.js";
import type { DigestSigner } from "../protocol/signer.js";
import { WEBHOOK_HEADERS } from "../protocol/webhook-signature.js";
import { NotFoundError } from "./errors.js";
import type { RouteSchemas } from "./schemas.js";

export const WebhookSigningKeySchema = z
  .strictObject({
    algorithm: z.literal("ES256").meta({ description: "ECDSA P-256 with SHA-256; signatures are raw r‖s" }),
    publicKey: z
      .string()
      .regex(/^04[0-9a-f]{128}$/)
      .meta({ description: "The uncompressed P-256 point, hex" }),
    jwk: z.strictObject({
      kty: z.literal("EC"),
      crv: z.literal("P-256"),
      x: z.string(),
      y: z.string(),
      alg: z.literal("ES256"),
      use: z.literal("sig"),
    }),
    headers: z
      .strictObject({ id: z.string(), timestamp: z.string(), signature: z.string() })
      .meta({ description: "The headers of a delivery" }),
    signedBytes: z.string().meta({ description: "What the signature covers" }),
  })
  .meta({ id: "WebhookSigningKey" });

export type WebhookSigningKeyView = z.infer<typeof WebhookSigningKeySchema>;

export const WEBHOOK_KEY_ROUTE_SCHEMAS = {
  "GET /v1/webhook-signing-key": {
    description:
      "The public key that verifies webhook deliveries of the service's events, and how: the signature covers " +
      '"carkeys-webhook-v1" LF id LF timestamp LF body. 404 when this deployment delivers no webhooks.',
    response: WebhookSigningKeySchema,
    successStatus: 200,
    problemStatuses: [404, 503],
  },
} as const satisfies Record<string, RouteSchemas>;

export class WebhookSigningKey {
  constructor(private readonly signer: DigestSigner | undefined) {}

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
