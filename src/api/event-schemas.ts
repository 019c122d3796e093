// The events the service publishes (src/service/ports.ts ServiceEvent), one zod schema
// per type, and the published form every notifier sends: the event with
// `schema`, the identifier of this version of the format. The JSON Schema
// generated from these, docs/events/service-event.v1.schema.json, is the
// contract for receivers (EventBridge rules, webhooks); a test keeps the file
// equal to what this module generates and validates real emitted events
// against the file. A change that a v1 receiver could not read is a v2: a new
// identifier and a new file, never an edit of v1.
import * as z from "zod/mini";

export const EVENT_SCHEMA_ID = "urn:carkeys:event:v1";
export const EVENT_SCHEMA_FILE = "docs/events/service-event.v1.schema.json";

const KeyId = z
  .string()
  .check(z.regex(/^[0-9a-f]{12}$/), z.meta({ description: "Key identifier (6 bytes, hex)" }));
const SeId = z
  .string()
  .check(z.regex(/^[0-9a-f]{32}$/), z.meta({ description: "Secure element identifier (16 bytes, hex)" }));
const VehicleId = z
  .string()
  .check(
    z.regex(/^(?:[0-9a-f]{2}){8,32}$/),
    z.meta({ description: "Vehicle identifier (8 to 32 bytes, hex)" }),
  );
const Instant = z.iso.datetime().check(z.meta({ description: "ISO 8601 instant, UTC" }));
const Counter = z.number().check(z.int(), z.minimum(0));
const Notice = z
  .string()
  .check(
    z.regex(/^(?:[0-9a-f]{2})+$/),
    z.meta({ description: "NTCE statement signed by the Device OEM root, hex" }),
  );

const envelope = <T extends string>(type: T) => ({
  schema: z.literal(EVENT_SCHEMA_ID).check(z.meta({ description: "This format and its version" })),
  type: z.literal(type),
  occurredAt: Instant,
});

/** Who or what revoked a key (the revocation answers' reason, src/api/lifecycle-schemas.ts). */
const RevocationReason = z.enum([
  "owner",
  "oem",
  "migrated",
  "sharer-revoked",
  "owner-key-revoked",
  "expired",
]);

const KeyRevoked = z
  .strictObject({
    ...envelope("key.revoked"),
    keyId: KeyId,
    vehicleId: VehicleId,
    detail: z.strictObject({
      reason: RevocationReason,
      listSequence: z
        .optional(Counter)
        .check(z.meta({ description: "The entry in the vehicle's revocation list" })),
      noticeCounter: Counter.check(z.meta({ description: "The device counter of the terminate-key notice" })),
    }),
  })
  .check(
    z.meta({
      title: "key.revoked",
      description:
        "A key was revoked (by its owner, the OEM, or a new owner phone), or stopped by the service once its profile ended (reason expired)",
    }),
  );

const KeyRevocationToForward = z
  .strictObject({
    ...envelope("key.revocation-to-forward"),
    keyId: KeyId,
    vehicleId: VehicleId,
    detail: z.strictObject({
      reason: RevocationReason,
      listSequence: z
        .optional(Counter)
        .check(z.meta({ description: "The entry in the vehicle's revocation list" })),
      deviceOemRoot: z.string().check(
        z.regex(/^(?:[0-9a-f]{2}){1,64}$/),
        z.meta({
          description:
            "The subject key identifier (hex) of the phone maker's Device OEM root the key's certificate " +
            "chain ends at, as GET /v1/trust-anchors lists it: the maker to forward the revocation to",
        }),
      ),
    }),
  })
  .check(
    z.meta({
      title: "key.revocation-to-forward",
      description:
        "A key on another phone maker's device was revoked (or stopped at its end). That device trusts its own " +
        "maker and fetches nothing from this service, so no terminate-key notice was made: the OEM's backend " +
        "forwards the revocation to the maker named by deviceOemRoot. The car drops the key through its " +
        "revocation list as for any key.",
    }),
  );

