import type { KeyRegistrationRequest, RegisteredKey, VehicleKeysResponse } from "../api/issuance-schemas.js";
import { MAX_SHARE_DEPTH, profileBeyond, sharingRole } from "../protocol/access-profile.js";
import { equalBytes, fromHex, toHex } from "../protocol/bytes.js";
import type { KeyRole } from "../protocol/certificate-profiles.js";
import {
  certificatePublicKey,
  type ParsedCertificate,
  parseCertificate,
  type VerifiedCertificateChain,
  verifyCertificateChain,
} from "../protocol/certificate-verifier.js";
import { deviceIdFromInstanceKey } from "../protocol/device-identity.js";
import {
  CertificateVerificationError,
  FriendEnrollmentError,
  VerificationError,
} from "../protocol/errors.js";
import { verifyFriendEnrollment } from "../protocol/friend-enrollment.js";
import { type KeyAttestationFacts, parseKeyAttestation } from "../protocol/key-attestation.js";
import { keyTrackingReceiptBody } from "../protocol/key-tracking-receipt.js";
import { keyIdentifier } from "../protocol/p256.js";
import { verifyPairingConfirmation } from "../protocol/pairing-confirmation.js";
import type { DevicePseudonyms } from "./device-pseudonyms.js";
import {
  type DeviceRequest,
  type DeviceRequestAuthenticator,
  REQUEST_TIME_WINDOW_MS,
} from "./device-request-auth.js";
import {
  AuthenticationError,
  ConflictError,
  ForbiddenError,
  FriendSlotsFullError,
  NotFoundError,
  SuspendedDeviceError,
  ValidationError,
} from "./errors.js";
import { bytesField, invalidField, parseField } from "./input.js";
import type { KeyRevocation } from "./key-revocation.js";
import type { Notices } from "./notices.js";
import type { Outcome } from "./outcome.js";
import type { Clock, KeyRecord, NonceClaim, OwnerMigration, Store, VehicleRecord } from "./ports.js";
import { reportedKeyState } from "./reported-key-state.js";
import { onOtherMakersDevice, revocationEvents } from "./revocation-delivery.js";
import type { RootCertificates } from "./root-certificates.js";

export interface KeyTrackingOptions {
  readonly store: Store;
  readonly clock: Clock;
  readonly roots: RootCertificates;
  readonly auth: DeviceRequestAuthenticator;
  /** Sends the terminate-key notice of a migrated owner key. */
  readonly notices: Notices;
  readonly pseudonyms: DevicePseudonyms;
  /** Friend keys a vehicle holds at once (default DEFAULT_FRIEND_KEY_SLOTS). */
  readonly friendKeySlots?: number;
  /** Revokes the old owner's watch keys when a new phone takes over (KeyRevocation). */
  readonly ownerDevices?: Pick<KeyRevocation, "revokeAttestedBy">;
}

/** Friend keys per vehicle unless configured otherwise, as the car's own default (BMW and Google allow 5). */
export const DEFAULT_FRIEND_KEY_SLOTS = 5;

/** What a registration has established once its signature verified: enough to answer as a repeat. */
interface VerifiedRegistration {
  readonly keyId: string;
  readonly chain: VerifiedCertificateChain;
  readonly nonce: NonceClaim;
}

export class KeyTracking {
  private readonly options: KeyTrackingOptions;

  constructor(options: KeyTrackingOptions) {
    this.options = options;
  }

  async register(input: KeyRegistrationRequest, request: DeviceRequest): Promise<Outcome<RegisteredKey>> {
    const verified: Partial<VerifiedRegistration> = {};
    try {
      return await this.registerOnce(input, request, verified);
    } catch (error) {
      // A twin of this request (the same key, sent twice in parallel) may have won any step after our
      // existence check: it consumed the pairing material, changed the owner, or wrote the key first.
      // Once the key is on record for this very endpoint key, the registration asked for is done: answer
      // as its repeat (200, the stored record and receipt), not with the conflict the loser ran into.
      if (!(error instanceof ConflictError) || !verified.nonce) throw error;
      const winner = await this.options.store.getKey(verified.keyId!);
      if (!winner) throw error;
      return this.repeat(winner, verified.chain!, verified.nonce);
    }
  }

