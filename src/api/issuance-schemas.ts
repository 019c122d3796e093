// Request and response schemas of the issuance routes (zod/mini): trust
// anchors, secure element and vehicle enrollment, pairing material, key
// tracking. The route entries (src/api/routes/) point at them; the handlers
// validate with them and the OpenAPI generator renders them, so the document
// and the checks cannot drift. Objects are strict: an unknown field is an
// error, not something silently ignored.
import * as z from "zod/mini";
import { SHARING_ROLES } from "../protocol/access-profile.js";
import {
  CertificatePem,
  hexBytes,
  hexUpTo,
  Instant,
  KeyIdSchema,
  PublicKeyHex,
  SeIdSchema,
  VehicleIdSchema,
} from "./schema-primitives.js";

const PairingValidityHours = z
  .number()
  .check(
    z.int("must be a whole number of hours"),
    z.minimum(1),
    z.maximum(720),
    z.meta({ description: "How long the pairing password may be used, in hours (default 168, at most 720)" }),
  );

export const DeviceOemRootSchema = z
  .strictObject({
    organization: z.string().check(z.meta({ description: "The device maker: O of the root's subject" })),
    keyIdentifier: z
      .string()
      .check(
        z.regex(/^([0-9a-f]{2}){1,64}$/),
        z.meta({ description: "The root's subject key identifier, hex (RFC 7093 method 1)" }),
      ),
    origin: z.enum(["service", "configured"]).check(
      z.meta({
        description:
          "service: the deployment's own Device OEM root (KMS), which certifies the SEs it enrolls; configured: " +
          "another phone maker's root, a trust anchor only (the service signs nothing under it)",
      }),
    ),
    certificate: CertificatePem.check(z.meta({ description: "The root certificate (PEM)" })),
  })
  .check(
    z.meta({
      id: "DeviceOemRoot",
      description: "One Device OEM whose SEs' key chains the service accepts at key registration",
    }),
  );

export const TrustAnchorsSchema = z
  .strictObject({
    deviceOemRoot: CertificatePem.check(
      z.meta({
        description:
          "The deployment's own Device OEM root CA certificate (PEM); also first in deviceOemRoots",
      }),
    ),
    vehicleOemRoot: CertificatePem.check(z.meta({ description: "Vehicle OEM root CA certificate (PEM)" })),
    deviceOemRoots: z.array(DeviceOemRootSchema).check(
      z.minLength(1),
      z.meta({
        description:
          "Every Device OEM root the service trusts, its own first: a car trusts these for shared keys, an owner's " +
          "wallet shares with SEs certified by any of them (docs/protocol.md §27)",
      }),
    ),
  })
  .check(
    z.meta({
      id: "TrustAnchors",
      description: "The roots a vehicle and a device need to verify chains offline",
    }),
  );

// ---- secure element enrollment ---------------------------------------------------------------

export const DeviceEnrollmentRequestSchema = z
  .strictObject({
    seId: SeIdSchema,
    instanceCaPublicKey: PublicKeyHex.check(
      z.meta({
        description:
          "The SE's instance CA key; the request must be signed by it (carkey-signer instance:<seId>)",
      }),
    ),
    factoryAttestation: hexUpTo(
      1024,
      "The SE manufacturer's FACT statement over (seId, instanceCaPublicKey), hex",
    ),
  })
  .check(z.meta({ id: "DeviceEnrollmentRequest" }));

export const DeviceEnrollmentResponseSchema = z
  .strictObject({
    seId: SeIdSchema,
    instanceCaCertificate: CertificatePem.check(z.meta({ description: "Instance CA certificate (PEM)" })),
    serialNumber: z.string().check(z.meta({ description: "Serial number of the certificate, hex" })),
    deviceOemRoot: CertificatePem.check(z.meta({ description: "The Device OEM root that issued it (PEM)" })),
  })
  .check(z.meta({ id: "DeviceEnrollmentResponse" }));

// ---- vehicle enrollment and pairing material -------------------------------------------------

export const PairingMaterialSchema = z
  .strictObject({
    pairingId: z
      .string()
      .check(z.meta({ description: "Identifies this password in logs and support calls" })),
    password: z.string().check(
      z.regex(/^[0-9]{8}$/),
      z.meta({
        description: "The owner's one-time pairing password; returned once and not kept by the service",
      }),
    ),
    expiresAt: Instant,
    verifier: z
      .strictObject({
        w0: hexBytes(32, "SPAKE2+ w0 scalar, 32 bytes, hex"),
        L: PublicKeyHex.check(z.meta({ description: "SPAKE2+ L = w1·G, uncompressed point, hex" })),
        salt: hexBytes(16, "scrypt salt, hex"),
        N: z.number().check(z.int()),
        r: z.number().check(z.int()),
        p: z.number().check(z.int()),
      })
      .check(z.meta({ description: "What the vehicle stores to verify the password (no password, no w1)" })),
  })
  .check(z.meta({ id: "PairingMaterial" }));

export const VehicleEnrollmentRequestSchema = z
  .strictObject({
    vehicleId: VehicleIdSchema,
    vehiclePublicKey: PublicKeyHex.check(z.meta({ description: "The vehicle's long-term public key" })),
    pairingValidityHours: z.optional(PairingValidityHours),
  })
  .check(z.meta({ id: "VehicleEnrollmentRequest" }));

