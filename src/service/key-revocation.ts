import { sharingRole } from "../protocol/access-profile.js";
import { fromHex, toHex } from "../protocol/bytes.js";
import { ProtocolError, VerificationError } from "../protocol/errors.js";
import { parseRevocation, type RevocationFacts, verifyRevocation } from "../protocol/revocation.js";
import { verifyTerminationAttestation } from "../protocol/termination-attestation.js";
import { CounterBackoff, type CounterBackoffOptions } from "./counter-backoff.js";
import type { DevicePseudonyms } from "./device-pseudonyms.js";
import type { DeviceRequest, DeviceRequestAuthenticator } from "./device-request-auth.js";
import { ConflictError, ForbiddenError, NotFoundError } from "./errors.js";
import { bytesField, invalidField } from "./input.js";
import type { Notices } from "./notices.js";
import type { Outcome } from "./outcome.js";
import type { Clock, KeyRecord, KeyRevocationRecord, NonceClaim, RevocationReason, Store } from "./ports.js";
import { reportedKeyState } from "./reported-key-state.js";
import { onOtherMakersDevice, revocationEvents } from "./revocation-delivery.js";
import { RevocationLists, type RevocationListView } from "./revocation-lists.js";
import type { StatementRoots } from "./root-statement-keys.js";

/** `revokedBy` of a revocation the expiry sweep made: no principal asked for it. */
export const EXPIRY_SWEEP_REVOKER = "expiry-sweep";

export interface RevocationView {
  readonly keyId: string;
  readonly vehicleId: string;
  readonly role: "owner" | "friend";
  readonly state: "revoked" | "terminated" | "expired";
  /** Absent for an expired key, which nobody revoked. */
  readonly reason?: RevocationReason;
  readonly revokedAt?: string;
  readonly revokedBy?: string;
  readonly listSequence?: number;
  readonly noticeCounter?: number;
  readonly expiredAt?: string;
  readonly terminatedAt?: string;
  readonly confirmedAt?: string;
}

export interface KeyRevocationOptions {
  readonly store: Store;
  readonly clock: Clock;
  readonly roots: StatementRoots;
  readonly auth: DeviceRequestAuthenticator;
  readonly notices: Notices;
  /** Retries of a revocation that lost a counter race (tests shorten them). */
  readonly counterBackoff?: CounterBackoffOptions;
  readonly pseudonyms: DevicePseudonyms;
}

export class KeyRevocation {
  private readonly options: KeyRevocationOptions;
  private readonly lists: RevocationLists;

  constructor(options: KeyRevocationOptions) {
    this.options = options;
    this.lists = new RevocationLists(options);
  }

