// Vehicle enrollment and new pairing material (OEM routes,
// OEM-authenticated: IAM on API Gateway, a static credential locally). The
// vehicle's key gets a "vehicle" certificate from the Vehicle OEM root; the
// answer carries the trust anchors the car needs (both OEM roots) and
// owner-pairing material (pairing-material.ts). A repeat with the same key is
// what an OEM backend does after a lost response: it gets the certificate
// already issued (no second Sign) and fresh pairing material, since the first
// password was never seen and is not stored. New pairing material is refused
// once an owner key is registered: handing a car to a new owner goes through
// revoking the old one (remote revocation), not through a new password.

import type {
  PairingRequest,
  PairingResponse,
  VehicleEnrollmentRequest,
  VehicleEnrollmentResponse,
} from "../api/issuance-schemas.js";
import { toHex } from "../protocol/bytes.js";
import type { ScryptCost } from "../protocol/pairing-password.js";
import { ConflictError, NotFoundError } from "./errors.js";
import { bytesField, publicKeyField } from "./input.js";
import type { Outcome } from "./outcome.js";
import { createPairingMaterial } from "./pairing-material.js";
import type { Clock, Store, VehicleRecord } from "./ports.js";
import type { RootCertificates } from "./root-certificates.js";

export interface VehicleEnrollmentOptions {
  readonly store: Store;
  readonly clock: Clock;
  readonly roots: RootCertificates;
  readonly scryptCost?: ScryptCost;
}

export class VehicleEnrollment {
  private readonly options: VehicleEnrollmentOptions;

  constructor(options: VehicleEnrollmentOptions) {
    this.options = options;
  }

  /** `caller` is the authenticated OEM principal, kept for audit. */
  async enroll(input: VehicleEnrollmentRequest, caller: string): Promise<Outcome<VehicleEnrollmentResponse>> {
    const { store, clock, roots } = this.options;
    const vehicleIdentifier = bytesField(input.vehicleId, "body.vehicleId");
    const publicKey = publicKeyField(input.vehiclePublicKey, "body.vehiclePublicKey");

    const existing = await store.getVehicle(input.vehicleId);
    if (existing) return this.repeat(existing, input);

    const now = clock.now();
    const { issued: certificate } = await roots.issue({
      profile: "vehicle",
      subjectPublicKey: publicKey,
      vehicleIdentifier,
      now,
    });
    const record: VehicleRecord = {
      vehicleId: input.vehicleId,
      publicKey: toHex(publicKey),
      certificatePem: certificate.pem,
      serialNumber: certificate.serialNumber,
      enrolledAt: now.toISOString(),
      enrolledBy: caller,
    };
    const pairing = await this.pairing(input.vehicleId, now, input.pairingValidityHours);
    try {
      await store.createVehicle(record, pairing.record);
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      const winner = await store.getVehicle(input.vehicleId);
      if (!winner) throw error;
      return this.repeat(winner, input);
    }
    return {
      created: true,
      response: {
        vehicleId: record.vehicleId,
        vehicleCertificate: record.certificatePem,
        serialNumber: record.serialNumber,
        trustAnchors: await roots.trustAnchors(),
        pairing: pairing.material,
      },
    };
  }

  /**
   * New owner-pairing material for an enrolled vehicle. With an owner key on
   * record it is a new phone's (migration to a new phone): registering the owner key
   * it pairs replaces the old one, which is revoked and told to terminate.
   */
  async newPairing(vehicleId: string, input: PairingRequest): Promise<PairingResponse> {
    const vehicle = await this.options.store.getVehicle(vehicleId);
    if (!vehicle) throw new NotFoundError(`vehicle ${vehicleId} is not enrolled`);
    const pairing = await this.pairing(vehicleId, this.options.clock.now(), input?.pairingValidityHours);
    await this.options.store.replacePairing(pairing.record);
    return { vehicleId, pairing: pairing.material };
  }

  private async repeat(
    existing: VehicleRecord,
    input: VehicleEnrollmentRequest,
  ): Promise<Outcome<VehicleEnrollmentResponse>> {
    if (existing.publicKey !== input.vehiclePublicKey) {
      throw new ConflictError(`vehicle ${existing.vehicleId} is already enrolled with another public key`);
    }
    if (existing.owner) throw ownerConflict(existing.vehicleId);
    const pairing = await this.pairing(
      existing.vehicleId,
      this.options.clock.now(),
      input.pairingValidityHours,
    );
    await this.options.store.replacePairing(pairing.record);
    return {
      created: false,
      response: {
        vehicleId: existing.vehicleId,
        vehicleCertificate: existing.certificatePem,
        serialNumber: existing.serialNumber,
        trustAnchors: await this.options.roots.trustAnchors(),
        pairing: pairing.material,
      },
    };
  }

  private pairing(vehicleId: string, now: Date, validityHours: number | undefined) {
    return createPairingMaterial({
      vehicleId,
      now,
      ...(validityHours === undefined ? {} : { validityHours }),
      ...(this.options.scryptCost ? { cost: this.options.scryptCost } : {}),
    });
  }
}

function ownerConflict(vehicleId: string): ConflictError {
  return new ConflictError(
    `vehicle ${vehicleId} already has an owner key; it must be revoked before new pairing material is issued`,
  );
}
