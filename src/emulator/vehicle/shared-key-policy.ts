// How the car judges what a device's private mailbox brings (docs/protocol.md
// "Shared keys" and "Revocation"): a shared key's enrollment package at its
// first tap, and the revocations an owner's device queues. Everything is
// checked against what the car already trusts — Device OEM roots, its own
// identifier, the owner keys it paired, its revocation list — and the profile
// comes from the owner's signed attestation, never from the friend's device.
import { MAX_SHARE_DEPTH, profileBeyond, sharingRole } from "../../protocol/access-profile.js";
import { fromHex, toHex } from "../../protocol/bytes.js";
import { CertificateVerificationError, FriendEnrollmentError, ProtocolError } from "../../protocol/errors.js";
import {
  type FriendEnrollmentFacts,
  verifyFriendAttestation,
  verifyFriendEnrollment,
} from "../../protocol/friend-enrollment.js";
import { type KeyAttestationFacts, parseKeyAttestation } from "../../protocol/key-attestation.js";
import { keyIdentifier } from "../../protocol/p256.js";
import type { PrivateMailboxContent } from "../../protocol/private-mailbox.js";
import { expiresAt, hasExpired } from "../../protocol/profile-expiry.js";
import { type RevocationFacts, verifyRevocation } from "../../protocol/revocation.js";
import { TransactionRefusedError } from "./errors.js";
import type { OwnerMail } from "./reader-transaction.js";
import type { EnrolledEndpoint, VehicleState } from "./vehicle-state.js";

export function ownerKeyById(state: VehicleState, keyId: string): Uint8Array | undefined {
  const hex = state.ownerKeys.find((pub) => toHex(keyIdentifier(fromHex(pub))) === keyId);
  return hex ? fromHex(hex) : undefined;
}

/**
 * When an owner key stopped being trusted to attest: replaced by a new owner's
 * pairing (migration), or revoked (revocation list) or terminated since. The
 * times stay in the car's state after the key itself is gone from it.
 */
export function ownerKeyStop(
  state: VehicleState,
  keyId: string,
  publicKey: string,
): { at: number; what: string } | undefined {
  const stops: { at: number; what: string }[] = [];
  const replacedAt = state.ownerKeysReplacedAt?.[publicKey];
  if (replacedAt !== undefined) stops.push({ at: Date.parse(replacedAt), what: "a replaced owner key" });
  const revoked = state.revoked.find((r) => r.keyId === keyId);
  if (revoked) stops.push({ at: Date.parse(revoked.revokedAt), what: `a ${revoked.reason} owner key` });
  return stops.sort((a, b) => a.at - b.at)[0];
}

/** The device an owner key lives on: recorded at pairing (older states: the enrolled owner endpoint). */
export function ownerKeyDevice(state: VehicleState, publicKey: string): string | undefined {
  return (
    state.ownerKeyDevices?.[publicKey] ??
    state.endpoints.find((e) => e.endpointPublicKey === publicKey)?.deviceId
  );
}

function refuse(reason: string, keyId: string): never {
  throw new TransactionRefusedError(`enrollment: ${reason}`, keyId, "standard");
}