  /** POST /v1/revocations: the owner's RVKE statement, the request signed by the same owner endpoint key. */
  async revokeByOwner(
    input: { revocation: string },
    request: DeviceRequest,
  ): Promise<Outcome<RevocationView>> {
    const { store, auth, pseudonyms } = this.options;
    const parsedRequest = auth.parseAs(request, "endpoint");
    // The statement names the vehicle and the key: read with the signer in one round trip. Believed only
    // once the request's signature and then the statement's verify; a body that does not parse is refused
    // after the signature, as before any read.
    let parsed: RevocationFacts | undefined;
    let encoded: Uint8Array | undefined;
    let bodyError: unknown;
    try {
      encoded = bytesField(input.revocation, "body.revocation");
      parsed = parseRevocation(encoded).facts;
    } catch (error) {
      bodyError = error;
    }
    const vehicleId = parsed ? toHex(parsed.vehicleIdentifier) : undefined;
    const targetId = parsed ? toHex(parsed.revokedKeyId) : undefined;
    const records = await store.readRecords({
      keys: [parsedRequest.id, ...(targetId ? [targetId] : [])],
      ...(vehicleId ? { vehicles: [vehicleId], vehicleSequences: [vehicleId] } : {}),
    });
    const caller = auth.verifyWithRecords(parsedRequest, records);
    const signer = records.keys.get(caller.id)!;
    // Lost mode: after the signature (an unauthenticated caller learns nothing), before anything else; the
    // revoked key's device is read in the same round trip, for its terminate-key notice's counter.
    const ownerDevice = await pseudonyms.deviceOf(signer);
    const target = targetId ? records.keys.get(targetId) : undefined;
    const targetDevice = target ? await pseudonyms.deviceOf(target).catch(() => undefined) : undefined;
    const states = await store.readRecords({
      deviceNoticeStates: [ownerDevice, ...(targetDevice ? [targetDevice] : [])],
    });
    if (states.deviceNoticeStates.get(ownerDevice)?.lostMode === "suspended") {
      throw new ForbiddenError(
        `secure element ${ownerDevice} is in lost mode (suspended): it may only fetch notices and confirm terminations`,
      );
    }
    if (!parsed || !encoded || !vehicleId || !targetId) return invalidField("body.revocation", bodyError);
    const vehicle = records.vehicles.get(vehicleId);
    if (!vehicle) throw new NotFoundError(`vehicle ${vehicleId} is not enrolled`);
    if (!vehicle.owner || vehicle.owner.keyId !== caller.id) {
      throw new ForbiddenError(`only the owner key of vehicle ${vehicleId} may revoke its keys`);
    }
    if ((signer.state ?? "active") !== "active") {
      throw new ForbiddenError(`the owner key ${caller.id} is no longer active`);
    }
    let facts: RevocationFacts;
    try {
      facts = verifyRevocation(encoded, fromHex(vehicle.owner.publicKey));
    } catch (error) {
      if (error instanceof VerificationError) {
        throw new ForbiddenError(
          `the revocation is not signed by the vehicle's owner key: ${error.message}`,
          {
            cause: error,
          },
        );
      }
      return invalidField("body.revocation", error);
    }
    const keyId = toHex(facts.revokedKeyId);
    if (!target) throw new NotFoundError(`key ${keyId} is not registered`);
    if (target.vehicleId !== vehicleId)
      throw new ForbiddenError(`key ${keyId} is not a key of vehicle ${vehicleId}`);
    if (target.role !== "friend") {
      throw new ForbiddenError(
        "the owner revokes friend keys; the owner key moves with a new phone's pairing",
      );
    }
    if (target.attestation?.serial !== facts.attestationSerial) {
      throw new ForbiddenError(
        `the revocation names attestation serial ${facts.attestationSerial}, not the one key ${keyId} was registered with`,
      );
    }
    // Kept: that the vehicle's owner revoked. Not which owner key, nor its statement (it names the owner key).
    return this.revoke(target, "owner", "vehicle-owner", {
      nonce: caller.nonce,
      ...(targetDevice
        ? {
            device: { seId: targetDevice, counter: states.deviceNoticeStates.get(targetDevice)!.counter },
          }
        : {}),
      revocations: records.vehicleSequences.get(vehicleId)!.revocations,
    });
  }

  /** POST /v1/keys/{keyId}/revocation: the OEM backend revokes any key. */
  async revokeByOem(keyId: string, caller: string): Promise<Outcome<RevocationView>> {
    const { store, pseudonyms } = this.options;
    const target = await store.getKey(keyId);
    if (!target) throw new NotFoundError(`key ${keyId} is not registered`);
    if ((target.state ?? "active") !== "active") return this.revoke(target, "oem", caller);
    // The key's device counter and the vehicle's revocation sequence, in one round trip.
    const seId = await pseudonyms.deviceOf(target);
    const read = await store.readRecords({
      deviceNoticeStates: [seId],
      vehicleSequences: [target.vehicleId],
    });
    return this.revoke(target, "oem", caller, {
      device: { seId, counter: read.deviceNoticeStates.get(seId)!.counter },
      revocations: read.vehicleSequences.get(target.vehicleId)!.revocations,
    });
  }

  /**
   * The expiry sweep (src/service/expiry-sweep.ts) stops a key whose attested profile has ended: the
   * same revocation as the OEM's (state, revocation-list entry, terminate-key notice, event), reason
   * `expired`, so a car that fetches its list and an SE that fetches its notices drop it even if their
   * own clocks said otherwise, and an SE that cannot post its termination here (another phone maker's)
   * leaves no active key behind. `candidate` comes from the eventually consistent key-ends index; the
   * revocation's conditional write decides. Answers what happened to the key: `revoked` by this call,
   * `settled` (revoked, terminated or expired meanwhile, by anyone) or `not-ended` (not past its end by
   * this service's clock).
   */
  async revokeExpired(candidate: KeyRecord): Promise<"revoked" | "settled" | "not-ended"> {
    const { store, pseudonyms, clock } = this.options;
    const until = candidate.attestation?.profile.validUntil;
    if (until === undefined || until * 1000 > clock.now().getTime()) return "not-ended";
    if ((candidate.state ?? "active") !== "active") return "settled";
    // Another maker's device gets no notice from here, so its counter is not read.
    const seId = onOtherMakersDevice(candidate) ? undefined : await pseudonyms.deviceOf(candidate);
    const read = await store.readRecords({
      ...(seId ? { deviceNoticeStates: [seId] } : {}),
      vehicleSequences: [candidate.vehicleId],
    });
    try {
      const outcome = await this.revoke(candidate, "expired", EXPIRY_SWEEP_REVOKER, {
        ...(seId ? { device: { seId, counter: read.deviceNoticeStates.get(seId)!.counter } } : {}),
        revocations: read.vehicleSequences.get(candidate.vehicleId)!.revocations,
      });
      return outcome.created ? "revoked" : "settled";
    } catch (error) {
      // Its SE's termination made it expired meanwhile (revoke refuses an expired key): nothing left to do.
      if (!(error instanceof ConflictError)) throw error;
      const now = await store.getKey(candidate.keyId);
      if (now && (now.state ?? "active") !== "active") return "settled";
      throw error;
    }
  }

