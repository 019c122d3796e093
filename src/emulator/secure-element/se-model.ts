// The SE's working state in memory: what persisted-state.ts stores, as bytes
// and private key objects, so a transaction or a signature never re-parses
// the stored hex. It lives only in ECMAScript private fields of the SE and its
// parts; nothing here is ever serialized except by persisted-state.ts.
import type { AccessProfile } from "../../protocol/access-profile.js";
import { equalBytes } from "../../protocol/bytes.js";
import type { KeyRole } from "../../protocol/certificate-profiles.js";
import type { P256PrivateKey } from "../../protocol/p256.js";
import { KeyNotFoundError } from "./errors.js";

// Records that are the same in memory and stored (strings only): persisted-state.ts stores them as they are.

export interface SeCertificates {
  /** PEM of this SE's instance CA certificate, issued by the Device OEM root. */
  instanceCaCertificate: string;
  /** This SE's own Device OEM root: it issued the instance CA certificate and signs the SE's notices. */
  deviceOemRoot: string;
  vehicleOemRoot: string;
  /**
   * The roots of other device makers whose devices this SE shares keys with (cross-platform
   * sharing), besides its own. Absent in states written before it existed: only its own root.
   */
  trustedDeviceOemRoots?: string[];
}

export interface IssuedAttestation {
  ownerKeyId: string;
  friendKeyId: string;
  serial: number;
  profile: AccessProfile;
  issuedAt: string;
  revoked: boolean;
}

export interface TerminatedKey {
  keyId: string;
  vehicleIdentifier: string;
  terminatedAt: string;
  /**
   * The termination attestation (hex), kept until the service confirmed it: the key is gone, so
   * this signature is the only proof left, and a lost POST must be sent again at the next sync.
   */
  unconfirmedAttestation?: string;
}

/** One car key on the device, with its private key and mailboxes. */
export interface HeldKey {
  /** The key identifier in hex: the key's name in every API and in storage. */
  readonly keyId: string;
  readonly id: Uint8Array;
  readonly endpoint: P256PrivateKey;
  readonly vehicleIdentifier: Uint8Array;
  readonly vehiclePublicKey: Uint8Array;
  profile: AccessProfile;
  express: boolean;
  readonly createdAt: string;
  privateMailbox: Uint8Array;
  confidentialMailbox: Uint8Array;
  /** Kpersistent of the last committed standard transaction. */
  persistent?: Uint8Array;
  readonly role?: KeyRole;
  readonly vehicleCertificate?: string;
  endpointCertificate?: string;
  pairingConfirmation?: Uint8Array;
  attestation?: Uint8Array;
  upstreamAttestations?: Uint8Array[];
  lastTransaction?: { flow: "standard" | "fast"; controlFlowP2: string; at: string };
}

export interface SeModel {
  readonly instanceCa: P256PrivateKey;
  readonly seId: string;
  factoryAttestation: Uint8Array | null;
  certificates: SeCertificates | null;
  noticeCounter: number;
  readonly issuedAttestations: IssuedAttestation[];
  readonly keys: Map<string, HeldKey>;
  readonly terminated: TerminatedKey[];
  locked: boolean;
  poweredOffAt: number | null;
  readonly powerReserveSeconds: number;
}

export function requireKey(model: SeModel, keyId: string): HeldKey {
  const key = model.keys.get(keyId);
  if (!key) throw new KeyNotFoundError(`no key ${keyId} on this device`);
  return key;
}

export function keyForVehicle(model: SeModel, vehicleIdentifier: Uint8Array): HeldKey | undefined {
  for (const key of model.keys.values()) {
    if (equalBytes(key.vehicleIdentifier, vehicleIdentifier)) return key;
  }
  return undefined;
}
