// Request and response schemas of the event-notification intake
// (`POST /v1/events`): the route another automaker's server calls, over mutual
// TLS, to tell this service about a device or a key (the server-to-server
// event notifications of Apple's Car Keys automaker API and of the CCC Digital
// Key server interfaces). Its route entry: routes/partner-events-routes.ts.
import * as z from "zod/mini";

const SeId = z
  .string()
  .check(
    z.regex(/^[0-9a-f]{32}$/, "must be 16 bytes of lower-case hex"),
    z.meta({ description: "The secure element's identifier (16 bytes, hex)" }),
  );
const KeyId = z
  .string()
  .check(
    z.regex(/^[0-9a-f]{12}$/, "must be 6 bytes of lower-case hex"),
    z.meta({ description: "The key's identifier (6 bytes, hex)" }),
  );

const common = {
  eventId: z.uuid().check(
    z.meta({
      description: "The sender's id for this event; a repeat with the same id is answered, not applied again",
    }),
  ),
  occurredAt: z.iso
    .datetime()
    .check(z.meta({ description: "When it happened at the sender (ISO 8601, UTC)" })),
};

export const PARTNER_EVENT_TYPES = [
  "device.lost",
  "device.found",
  "key.termination-requested",
  "heartbeat",
] as const;
export type PartnerEventType = (typeof PARTNER_EVENT_TYPES)[number];

export const PartnerEventRequestSchema = z
  .discriminatedUnion("type", [
    z
      .strictObject({ ...common, type: z.literal("device.lost"), seId: SeId })
      .check(z.meta({ description: "The owner reported the device lost: suspend its keys (lost mode)" })),
    z
      .strictObject({ ...common, type: z.literal("device.found"), seId: SeId })
      .check(z.meta({ description: "The device is back with its owner: resume its keys" })),
    z
      .strictObject({ ...common, type: z.literal("key.termination-requested"), keyId: KeyId })
      .check(z.meta({ description: "Terminate a key (the owner removed it from the account): revoke it" })),
    z
      .strictObject({ ...common, type: z.literal("heartbeat") })
      .check(z.meta({ description: "Liveness: the connection and the client certificate work" })),
  ])
  .check(z.meta({ id: "PartnerEvent", description: "An event notification from a partner server" }));

export const PartnerEventReceiptSchema = z
  .strictObject({
    eventId: z.uuid(),
    type: z.enum(PARTNER_EVENT_TYPES),
    outcome: z.enum(["applied", "already-applied", "acknowledged"]).check(
      z.meta({
        description:
          "applied: this event changed state; already-applied: the state was already so (a repeat); " +
          "acknowledged: nothing to change (heartbeat)",
      }),
    ),
    receivedAt: z.iso.datetime(),
    from: z.string().check(
      z.meta({
        description:
          "The authenticated sender: the client certificate's subject (mutual TLS) or the IAM principal",
      }),
    ),
  })
  .check(z.meta({ id: "PartnerEventReceipt" }));

export type PartnerEventRequest = z.infer<typeof PartnerEventRequestSchema>;
export type PartnerEventReceipt = z.infer<typeof PartnerEventReceiptSchema>;
