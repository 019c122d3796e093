// Request and response schemas of the HTTP API (zod 4), in one table the
// handlers validate with and the OpenAPI generator (src/service/openapi.ts)
// enumerates, so the document and the checks cannot drift. Keyed like
// functions/routes.ts (`${method} ${path}`). Schemas validate shape only (hex
// lengths, PEM framing, integer ranges) and stay transform-free so that
// z.toJSONSchema renders them; the service checks meaning (points on the
// curve, signatures, chains). Objects are strict: an unknown field is an
// error, not something silently ignored. Binary values are lower-case hex,
// as everywhere in this project; certificates are PEM.
import { z } from "zod";
import { LIFECYCLE_ROUTE_SCHEMAS } from "./lifecycle-schemas.js";
import { PARTNER_EVENT_ROUTE_SCHEMAS } from "./partner-event-schemas.js";
import { RELAY_ROUTE_SCHEMAS } from "./relay/relay-schemas.js";
import { WEBHOOK_KEY_ROUTE_SCHEMAS } from "./webhook-signing-key.js";

/** Largest request body read (bytes); anything longer is refused with 413 before parsing. */
export const MAX_BODY_BYTES = 64 * 1024;

const hexBytes = (bytes: number, what: string) =>
  z
    .string()
    .regex(new RegExp(`^[0-9a-f]{${2 * bytes}}$`), `must be ${bytes} bytes of lower-case hex`)
    .meta({ description: what });

const PublicKeyHex = z
  .string()
  .regex(/^04[0-9a-f]{128}$/, "must be a 65-byte uncompressed P-256 point in lower-case hex (04‖x‖y)")
  .meta({ description: "P-256 public key, uncompressed SEC1 (65 bytes), lower-case hex" });

export const VehicleIdSchema = z
  .string()
  .regex(/^(?:[0-9a-f]{2}){8,32}$/, "must be 8 to 32 bytes of lower-case hex")
  .meta({ description: "Vehicle identifier (tag 4D, docs/transaction.md): 8 to 32 bytes, lower-case hex" });

export const KeyIdSchema = hexBytes(6, "Key identifier (tag 4E): 6 bytes, lower-case hex");
export const SeIdSchema = hexBytes(16, "Secure element identifier: 16 bytes, lower-case hex");

const CertificatePem = z
  .string()
  .max(8192, "must be at most 8192 characters")
  .regex(
    /^-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\r?\n?$/,
    "must be one PEM CERTIFICATE block",
  )
  .meta({ description: "X.509 certificate, PEM" });

const Instant = z.iso.datetime().meta({ description: "RFC 3339 instant, UTC" });

const PairingValidityHours = z
  .number()
  .int("must be a whole number of hours")
  .min(1)
  .max(720)
  .meta({ description: "How long the pairing password may be used, in hours (default 168, at most 720)" });

export const TrustAnchorsSchema = z
  .strictObject({
    deviceOemRoot: CertificatePem.meta({ description: "Device OEM root CA certificate (PEM)" }),
    vehicleOemRoot: CertificatePem.meta({ description: "Vehicle OEM root CA certificate (PEM)" }),
  })
  .meta({
    id: "TrustAnchors",
    description: "The roots a vehicle and a device need to verify chains offline",
  });

// ---- secure element enrollment ---------------------------------------------------------------

export const DeviceEnrollmentRequestSchema = z
  .strictObject({
    seId: SeIdSchema,
    instanceCaPublicKey: PublicKeyHex.meta({
      description:
        "The SE's instance CA key; the request must be signed by it (carkey-signer instance:<seId>)",
    }),
    factoryAttestation: z
      .string()
      .regex(/^(?:[0-9a-f]{2}){1,1024}$/, "must be 1 to 1024 bytes of lower-case hex")
      .meta({ description: "The SE manufacturer's FACT statement over (seId, instanceCaPublicKey), hex" }),
  })
  .meta({ id: "DeviceEnrollmentRequest" });

