// Event notifications from partner servers (`POST /v1/events`,
// src/service/partner-events.ts): the authenticated sender is the caller the
// request parser found, the client certificate's subject over mutual TLS.
import "reflect-metadata";
import { PARTNER_EVENTS_ROUTES } from "../src/api/routes/partner-events-routes.js";
import { createHttpHandler } from "./lib/http-handler.js";

export const handler = createHttpHandler(PARTNER_EVENTS_ROUTES, {
  "POST /v1/events": ({ body, caller, service }) => service.partnerEvents.receive(body, caller ?? "unknown"),
});
