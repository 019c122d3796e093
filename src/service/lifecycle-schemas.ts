// Request and response schemas of the key-lifecycle routes (remote
// revocation, termination, revocation lists, lifecycle notices, lost mode),
// in the shape of ROUTE_SCHEMAS (schemas.ts), which spreads them in so the
// OpenAPI document and the handlers' validation read the same table. Kept
// apart so that file stays a readable index; like the relay's, this file
// imports only types from schemas.ts, so there is no import cycle. Cursors
// (`after`) are decimal query parameters, validated here as strings (schemas
// stay transform-free for z.toJSONSchema) and turned into numbers by the handlers.
import { z } from "zod";
import type { RouteSchemas } from "./schemas.js";

const hex = (maxBytes: number, what: string) =>
  z
    .string()
    .regex(new RegExp(`^(?:[0-9a-f]{2}){1,${maxBytes}}$`), `must be 1 to ${maxBytes} bytes of lower-case hex`)
    .meta({ description: what });
const KeyId = z.string().regex(/^[0-9a-f]{12}$/, "must be 6 bytes of lower-case hex");
const SeId = z.string().regex(/^[0-9a-f]{32}$/, "must be 16 bytes of lower-case hex");
const VehicleId = z.string().regex(/^(?:[0-9a-f]{2}){8,32}$/, "must be 8 to 32 bytes of lower-case hex");
const Instant = z.iso.datetime();
const Counter = z.number().int().min(0);

export const AfterQuerySchema = z
  .strictObject({
    after: z
      .string()
      .regex(/^(0|[1-9][0-9]{0,14})$/, "must be a decimal integer")
      .optional()
      .meta({ description: "The cursor: the last counter or sequence the caller has applied (default 0)" }),
  })
  .meta({ description: "Query parameters" });

const SeIdParamsSchema = z.strictObject({ seId: SeId });
const KeyIdParamsSchema = z.strictObject({ keyId: KeyId });
const VehicleIdParamsSchema = z.strictObject({ vehicleId: VehicleId });

export const OwnerRevocationRequestSchema = z
  .strictObject({
    revocation: hex(1024, "The RVKE statement the owner's SE signed (revokeFriendKey), hex"),
  })
  .meta({ id: "OwnerRevocationRequest" });

export const TerminationRequestSchema = z
  .strictObject({
    attestation: hex(1024, "The key's TERM statement, signed by the key as its SE deleted it, hex"),
  })
  .meta({ id: "TerminationRequest" });

export const RevocationSchema = z
  .strictObject({
    keyId: KeyId,
    vehicleId: VehicleId,
    role: z.enum(["owner", "friend"]),
    state: z.enum(["revoked", "terminated", "expired"]),
    reason: z.enum(["owner", "oem", "migrated", "sharer-revoked"]).optional().meta({
      description:
        "Who revoked; sharer-revoked: the co-owner that shared this key was revoked; absent for an expired key",
    }),
    revokedAt: Instant.optional().meta({ description: "Absent for an expired key" }),
    revokedBy: z.string().optional().meta({
      description:
        "endpoint:<owner key id>, the OEM principal, or the new owner key; absent for an expired key",
    }),
    listSequence: Counter.optional().meta({ description: "The entry in the vehicle's revocation list" }),
    noticeCounter: Counter.optional().meta({
      description: "The device counter of the terminate-key notice; absent for an expired key",
    }),
    expiredAt: Instant.optional().meta({
      description: "State expired: when the service recorded that the key's profile had ended",
    }),
    terminatedAt: Instant.optional(),
    confirmedAt: Instant.optional(),
  })
  .meta({ id: "Revocation" });

export const RevocationListSchema = z
  .strictObject({
    vehicleId: VehicleId,
    after: Counter,
    latestSequence: Counter,
    entries: z.array(
      z.strictObject({
        sequence: Counter,
        keyId: KeyId,
        attestationSerial: Counter.optional(),
        revokedAt: Instant,
      }),
    ),
    list: z.string().optional().meta({
      description: "RVLS statement signed by the Vehicle OEM root, hex; absent when entries is empty",
    }),
  })
  .meta({ id: "RevocationList" });

const Notice = {
  counter: Counter.meta({ description: "The device's notice counter" }),
  action: z.enum(["suspend", "resume", "terminate-key"]),
  keyId: KeyId.optional(),
  issuedAt: Instant,
  notice: z.string().meta({ description: "NTCE statement signed by the Device OEM root, hex" }),
};

