// GET /v1/trust-anchors (public): the Device OEM and Vehicle OEM root
// certificates, self-signed through the Signer port on first use; and
// GET /v1/webhook-signing-key (public): the key receivers verify webhooks with.
import "reflect-metadata";
import { TRUST_ANCHORS_ROUTES } from "../src/api/routes/trust-anchors-routes.js";
import { createHttpHandler } from "./lib/http-handler.js";

export const handler = createHttpHandler(TRUST_ANCHORS_ROUTES, {
  "GET /v1/trust-anchors": ({ service }) => service.roots.trustAnchors(),
  "GET /v1/webhook-signing-key": ({ service }) => service.webhookKey.view(),
});
