// Request and response schemas of the key-lifecycle routes (remote
// revocation, termination, revocation lists, lifecycle notices, lost mode).
// Cursors (`after`) are decimal query parameters, validated here as strings
// (schemas stay transform-free for z.toJSONSchema) and turned into numbers by
// the handlers.
import * as z from "zod/mini";
import {
  Counter,
  hexUpTo,
  Instant,
  KeyIdSchema as KeyId,
  SeIdSchema as SeId,
  VehicleIdSchema as VehicleId,
} from "./schema-primitives.js";

export const AfterQuerySchema = z
  .strictObject({
    after: z.optional(z.string().check(z.regex(/^(0|[1-9][0-9]{0,14})$/, "must be a decimal integer"))).check(
      z.meta({
        description: "The cursor: the last counter or sequence the caller has applied (default 0)",
      }),
    ),
  })
  .check(z.meta({ description: "Query parameters" }));

export const OwnerRevocationRequestSchema = z
  .strictObject({
    revocation: hexUpTo(1024, "The RVKE statement the owner's SE signed (revokeFriendKey), hex"),
  })
  .check(z.meta({ id: "OwnerRevocationRequest" }));

export const TerminationRequestSchema = z
  .strictObject({
    attestation: hexUpTo(1024, "The key's TERM statement, signed by the key as its SE deleted it, hex"),
  })
  .check(z.meta({ id: "TerminationRequest" }));

export const RevocationSchema = z
  .strictObject({
    keyId: KeyId,
    vehicleId: VehicleId,
    role: z.enum(["owner", "friend"]),
    state: z.enum(["revoked", "terminated", "expired"]).check(
      z.meta({
        description:
          "expired: a time-boxed key past its end, whether its SE reported the end or the expiry sweep stopped " +
          "it (then reason expired); terminated: a revoked key its SE confirmed deleting",
      }),
    ),
    reason: z
      .optional(z.enum(["owner", "oem", "migrated", "sharer-revoked", "owner-key-revoked", "expired"]))
      .check(
        z.meta({
          description:
            "Who revoked; sharer-revoked: the co-owner that shared this key was revoked; owner-key-revoked: the " +
            "owner key whose second device (a watch) holds this key was revoked; migrated: a new owner phone " +
            "replaced the owner key (or the owner key of this watch key); expired: the service's expiry sweep " +
            "stopped the key once its profile had ended (revokedBy expiry-sweep; state expired); absent for an " +
            "expired key whose SE reported the end first",
        }),
      ),
    revokedAt: z.optional(Instant).check(z.meta({ description: "Absent for an expired key" })),
    revokedBy: z.optional(z.string()).check(
      z.meta({
        description:
          "endpoint:<owner key id>, the OEM principal, the new owner key, or expiry-sweep; absent for an expired key",
      }),
    ),
    listSequence: z
      .optional(Counter)
      .check(z.meta({ description: "The entry in the vehicle's revocation list" })),
    noticeCounter: z.optional(Counter).check(
      z.meta({
        description:
          "The device counter of the terminate-key notice; absent for a key whose SE reported its end first, " +
          "and for a key on another phone maker's device, which gets no notice from this service " +
          "(docs/protocol.md §27: the OEM forwards the revocation to that maker)",
      }),
    ),
    expiredAt: z.optional(Instant).check(
      z.meta({
        description: "State expired: when the service recorded that the key's profile had ended",
      }),
    ),
    terminatedAt: z.optional(Instant),
    confirmedAt: z.optional(Instant),
  })
  .check(z.meta({ id: "Revocation" }));

export const RevocationListSchema = z
  .strictObject({
    vehicleId: VehicleId,
    after: Counter,
    latestSequence: Counter,
    entries: z.array(
      z.strictObject({
        sequence: Counter,
        keyId: KeyId,
        attestationSerial: z.optional(Counter),
        revokedAt: Instant,
      }),
    ),
    list: z.optional(z.string()).check(
      z.meta({
        description: "RVLS statement signed by the Vehicle OEM root, hex; absent when entries is empty",
      }),
    ),
  })
  .check(z.meta({ id: "RevocationList" }));

const Notice = {
  counter: Counter.check(z.meta({ description: "The device's notice counter" })),
  action: z.enum(["suspend", "resume", "terminate-key"]),
  keyId: z.optional(KeyId),
  issuedAt: Instant,
  notice: z.string().check(z.meta({ description: "NTCE statement signed by the Device OEM root, hex" })),
};

export const DeviceNoticesSchema = z
  .strictObject({ seId: SeId, latestCounter: Counter, notices: z.array(z.strictObject(Notice)) })
  .check(z.meta({ id: "DeviceNotices" }));

export const VehicleNoticesSchema = z
  .strictObject({
    vehicleId: VehicleId,
    latestSequence: Counter,
    notices: z.array(z.strictObject({ ...Notice, sequence: Counter, seId: SeId })),
  })
  .check(z.meta({ id: "VehicleNotices" }));

export const LostModeRequestSchema = z
  .strictObject({ action: z.enum(["suspend", "resume"]) })
  .check(z.meta({ id: "LostModeRequest" }));

export const LostModeSchema = z
  .strictObject({
    seId: SeId,
    lostMode: z.enum(["active", "suspended"]),
    counter: Counter,
    vehicleIds: z.array(VehicleId),
  })
  .check(z.meta({ id: "LostMode" }));

export type Revocation = z.infer<typeof RevocationSchema>;
export type RevocationList = z.infer<typeof RevocationListSchema>;
export type DeviceNotices = z.infer<typeof DeviceNoticesSchema>;
export type VehicleNotices = z.infer<typeof VehicleNoticesSchema>;
export type LostMode = z.infer<typeof LostModeSchema>;