  private async registerOnce(
    input: KeyRegistrationRequest,
    request: DeviceRequest,
    verified: Partial<VerifiedRegistration>,
  ): Promise<Outcome<RegisteredKey>> {
    const { auth, store, clock, roots } = this.options;
    const parsed = auth.parse(request);
    if (parsed.kind !== "endpoint") {
      throw new AuthenticationError("a key registration must be signed by the endpoint key being registered");
    }
    const now = clock.now();
    // The SE may come from any Device OEM the service trusts: its own, or another maker's configured root.
    const anchors = await roots.deviceOemAnchors();
    const chain = this.verifyChain(input, anchors, now);
    // The chain's anchor: the service's own root (first of the anchors), or a configured maker's, named
    // by its key identifier as GET /v1/trust-anchors lists it (src/service/revocation-delivery.ts).
    const anchor = chain.chain.at(-1)!;
    const deviceOemRoot =
      anchor.subjectKeyIdentifier && !equalBytes(anchor.der, anchors[0]!.der)
        ? toHex(anchor.subjectKeyIdentifier)
        : undefined;
    const keyId = toHex(keyIdentifier(chain.publicKey));
    if (parsed.id !== keyId) {
      throw new AuthenticationError(
        `carkey-signer must be endpoint:${keyId}, the key of the endpoint certificate`,
      );
    }
    const { nonce } = auth.verify(parsed, chain.publicKey);
    Object.assign(verified, { keyId, chain, nonce });
    const seId = toHex(deviceIdFromInstanceKey(certificatePublicKey(chain.chain[1]!)));
    // The endpoint profile requires both extensions, so a verified chain always has them.
    const vehicleId = toHex(chain.vehicleIdentifier!);
    const role: KeyRole = chain.keyRole!;
    // Everything this registration reads before it decides, in one round trip: the device's lost-mode
    // state, the vehicle, the key (a repeat?), for an owner key the pairing material it spends, and for a
    // friend key the key its attestation names as signer (the owner's or a co-owner's).
    const attesterKeyId = role === "friend" ? attestationSignerKeyId(input) : undefined;
    const keysRead = [keyId, ...(attesterKeyId && attesterKeyId !== keyId ? [attesterKeyId] : [])];
    const records = await store.readRecords({
      deviceNoticeStates: [seId],
      vehicles: [vehicleId],
      keys: keysRead,
      ...(role === "owner" ? { pairings: [vehicleId] } : {}),
    });
    // A key read above (found or not) is not read again.
    const keyRecord = (id: string): Promise<KeyRecord | undefined> =>
      keysRead.includes(id) ? Promise.resolve(records.keys.get(id)) : store.getKey(id);
    if (records.deviceNoticeStates.get(seId)?.lostMode === "suspended") {
      throw suspended(seId, OWN_DEVICE_SUSPENDED);
    }
    if (role === "owner" && input.keyAttestation !== undefined) {
      throw new ValidationError("an owner key takes no keyAttestation", [
        { path: "body.keyAttestation", message: "only for friend keys" },
      ]);
    }
    if (role === "friend" && input.keyAttestation === undefined) {
      throw new ValidationError("a friend key needs the owner's keyAttestation", [
        { path: "body.keyAttestation", message: "required for a friend key" },
      ]);
    }
    if (role === "owner" && input.pairingConfirmation === undefined) {
      throw new ValidationError("an owner key needs the vehicle's pairingConfirmation", [
        {
          path: "body.pairingConfirmation",
          message: "required for an owner key: the vehicle signs it at the end of owner pairing",
        },
      ]);
    }
    if (role === "friend" && input.pairingConfirmation !== undefined) {
      throw new ValidationError("a friend key takes no pairingConfirmation", [
        { path: "body.pairingConfirmation", message: "only for owner keys" },
      ]);
    }

    const vehicle = records.vehicles.get(vehicleId);
    if (!vehicle) throw new NotFoundError(`vehicle ${vehicleId} is not enrolled`);
    const confirmedPairingId =
      role === "owner" ? this.verifyConfirmation(input, vehicle, chain, now) : undefined;
    const existing = records.keys.get(keyId);
    if (existing) return this.repeat(existing, chain, nonce);

    const attested =
      role === "friend" ? await this.verifyAttestation(input, vehicle, chain, keyRecord) : undefined;
    const attestation = attested?.facts;
    const attestingOwner = attested
      ? attested.sharer
        ? await this.attestingCoOwner(attested.sharer)
        : await this.attestingOwner(vehicle, keyRecord)
      : undefined;
    if (role === "owner") {
      // With an owner on record, this is a new phone taking over (migration): the car confirmed it under new material.
      const pairing = records.pairings.get(vehicleId);
      if (!pairing || Date.parse(pairing.expiresAt) <= now.getTime()) {
        throw new ConflictError(
          `vehicle ${vehicleId} has no unexpired owner-pairing material; the OEM can issue new material`,
        );
      }
      if (pairing.pairingId !== confirmedPairingId) {
        throw new ConflictError(
          `the pairing confirmation names pairing material ${confirmedPairingId}, which is spent or replaced ` +
            `(vehicle ${vehicleId} has ${pairing.pairingId}); pair again with the current password`,
        );
      }
    }

    const receipt = await this.signReceipt(chain, role, attestation?.serial, now);
    const { pseudonyms } = this.options;
    // Only what later decisions need (README "What the service stores and never learns"): no certificate
    // (both name the SE), no attestation bytes, no attesting key, the SE only as a reference and a seal.
    const record: KeyRecord = {
      keyId,
      vehicleId,
      role,
      endpointPublicKey: toHex(chain.publicKey),
      serialNumber: chain.serialNumber,
      registeredAt: now.toISOString(),
      receipt: toHex(receipt),
      deviceRef: await pseudonyms.reference(seId),
      deviceSeal: await pseudonyms.seal(keyId, seId),
      state: "active",
      ...(deviceOemRoot ? { deviceOemRoot } : {}),
      ...(attestation
        ? {
            attestation: {
              serial: attestation.serial,
              profile: attestation.profile,
              // Kept for a co-owner's shares only: revoking that co-owner must find and revoke them.
              ...(attested?.sharer ? { sharedBy: attested.sharer.keyId, depth: attested.depth } : {}),
            },
          }
        : {}),
      // The owner key on record attested it (a co-owner may not mark its own devices: verifyAttestation).
      ...(attestation?.ownerDevice
        ? { ownerDevice: true, ownerLink: await pseudonyms.ownerLink(vehicle.owner!.keyId) }
        : {}),
    };
    try {
      if (role === "owner") {
        const { migration, previous } = await this.migration(vehicle, now);
        await store.registerOwnerKey(record, nonce, now, confirmedPairingId!, migration);
        // The car removes the old owner's watch keys at the new pairing: so does the service, each its own
        // revocation (reason migrated), only those registered before this key.
        if (previous && migration?.revocation) {
          await this.options.ownerDevices?.revokeAttestedBy(previous, {
            reason: "migrated",
            until: record.registeredAt,
          });
        }
        if (previous && migration?.revocation) {
          await this.options.notices.publishAll(
            revocationEvents(
              previous,
              { reason: "migrated", occurredAt: now.toISOString() },
              migration.notice?.notice,
            ),
          );
        }
      } else {
        const conditions = {
          // The vehicle's owner must not change meanwhile; the key that signed must still be active.
          ownerKeyId: vehicle.owner!.keyId,
          ...(attested?.sharer ? { sharerKeyId: attested.sharer.keyId } : {}),
          unsuspendedDevices: [seId, attestingOwner!.device],
          friendKeySlots: this.options.friendKeySlots ?? DEFAULT_FRIEND_KEY_SLOTS,
          holdsSlot: !attestation?.ownerDevice,
        };
        try {
          await store.registerFriendKey(record, conditions, nonce);
        } catch (error) {
          // Full: keys past their end may still hold slots nobody swept. Expire them, then try once more.
          if (!(error instanceof FriendSlotsFullError) || !(await this.expireEndedKeys(vehicleId, now))) {
            throw error;
          }
          await store.registerFriendKey(record, conditions, nonce);
        }
      }
    } catch (error) {
      // Lost mode, found by the transaction's own check: the same refusal as when it is read first.
      if (error instanceof SuspendedDeviceError) {
        throw suspended(
          error.seId,
          error.seId === seId ? OWN_DEVICE_SUSPENDED : OWNER_DEVICE_SUSPENDED,
          error,
        );
      }
      if (!(error instanceof ConflictError)) throw error;
      // A concurrent twin registered the same key first: answer as its repeat.
      const winner = await store.getKey(keyId);
      if (!winner) throw error;
      return this.repeat(winner, chain, nonce);
    }
    return { created: true, response: keyView(record) };
  }

