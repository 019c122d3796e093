// What the client needs of the devices it drives, in its own terms: a
// secure element (the phone's or watch's) and a vehicle's telematics unit.
// The client never holds a key: every signature comes from the SE behind one
// of these methods. The project's emulator (carkeys/emulator: SecureElement,
// Vehicle) implements them, and so can a wallet's binding to a real SE or an
// OEM's car gateway; the client package depends on neither, and loads no
// emulator code. Types only; test/client/device-ports.test.ts keeps the
// emulator assignable to each of them.
import type { AccessProfile } from "../protocol/access-profile.js";
import type { KeyRole } from "../protocol/certificate-profiles.js";
import type { SignedRequestParts } from "../protocol/request-signature.js";

/** Signs a device request (src/protocol/request-signature.ts) with the key its signer names. */
export interface RequestSigningSecureElement {
  signServiceRequest(parts: SignedRequestParts): Uint8Array;
}

/** The certificates an enrolled SE installs: its instance CA certificate and the roots it trusts. */
export interface SecureElementCertificates {
  instanceCaCertificate: string;
  deviceOemRoot: string;
  vehicleOemRoot: string;
  /** Roots of other device makers whose devices this SE shares keys with. */
  trustedDeviceOemRoots?: string[];
}

/** An SE that can be enrolled: its id, instance CA key and factory attestation; it installs what it gets. */
export interface EnrollableSecureElement extends RequestSigningSecureElement {
  readonly seId: string;
  readonly instanceCaPublicKey: Uint8Array;
  readonly factoryAttestation: Uint8Array | null;
  installCertificates(certificates: SecureElementCertificates): void;
}

/** A car key's endpoint certificate and the instance CA certificate that issued it (PEM). */
export interface KeyCertificateChain {
  endpointCertificate: string;
  instanceCaCertificate: string;
}

/** An SE holding the key to register: it signs the request with that key and hands out its chain. */
export interface KeyHoldingSecureElement extends RequestSigningSecureElement {
  certificateChain(keyId: string): KeyCertificateChain;
  /** The car's signed pairing confirmation of an owner key made by pairing; null for any other key. */
  pairingConfirmation(keyId: string): Uint8Array | null;
}

/** What an SE tells about one of its keys (public data only). */
export interface SecureElementKey {
  keyId: string;
  /** Hex. */
  vehicleIdentifier: string;
  role?: KeyRole;
  /** PEM: the vehicle's certificate, passed on in share invitations. */
  vehicleCertificate?: string;
}

/** The friend's new key, certified by its SE's instance CA. */
export interface KeyCreationRequest extends KeyCertificateChain {
  keyId: string;
}

/** The sharer's SE (an owner or a co-owner key): attests a friend's key after user authentication. */
export interface OwnerSecureElement {
  key(keyId: string): SecureElementKey;
  attestFriendKey(
    sharerKeyId: string,
    request: KeyCreationRequest,
    profile: AccessProfile,
    activationCode?: string,
  ): Uint8Array;
  /** For a co-owner: the attestations from the owner down to its own key; empty for an owner key. */
  sharingChain(sharerKeyId: string): Uint8Array[];
}

/** The friend's SE: makes the key for a vehicle and installs the sharer's attestation. */
export interface FriendSecureElement {
  createFriendKey(invitation: {
    vehicleIdentifier: Uint8Array;
    vehicleCertificate: string | Uint8Array;
    profile: AccessProfile;
  }): Promise<KeyCreationRequest>;
  installKeyAttestation(friendKeyId: string, attestation: Uint8Array, upstream?: readonly Uint8Array[]): void;
}

/** An SE that syncs its lifecycle notices and reports the keys it deleted. */
export interface SyncingSecureElement extends RequestSigningSecureElement {
  readonly seId: string;
  /** Where the SE left off: the counter of the last notice it applied. */
  readonly noticeCounter: number;
  /** Verifies and applies a notice signed by the Device OEM root (it refuses one that is not newer). */
  applyNotice(notice: Uint8Array): unknown;
  /** Deletes the keys whose profile has ended by the SE's clock. */
  deleteExpiredKeys(): { keyId: string }[];
  /** Termination attestations of deleted keys the service has not confirmed yet. */
  unconfirmedTerminations(): { keyId: string; attestation: Uint8Array }[];
  terminationConfirmed(keyId: string): void;
}

/** A car's telematics: applies the signed revocation list and notices, reports dashboard deletions. */
export interface SyncingVehicle {
  readonly vehicleIdentifier: Uint8Array;
  /** Keys deleted at the dashboard that the service has not been told of. */
  readonly pendingDeletions: readonly { keyId: string }[];
  deletionReported(keyId: string): void;
  applyRevocationList(list: Uint8Array): unknown;
  applyNotice(notice: Uint8Array): unknown;
}
