// Sharing, offline, owner device ↔ friend device, both sides of it on this
// SE. The friend's side creates a key for the owner's vehicle and installs
// the attestation (and chain) it receives, with the activation code if the
// owner set one. The sharer's side — an owner key, or a co-owner key within
// its own profile — checks the friend's certificate chain and signs a key
// attestation after a fresh user authentication, attests the owner's own
// second device, and revokes what it shared into its private mailbox, where
// the car reads it at the owner's next tap.
import {
  type AccessProfile,
  checkAccessProfile,
  profileBeyond,
  sharingRole,
} from "../../protocol/access-profile.js";
import { activationCheck, activationKey, checkActivationCode } from "../../protocol/activation-code.js";
import { equalBytes, fromHex, toHex } from "../../protocol/bytes.js";
import { parseCertificate, type VerifiedCertificateChain } from "../../protocol/certificate-verifier.js";
import { CertificateVerificationError, FriendEnrollmentError } from "../../protocol/errors.js";
import { verifyFriendEnrollment } from "../../protocol/friend-enrollment.js";
import { keyAttestationBody, parseKeyAttestation } from "../../protocol/key-attestation.js";
import { MAILBOX_SIZE, Mailbox } from "../../protocol/mailbox-operations.js";
import { keyIdentifier } from "../../protocol/p256.js";
import {
  encodePrivateMailbox,
  type PrivateMailboxContent,
  parsePrivateMailbox,
} from "../../protocol/private-mailbox.js";
import { revocationBody } from "../../protocol/revocation.js";
import { encodeSignedStatement } from "../../protocol/signed-statement.js";
import type { EndpointCertification } from "./endpoint-certification.js";
import { KeyNotFoundError, SecureElementError, SecureElementLockedError } from "./errors.js";
import type { KeyCreation } from "./key-creation.js";
import type { IssuedAttestation } from "./se-model.js";
import { type HeldKey, requireKey, type SeModel } from "./se-model.js";
import type { UserAuthentication } from "./user-authentication.js";

/** What a friend's device answers to an invitation: its new key, certified by its instance CA. */
export interface KeyCreationRequest {
  keyId: string;
  endpointCertificate: string;
  instanceCaCertificate: string;
}

export class KeySharing {
  constructor(
    private readonly model: SeModel,
    private readonly creation: KeyCreation,
    private readonly certification: EndpointCertification,
    private readonly userAuthentication: UserAuthentication,
    private readonly now: () => number,
  ) {}

  // --- the friend's side ---

  /**
   * The friend's side of an invitation: creates a key bound to the owner's
   * vehicle (whose certificate it checks against the Vehicle OEM root) and
   * certifies it with this SE's instance CA. The key answers the car only
   * once the owner's attestation is installed.
   */
  async createFriendKey(invitation: {
    vehicleIdentifier: Uint8Array;
    vehicleCertificate: string | Uint8Array;
    profile: AccessProfile;
  }): Promise<KeyCreationRequest> {
    const { key } = await this.creation.createCertified(
      invitation.vehicleIdentifier,
      invitation.vehicleCertificate,
      invitation.profile,
      "friend",
    );
    this.model.keys.set(key.keyId, key);
    return { keyId: key.keyId, ...this.certification.chainOf(key) };
  }

  /**
   * The friend installs the sharer's attestation (and, from a co-owner, the chain above it): the car
   * reads them from the private mailbox at the first tap.
   */
  installKeyAttestation(friendKeyId: string, attestation: Uint8Array, upstream: readonly Uint8Array[]): void {
    const key = requireKey(this.model, friendKeyId);
    const { facts } = parseKeyAttestation(attestation);
    if (!equalBytes(facts.endpointPublicKey, key.endpoint.publicKey)) {
      throw new SecureElementError("the attestation is for another key");
    }
    const above = upstream.at(-1);
    if (
      above &&
      !equalBytes(keyIdentifier(parseKeyAttestation(above).facts.endpointPublicKey), facts.signerKeyId)
    ) {
      throw new SecureElementError(
        "the attestation chain does not end at the key that signed the attestation",
      );
    }
    const chain = this.certification.chainOf(key);
    key.profile = facts.profile;
    key.attestation = new Uint8Array(attestation);
    if (upstream.length > 0) key.upstreamAttestations = upstream.map((a) => new Uint8Array(a));
    else delete key.upstreamAttestations;
    writePrivateMailbox(key, {
      enrollment: {
        attestation,
        endpointCertificate: parseCertificate(chain.endpointCertificate).der,
        instanceCaCertificate: parseCertificate(chain.instanceCaCertificate).der,
        upstream,
      },
      revocations: [],
    });
  }