  /** POST /v1/keys/{keyId}/termination: the SE holding the key proves it deleted it. */
  async confirmTermination(
    keyId: string,
    input: { attestation: string },
    request: DeviceRequest,
  ): Promise<Outcome<RevocationView>> {
    const { store, auth, clock } = this.options;
    // Confirming a termination only finishes a revocation: allowed in lost mode. The signer and the key
    // in one round trip; the nonce is claimed with the write.
    const parsed = auth.parseAs(request, "instance");
    const records = await store.readRecords({ ...auth.signerReads(parsed), keys: [keyId] });
    const caller = auth.verifyWithRecords(parsed, records);
    const key = records.keys.get(keyId);
    if (!key) {
      await store.claimNonce(caller.nonce);
      throw new NotFoundError(`key ${keyId} is not registered`);
    }
    const seId = await this.options.pseudonyms.deviceOf(key);
    if (seId !== caller.id) {
      throw new ForbiddenError(`key ${keyId} lives on another secure element than the one that signed`);
    }
    const encoded = bytesField(input.attestation, "body.attestation");
    let terminatedAt: number;
    try {
      const facts = verifyTerminationAttestation(encoded, fromHex(key.endpointPublicKey));
      if (toHex(facts.keyIdentifier) !== keyId || toHex(facts.vehicleIdentifier) !== key.vehicleId) {
        throw new VerificationError("termination attestation is for another key or vehicle");
      }
      terminatedAt = facts.terminatedAt;
    } catch (error) {
      if (error instanceof VerificationError) {
        throw new ForbiddenError(`the termination attestation is not for key ${keyId}: ${error.message}`, {
          cause: error,
        });
      }
      if (error instanceof ProtocolError) return invalidField("body.attestation", error);
      throw error;
    }
    if (key.state === "terminated" || (key.state === "expired" && key.termination)) {
      // A repeat: nothing new is written, and this signed request is spent all the same.
      await store.claimNonce(caller.nonce);
      return { created: false, response: revocationView(key) };
    }
    if ((key.state ?? "active") === "active" || key.state === "expired") {
      // The expiry's write is its own transaction: the nonce is claimed before it.
      await store.claimNonce(caller.nonce);
      return this.confirmExpiry(key, encoded, terminatedAt);
    }
    const termination = {
      attestation: toHex(encoded),
      terminatedAt: new Date(terminatedAt).toISOString(),
      confirmedAt: clock.now().toISOString(),
    };
    try {
      await store.terminateKey(
        keyId,
        termination,
        key.revocation?.noticeCounter === undefined
          ? undefined
          : { seId, counter: key.revocation.noticeCounter },
        caller.nonce,
      );
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      const now = await store.getKey(keyId);
      if (now?.state !== "terminated") throw error;
      // A twin confirmed it first: the answer is the repeat's, and this signed request is spent all the same.
      await store.claimNonce(caller.nonce);
      return { created: false, response: revocationView(now) };
    }
    await this.options.notices.publishAll([
      {
        type: "key.terminated",
        keyId,
        vehicleId: key.vehicleId,
        occurredAt: termination.confirmedAt,
        detail: { terminatedAt: termination.terminatedAt },
      },
    ]);
    return { created: true, response: revocationView({ ...key, state: "terminated", termination }) };
  }