/** Validates a shared key's enrollment package; returns the endpoint to enroll (not yet stored). */
export function enrollmentFromMailbox(
  state: VehicleState,
  keyId: string,
  mailbox: PrivateMailboxContent,
  now: Date,
  limits: { maxKeys: number; friendKeySlots: number },
): EnrolledEndpoint {
  const pkg = mailbox.enrollment;
  if (!pkg) throw new TransactionRefusedError("AUTH1: key not enrolled in this vehicle", keyId, "standard");
  const stopped = state.revoked.find((r) => r.keyId === keyId);
  if (stopped?.reason === "expired") refuse(`this key expired (removed ${stopped.revokedAt})`, keyId);
  if (stopped?.reason === "deleted")
    refuse(`this key was deleted at the vehicle (${stopped.revokedAt})`, keyId);
  if (stopped) refuse("this key was revoked", keyId);
  const links = [...(pkg.upstream ?? []), pkg.attestation];
  if (links.length > MAX_SHARE_DEPTH) {
    refuse(
      `the share chain is too deep: ${links.length} attestations from the owner, at most ${MAX_SHARE_DEPTH}`,
      keyId,
    );
  }
  const { chain, deviceId } = friendCertificate(state, keyId, pkg, now);
  const first = ownerAttestation(state, keyId, links[0]!, links.length > 1 ? undefined : chain.publicKey);
  // Down the chain: each link is signed by the key the link above attested, which must be a co-owner
  // that was never revoked, and grants no more than that co-owner holds.
  let facts = first;
  const sharedVia: string[] = [];
  for (const [index, link] of links.entries()) {
    if (index === 0) continue;
    const sharer = toHex(keyIdentifier(facts.endpointPublicKey));
    if (sharingRole(facts.profile) !== "co-owner") {
      refuse(`key ${sharer} is a ${sharingRole(facts.profile)} key: only co-owners share further`, keyId);
    }
    if (state.revoked.some((r) => r.keyId === sharer))
      refuse(`the sharing co-owner key ${sharer} was revoked`, keyId);
    const sharerDevice = state.endpoints.find((e) => e.keyId === sharer)?.deviceId;
    if (sharerDevice && state.suspendedDevices?.includes(sharerDevice)) {
      refuse("the sharing co-owner's device is suspended (lost mode)", keyId);
    }
    const last = index === links.length - 1;
    let next: KeyAttestationFacts;
    try {
      next = verifyFriendAttestation(
        { encoded: link, attesterPublicKey: facts.endpointPublicKey },
        {
          vehicleIdentifier: fromHex(state.vehicleIdentifier),
          // The last link attests the key being enrolled; the ones above it, the co-owners between.
          ...(last ? { endpointPublicKey: chain.publicKey } : {}),
        },
      );
    } catch (error) {
      if (!(error instanceof FriendEnrollmentError)) throw error;
      if (error.reason === "attestation-other-vehicle")
        refuse("the co-owner attestation is for another vehicle", keyId);
      if (error.reason === "attestation-other-key") refuse("the attestation is for another key", keyId);
      refuse(`co-owner attestation: ${error.message}`, keyId);
    }
    if (state.revoked.some((r) => r.attestedBy === sharer && r.attestationSerial === next.serial)) {
      refuse(`attestation serial ${next.serial} of co-owner ${sharer} was revoked`, keyId);
    }
    const beyond = profileBeyond(next.profile, facts.profile);
    if (beyond) refuse(`the co-owner shared beyond its own profile: ${beyond}`, keyId);
    sharedVia.push(sharer);
    facts = next;
  }
  if (facts.ownerDevice && sharedVia.length > 0) {
    // Only the owner's own key vouches for another device of the owner; a co-owner cannot make one.
    refuse("an owner's-device key must be attested by an owner key, not through a co-owner", keyId);
  }
  if (hasExpired(facts.profile, now.getTime())) {
    refuse(`the attested profile expired at ${expiresAt(facts.profile)}`, keyId);
  }
  // A key past its end holds no place: the car drops it when this transaction ends.
  const held = state.endpoints.filter((e) => !hasExpired(e.profile, now.getTime()));
  if (held.length >= limits.maxKeys) {
    refuse(`this vehicle holds the maximum of ${limits.maxKeys} keys`, keyId);
  }
  // Slots count keys an owner shared (enrolled from an attestation); workshop keys are the automaker's.
  const shared = held.filter((e) => e.role === "friend" && e.attestedBy !== undefined).length;
  if (!facts.ownerDevice && shared >= limits.friendKeySlots) {
    refuse(
      `friend key slots full: this vehicle holds ${shared} of ${limits.friendKeySlots} shared keys; delete or revoke one first`,
      keyId,
    );
  }
  // The owner's watch gets the owner key's own profile, whatever the attestation names.
  const signer = toHex(facts.signerKeyId);
  const ownerProfile = state.endpoints.find((e) => e.keyId === signer)?.profile ?? facts.profile;
  return {
    keyId,
    endpointPublicKey: toHex(chain.publicKey),
    profile: facts.ownerDevice ? ownerProfile : facts.profile,
    role: facts.ownerDevice ? "owner" : "friend",
    ...(facts.ownerDevice ? { ownerDeviceOf: signer } : {}),
    enrolledAt: now.toISOString(),
    deviceId: toHex(deviceId),
    attestedBy: toHex(facts.signerKeyId),
    attestationSerial: facts.serial,
    ...(facts.activationCheck
      ? { pendingActivation: { check: toHex(facts.activationCheck), code: pkg.activationCode ?? null } }
      : {}),
    ...(sharedVia.length ? { sharedVia } : {}),
  };
}