  /**
   * Records as expired every active friend key of the vehicle whose attested
   * profile ended by `now`, in one transaction that frees their slots.
   * Returns whether there was any (one Query, one TransactWriteItems).
   */
  private async expireEndedKeys(vehicleId: string, now: Date): Promise<boolean> {
    const { store } = this.options;
    const ended = (await store.listVehicleKeys(vehicleId)).filter((k) => {
      const until = k.attestation?.profile.validUntil;
      return (
        k.role === "friend" &&
        !k.ownerDevice &&
        (k.state ?? "active") === "active" &&
        until !== undefined &&
        until * 1000 <= now.getTime()
      );
    });
    if (ended.length === 0) return false;
    try {
      await store.expireKeys(
        vehicleId,
        ended.map((k) => ({
          keyId: k.keyId,
          from: "active" as const,
          expiredAt: now.toISOString(),
          freesFriendSlot: true,
        })),
      );
    } catch (error) {
      // A concurrent sweep or revocation moved one of them: its slot is free or about to be either way.
      if (!(error instanceof ConflictError)) throw error;
    }
    return true;
  }

  async get(keyId: string): Promise<RegisteredKey> {
    const record = await this.options.store.getKey(keyId);
    if (!record) throw new NotFoundError(`key ${keyId} is not registered`);
    return keyView(record);
  }