export const VehicleEnrollmentResponseSchema = z
  .strictObject({
    vehicleId: VehicleIdSchema,
    vehicleCertificate: CertificatePem.check(z.meta({ description: "Vehicle certificate (PEM)" })),
    serialNumber: z.string().check(z.meta({ description: "Serial number of the certificate, hex" })),
    trustAnchors: TrustAnchorsSchema,
    pairing: PairingMaterialSchema,
  })
  .check(z.meta({ id: "VehicleEnrollmentResponse" }));

export const PairingRequestSchema = z
  .optional(z.strictObject({ pairingValidityHours: z.optional(PairingValidityHours) }))
  .check(z.meta({ id: "PairingRequest", description: "Optional; an empty body takes the defaults" }));

export const PairingResponseSchema = z
  .strictObject({ vehicleId: VehicleIdSchema, pairing: PairingMaterialSchema })
  .check(z.meta({ id: "PairingResponse" }));

// ---- key tracking --------------------------------------------------------------------------

export const AccessProfileSchema = z
  .strictObject({
    kind: z.enum(["full", "unlock-only", "drive"]),
    speedLimitKmh: z.optional(z.number().check(z.int())),
    validFrom: z.optional(z.number().check(z.int())).check(z.meta({ description: "Unix seconds" })),
    validUntil: z.optional(z.number().check(z.int())).check(z.meta({ description: "Unix seconds" })),
    // The rest of src/protocol/access-profile.ts's AccessProfile: what a key record carries for a friend
    // key shared with a role or driving limits (docs/protocol.md §27).
    role: z.optional(z.enum(SHARING_ROLES)).check(z.meta({ description: "Absent: guest" })),
    powerLimitPercent: z
      .optional(z.number().check(z.int()))
      .check(z.meta({ description: "Engine power, percent of full" })),
    audioVolumeLimitPercent: z
      .optional(z.number().check(z.int()))
      .check(z.meta({ description: "Highest audio volume, percent" })),
    stabilityControlLocked: z
      .optional(z.boolean())
      .check(z.meta({ description: "True: stability control stays on" })),
  })
  .check(z.meta({ id: "AccessProfile" }));

export const KeyRegistrationRequestSchema = z
  .strictObject({
    endpointCertificate: CertificatePem.check(
      z.meta({
        description:
          "The key's endpoint certificate; the request must be signed by its key (carkey-signer endpoint:<keyId>)",
      }),
    ),
    instanceCaCertificate: CertificatePem.check(
      z.meta({ description: "The SE's instance CA certificate (PEM)" }),
    ),
    keyAttestation: z.optional(
      hexUpTo(2048, "Friend keys only: the owner's KATT statement for this endpoint key, hex"),
    ),
    pairingConfirmation: z.optional(
      hexUpTo(
        512,
        "Owner keys only, required: the vehicle's signed pairing confirmation (PCNF statement, docs/protocol.md " +
          "§24) for this endpoint key, which the device received at the end of owner pairing, hex",
      ),
    ),
  })
  .check(z.meta({ id: "KeyRegistrationRequest" }));

export const KeySchema = z
  .strictObject({
    keyId: KeyIdSchema,
    vehicleId: VehicleIdSchema,
    role: z.enum(["owner", "friend"]),
    endpointPublicKey: PublicKeyHex,
    serialNumber: z.string().check(z.meta({ description: "Serial number of the endpoint certificate, hex" })),
    registeredAt: Instant,
    receipt: z.string().check(z.meta({ description: "RCPT statement signed by the Vehicle OEM root, hex" })),
    profile: z.optional(AccessProfileSchema).check(
      z.meta({
        description: "Friend keys: the profile the owner granted",
      }),
    ),
    attestationSerial: z.optional(z.number().check(z.int())),
    state: z.optional(z.enum(["active", "revoked", "terminated", "expired"])).check(
      z.meta({
        description:
          "Where the key is in its life (docs/protocol.md §25); expired: its profile ended (its SE reported it, " +
          "or the expiry sweep stopped it)",
      }),
    ),
  })
  .check(z.meta({ id: "Key" }));

export const VehicleKeysResponseSchema = z
  .strictObject({ vehicleId: VehicleIdSchema, keys: z.array(KeySchema) })
  .check(z.meta({ id: "VehicleKeys" }));

export type TrustAnchors = z.infer<typeof TrustAnchorsSchema>;
export type DeviceOemRoot = z.infer<typeof DeviceOemRootSchema>;
export type DeviceEnrollmentRequest = z.infer<typeof DeviceEnrollmentRequestSchema>;
export type DeviceEnrollmentResponse = z.infer<typeof DeviceEnrollmentResponseSchema>;
export type PairingMaterial = z.infer<typeof PairingMaterialSchema>;
export type VehicleEnrollmentRequest = z.infer<typeof VehicleEnrollmentRequestSchema>;
export type VehicleEnrollmentResponse = z.infer<typeof VehicleEnrollmentResponseSchema>;
export type PairingRequest = z.infer<typeof PairingRequestSchema>;
export type PairingResponse = z.infer<typeof PairingResponseSchema>;
export type KeyRegistrationRequest = z.infer<typeof KeyRegistrationRequestSchema>;
export type RegisteredKey = z.infer<typeof KeySchema>;
export type VehicleKeysResponse = z.infer<typeof VehicleKeysResponseSchema>;