export const DeviceEnrollmentResponseSchema = z
  .strictObject({
    seId: SeIdSchema,
    instanceCaCertificate: CertificatePem.meta({ description: "Instance CA certificate (PEM)" }),
    serialNumber: z.string().meta({ description: "Serial number of the certificate, hex" }),
    deviceOemRoot: CertificatePem.meta({ description: "The Device OEM root that issued it (PEM)" }),
  })
  .meta({ id: "DeviceEnrollmentResponse" });

// ---- vehicle enrollment and pairing material -------------------------------------------------

export const PairingMaterialSchema = z
  .strictObject({
    pairingId: z.string().meta({ description: "Identifies this password in logs and support calls" }),
    password: z
      .string()
      .regex(/^[0-9]{8}$/)
      .meta({
        description: "The owner's one-time pairing password; returned once and not kept by the service",
      }),
    expiresAt: Instant,
    verifier: z
      .strictObject({
        w0: hexBytes(32, "SPAKE2+ w0 scalar, 32 bytes, hex"),
        L: PublicKeyHex.meta({ description: "SPAKE2+ L = w1·G, uncompressed point, hex" }),
        salt: hexBytes(16, "scrypt salt, hex"),
        N: z.number().int(),
        r: z.number().int(),
        p: z.number().int(),
      })
      .meta({ description: "What the vehicle stores to verify the password (no password, no w1)" }),
  })
  .meta({ id: "PairingMaterial" });

export const VehicleEnrollmentRequestSchema = z
  .strictObject({
    vehicleId: VehicleIdSchema,
    vehiclePublicKey: PublicKeyHex.meta({ description: "The vehicle's long-term public key" }),
    pairingValidityHours: PairingValidityHours.optional(),
  })
  .meta({ id: "VehicleEnrollmentRequest" });

export const VehicleEnrollmentResponseSchema = z
  .strictObject({
    vehicleId: VehicleIdSchema,
    vehicleCertificate: CertificatePem.meta({ description: "Vehicle certificate (PEM)" }),
    serialNumber: z.string().meta({ description: "Serial number of the certificate, hex" }),
    trustAnchors: TrustAnchorsSchema,
    pairing: PairingMaterialSchema,
  })
  .meta({ id: "VehicleEnrollmentResponse" });

export const PairingRequestSchema = z
  .strictObject({ pairingValidityHours: PairingValidityHours.optional() })
  .optional()
  .meta({ id: "PairingRequest", description: "Optional; an empty body takes the defaults" });

export const PairingResponseSchema = z
  .strictObject({ vehicleId: VehicleIdSchema, pairing: PairingMaterialSchema })
  .meta({ id: "PairingResponse" });

export const VehicleIdParamsSchema = z.strictObject({ vehicleId: VehicleIdSchema });

// ---- key tracking --------------------------------------------------------------------------

export const AccessProfileSchema = z
  .strictObject({
    kind: z.enum(["full", "unlock-only", "drive"]),
    speedLimitKmh: z.number().int().optional(),
    validFrom: z.number().int().optional().meta({ description: "Unix seconds" }),
    validUntil: z.number().int().optional().meta({ description: "Unix seconds" }),
  })
  .meta({ id: "AccessProfile" });

export const KeyRegistrationRequestSchema = z
  .strictObject({
    endpointCertificate: CertificatePem.meta({
      description:
        "The key's endpoint certificate; the request must be signed by its key (carkey-signer endpoint:<keyId>)",
    }),
    instanceCaCertificate: CertificatePem.meta({ description: "The SE's instance CA certificate (PEM)" }),
    keyAttestation: z
      .string()
      .regex(/^(?:[0-9a-f]{2}){1,2048}$/, "must be 1 to 2048 bytes of lower-case hex")
      .optional()
      .meta({ description: "Friend keys only: the owner's KATT statement for this endpoint key, hex" }),
    pairingConfirmation: z
      .string()
      .regex(/^(?:[0-9a-f]{2}){1,512}$/, "must be 1 to 512 bytes of lower-case hex")
      .optional()
      .meta({
        description:
          "Owner keys only, required: the vehicle's signed pairing confirmation (PCNF statement, docs/protocol.md " +
          "§24) for this endpoint key, which the device received at the end of owner pairing, hex",
      }),
  })
  .meta({ id: "KeyRegistrationRequest" });