  async listForVehicle(vehicleId: string): Promise<VehicleKeysResponse> {
    const { store } = this.options;
    if (!(await store.getVehicle(vehicleId))) throw new NotFoundError(`vehicle ${vehicleId} is not enrolled`);
    return { vehicleId, keys: (await store.listVehicleKeys(vehicleId)).map(keyView) };
  }

  private verifyChain(
    input: KeyRegistrationRequest,
    deviceOemRoots: readonly ParsedCertificate[],
    at: Date,
  ): VerifiedCertificateChain {
    // Parsed first, each on its own, so a certificate that does not decode is refused under its own field.
    const leaf = parseField("body.endpointCertificate", () => parseCertificate(input.endpointCertificate));
    const instanceCa = parseField("body.instanceCaCertificate", () =>
      parseCertificate(input.instanceCaCertificate),
    );
    const verify = (when: Date) =>
      verifyCertificateChain({
        leaf,
        intermediates: [instanceCa],
        anchors: [...deviceOemRoots],
        expectedLeafProfile: "endpoint",
        at: when,
      });
    try {
      try {
        return verify(at);
      } catch (error) {
        // The SE dates the endpoint certificate by its own clock, which may run a little ahead of ours:
        // tolerate the skew request timestamps are allowed, for notBefore only.
        if (!(error instanceof CertificateVerificationError) || error.reason !== "not-yet-valid") throw error;
        return verify(new Date(at.getTime() + REQUEST_TIME_WINDOW_MS));
      }
    } catch (error) {
      if (error instanceof CertificateVerificationError && error.reason === "untrusted-anchor") {
        // A genuine chain, perhaps, but from a phone maker this deployment was not configured to trust.
        throw new ForbiddenError(
          `the endpoint certificate chain ends at no Device OEM root this service trusts ` +
            `(${deviceOemRoots.length} configured; GET /v1/trust-anchors lists them): ${error.message}`,
          { cause: error },
        );
      }
      if (error instanceof CertificateVerificationError && error.reason !== "malformed") {
        throw new ForbiddenError(`the endpoint certificate chain is not trusted: ${error.message}`, {
          cause: error,
        });
      }
      return invalidField("body.endpointCertificate", error);
    }
  }