  /**
   * The friend types the activation code the owner passed on: the wallet adds
   * it to the key's enrollment package, which the car reads at the first tap
   * (over secure messaging) and checks against the attestation. A wrong code
   * is refused there and counts; typing again replaces it.
   */
  enterActivationCode(friendKeyId: string, code: string): void {
    const key = requireKey(this.model, friendKeyId);
    const content = parsePrivateMailbox(key.privateMailbox);
    if (!content.enrollment) throw new SecureElementError(`key ${friendKeyId} has no enrollment package`);
    writePrivateMailbox(key, {
      ...content,
      enrollment: { ...content.enrollment, activationCode: checkActivationCode(code) },
    });
  }

  // --- the sharer's side ---

  /**
   * The sharer's side: checks the friend's certificate chain and signs a key
   * attestation with the sharing key — after a fresh user authentication, as
   * the wallet asks for Face ID before sharing. The sharing key is an owner
   * key, or a shared key whose profile makes it a co-owner; a co-owner shares
   * only within its own profile. How deep a chain of co-owners may go is the
   * car's rule (it refuses a chain too deep at the first tap), not the SE's.
   */
  attestFriendKey(
    sharerKeyId: string,
    request: KeyCreationRequest,
    profile: AccessProfile,
    activationCode: string | undefined,
    ownerDevice: boolean,
  ): Uint8Array {
    // A lost phone must not mint keys: the car and the service refuse them too, but the SE is the first line.
    if (this.model.locked) throw new SecureElementLockedError("sign a key attestation");
    const sharer = requireKey(this.model, sharerKeyId);
    const granted = checkAccessProfile(profile);
    if (sharer.role !== "owner") {
      const role = sharer.role === "friend" ? sharingRole(sharer.profile) : "unshared";
      if (role !== "co-owner") {
        throw new SecureElementError(
          `key ${sharerKeyId} is a ${role} key: only owner and co-owner keys share`,
        );
      }
      if (!sharer.attestation) throw new SecureElementError(`key ${sharerKeyId} has no attestation yet`);
      const beyond = profileBeyond(granted, sharer.profile);
      if (beyond) throw new SecureElementError(`a co-owner shares only within its own profile: ${beyond}`);
      // The car derives the code's key from an owner key it paired: a co-owner's share cannot carry one.
      if (activationCode !== undefined)
        throw new SecureElementError("an activation code goes with the owner's shares only");
    }
    if (!this.userAuthentication.fresh)
      throw new SecureElementError("sharing needs a fresh user authentication");
    const friend = this.friendCertificate(request, sharer.vehicleIdentifier);
    const serial =
      1 +
      Math.max(
        0,
        ...this.model.issuedAttestations.filter((a) => a.ownerKeyId === sharerKeyId).map((a) => a.serial),
      );
    const issuedAt = this.now();
    const friendKeyId = keyIdentifier(friend.publicKey);
    const body = keyAttestationBody({
      vehicleIdentifier: sharer.vehicleIdentifier,
      endpointPublicKey: friend.publicKey,
      profile: granted,
      serial,
      issuedAt,
      signerKeyId: sharer.id,
      ...(ownerDevice ? { ownerDevice: true } : {}),
      ...(activationCode === undefined
        ? {}
        : {
            // Only this SE and the car can derive the key: the code's MAC proves nothing to anyone else.
            activationCheck: activationCheck(
              activationKey(
                sharer.endpoint.exportScalar(),
                sharer.vehiclePublicKey,
                sharer.vehicleIdentifier,
                sharer.id,
              ),
              friendKeyId,
              serial,
              activationCode,
            ),
          }),
    });
    this.userAuthentication.consume();
    this.model.issuedAttestations.push({
      ownerKeyId: sharerKeyId,
      friendKeyId: toHex(friendKeyId),
      serial,
      profile,
      issuedAt: new Date(issuedAt).toISOString(),
      revoked: false,
    });
    return encodeSignedStatement(body, sharer.endpoint.sign(body));
  }