/** The shared key's certificates, judged as the owner's SE and the service judge them (src/protocol/friend-enrollment.ts). */
function friendCertificate(
  state: VehicleState,
  keyId: string,
  pkg: NonNullable<PrivateMailboxContent["enrollment"]>,
  now: Date,
): FriendEnrollmentFacts {
  try {
    return verifyFriendEnrollment({
      certificates: {
        endpointCertificate: pkg.endpointCertificate,
        instanceCaCertificate: pkg.instanceCaCertificate,
        deviceOemRoots: state.deviceOemRoots,
        at: now,
      },
      vehicleIdentifier: fromHex(state.vehicleIdentifier),
      keyId: fromHex(keyId),
    });
  } catch (error) {
    if (!(error instanceof FriendEnrollmentError)) throw error;
    switch (error.reason) {
      case "certificate-chain": {
        const cause = error.cause;
        if (cause instanceof CertificateVerificationError)
          refuse(`certificate chain ${cause.reason}: ${cause.message}`, keyId);
        return refuse(`certificate chain: ${error.message}`, keyId);
      }
      case "other-key":
        return refuse("the certificate is for another key", keyId);
      case "not-a-friend-key":
        return refuse("the certificate is not a friend key's", keyId);
      default:
        return refuse("the key is bound to another vehicle", keyId);
    }
  }
}

/** The first link of a chain: an attestation by one of this car's owner keys, with every owner-key check. */
function ownerAttestation(
  state: VehicleState,
  keyId: string,
  attestation: Uint8Array,
  /** The certified key, when this link attests the key being enrolled (no co-owner in between). */
  subject: Uint8Array | undefined,
): KeyAttestationFacts {
  const attestsSharer = subject === undefined;
  let facts: KeyAttestationFacts;
  try {
    const signerKeyId = toHex(parseKeyAttestation(attestation).facts.signerKeyId);
    const owner = ownerKeyById(state, signerKeyId);
    if (!owner) refuse("the attestation is not signed by an owner key of this vehicle", keyId);
    facts = verifyFriendAttestation(
      { encoded: attestation, attesterPublicKey: owner },
      {
        vehicleIdentifier: fromHex(state.vehicleIdentifier),
        ...(subject ? { endpointPublicKey: subject } : {}),
      },
    );
  } catch (error) {
    if (error instanceof TransactionRefusedError) throw error;
    if (error instanceof FriendEnrollmentError && error.reason === "attestation-other-vehicle")
      refuse("the attestation is for another vehicle", keyId);
    if (error instanceof FriendEnrollmentError && error.reason === "attestation-other-key")
      refuse("the attestation is for another key", keyId);
    if (error instanceof ProtocolError) refuse(`attestation: ${error.message}`, keyId);
    throw error;
  }
  const signer = toHex(facts.signerKeyId);
  const signerPublicKey = toHex(ownerKeyById(state, signer)!);
  const signerStopped = ownerKeyStop(state, signer, signerPublicKey);
  if (signerStopped && facts.issuedAt >= signerStopped.at) {
    // A phone the owner migrated away from, or whose owner key the OEM revoked, may be in a thief's
    // hands: what it signs after that time is worthless. Friends it attested before keep their keys.
    refuse(`the attestation was signed by ${signerStopped.what} after it stopped`, keyId);
  }
  if (facts.ownerDevice && signerStopped) {
    // The owner's own second device follows its owner key: once that key is replaced or revoked, no
    // attestation of it brings a watch key back, whenever it was signed.
    refuse(`the owner's-device key was attested by ${signerStopped.what}`, keyId);
  }
  const signerDevice = ownerKeyDevice(state, signerPublicKey);
  if (signerDevice && state.suspendedDevices?.includes(signerDevice)) {
    refuse("the attesting owner key's device is suspended (lost mode)", keyId);
  }
  if (state.revoked.some((r) => r.attestedBy === signer && r.attestationSerial === facts.serial)) {
    // When this link made the co-owner that shared the key, say so: revoking the co-owner is why.
    const coOwner = toHex(keyIdentifier(facts.endpointPublicKey));
    refuse(
      attestsSharer
        ? `the sharing co-owner key ${coOwner} was revoked`
        : `attestation serial ${facts.serial} was revoked`,
      keyId,
    );
  }
  return facts;
}

/** The revocations in an owner key's mailbox that verify; the rest are counted and dropped. */
export function ownerMail(
  state: VehicleState,
  owner: EnrolledEndpoint,
  mailbox: PrivateMailboxContent,
): OwnerMail {
  const revocations: RevocationFacts[] = [];
  let rejected = 0;
  for (const encoded of mailbox.revocations) {
    try {
      const facts = verifyRevocation(encoded, fromHex(owner.endpointPublicKey));
      if (toHex(facts.vehicleIdentifier) !== state.vehicleIdentifier)
        throw new ProtocolError("another vehicle");
      revocations.push(facts);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      rejected++;
    }
  }
  return { revocations, rejected };
}
