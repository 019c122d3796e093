// Event notifications from partner servers (`POST /v1/events`,
// src/service/partner-events.ts): the authenticated sender is the caller the
// request parser found, the client certificate's subject over mutual TLS.
import "reflect-metadata";
import { createHttpHandler } from "./lib/http-handler.js";

export const handler = createHttpHandler("partner-events", {
  "POST /v1/events": async ({ body, caller, service }) => ({
    status: 200,
    body: await service.partnerEvents.receive(body, caller ?? "unknown"),
  }),
});