const KeyTerminated = z
  .strictObject({
    ...envelope("key.terminated"),
    keyId: KeyId,
    vehicleId: VehicleId,
    detail: z.strictObject({ terminatedAt: Instant }),
  })
  .check(
    z.meta({
      title: "key.terminated",
      description: "The SE holding a revoked key proved it deleted the key",
    }),
  );

const KeyExpired = z
  .strictObject({
    ...envelope("key.expired"),
    keyId: KeyId,
    vehicleId: VehicleId,
    detail: z.strictObject({ terminatedAt: Instant }),
  })
  .check(
    z.meta({ title: "key.expired", description: "The SE holding an expired key proved it deleted the key" }),
  );

const DeviceNoticeIssued = z
  .strictObject({
    ...envelope("device.notice-issued"),
    keyId: z.optional(KeyId),
    detail: z.strictObject({
      seId: SeId,
      counter: Counter,
      action: z.enum(["suspend", "resume", "terminate-key"]),
      notice: Notice,
    }),
  })
  .check(
    z.meta({
      title: "device.notice-issued",
      description: "A signed notice for a device (its SE fetches it)",
    }),
  );

const VehicleNoticeIssued = z
  .strictObject({
    ...envelope("vehicle.notice-issued"),
    vehicleId: VehicleId,
    detail: z.strictObject({
      seId: SeId,
      counter: Counter,
      sequence: Counter,
      action: z.enum(["suspend", "resume"]),
      notice: Notice,
    }),
  })
  .check(
    z.meta({
      title: "vehicle.notice-issued",
      description: "A signed lost-mode notice for a vehicle (the OEM's telematics delivers it to the car)",
    }),
  );

const lostMode = <T extends "device.suspended" | "device.resumed">(type: T, description: string) =>
  z
    .strictObject({
      ...envelope(type),
      detail: z.strictObject({
        seId: SeId,
        counter: Counter,
        vehicleIds: z.array(VehicleId),
        requestedBy: z.string().check(z.meta({ description: "The OEM principal or partner that asked" })),
      }),
    })
    .check(z.meta({ title: type, description }));

const PartnerEventReceived = z
  .strictObject({
    ...envelope("partner.event-received"),
    keyId: z.optional(KeyId),
    detail: z.strictObject({
      eventId: z.uuid(),
      eventType: z.enum(["device.lost", "device.found", "key.termination-requested"]),
      outcome: z.enum(["applied", "already-applied"]),
      from: z.string(),
      sentAt: Instant,
    }),
  })
  .check(
    z.meta({
      title: "partner.event-received",
      description: "A partner server's event notification was carried out",
    }),
  );

export const PublishedEventSchema = z
  .discriminatedUnion("type", [
    KeyRevoked,
    KeyRevocationToForward,
    KeyTerminated,
    KeyExpired,
    DeviceNoticeIssued,
    VehicleNoticeIssued,
    lostMode("device.suspended", "A device was put in lost mode: its keys are suspended"),
    lostMode("device.resumed", "A device left lost mode: its keys work again"),
    PartnerEventReceived,
  ])
  .check(z.meta({ id: "ServiceEvent" }));

export type PublishedEvent = z.infer<typeof PublishedEventSchema>;

/** The JSON Schema (2020-12) of published events: the content of EVENT_SCHEMA_FILE. */
export function eventJsonSchema(): Record<string, unknown> {
  const json = z.toJSONSchema(PublishedEventSchema, { target: "draft-2020-12", io: "output" }) as Record<
    string,
    unknown
  >;
  delete json.id;
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: EVENT_SCHEMA_ID,
    title: "Car Keys service event, version 1",
    description:
      "An event the Car Keys service publishes: the EventBridge entry's `detail` (source `carkeys`, detail-type " +
      "= `type`) and the body of a webhook delivery. Receivers ignore types they do not know; a field a v1 " +
      "receiver could not read only ever appears under a new `schema` identifier.",
    ...Object.fromEntries(Object.entries(json).filter(([key]) => key !== "$schema")),
  };
}
