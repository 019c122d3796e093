// GET /v1/trust-anchors (public): the Device OEM and Vehicle OEM root
// certificates, self-signed through the Signer port on first use; and
// GET /v1/webhook-signing-key (public): the key receivers verify webhooks with.
import "reflect-metadata";
import { createHttpHandler } from "./lib/http-handler.js";

export const handler = createHttpHandler("trust-anchors", {
  "GET /v1/trust-anchors": async ({ service }) => ({ status: 200, body: await service.roots.trustAnchors() }),
  "GET /v1/webhook-signing-key": async ({ service }) => ({
    status: 200,
    body: await service.webhookKey.view(),
  }),
});
