// The one way a car key comes to be on this SE, whichever path asks for it —
// the workshop shortcut (provisionKey), owner pairing, a friend accepting a
// share: one key per vehicle, a fresh endpoint key pair drawn inside the SE,
// empty mailboxes, and, for a paired or shared key, the vehicle's certificate
// checked first and an endpoint certificate from the instance CA. The key is
// returned unstored: pairing keeps it staged until the car confirms it.
import { type AccessProfile, checkAccessProfile } from "../../protocol/access-profile.js";
import { toHex } from "../../protocol/bytes.js";
import { certificatePem } from "../../protocol/certificate-pem.js";
import type { KeyRole } from "../../protocol/certificate-profiles.js";
import { parseCertificate } from "../../protocol/certificate-verifier.js";
import { MAILBOX_SIZE, Mailbox } from "../../protocol/mailbox-operations.js";
import { keyIdentifier, P256PrivateKey, type RandomSource } from "../../protocol/p256.js";
import { encodePrivateMailbox } from "../../protocol/private-mailbox.js";
import type { EndpointCertification } from "./endpoint-certification.js";
import { SecureElementError } from "./errors.js";
import { type HeldKey, keyForVehicle, type SeModel } from "./se-model.js";

export interface NewKeyRequest {
  vehicleIdentifier: Uint8Array;
  vehiclePublicKey: Uint8Array;
  profile: AccessProfile;
  express: boolean;
  role?: KeyRole;
  /** PEM, already verified. */
  vehicleCertificate?: string;
}

/** A paired or shared key with its endpoint certificate (DER) and the instance CA's, as the peer gets them. */
export interface CertifiedKey {
  key: HeldKey;
  endpointCertificate: Uint8Array;
  instanceCaCertificate: Uint8Array;
}

export class KeyCreation {
  constructor(
    private readonly model: SeModel,
    private readonly certification: EndpointCertification,
    private readonly random: RandomSource,
    private readonly now: () => number,
  ) {}

  /** A key for a vehicle this device holds no key for yet. */
  create(request: NewKeyRequest): HeldKey {
    if (keyForVehicle(this.model, request.vehicleIdentifier)) {
      throw new SecureElementError(
        `this device already holds a key for vehicle ${toHex(request.vehicleIdentifier)}`,
      );
    }
    const endpoint = P256PrivateKey.generate(this.random);
    const id = keyIdentifier(endpoint.publicKey);
    return {
      keyId: toHex(id),
      id,
      endpoint,
      // Copies: the caller's arrays stay the caller's.
      vehicleIdentifier: new Uint8Array(request.vehicleIdentifier),
      vehiclePublicKey: new Uint8Array(request.vehiclePublicKey),
      profile: checkAccessProfile(request.profile),
      express: request.express,
      createdAt: new Date(this.now()).toISOString(),
      privateMailbox: encodePrivateMailbox({ revocations: [] }, MAILBOX_SIZE[Mailbox.PRIVATE]),
      confidentialMailbox: new Uint8Array(MAILBOX_SIZE[Mailbox.CONFIDENTIAL]),
      ...(request.role ? { role: request.role } : {}),
      ...(request.vehicleCertificate ? { vehicleCertificate: request.vehicleCertificate } : {}),
    };
  }

  /**
   * A key bound to a vehicle whose certificate is checked against the Vehicle
   * OEM root, certified by this SE's instance CA with `role`.
   */
  async createCertified(
    vehicleIdentifier: Uint8Array,
    vehicleCertificate: string | Uint8Array,
    profile: AccessProfile,
    role: KeyRole,
  ): Promise<CertifiedKey> {
    const vehicle = this.certification.verifyVehicle(vehicleIdentifier, vehicleCertificate);
    const key = this.create({
      vehicleIdentifier,
      vehiclePublicKey: vehicle.publicKey,
      profile,
      express: true,
      role,
      vehicleCertificate: certificatePem(parseCertificate(vehicleCertificate).der),
    });
    const certified = await this.certification.certify(key, role);
    return { key, endpointCertificate: certified.der, instanceCaCertificate: certified.instanceCaDer };
  }
}
