// The public keys (functions/trust-anchors.ts): GET /v1/trust-anchors and
// GET /v1/webhook-signing-key.
import { TrustAnchorsSchema } from "../issuance-schemas.js";
import { defineRouteSet } from "../route-contract.js";
import { WebhookSigningKeySchema } from "../webhook-signing-key-schemas.js";

export const TRUST_ANCHORS_ROUTES = defineRouteSet("trust-anchors", {
  "GET /v1/trust-anchors": {
    auth: "none",
    summary: "Device OEM and Vehicle OEM root certificates",
    description: "The Device OEM and Vehicle OEM root certificates (created on first use).",
    response: { status: 200, content: { mediaType: "application/json", schema: TrustAnchorsSchema } },
    problems: ["unavailable", "storage-unavailable"],
  },
  "GET /v1/webhook-signing-key": {
    auth: "none",
    summary: "The public key that verifies webhook deliveries of the service's events",
    description:
      "The public key that verifies webhook deliveries of the service's events, and how: the signature covers " +
      '"carkeys-webhook-v1" LF id LF timestamp LF body. 404 when this deployment delivers no webhooks.',
    response: { status: 200, content: { mediaType: "application/json", schema: WebhookSigningKeySchema } },
    problems: ["not-found", "unavailable"],
  },
});