export const DeviceNoticesSchema = z
  .strictObject({ seId: SeId, latestCounter: Counter, notices: z.array(z.strictObject(Notice)) })
  .meta({ id: "DeviceNotices" });

export const VehicleNoticesSchema = z
  .strictObject({
    vehicleId: VehicleId,
    latestSequence: Counter,
    notices: z.array(z.strictObject({ ...Notice, sequence: Counter, seId: SeId })),
  })
  .meta({ id: "VehicleNotices" });

export const LostModeRequestSchema = z
  .strictObject({ action: z.enum(["suspend", "resume"]) })
  .meta({ id: "LostModeRequest" });

export const LostModeSchema = z
  .strictObject({
    seId: SeId,
    lostMode: z.enum(["active", "suspended"]),
    counter: Counter,
    vehicleIds: z.array(VehicleId),
  })
  .meta({ id: "LostMode" });

const DEVICE = [400, 401, 403, 404, 409, 413, 415, 503] as const;
const OEM = [400, 401, 404, 409, 413, 415, 503] as const;

export const LIFECYCLE_ROUTE_SCHEMAS = {
  "POST /v1/revocations": {
    description:
      "The owner's device revokes a friend key: the body is the RVKE statement its SE signed, and the request is " +
      "signed by the same owner endpoint key, which must be the vehicle's owner key on record (else 403). Records " +
      "the revocation, a terminate-key notice for the friend's SE and an entry in the vehicle's revocation list. " +
      "A repeat answers the revocation on record (200).",
    body: OwnerRevocationRequestSchema,
    response: RevocationSchema,
    successStatus: 201,
    problemStatuses: DEVICE,
  },
  "POST /v1/keys/{keyId}/revocation": {
    description:
      "The OEM backend revokes a key; the same records as an owner's revocation. A repeat answers 200.",
    params: KeyIdParamsSchema,
    response: RevocationSchema,
    successStatus: 201,
    problemStatuses: OEM,
  },
  "POST /v1/keys/{keyId}/termination": {
    description:
      "The SE holding a revoked key posts its termination attestation (signed by the instance key of that SE); " +
      "verified with the endpoint key on record, the key becomes terminated: the revocation is confirmed. For an " +
      "active or expired key whose profile has ended by the attestation's time (the SE deleted it on expiry) the " +
      "key becomes expired, with the termination recorded, and frees its friend-key slot.",
    params: KeyIdParamsSchema,
    body: TerminationRequestSchema,
    response: RevocationSchema,
    successStatus: 201,
    problemStatuses: DEVICE,
  },
  "GET /v1/vehicles/{vehicleId}/revocations": {
    description:
      "The vehicle's revocation list after a cursor, signed by the Vehicle OEM root (the car fetches it through " +
      "the OEM's telematics). 409 when the cursor is beyond the latest sequence.",
    params: VehicleIdParamsSchema,
    query: AfterQuerySchema,
    response: RevocationListSchema,
    successStatus: 200,
    problemStatuses: [400, 401, 404, 409, 503],
  },
  "GET /v1/devices/{seId}/notices": {
    description:
      "A device's notices after its counter (terminate-key, suspend, resume), signed by the Device OEM root; the " +
      "request is signed by that SE's instance key. 409 when the cursor is beyond the latest counter.",
    params: SeIdParamsSchema,
    query: AfterQuerySchema,
    response: DeviceNoticesSchema,
    successStatus: 200,
    problemStatuses: [400, 401, 403, 409, 503],
  },
  "GET /v1/vehicles/{vehicleId}/notices": {
    description:
      "A vehicle's lost-mode notices after its cursor (the car fetches them through the OEM's telematics).",
    params: VehicleIdParamsSchema,
    query: AfterQuerySchema,
    response: VehicleNoticesSchema,
    successStatus: 200,
    problemStatuses: [400, 401, 404, 409],
  },
  "POST /v1/devices/{seId}/lost-mode": {
    description:
      "The Device OEM suspends or resumes a device: a notice for its SE and one for each vehicle holding one of " +
      "its keys. An owner reports a lost phone through the OEM's account system, which calls this route. A " +
      "repeat of the current mode answers 200 and issues nothing.",
    params: SeIdParamsSchema,
    body: LostModeRequestSchema,
    response: LostModeSchema,
    successStatus: 201,
    problemStatuses: OEM,
  },
} as const satisfies Record<string, RouteSchemas>;