  /**
   * The vehicle's pairing confirmation, verified with the vehicle key on
   * record from enrollment: for this vehicle, for this endpoint key, not dated
   * ahead of our clock. Returns the pairing id it names.
   */
  private verifyConfirmation(
    input: KeyRegistrationRequest,
    vehicle: VehicleRecord,
    chain: VerifiedCertificateChain,
    now: Date,
  ): string {
    const encoded = bytesField(input.pairingConfirmation!, "body.pairingConfirmation");
    let facts: ReturnType<typeof verifyPairingConfirmation>;
    try {
      facts = verifyPairingConfirmation(encoded, fromHex(vehicle.publicKey));
    } catch (error) {
      if (error instanceof VerificationError) {
        throw new ForbiddenError(`the pairing confirmation is not from the vehicle: ${error.message}`, {
          cause: error,
        });
      }
      return invalidField("body.pairingConfirmation", error);
    }
    if (toHex(facts.vehicleIdentifier) !== vehicle.vehicleId) {
      throw new ForbiddenError(
        "the pairing confirmation is for another vehicle than the endpoint certificate",
      );
    }
    if (!equalBytes(facts.endpointPublicKey, chain.publicKey)) {
      throw new ForbiddenError("the pairing confirmation is for another key than the endpoint certificate");
    }
    if (facts.confirmedAt > now.getTime() + REQUEST_TIME_WINDOW_MS) {
      throw new ForbiddenError("the pairing confirmation is dated ahead of the service's clock");
    }
    return toHex(facts.pairingId);
  }

  /**
   * The attestation of a friend key: signed by the vehicle's owner key on record, or by a co-owner
   * key the service registered for this vehicle (re-sharing, docs/protocol.md §27), which must
   * still be active, within the chain's depth, and share no more than its own profile.
   */
  private async verifyAttestation(
    input: KeyRegistrationRequest,
    vehicle: VehicleRecord,
    chain: VerifiedCertificateChain,
    keyRecord: KeyLookup,
  ): Promise<{ facts: KeyAttestationFacts; sharer?: KeyRecord; depth: number }> {
    if (!vehicle.owner) {
      throw new ConflictError(
        `vehicle ${vehicle.vehicleId} has no owner key on record to attest a friend key`,
      );
    }
    const encoded = bytesField(input.keyAttestation!, "body.keyAttestation");
    let signerKeyId: string;
    try {
      signerKeyId = toHex(parseKeyAttestation(encoded).facts.signerKeyId);
    } catch (error) {
      return invalidField("body.keyAttestation", error);
    }
    const sharer =
      signerKeyId === vehicle.owner.keyId ? undefined : await this.coOwner(signerKeyId, vehicle, keyRecord);
    let facts: KeyAttestationFacts;
    try {
      // The chain is verified already (for either role); the friend decision is the one the car and the SE make.
      facts = verifyFriendEnrollment({
        certificates: { verified: chain },
        vehicleIdentifier: fromHex(vehicle.vehicleId),
        attestation: {
          encoded,
          attesterPublicKey: fromHex(sharer ? sharer.endpointPublicKey : vehicle.owner.publicKey),
        },
      }).attestation!;
    } catch (error) {
      if (!(error instanceof FriendEnrollmentError)) throw error;
      switch (error.reason) {
        case "attestation-not-verified":
          throw new ForbiddenError(
            `the key attestation is not from the vehicle's ${sharer ? `co-owner key ${sharer.keyId}` : "owner key"}: ${error.message}`,
            { cause: error },
          );
        case "attestation-other-vehicle":
          throw new ForbiddenError(
            "the key attestation is for another vehicle than the endpoint certificate",
            {
              cause: error,
            },
          );
        case "attestation-other-key":
          throw new ForbiddenError("the key attestation is for another key than the endpoint certificate", {
            cause: error,
          });
        case "attestation-malformed":
          return invalidField("body.keyAttestation", error.cause);
        default:
          // The certificate's own facts (friend role, this vehicle) are what chose this path.
          throw new ForbiddenError(
            `the endpoint certificate is not a friend key's for this vehicle: ${error.message}`,
            {
              cause: error,
            },
          );
      }
    }
    if (facts.ownerDevice && sharer) {
      // Tag CB puts a key outside the friend slots: only the owner's own key may say a device is the owner's.
      throw new ForbiddenError(
        `the key attestation marks an owner's own device but is signed by co-owner key ${sharer.keyId}, not the owner key`,
      );
    }
    if (!sharer) return { facts, depth: 1 };
    const depth = (sharer.attestation?.depth ?? 1) + 1;
    if (depth > MAX_SHARE_DEPTH) {
      throw new ForbiddenError(
        `the share chain is too deep: ${depth} attestations from the owner, at most ${MAX_SHARE_DEPTH}`,
      );
    }
    const beyond = profileBeyond(facts.profile, sharer.attestation!.profile);
    if (beyond) throw new ForbiddenError(`the co-owner shared beyond its own profile: ${beyond}`);
    return { facts, sharer, depth };
  }

