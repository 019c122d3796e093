// The ports of the cloud domain (DESIGN.md "Layout": functions → service →
// ports ← adapters): what the service needs from the outside world, and
// nothing about how it is provided. Store is DynamoDB in AWS and locally;
// Signer holds the two OEM root keys (KMS in AWS, a software key store on a
// laptop); Clock is injectable so tests can step past expiries; Notifier is
// declared for issue 5's events (sharing, revocation, lost mode) and unused
// here. Records carry hex strings and ISO instants: they are what is stored,
// and the store adapter need not know any codec.
import type { AccessProfile } from "../protocol/access-profile.js";
import type { KeyRole } from "../protocol/certificate-profiles.js";
import type { DigestSigner } from "../protocol/signer.js";

/** The two roots the service signs with. */
export type OemRootProfile = "device-oem-root" | "vehicle-oem-root";
export const OEM_ROOT_PROFILES: readonly OemRootProfile[] = ["device-oem-root", "vehicle-oem-root"];

/**
 * One DigestSigner per OEM root, each chosen by a URI (`awskms:…`,
 * `softkms:…`; src/adapters/kms/signer-from-uri.ts). Issuance reaches KMS only
 * through here, one signDigest per certificate or receipt.
 */
export interface Signer {
  root(profile: OemRootProfile): DigestSigner;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** An event for the OEM's backend (issue 5: EventBridge). */
export interface ServiceEvent {
  /** e.g. `key.revoked`; past tense, dot-separated. */
  readonly type: string;
  readonly vehicleId?: string;
  readonly keyId?: string;
  readonly occurredAt: string;
  /** Public facts only: never key material, passwords or request bodies. */
  readonly detail: Readonly<Record<string, unknown>>;
}

export interface Notifier {
  publish(event: ServiceEvent): Promise<void>;
}

// ---- records --------------------------------------------------------------------------------

/** A self-signed OEM root certificate, stored once per (profile, key) so a key rotation makes a new root. */
export interface RootCertificateRecord {
  readonly profile: OemRootProfile;
  /** Subject key identifier (hex), RFC 7093 method 1; names the key. */
  readonly keyId: string;
  readonly publicKey: string;
  readonly certificatePem: string;
  readonly serialNumber: string;
  readonly createdAt: string;
}

/** An enrolled secure element: its instance CA key and the certificate the Device OEM root gave it. */
export interface SecureElementRecord {
  /** 16 bytes, hex: the SE identifier its factory attestation names. */
  readonly seId: string;
  readonly instanceCaPublicKey: string;
  readonly certificatePem: string;
  readonly serialNumber: string;
  /** When the manufacturer attested the key (from the factory attestation). */
  readonly factoryAttestedAt: string;
  readonly enrolledAt: string;
}

export interface VehicleOwner {
  readonly keyId: string;
  readonly publicKey: string;
}

export interface VehicleRecord {
  /** 8..32 bytes, hex. */
  readonly vehicleId: string;
  readonly publicKey: string;
  readonly certificatePem: string;
  readonly serialNumber: string;
  readonly enrolledAt: string;
  /** The IAM principal (or local credential) that enrolled it. */
  readonly enrolledBy: string;
  /** Set once, when the owner key is registered. */
  readonly owner?: VehicleOwner;
}

/**
 * Bookkeeping of one owner-pairing password. Deliberately neither the
 * password nor its verifier (w0, L): with the salt, either lets anyone who
 * reads the table test all 10^8 passwords offline.
 */
export interface PairingRecord {
  readonly vehicleId: string;
  readonly pairingId: string;
  readonly createdAt: string;
  readonly expiresAt: string;
}

export interface FriendKeyAttestationRecord {
  /** The owner's KATT statement, hex, as the device presented it. */
  readonly encoded: string;
  readonly serial: number;
  readonly profile: AccessProfile;
  readonly ownerKeyId: string;
  readonly issuedAt: string;
}

/** A car key the service tracks. */
export interface KeyRecord {
  /** 6 bytes, hex (PROTOCOL.md tag 4E). */
  readonly keyId: string;
  readonly vehicleId: string;
  readonly role: KeyRole;
  readonly endpointPublicKey: string;
  readonly endpointCertificatePem: string;
  readonly instanceCaCertificatePem: string;
  /** Serial of the endpoint certificate (hex). */
  readonly serialNumber: string;
  readonly registeredAt: string;
  /** The RCPT statement (hex) signed by the Vehicle OEM root. */
  readonly receipt: string;
  /** Friend keys only: the owner's attestation. */
  readonly attestation?: FriendKeyAttestationRecord;
}

/** A device request nonce to be kept until `expiresAt`, after which the timestamp check refuses it anyway. */
export interface NonceClaim {
  /** `instance:<seId>` or `endpoint:<keyId>`: nonces are scoped per signing key. */
  readonly signer: string;
  readonly nonce: string;
  readonly expiresAt: Date;
}

/**
 * Persistence. Every method that creates or changes state is atomic and
 * conditional: it either does all it says or throws ConflictError (the state
 * it expected was not there), ReplayError (the nonce was already claimed) or
 * NotFoundError, and writes nothing. Reads are strongly consistent except
 * listVehicleKeys.
 */
export interface Store {
  getRootCertificate(profile: OemRootProfile, keyId: string): Promise<RootCertificateRecord | undefined>;
  /** ConflictError when a root for this (profile, keyId) exists already. */
  createRootCertificate(record: RootCertificateRecord): Promise<void>;

  getSecureElement(seId: string): Promise<SecureElementRecord | undefined>;
  /** ConflictError when the SE is enrolled already. */
  createSecureElement(record: SecureElementRecord, nonce: NonceClaim): Promise<void>;

  /** Records a nonce alone (for an answer that changes nothing else, e.g. an idempotent retry). */
  claimNonce(nonce: NonceClaim): Promise<void>;

  getVehicle(vehicleId: string): Promise<VehicleRecord | undefined>;
  /** ConflictError when the vehicle is enrolled already. */
  createVehicle(record: VehicleRecord, pairing: PairingRecord): Promise<void>;
  getPairing(vehicleId: string): Promise<PairingRecord | undefined>;
  /** Replaces the vehicle's pairing record; ConflictError unless the vehicle exists and has no owner. */
  replacePairing(pairing: PairingRecord): Promise<void>;

  getKey(keyId: string): Promise<KeyRecord | undefined>;
  /** Keys of one vehicle, in key id order; eventually consistent. */
  listVehicleKeys(vehicleId: string): Promise<KeyRecord[]>;
  /**
   * Records the owner key and makes it the vehicle's owner, consuming the
   * pairing record. ConflictError when the key id is taken, the vehicle has an
   * owner, or no pairing record is unexpired at `at`.
   */
  registerOwnerKey(key: KeyRecord, nonce: NonceClaim, at: Date): Promise<void>;
  /** Records a friend key. ConflictError when the key id is taken or the vehicle's owner is not `ownerKeyId`. */
  registerFriendKey(key: KeyRecord, ownerKeyId: string, nonce: NonceClaim): Promise<void>;
}