  /**
   * A termination of a key nobody revoked: the SE deleted it because its
   * profile had ended (SecureElement.deleteExpiredKeys). Taken only when the
   * attestation's time is at or past the attested end; the key becomes
   * expired (from active, freeing its friend-key slot) with the termination
   * on record. Any other termination of an active key stays refused: the
   * service learns of revocations from their signers, not from the device.
   */
  private async confirmExpiry(
    key: KeyRecord,
    encoded: Uint8Array,
    terminatedAt: number,
  ): Promise<Outcome<RevocationView>> {
    const { store, clock } = this.options;
    const until = key.attestation?.profile.validUntil;
    if (until === undefined || terminatedAt < until * 1000) {
      throw new ConflictError(
        `key ${key.keyId} is not revoked and had not expired when its SE deleted it; a termination confirms a revocation or an expiry`,
      );
    }
    const now = clock.now().toISOString();
    const termination = {
      attestation: toHex(encoded),
      terminatedAt: new Date(terminatedAt).toISOString(),
      confirmedAt: now,
    };
    const from = key.state === "expired" ? "expired" : "active";
    try {
      await store.expireKeys(key.vehicleId, [
        {
          keyId: key.keyId,
          from,
          expiredAt: now,
          termination,
          freesFriendSlot: key.role === "friend" && !key.ownerDevice,
        },
      ]);
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      const again = await store.getKey(key.keyId);
      if (again?.state !== "expired" || !again.termination) throw error;
      return { created: false, response: revocationView(again) };
    }
    await this.options.notices.publishAll([
      {
        type: "key.expired",
        keyId: key.keyId,
        vehicleId: key.vehicleId,
        occurredAt: now,
        detail: { terminatedAt: termination.terminatedAt },
      },
    ]);
    const expiredAt = from === "active" ? now : (key.expiredAt ?? now);
    return { created: true, response: revocationView({ ...key, state: "expired", expiredAt, termination }) };
  }

  /** GET /v1/vehicles/{vehicleId}/revocations?after=n: the car's list, through the OEM. */
  revocationList(vehicleId: string, after: number): Promise<RevocationListView> {
    return this.lists.revocationList(vehicleId, after);
  }

  /**
   * The one cascade of a revocation: what the revoked key attested goes with it, each its own
   * revocation (state, revocation-list entry, terminate-key notice), as the car drops them.
   * - A co-owner (docs/protocol.md §27): every active key whose attestation it signed
   *   (`attestation.sharedBy`), recorded as `sharer-revoked`; through them, what a co-owner it made
   *   shared.
   * - An owner key (docs/protocol.md §28): the keys on the owner's other devices it attested (a
   *   watch), by their `ownerLink` (a keyed pseudonym of this owner key), recorded as
   *   `owner-key-revoked`, or `migrated` when a new phone replaced it. Its count (`ownerDevices`)
   *   says whether there is any: without one, nothing is read. Watch keys registered before the link
   *   was kept are matched by registration time, as before: registered from this owner key's
   *   registration on and, for an owner key a new phone replaced, before the replacement (`until`).
   * A repeat of the revocation finishes what an interruption left.
   */
  async revokeAttestedBy(
    attester: KeyRecord,
    options: { reason?: Extract<RevocationReason, "owner-key-revoked" | "migrated">; until?: string } = {},
  ): Promise<void> {
    const coOwner =
      attester.role === "friend" &&
      attester.attestation !== undefined &&
      sharingRole(attester.attestation.profile) === "co-owner";
    const owner = attester.role === "owner" && Boolean(attester.ownerDevices);
    if (!coOwner && !owner) return;
    const { store, pseudonyms } = this.options;
    let attestedHere: (key: KeyRecord) => boolean;
    if (coOwner) {
      attestedHere = (key) => key.attestation?.sharedBy === attester.keyId;
    } else {
      const link = await pseudonyms.ownerLink(attester.keyId);
      let bound = options.until;
      if (bound === undefined) {
        const vehicle = await store.getVehicle(attester.vehicleId);
        // Replaced by a new phone: its unlinked devices are those registered before the replacement.
        if (vehicle?.owner?.keyId !== attester.keyId) bound = attester.revocation?.revokedAt ?? "";
      }
      attestedHere = (key) => {
        if (!key.ownerDevice) return false;
        if (key.ownerLink !== undefined) return key.ownerLink === link;
        return key.registeredAt >= attester.registeredAt && (bound === undefined || key.registeredAt < bound);
      };
    }
    const reason = coOwner ? "sharer-revoked" : (options.reason ?? "owner-key-revoked");
    const revokedBy = coOwner
      ? "co-owner-revoked"
      : reason === "migrated"
        ? "owner-migration"
        : "owner-key-revoked";
    for (const key of await store.listVehicleKeys(attester.vehicleId)) {
      if ((key.state ?? "active") !== "active" || !attestedHere(key)) continue;
      await this.revoke(key, reason, revokedBy);
    }
  }