export const KeySchema = z
  .strictObject({
    keyId: KeyIdSchema,
    vehicleId: VehicleIdSchema,
    role: z.enum(["owner", "friend"]),
    endpointPublicKey: PublicKeyHex,
    serialNumber: z.string().meta({ description: "Serial number of the endpoint certificate, hex" }),
    registeredAt: Instant,
    receipt: z.string().meta({ description: "RCPT statement signed by the Vehicle OEM root, hex" }),
    profile: AccessProfileSchema.optional().meta({
      description: "Friend keys: the profile the owner granted",
    }),
    attestationSerial: z.number().int().optional(),
    state: z.enum(["active", "revoked", "terminated", "expired"]).optional().meta({
      description: "Where the key is in its life (docs/protocol.md §25); expired: its profile ended",
    }),
  })
  .meta({ id: "Key" });

export const KeyIdParamsSchema = z.strictObject({ keyId: KeyIdSchema });

export const VehicleKeysResponseSchema = z
  .strictObject({ vehicleId: VehicleIdSchema, keys: z.array(KeySchema) })
  .meta({ id: "VehicleKeys" });

// ---- errors and headers ----------------------------------------------------------------------

/** RFC 9457 problem details, as every 4xx/5xx answer carries (`application/problem+json`). */
export const ProblemSchema = z
  .object({
    type: z.string().meta({ description: "urn:carkeys:problem:<kind>" }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().meta({ description: "What was wrong, for a developer to read" }),
    instance: z.string().optional().meta({ description: "The request path" }),
    errors: z
      .array(z.strictObject({ path: z.string(), message: z.string() }))
      .optional()
      .meta({ description: "Per-field validation messages" }),
  })
  .meta({ id: "Problem" });

/** The headers of a signed device request (src/protocol/request-signature.ts). */
export const DeviceRequestHeadersSchema = z.strictObject({
  "carkey-signer": z
    .string()
    .regex(/^(instance:[0-9a-f]{32}|endpoint:[0-9a-f]{12})$/)
    .meta({ description: "instance:<seId> or endpoint:<keyId>" }),
  "carkey-timestamp": z
    .string()
    .regex(/^[0-9]{1,16}$/)
    .meta({ description: "Unix milliseconds; within 5 minutes of the service's clock" }),
  "carkey-nonce": z
    .string()
    .regex(/^[0-9a-f]{32}$/)
    .meta({ description: "16 random bytes, hex; used once" }),
  "carkey-signature": z
    .string()
    .regex(/^[0-9a-f]{128}$/)
    .meta({ description: "ECDSA P-256 r‖s over canonicalRequest(), hex" }),
});

// ---- the table -------------------------------------------------------------------------------

export interface RouteSchemas {
  readonly description: string;
  /** Path parameters; absent when the path has none. */
  readonly params?: z.ZodType;
  /** Request body; absent for GET. */
  readonly body?: z.ZodType;
  /** Query parameters (strings, from rawQueryString); absent when the route takes none. */
  readonly query?: z.ZodType;
  readonly response: z.ZodType;
  /** Status of a success that created something (a repeat of an idempotent request answers 200). */
  readonly successStatus: 200 | 201;
  /** The 4xx statuses this route answers with a Problem, and 503 where a root may not exist yet. */
  readonly problemStatuses: readonly number[];
}

const DEVICE_PROBLEMS = [400, 401, 403, 404, 409, 413, 415, 503] as const;
const OEM_PROBLEMS = [400, 401, 404, 409, 413, 415] as const;

export const ROUTE_SCHEMAS = {
  "GET /v1/trust-anchors": {
    description: "The Device OEM and Vehicle OEM root certificates (created on first use).",
    response: TrustAnchorsSchema,
    successStatus: 200,
    problemStatuses: [503],
  },
  "POST /v1/devices": {
    description:
      "Enrolls a secure element: checks the manufacturer's factory attestation and proof of possession of the " +
      "instance CA key (the request signature), then returns the Instance CA certificate from the Device OEM " +
      "root. A repeat returns the same certificate (200).",
    body: DeviceEnrollmentRequestSchema,
    response: DeviceEnrollmentResponseSchema,
    successStatus: 201,
    problemStatuses: DEVICE_PROBLEMS,
  },
  "POST /v1/vehicles": {
    description:
      "Enrolls a vehicle: its certificate from the Vehicle OEM root, the trust anchors it needs, and " +
      "owner-pairing material (the password, to give to the owner; the verifier, to provision into the car). " +
      "A repeat with the same key returns the same certificate and new pairing material (200).",
    body: VehicleEnrollmentRequestSchema,
    response: VehicleEnrollmentResponseSchema,
    successStatus: 201,
    problemStatuses: [...OEM_PROBLEMS, 503],
  },
  "POST /v1/vehicles/{vehicleId}/pairing": {
    description:
      "New owner-pairing material for an enrolled vehicle; the previous password stops being accepted for " +
      "registration. With an owner key on record it is a new phone's: registering its owner key replaces the " +
      "old one (revoked as migrated, its SE told to terminate it); friend keys stay valid.",
    params: VehicleIdParamsSchema,
    body: PairingRequestSchema,
    response: PairingResponseSchema,
    successStatus: 201,
    problemStatuses: OEM_PROBLEMS,
  },
  "POST /v1/keys": {
    description:
      "Registers an owner or friend key: the endpoint certificate chain must lead to the Device OEM root, the " +
      "request must be signed by the endpoint key, an owner key needs the vehicle's pairing confirmation for it " +
      "(signed by the vehicle key on record; it spends the pairing material it names, and replaces a previous " +
      "owner), and a friend key needs the owner's key attestation. Returns a receipt signed by the Vehicle OEM " +
      "root. A repeat returns the same record (200).",
    body: KeyRegistrationRequestSchema,
    response: KeySchema,
    successStatus: 201,
    problemStatuses: DEVICE_PROBLEMS,
  },
  "GET /v1/keys/{keyId}": {
    description: "One key's record.",
    params: KeyIdParamsSchema,
    response: KeySchema,
    successStatus: 200,
    problemStatuses: [400, 401, 404],
  },
  "GET /v1/vehicles/{vehicleId}/keys": {
    description: "The keys registered for a vehicle (eventually consistent).",
    params: VehicleIdParamsSchema,
    response: VehicleKeysResponseSchema,
    successStatus: 200,
    problemStatuses: [400, 401, 404],
  },
  // The TIGRESS relay's routes, defined with the relay (src/service/relay/relay-schemas.ts).
  ...RELAY_ROUTE_SCHEMAS,
  // The key lifecycle (src/service/lifecycle-schemas.ts).
  ...LIFECYCLE_ROUTE_SCHEMAS,
  ...PARTNER_EVENT_ROUTE_SCHEMAS,
  ...WEBHOOK_KEY_ROUTE_SCHEMAS,
} as const satisfies Record<string, RouteSchemas>;

export type RouteKey = keyof typeof ROUTE_SCHEMAS;

export type TrustAnchors = z.infer<typeof TrustAnchorsSchema>;
export type DeviceEnrollmentRequest = z.infer<typeof DeviceEnrollmentRequestSchema>;
export type DeviceEnrollmentResponse = z.infer<typeof DeviceEnrollmentResponseSchema>;
export type PairingMaterial = z.infer<typeof PairingMaterialSchema>;
export type VehicleEnrollmentRequest = z.infer<typeof VehicleEnrollmentRequestSchema>;
export type VehicleEnrollmentResponse = z.infer<typeof VehicleEnrollmentResponseSchema>;
export type PairingRequest = z.infer<typeof PairingRequestSchema>;
export type PairingResponse = z.infer<typeof PairingResponseSchema>;
export type KeyRegistrationRequest = z.infer<typeof KeyRegistrationRequestSchema>;
export type KeyView = z.infer<typeof KeySchema>;
export type VehicleKeysResponse = z.infer<typeof VehicleKeysResponseSchema>;
export type Problem = z.infer<typeof ProblemSchema>;
