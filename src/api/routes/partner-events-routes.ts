// Event notifications from partner servers (functions/partner-events.ts).
import { PartnerEventReceiptSchema, PartnerEventRequestSchema } from "../partner-event-schemas.js";
import { defineRouteSet } from "../route-contract.js";

export const PARTNER_EVENTS_ROUTES = defineRouteSet("partner-events", {
  "POST /v1/events": {
    auth: "oem",
    serverToServer: true,
    summary:
      "Event notification intake from a partner server: device lost or found, key termination, heartbeat",
    description:
      "Event notification intake for partner servers: a device lost or found (suspends or resumes its keys, " +
      "as the lost-mode route does), a key's termination requested (revokes it, as the OEM revocation route " +
      "does), or a heartbeat. Authenticated by the caller's client certificate where mutual TLS is configured. " +
      "Idempotent: a repeat answers `already-applied`.",
    body: { schema: PartnerEventRequestSchema },
    response: { status: 200, content: { mediaType: "application/json", schema: PartnerEventReceiptSchema } },
    problems: [
      "validation",
      "forbidden",
      "not-found",
      "conflict",
      "unsupported-media-type",
      "unavailable",
      "storage-unavailable",
    ],
  },
});