  /** The one revocation write, retried with fresh counters when a concurrent notice or entry took them. */
  private async revoke(
    target: KeyRecord,
    reason: RevocationReason,
    revokedBy: string,
    known: RevocationInputs = {},
  ): Promise<Outcome<RevocationView>> {
    const { store, clock, notices } = this.options;
    let key: KeyRecord | undefined = target;
    // Counters read with the request's other records serve the first attempt; a retry reads them fresh.
    let fresh: RevocationInputs = known;
    const backoff = new CounterBackoff(this.options.counterBackoff);
    do {
      if (!key) throw new NotFoundError(`key ${target.keyId} is not registered`);
      if (key.state === "expired") {
        throw new ConflictError(`key ${key.keyId} has expired; there is nothing left to revoke`);
      }
      if ((key.state ?? "active") !== "active") {
        // A repeat: nothing new is written, and the signed request that asked for it is spent all the same.
        if (known.nonce) await store.claimNonce(known.nonce);
        // A repeat finishes what an interrupted first attempt may have left: the co-owner's shares, the
        // owner's watch keys.
        if (key.state === "revoked") await this.revokeAttestedBy(key);
        return { created: false, response: revocationView(key) };
      }
      const now = clock.now();
      const notice = onOtherMakersDevice(key)
        ? undefined
        : await notices.terminateKeyNotice(key, now, fresh.device);
      const revocations = fresh.revocations ?? (await store.getVehicleSequences(key.vehicleId)).revocations;
      fresh = {};
      const entry = {
        vehicleId: key.vehicleId,
        sequence: revocations + 1,
        keyId: key.keyId,
        ...(key.attestation ? { attestationSerial: key.attestation.serial } : {}),
        revokedAt: now.toISOString(),
      };
      const revocation: KeyRevocationRecord = {
        reason,
        revokedAt: now.toISOString(),
        revokedBy,
        listSequence: entry.sequence,
        ...(notice ? { noticeCounter: notice.counter } : {}),
      };
      try {
        await store.revokeKey({
          keyId: key.keyId,
          revocation,
          entry,
          ...(notice ? { notice: { notice } } : {}),
          // A revoked friend key frees its slot at once, in the same transaction.
          ...(key.role === "friend" && !key.ownerDevice
            ? { freesFriendSlot: { vehicleId: key.vehicleId } }
            : {}),
          ...(known.nonce ? { nonce: known.nonce } : {}),
        });
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        key = await store.getKey(target.keyId);
        continue;
      }
      await notices.publishAll(
        revocationEvents(
          key,
          { reason, occurredAt: revocation.revokedAt, listSequence: entry.sequence },
          notice,
        ),
      );
      await this.revokeAttestedBy(key);
      return { created: true, response: revocationView({ ...key, state: "revoked", revocation }) };
    } while (await backoff.afterLostRace());
    throw new ConflictError(`key ${target.keyId}: concurrent revocations and notices; retry`);
  }
}

/** What a revocation's caller already read (with its other records), so the first attempt need not read it again. */
interface RevocationInputs {
  /** The signed request asking for it (the owner's device): claimed in the revocation's transaction. */
  readonly nonce?: NonceClaim;
  /** The revoked key's SE and its notice counter now. */
  readonly device?: { readonly seId: string; readonly counter: number };
  /** The vehicle's revocation sequence now. */
  readonly revocations?: number;
}

/** revoked, terminated or expired: a key that a revocation view is asked of has left active. */
function reportedEndState(key: KeyRecord): RevocationView["state"] {
  const state = reportedKeyState(key);
  return state === "active" ? "revoked" : state;
}

export function revocationView(key: KeyRecord): RevocationView {
  const r = key.revocation;
  if (!r) {
    // Expired: nobody revoked it; its end and, once its SE confirmed, the termination.
    return {
      keyId: key.keyId,
      vehicleId: key.vehicleId,
      role: key.role,
      state: "expired",
      ...(key.expiredAt ? { expiredAt: key.expiredAt } : {}),
      ...(key.termination
        ? { terminatedAt: key.termination.terminatedAt, confirmedAt: key.termination.confirmedAt }
        : {}),
    };
  }
  return {
    keyId: key.keyId,
    vehicleId: key.vehicleId,
    role: key.role,
    state: reportedEndState(key),
    reason: r.reason,
    revokedAt: r.revokedAt,
    revokedBy: r.revokedBy,
    ...(r.listSequence === undefined ? {} : { listSequence: r.listSequence }),
    ...(r.noticeCounter === undefined ? {} : { noticeCounter: r.noticeCounter }),
    ...(key.termination
      ? { terminatedAt: key.termination.terminatedAt, confirmedAt: key.termination.confirmedAt }
      : {}),
  };
}