  /** The friend's key as the car will judge it (src/protocol/friend-enrollment.ts), before this SE vouches for it. */
  private friendCertificate(
    request: KeyCreationRequest,
    vehicleIdentifier: Uint8Array,
  ): VerifiedCertificateChain {
    try {
      return verifyFriendEnrollment({
        certificates: {
          endpointCertificate: request.endpointCertificate,
          instanceCaCertificate: request.instanceCaCertificate,
          // Cross-platform: a friend on another maker's phone, if its Device OEM is one this SE trusts.
          deviceOemRoots: this.certification.sharingAnchors(),
          at: new Date(this.now()),
        },
        vehicleIdentifier,
      }).chain;
    } catch (error) {
      if (!(error instanceof FriendEnrollmentError)) throw error;
      switch (error.reason) {
        case "certificate-chain":
          // The certificate verifier's own refusal, reason and all.
          throw error.cause instanceof CertificateVerificationError ? error.cause : error;
        case "not-a-friend-key":
          throw new SecureElementError("the shared key's certificate is not a friend key", { cause: error });
        case "other-vehicle":
          throw new SecureElementError("the shared key is bound to another vehicle", { cause: error });
        default:
          throw error;
      }
    }
  }

  /**
   * The owner adds the car key to a second device of theirs (the paired
   * watch, with its own SE): the watch's SE creates its key as for a share
   * (createFriendKey), and this SE attests it as the owner's own device, with
   * the owner key's profile. The car treats it as an owner key outside the
   * friend slots (docs/protocol.md §28). Needs a fresh user authentication.
   */
  attestOwnDevice(ownerKeyId: string, request: KeyCreationRequest): Uint8Array {
    const owner = requireKey(this.model, ownerKeyId);
    if (owner.role !== "owner") throw new SecureElementError(`key ${ownerKeyId} is not an owner key`);
    return this.attestFriendKey(ownerKeyId, request, owner.profile, undefined, true);
  }

  /**
   * What goes with an attestation `sharerKeyId` signs, for the car to check the chain: nothing for
   * an owner key; for a co-owner, the attestations from the owner down to (and including) its own.
   */
  sharingChain(sharerKeyId: string): Uint8Array[] {
    const sharer = requireKey(this.model, sharerKeyId);
    if (sharer.role === "owner" || !sharer.attestation) return [];
    return [...(sharer.upstreamAttestations ?? []), sharer.attestation].map((a) => new Uint8Array(a));
  }

  /**
   * The owner deletes a friend's key: a revocation signed by the owner key is
   * queued in the owner key's private mailbox; the car applies it at the
   * owner's next tap, with no network anywhere.
   */
  revokeFriendKey(ownerKeyId: string, friendKeyId: string): Uint8Array {
    if (this.model.locked) throw new SecureElementLockedError("sign a revocation");
    const owner = requireKey(this.model, ownerKeyId);
    // The car reads revocations from owner keys' mailboxes only; a co-owner's shares end with the co-owner.
    if (owner.role !== "owner") throw new SecureElementError(`key ${ownerKeyId} is not an owner key`);
    const issued = this.model.issuedAttestations.filter(
      (a) => a.ownerKeyId === ownerKeyId && a.friendKeyId === friendKeyId,
    );
    if (issued.length === 0) throw new KeyNotFoundError(`key ${ownerKeyId} never shared key ${friendKeyId}`);
    const body = revocationBody({
      vehicleIdentifier: owner.vehicleIdentifier,
      revokedKeyId: fromHex(friendKeyId),
      attestationSerial: Math.max(...issued.map((a) => a.serial)),
      issuedAt: this.now(),
      signerKeyId: owner.id,
    });
    const revocation = encodeSignedStatement(body, owner.endpoint.sign(body));
    const mailbox = parsePrivateMailbox(owner.privateMailbox);
    writePrivateMailbox(owner, { ...mailbox, revocations: [...mailbox.revocations, revocation] });
    for (const a of issued) a.revoked = true;
    return revocation;
  }

  issuedAttestationList(): IssuedAttestation[] {
    return this.model.issuedAttestations.map((a) => ({ ...a }));
  }
}

function writePrivateMailbox(key: HeldKey, content: PrivateMailboxContent): void {
  key.privateMailbox = encodePrivateMailbox(content, MAILBOX_SIZE[Mailbox.PRIVATE]);
}