  /** The co-owner key that signed an attestation: registered for this vehicle, a co-owner, active. */
  private async coOwner(keyId: string, vehicle: VehicleRecord, keyRecord: KeyLookup): Promise<KeyRecord> {
    const sharer = await keyRecord(keyId);
    if (!sharer || sharer.vehicleId !== vehicle.vehicleId) {
      throw new ForbiddenError(
        `the key attestation is signed by key ${keyId}, neither the vehicle's owner key nor one of its co-owners`,
      );
    }
    if (sharer.role === "owner") {
      // A former owner key (a migration replaced it): not the owner on record, and no co-owner either.
      throw new ForbiddenError(
        `the key attestation is not from the vehicle's owner key: key ${keyId} is no longer the owner on record`,
      );
    }
    const role = sharer.attestation ? sharingRole(sharer.attestation.profile) : "guest";
    if (role !== "co-owner") {
      throw new ForbiddenError(`key ${keyId} is a ${role} key: only the owner and co-owners share`);
    }
    if ((sharer.state ?? "active") !== "active") {
      throw new ForbiddenError(`the sharing co-owner key ${keyId} is no longer active`);
    }
    return sharer;
  }

  /** Like attestingOwner, for a co-owner that shared: the transaction checks its device is not in lost mode. */
  private async attestingCoOwner(sharer: KeyRecord): Promise<{ key: KeyRecord; device: string }> {
    return { key: sharer, device: await this.options.pseudonyms.deviceOf(sharer) };
  }

  /**
   * The owner key whose attestation verified must still mint: active (not
   * revoked by the OEM or replaced by a migration) and not on a device in lost
   * mode. Its record is read for its SE (which only its seal names), so its
   * state is checked here too; the store checks both again in the
   * registration's transaction (the suspension only there: a second read would
   * cost a round trip for what the transaction decides anyway), so a
   * revocation or suspension that commits in between still refuses it.
   */
  private async attestingOwner(
    vehicle: VehicleRecord,
    keyRecord: KeyLookup,
  ): Promise<{ key: KeyRecord; device: string }> {
    const owner = await keyRecord(vehicle.owner!.keyId);
    if (!owner || (owner.state ?? "active") !== "active") {
      throw new ForbiddenError(`the attesting owner key ${vehicle.owner!.keyId} is no longer active`);
    }
    // The owner's SE, unsealed once (a KMS GenerateMac in AWS) for the transaction's check.
    const device = await this.options.pseudonyms.deviceOf(owner);
    return { key: owner, device };
  }

