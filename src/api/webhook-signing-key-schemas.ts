// The answer of `GET /v1/webhook-signing-key` (src/service/webhook-signing-key.ts):
// the key that verifies webhook deliveries, and what it signs.
import * as z from "zod/mini";

export const WebhookSigningKeySchema = z
  .strictObject({
    algorithm: z
      .literal("ES256")
      .check(z.meta({ description: "ECDSA P-256 with SHA-256; signatures are raw r‖s" })),
    publicKey: z
      .string()
      .check(z.regex(/^04[0-9a-f]{128}$/), z.meta({ description: "The uncompressed P-256 point, hex" })),
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
      .check(z.meta({ description: "The headers of a delivery" })),
    signedBytes: z.string().check(z.meta({ description: "What the signature covers" })),
  })
  .check(z.meta({ id: "WebhookSigningKey" }));

export type WebhookSigningKeyView = z.infer<typeof WebhookSigningKeySchema>;