  /**
   * New-phone migration: the old owner key moves to revoked ("migrated") and
   * its SE gets a terminate-key notice. Friend keys stay as they are: their
   * attestations were checked when they were registered.
   */
  private async migration(
    vehicle: VehicleRecord,
    now: Date,
  ): Promise<{ migration?: OwnerMigration; previous?: KeyRecord }> {
    // The vehicle's first owner key: nothing to replace.
    if (!vehicle.owner) return {};
    const { store, pseudonyms } = this.options;
    const { keyId: previousKeyId, deviceSeal } = vehicle.owner;
    // The vehicle keeps its owner key's device seal, so the old key and its device's notice counter are
    // read together, in one round trip; an owner registered before the seal was kept costs one read more.
    const device = deviceSeal ? await pseudonyms.unseal(previousKeyId, deviceSeal) : undefined;
    const read = await store.readRecords({
      keys: [previousKeyId],
      ...(device ? { deviceNoticeStates: [device] } : {}),
    });
    const previous = read.keys.get(previousKeyId);
    // Revoked already (by the OEM, say): only the owner on record changes.
    if (!previous || (previous.state ?? "active") !== "active") return { migration: { previousKeyId } };
    const state = device ? read.deviceNoticeStates.get(device) : undefined;
    // An owner on another maker's phone gets no notice from here (src/service/revocation-delivery.ts).
    const notice = onOtherMakersDevice(previous)
      ? undefined
      : await this.options.notices.terminateKeyNotice(
          previous,
          now,
          device && state ? { seId: device, counter: state.counter } : undefined,
        );
    return {
      previous,
      migration: {
        previousKeyId: previous.keyId,
        revocation: {
          reason: "migrated",
          revokedAt: now.toISOString(),
          // Not the new key's id: the old and the new phone stay unlinked in the old key's record.
          revokedBy: "owner-migration",
          ...(notice ? { noticeCounter: notice.counter } : {}),
        },
        ...(notice ? { notice: { notice } } : {}),
      },
    };
  }

  /** One Sign by the Vehicle OEM root, checked before it is handed out. */
  private async signReceipt(
    chain: VerifiedCertificateChain,
    role: KeyRole,
    attestationSerial: number | undefined,
    now: Date,
  ): Promise<Uint8Array> {
    const root = await this.options.roots.get("vehicle-oem-root");
    const body = keyTrackingReceiptBody({
      vehicleIdentifier: chain.vehicleIdentifier!,
      endpointPublicKey: chain.publicKey,
      role,
      ...(attestationSerial === undefined ? {} : { attestationSerial }),
      registeredAt: now.getTime(),
      signerKeyId: keyIdentifier(root.publicKey),
    });
    return this.options.roots.signStatement("vehicle-oem-root", body);
  }

  private async repeat(
    existing: KeyRecord,
    chain: VerifiedCertificateChain,
    nonce: NonceClaim,
  ): Promise<Outcome<RegisteredKey>> {
    if (existing.endpointPublicKey !== toHex(chain.publicKey)) {
      throw new ConflictError(
        `key id ${existing.keyId} is registered for another endpoint key; generate a new endpoint key`,
      );
    }
    await this.options.store.claimNonce(nonce);
    return { created: false, response: keyView(existing) };
  }
}

/** A key's record by id: from the registration's first read when it asked for it, else read now. */
type KeyLookup = (keyId: string) => Promise<KeyRecord | undefined>;

/**
 * The signer a friend key's attestation names, read ahead so its record comes with the registration's
 * first read; undefined when absent or malformed (verifyAttestation refuses those under their field).
 */
function attestationSignerKeyId(input: KeyRegistrationRequest): string | undefined {
  if (input.keyAttestation === undefined) return undefined;
  try {
    return toHex(
      parseKeyAttestation(bytesField(input.keyAttestation, "body.keyAttestation")).facts.signerKeyId,
    );
  } catch {
    return undefined;
  }
}

const OWN_DEVICE_SUSPENDED = "its keys register nothing";
const OWNER_DEVICE_SUSPENDED = "its owner key attests nothing";

/** The refusal of a registration one of whose devices is in lost mode, saying which and what it refuses. */
function suspended(seId: string, consequence: string, cause?: unknown): ForbiddenError {
  return new ForbiddenError(
    `secure element ${seId} is in lost mode (suspended): ${consequence}`,
    cause === undefined ? undefined : { cause },
  );
}

export function keyView(record: KeyRecord): RegisteredKey {
  return {
    keyId: record.keyId,
    vehicleId: record.vehicleId,
    role: record.role,
    endpointPublicKey: record.endpointPublicKey,
    serialNumber: record.serialNumber,
    registeredAt: record.registeredAt,
    receipt: record.receipt,
    state: reportedKeyState(record),
    // Never who attested, even from a legacy record that still holds it.
    ...(record.attestation
      ? { profile: record.attestation.profile, attestationSerial: record.attestation.serial }
      : {}),
  };
}
