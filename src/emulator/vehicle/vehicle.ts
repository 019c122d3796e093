// The emulated vehicle: two readers (door handle, dashboard), the keys it
// trusts, and the decisions it takes. A tap runs one reader transaction; the
// car then decides from the reader position, the key's access profile and
// the immobilizer, logs the decision with its reason, and commits state
// changes only after the device confirmed the end of the transaction. It
// also pairs its owner (SPAKE2+ with an automaker-provisioned verifier),
// enrolls shared keys offline from the owner's attestation, applies the
// owner's revocations, and obeys signed lost-mode notices.
import {
  type AccessProfile,
  checkAccessProfile,
  describeLimits,
  drivingLimits,
  profileRefusal,
  sharingRole,
} from "../../protocol/access-profile.js";
import { swHex } from "../../protocol/apdu.js";
import { fromHex, toHex, utf8 } from "../../protocol/bytes.js";
import { parseCertificate, verifyCertificateChain } from "../../protocol/certificate-verifier.js";
import { ProtocolError, ProtocolInputError } from "../../protocol/errors.js";
import { verifyNotice } from "../../protocol/lifecycle-notice.js";
import {
  assertPublicKey,
  generateKeyPair,
  keyIdentifier,
  type RandomSource,
  signRaw,
  systemRandom,
} from "../../protocol/p256.js";
import { PAIRING_ID_LENGTH } from "../../protocol/pairing-confirmation.js";
import { type PairingVerifier, validateScryptParams } from "../../protocol/pairing-password.js";
import { hasExpired } from "../../protocol/profile-expiry.js";
import type { RevocationFacts } from "../../protocol/revocation.js";
import { verifyRevocationList } from "../../protocol/revocation-list.js";
import { parseSignedStatement } from "../../protocol/signed-statement.js";
import { describeStatus, SW } from "../../protocol/status-words.js";
import { TERMINATION_USAGE, verifyTerminationAttestation } from "../../protocol/termination-attestation.js";
import { activationRefusal, activationShare } from "./activation-check.js";
import type { ApduChannel } from "./apdu-channel.js";
import {
  OwnerNotPresentError,
  PairingRefusedError,
  TransactionRefusedError,
  VehicleError,
} from "./errors.js";
import { keyListEntry, type VehicleKeyEntry } from "./key-list.js";
import { runOwnerPairing } from "./owner-pairing.js";
import {
  type AuthenticatedTransaction,
  endTransaction,
  type Intent,
  ReaderLink,
  runReaderTransaction,
  SUCCESS_ENDING,
  type TraceEntry,
  type TransactionEnding,
  type TransactionPolicy,
} from "./reader-transaction.js";
import { RevocationLedger } from "./revocation-ledger.js";
import { enrollmentFromMailbox, ownerMail } from "./shared-key-policy.js";
import type { Decision, ReaderPosition, TapResult } from "./tap-result.js";
import { type EnrolledEndpoint, VEHICLE_STATE_FORMAT, type VehicleState } from "./vehicle-state.js";

/** How many keys one car holds at most (owner plus friends). */
export const MAX_KEYS = 16;
/** Keys shared by an owner the car holds at once unless configured otherwise (BMW and Google allow 5 friends). */
export const DEFAULT_FRIEND_KEY_SLOTS = 5;
/** How long an owner key's tap authorizes one dashboard delete-key. */
export const OWNER_PRESENCE_WINDOW_MS = 60_000;
/** Failed owner-pairing attempts before the car refuses until a new password (docs/protocol.md §9). */
export const MAX_PAIRING_ATTEMPTS = 7;
/** How many decisions the transaction log keeps. */
export const LOG_LIMIT = 500;

export { OwnerNotPresentError, VehicleError } from "./errors.js";

export interface VehicleOptions {
  random?: RandomSource;
  now?: () => number;
}

export interface Reader {
  readonly vehicle: Vehicle;
  readonly position: ReaderPosition;
}

export interface TapOptions {
  /** Receives every command and answer of the tap, hex, with its step (the conformance trace). */
  trace?: (entry: TraceEntry) => void;
  /**
   * How the car ends the transaction (default CONTROL FLOW 01 00). P1 = 01 with
   * another P2 reports success with a code; P1 = 00 reports a failure: the car
   * then keeps nothing and changes nothing (the conformance kit's probes).
   */
  ending?: TransactionEnding;
}

export class Vehicle {
  readonly doorHandle: Reader = { vehicle: this, position: "door" };
  readonly dashboard: Reader = { vehicle: this, position: "dashboard" };
  private readonly random: RandomSource;
  private readonly now: () => number;
  private readonly ledger: RevocationLedger;

  private constructor(
    private readonly state: VehicleState,
    options: VehicleOptions,
  ) {
    this.random = options.random ?? systemRandom;
    this.now = options.now ?? Date.now;
    this.ledger = new RevocationLedger(state, this.now);
  }

  static create(options: VehicleOptions & { brand?: string; friendKeySlots?: number } = {}): Vehicle {
    const slots = options.friendKeySlots ?? DEFAULT_FRIEND_KEY_SLOTS;
    if (!Number.isInteger(slots) || slots < 0 || slots > MAX_KEYS - 1) {
      throw new VehicleError(`friend key slots must be an integer from 0 to ${MAX_KEYS - 1}`);
    }
    const random = options.random ?? systemRandom;
    const pair = generateKeyPair(random);
    return new Vehicle(
      {
        format: VEHICLE_STATE_FORMAT,
        vehicleIdentifier: toHex(random(16)),
        publicKey: toHex(pair.publicKey),
        privateKey: toHex(pair.privateKey),
        brand: options.brand ?? "Emulated Motors",
        vehicleCertificate: null,
        deviceOemRoots: [],
        pairing: { verifier: null, failedAttempts: 0 },
        ownerKeys: [],
        revoked: [],
        noticeCounters: {},
        doorsLocked: true,
        friendKeySlots: slots,
        endpoints: [],
        log: [],
      },
      options,
    );
  }

  static restore(state: VehicleState, options: VehicleOptions = {}): Vehicle {
    if (state?.format !== VEHICLE_STATE_FORMAT)
      throw new VehicleError(`state is not ${VEHICLE_STATE_FORMAT}`);
    return new Vehicle(structuredClone(state), options);
  }

  exportState(): VehicleState {
    return structuredClone(this.state);
  }

  get vehicleIdentifier(): Uint8Array {
    return fromHex(this.state.vehicleIdentifier);
  }

  get publicKey(): Uint8Array {
    return fromHex(this.state.publicKey);
  }

  get doorsLocked(): boolean {
    return this.state.doorsLocked;
  }

  get transactionLog(): readonly TapResult[] {
    return structuredClone(this.state.log);
  }

  /** How many keys shared by an owner this car holds at most. */
  get friendKeySlots(): number {
    return this.state.friendKeySlots ?? DEFAULT_FRIEND_KEY_SLOTS;
  }

  /**
   * The dashboard's key list: every key with role, profile, limits, validity
   * and last use. Local only: no part of it is sent anywhere. Keys past their
   * end are dropped first, so the list never shows a key that cannot open.
   */
  keyList(): { keys: VehicleKeyEntry[]; expired: string[] } {
    const expired = this.dropExpiredKeys();
    return {
      keys: this.state.endpoints.map((e) =>
        keyListEntry(e, this.state.ownerKeys.includes(e.endpointPublicKey)),
      ),
      expired,
    };
  }

  /**
   * Drops every key whose profile has ended, by the car's clock alone (no
   * network): each joins the revoked list (reason `expired`), so its
   * enrollment package can never bring it back. Returns their ids.
   */
  dropExpiredKeys(): string[] {
    const now = this.now();
    const expired = this.state.endpoints.filter((e) => hasExpired(e.profile, now));
    for (const e of expired) this.ledger.forget(e, "expired");
    return expired.map((e) => e.keyId);
  }

  /**
   * The dashboard's "delete key": needs an owner key present, i.e. an owner
   * key that authenticated at a reader within OWNER_PRESENCE_WINDOW_MS and is
   * still trusted and not suspended; one tap authorizes one delete. The key
   * leaves the car for good (reason `deleted`) and is queued for the
   * automaker, which the car's telematics tells when it is online.
   */
  deleteKey(keyId: string): { keyId: string; role: EnrolledEndpoint["role"]; authorizedBy: string } {
    const endpoint = this.state.endpoints.find((e) => e.keyId === keyId);
    if (!endpoint) throw new VehicleError(`no key ${keyId} in this vehicle`);
    const presence = this.state.ownerPresence;
    const now = this.now();
    const age = presence ? now - Date.parse(presence.at) : Number.POSITIVE_INFINITY;
    const present = presence
      ? this.state.endpoints.find((e) => e.keyId === presence.keyId && e.role === "owner")
      : undefined;
    if (!presence || !(age >= 0 && age <= OWNER_PRESENCE_WINDOW_MS)) {
      throw new OwnerNotPresentError(
        `deleting a key needs an owner key present: tap an owner key at a reader, then delete within ${OWNER_PRESENCE_WINDOW_MS / 1000} s`,
      );
    }
    if (
      !present ||
      present.suspended ||
      (present.deviceId && this.state.suspendedDevices?.includes(present.deviceId))
    ) {
      throw new OwnerNotPresentError("the owner key that was present is no longer trusted or is suspended");
    }
    delete this.state.ownerPresence;
    this.ledger.forget(endpoint, "deleted");
    if (endpoint.role === "owner") {
      this.state.ownerKeysReplacedAt = {
        ...this.state.ownerKeysReplacedAt,
        [endpoint.endpointPublicKey]: new Date(now).toISOString(),
      };
    }
    this.state.pendingDeletions = [
      ...(this.state.pendingDeletions ?? []),
      { keyId, deletedAt: new Date(now).toISOString() },
    ];
    return { keyId, role: endpoint.role, authorizedBy: present.keyId };
  }

  /** Keys deleted at the dashboard that the automaker has not acknowledged yet. */
  get pendingDeletions(): readonly { keyId: string; deletedAt: string }[] {
    return structuredClone(this.state.pendingDeletions ?? []);
  }

  /** The automaker recorded the deletion of `keyId` (or does not know the key): stop reporting it. */
  deletionReported(keyId: string): void {
    this.state.pendingDeletions = (this.state.pendingDeletions ?? []).filter((d) => d.keyId !== keyId);
  }

  keys(): EnrolledEndpoint[] {
    return structuredClone(this.state.endpoints).map((e) => {
      delete e.persistentKey;
      delete e.immobilizerToken;
      return e;
    });
  }

  /** Trusts an endpoint key directly (the automaker's workshop tool; pairing does this over NFC). */
  enrollKey(request: {
    endpointPublicKey: Uint8Array;
    profile?: AccessProfile;
    role?: "owner" | "friend";
  }): string {
    const publicKey = assertPublicKey(request.endpointPublicKey, "endpoint public key");
    const keyId = toHex(keyIdentifier(publicKey));
    if (this.state.endpoints.some((e) => e.keyId === keyId))
      throw new VehicleError(`key ${keyId} is already enrolled`);
    if (this.state.endpoints.length >= MAX_KEYS)
      throw new VehicleError(`this vehicle holds at most ${MAX_KEYS} keys`);
    this.state.endpoints.push({
      keyId,
      endpointPublicKey: toHex(publicKey),
      profile: checkAccessProfile(request.profile ?? { kind: "full" }),
      role: request.role ?? "owner",
      enrolledAt: new Date(this.now()).toISOString(),
    });
    return keyId;
  }

  removeKey(keyId: string): void {
    const before = this.state.endpoints.length;
    this.state.endpoints = this.state.endpoints.filter((e) => e.keyId !== keyId);
    if (this.state.endpoints.length === before) throw new VehicleError(`no key ${keyId} in this vehicle`);
  }

  // --- certificates and owner pairing ---

  /** The vehicle certificate from the Vehicle OEM root, and the Device OEM roots whose keys this car accepts. */
  installCertificates(certificates: {
    vehicleCertificate: string;
    vehicleOemRoot: string;
    deviceOemRoots: string[];
  }): void {
    const chain = verifyCertificateChain({
      leaf: certificates.vehicleCertificate,
      anchors: [certificates.vehicleOemRoot],
      expectedLeafProfile: "vehicle",
      at: new Date(this.now()),
    });
    if (toHex(chain.publicKey) !== this.state.publicKey)
      throw new VehicleError("the certificate certifies another key");
    if (!chain.vehicleIdentifier || toHex(chain.vehicleIdentifier) !== this.state.vehicleIdentifier) {
      throw new VehicleError("the certificate is for another vehicle identifier");
    }
    for (const root of certificates.deviceOemRoots) parseCertificate(root);
    this.state.vehicleCertificate = certificates.vehicleCertificate;
    this.state.vehicleOemRoot = certificates.vehicleOemRoot;
    this.state.deviceOemRoots = [...certificates.deviceOemRoots];
  }

  get vehicleCertificate(): string | null {
    return this.state.vehicleCertificate;
  }

  /**
   * The automaker's server provisions a fresh verifier (a new password for the
   * owner) with the id of that pairing material, which the car signs into its
   * pairing confirmation; it resets the attempt count.
   */
  provisionPairingVerifier(verifier: PairingVerifier, pairingId: Uint8Array | string): void {
    const checked = validateScryptParams(verifier);
    assertPublicKey(verifier.L, "L");
    const id = typeof pairingId === "string" ? fromHex(pairingId, "pairing id") : pairingId;
    if (id.length !== PAIRING_ID_LENGTH) {
      throw new ProtocolInputError(`the pairing id must be ${PAIRING_ID_LENGTH} bytes`);
    }
    this.state.pairing = {
      verifier: {
        w0: toHex(verifier.w0),
        L: toHex(verifier.L),
        salt: toHex(checked.salt),
        N: checked.N,
        r: checked.r,
        p: checked.p,
        pairingId: toHex(id),
      },
      failedAttempts: 0,
    };
  }

  get pairingAttemptsLeft(): number {
    return this.state.pairing.verifier ? MAX_PAIRING_ATTEMPTS - this.state.pairing.failedAttempts : 0;
  }

  /**
   * Owner pairing over NFC with a device whose owner entered the password.
   * A new owner replaces the previous one (a new phone): the old owner key
   * stops working, keys it shared keep working. The verifier is single-use.
   */
  async pair(channel: ApduChannel): Promise<{ keyId: string; replacedOwnerKeyId: string | null }> {
    const stored = this.state.pairing.verifier;
    if (!stored)
      throw new PairingRefusedError("no pairing verifier provisioned (the automaker starts pairing)");
    if (this.state.pairing.failedAttempts >= MAX_PAIRING_ATTEMPTS) {
      throw new PairingRefusedError(
        `pairing blocked after ${MAX_PAIRING_ATTEMPTS} failed attempts; a new password is needed`,
      );
    }
    if (!this.state.vehicleCertificate)
      throw new PairingRefusedError("the vehicle has no certificate installed");
    if (!stored.pairingId) {
      throw new PairingRefusedError(
        "the verifier has no pairing id; the automaker must provision new pairing material",
      );
    }
    const vehiclePrivateKey = fromHex(this.state.privateKey);
    let owner: EnrolledEndpoint;
    try {
      owner = await runOwnerPairing(channel, {
        vehicleIdentifier: this.vehicleIdentifier,
        vehicleCertificate: parseCertificate(this.state.vehicleCertificate).der,
        verifier: {
          w0: fromHex(stored.w0),
          L: fromHex(stored.L),
          salt: fromHex(stored.salt),
          N: stored.N,
          r: stored.r,
          p: stored.p,
        },
        pairingId: fromHex(stored.pairingId),
        signAsVehicle: (message) => signRaw(vehiclePrivateKey, message),
        brand: utf8(this.state.brand),
        deviceOemRoots: this.state.deviceOemRoots,
        now: new Date(this.now()),
        random: this.random,
      });
    } catch (error) {
      if (error instanceof PairingRefusedError && error.countsAsAttempt) this.state.pairing.failedAttempts++;
      throw error;
    }
    const previous = this.state.endpoints.find((e) => e.role === "owner" && !e.ownerDeviceOf);
    // The previous owner's watch keys go with its phone's key: a new owner adds its own.
    for (const e of this.state.endpoints.filter((x) => x.ownerDeviceOf)) this.ledger.forget(e, "removed");
    this.state.endpoints = this.state.endpoints.filter((e) => e.role !== "owner" && e.keyId !== owner.keyId);
    this.state.endpoints.push(owner);
    this.state.ownerKeys.push(owner.endpointPublicKey);
    if (owner.deviceId) {
      this.state.ownerKeyDevices = {
        ...this.state.ownerKeyDevices,
        [owner.endpointPublicKey]: owner.deviceId,
      };
    }
    if (previous) {
      this.state.ownerKeysReplacedAt = {
        ...this.state.ownerKeysReplacedAt,
        [previous.endpointPublicKey]: new Date(this.now()).toISOString(),
      };
    }
    this.state.pairing = { verifier: null, failedAttempts: 0 };
    return { keyId: owner.keyId, replacedOwnerKeyId: previous?.keyId ?? null };
  }

  /** Dashboard "remove all keys": every key, owner included, stops working; pairing again needs a new verifier. */
  removeAllKeys(): string[] {
    const removed = this.ledger.removeAll();
    this.state.ownerKeys = [];
    this.state.ownerKeysReplacedAt = {};
    this.state.ownerKeyDevices = {};
    return removed;
  }

  /** A key's termination attestation (the device deleted it): the car drops the key for good. */
  acceptTermination(attestation: Uint8Array): string {
    const keyId = toHex(parseTerminationKeyId(attestation));
    const endpoint = this.state.endpoints.find((e) => e.keyId === keyId);
    if (!endpoint) throw new VehicleError(`no key ${keyId} in this vehicle`);
    const facts = verifyTerminationAttestation(attestation, fromHex(endpoint.endpointPublicKey));
    if (toHex(facts.vehicleIdentifier) !== this.state.vehicleIdentifier) {
      throw new VehicleError("the termination attestation is for another vehicle");
    }
    this.ledger.forget(endpoint, "terminated");
    return keyId;
  }

  /**
   * A lost-mode notice from the Device OEM, addressed to this vehicle:
   * suspends or resumes every key living on that device. Counters are
   * monotonic per device, so an old resume cannot undo a newer suspension.
   */
  applyNotice(encoded: Uint8Array): { action: "suspend" | "resume"; deviceId: string; keyIds: string[] } {
    let notice: ReturnType<typeof verifyNotice> | undefined;
    let lastError: unknown;
    for (const root of this.state.deviceOemRoots) {
      try {
        notice = verifyNotice(encoded, parseCertificate(root).subjectPublicKey);
        break;
      } catch (error) {
        lastError = error;
      }
    }
    if (!notice)
      throw lastError instanceof Error ? lastError : new VehicleError("no Device OEM root configured");
    if (!notice.vehicleIdentifier || toHex(notice.vehicleIdentifier) !== this.state.vehicleIdentifier) {
      throw new VehicleError("the notice is not addressed to this vehicle");
    }
    if (notice.action === "terminate-key") throw new VehicleError("a terminate-key notice is for a device");
    const action = notice.action;
    const deviceId = toHex(notice.deviceId);
    const last = this.state.noticeCounters[deviceId] ?? 0;
    if (notice.counter <= last)
      throw new VehicleError(`stale notice: counter ${notice.counter} is not above ${last}`);
    this.state.noticeCounters[deviceId] = notice.counter;
    // Remembered per device, so a key of that device enrolled later (a shared key's first tap) is suspended too.
    const suspended = new Set(this.state.suspendedDevices ?? []);
    if (action === "suspend") suspended.add(deviceId);
    else suspended.delete(deviceId);
    this.state.suspendedDevices = [...suspended];
    const affected = this.state.endpoints.filter((e) => e.deviceId === deviceId);
    for (const e of affected) e.suspended = action === "suspend";
    return { action, deviceId, keyIds: affected.map((e) => e.keyId) };
  }

  /**
   * The Vehicle OEM's revocation list, fetched through the OEM's telematics
   * (src/protocol/revocation-list.ts): verified with the Vehicle OEM root
   * from installCertificates; every listed key is dropped and can never
   * enroll again. Lists not newer than the last one applied are refused,
   * and so is a list that starts after it (entries would be missing).
   */
  applyRevocationList(encoded: Uint8Array): { sequence: number; keyIds: string[] } {
    if (!this.state.vehicleOemRoot) throw new VehicleError("no Vehicle OEM root installed");
    const list = verifyRevocationList(encoded, parseCertificate(this.state.vehicleOemRoot).subjectPublicKey);
    if (toHex(list.vehicleIdentifier) !== this.state.vehicleIdentifier) {
      throw new VehicleError("the revocation list is for another vehicle");
    }
    const applied = this.state.revocationListSequence ?? 0;
    if (list.latestSequence <= applied) {
      throw new VehicleError(
        `stale revocation list: sequence ${list.latestSequence} is not above ${applied}`,
      );
    }
    if (list.after > applied) {
      throw new VehicleError(
        `the revocation list starts after ${list.after}; this car has applied up to ${applied}`,
      );
    }
    const dropped: string[] = [];
    for (const entry of list.entries) {
      const keyId = toHex(entry.keyId);
      const endpoint = this.state.endpoints.find((e) => e.keyId === keyId);
      const facts = {
        attestationSerial: entry.attestationSerial ?? endpoint?.attestationSerial ?? null,
        attestedBy: endpoint?.attestedBy ?? null,
        // The OEM's time (when not in the future): an owner key's attestations signed after it are refused.
        revokedAt: new Date(Math.min(entry.revokedAt, this.now())).toISOString(),
        reason: "revocation-list",
      } as const;
      dropped.push(...this.ledger.revoke(keyId, facts, endpoint));
    }
    this.state.revocationListSequence = list.latestSequence;
    return { sequence: list.latestSequence, keyIds: dropped };
  }

  private policy(): TransactionPolicy {
    return {
      enrollFromMailbox: (keyId, mailbox) =>
        enrollmentFromMailbox(this.state, keyId, mailbox, new Date(this.now()), {
          maxKeys: MAX_KEYS,
          friendKeySlots: this.friendKeySlots,
        }),
      // Only a paired owner key can have signed revocations the car would accept; a key enrolled at
      // the workshop (enrollKey) has nothing to read, so its taps keep their round trips.
      readsMailboxOf: (endpoint) =>
        endpoint.role === "owner" && this.state.ownerKeys.includes(endpoint.endpointPublicKey),
      ownerMail: (endpoint, mailbox) => ownerMail(this.state, endpoint, mailbox),
    };
  }

  /** Applies verified revocations: the key goes (if enrolled) and can never enroll again. */
  private applyRevocations(revocations: readonly RevocationFacts[]): void {
    const at = new Date(this.now()).toISOString();
    for (const r of revocations) {
      const keyId = toHex(r.revokedKeyId);
      // The owner revokes only what it shared: an owner key never leaves by a revocation in a mailbox.
      const endpoint = this.state.endpoints.find((e) => e.keyId === keyId && e.role === "friend");
      const facts = {
        attestationSerial: r.attestationSerial,
        attestedBy: toHex(r.signerKeyId),
        revokedAt: at,
        reason: "owner-revocation",
      } as const;
      this.ledger.revoke(keyId, facts, endpoint);
    }
  }

  /**
   * Runs one tap at a reader. At the door the intent is to unlock a locked car
   * and to lock an unlocked one unless `intent` says otherwise; at the
   * dashboard it is engine start.
   */
  async tap(
    position: ReaderPosition,
    channel: ApduChannel,
    intent?: Intent,
    options: TapOptions = {},
  ): Promise<TapResult> {
    const wanted: Intent =
      position === "dashboard" ? "start" : (intent ?? (this.state.doorsLocked ? "unlock" : "lock"));
    if (position === "door" && wanted === "start")
      throw new ProtocolInputError("the door reader cannot start the engine");
    const ending = options.ending ?? SUCCESS_ENDING;
    const link = new ReaderLink(channel, options.trace);
    let auth: AuthenticatedTransaction;
    try {
      auth = await runReaderTransaction(
        link,
        this.identity(),
        this.state.endpoints,
        this.policy(),
        wanted,
        this.random,
      );
    } catch (error) {
      return this.record(position, refusal(error));
    }
    const identified = { flow: auth.flow, keyId: auth.endpoint.keyId };
    const skipped = auth.skipped.length ? { skipped: auth.skipped } : {};
    const { deviceId } = auth.endpoint;
    if (auth.enrolled && auth.endpoint.pendingActivation) {
      // The key proved itself in AUTH1; only now may its code count against the share's attempts.
      const refusedActivation = activationRefusal(this.state, auth.endpoint);
      if (refusedActivation) {
        return this.record(position, {
          decision: "refused",
          ...identified,
          reason: `enrollment: ${refusedActivation}`,
        });
      }
    }
    if (!auth.enrolled && hasExpired(auth.endpoint.profile, this.now())) {
      // Past its end the key stops at once, by the car's own clock; the car forgets it right away, so
      // the key list shows it gone and its enrollment package can never bring it back.
      this.ledger.forget(auth.endpoint, "expired");
      this.dropExpiredKeys();
      return this.record(position, {
        decision: "refused",
        ...identified,
        reason: `key expired at ${new Date(auth.endpoint.profile.validUntil! * 1000).toISOString()}; removed from this vehicle`,
      });
    }
    if (auth.endpoint.suspended || (deviceId && this.state.suspendedDevices?.includes(deviceId))) {
      // Lost mode: the key authenticated, but its device is reported lost; nothing is kept.
      return this.record(position, {
        decision: "refused",
        ...identified,
        reason: "key suspended (lost mode)",
      });
    }
    if (wanted === "start" && !auth.immobilizerValid) {
      // No valid token: the car neither confirms the transaction nor keeps anything from it (the
      // device discards its side when the field drops); the reason says whether the token is
      // missing (no mailbox support, provisioning failed) or wrong.
      return this.record(position, {
        decision: "refused",
        ...identified,
        reason: auth.immobilizerProblem ?? "no immobilizer token",
        ...skipped,
      });
    }
    const refused = profileRefusal(auth.endpoint.profile, wanted, Math.floor(this.now() / 1000));
    let ended: Awaited<ReturnType<typeof endTransaction>>;
    try {
      ended = await endTransaction(link, ending);
    } catch (error) {
      ended = { data: new Uint8Array(0), sw: -1 };
      if (ending.p1 === SUCCESS_ENDING.p1) {
        // The device authenticated; only the commit is in doubt. The decision stands, nothing is kept.
        return this.decide(position, wanted, auth, refused, {
          skipped: auth.skipped,
          notKept: `${(error as Error).message}; nothing from this transaction kept`,
        });
      }
    }
    const controlFlow = `CONTROL FLOW ${hex2(ending.p1)} ${hex2(ending.p2)}`;
    if (ending.p1 !== SUCCESS_ENDING.p1) {
      // The car reported a failure: nothing is kept and nothing happens, whatever the device answered.
      const answer = ended.sw < 0 ? "no answer" : `${swHex(ended.sw)} (${describeStatus(ended.sw)})`;
      return this.record(position, {
        decision: "refused",
        ...identified,
        reason: `the vehicle ended with ${controlFlow} (failure); device answered ${answer}; nothing kept`,
        ...skipped,
      });
    }
    if (ended.sw !== SW.OK) {
      return this.decide(position, wanted, auth, refused, {
        skipped: auth.skipped,
        notKept: `${controlFlow}: device answered ${swHex(ended.sw)} (${describeStatus(ended.sw)}); nothing from this transaction kept`,
      });
    }
    // The device confirmed the end: keep what the transaction established, even for a refused
    // action (the key authenticated; its profile just does not allow this).
    if (auth.enrolled) {
      this.state.endpoints.push(auth.endpoint);
      if (auth.endpoint.activatedWithCode) {
        // One-time: the share's code has enrolled its key and never enrolls again.
        this.state.activationsUsed = [...(this.state.activationsUsed ?? []), activationShare(auth.endpoint)];
      }
    }
    if (auth.persistentKey) auth.endpoint.persistentKey = toHex(auth.persistentKey);
    if (auth.provisionedToken) auth.endpoint.immobilizerToken = toHex(auth.provisionedToken);
    if (auth.ownerMail) this.applyRevocations(auth.ownerMail.revocations);
    auth.endpoint.lastUsedAt = new Date(this.now()).toISOString();
    if (auth.endpoint.role === "owner") {
      // An owner key held to a reader: it authorizes one dashboard delete-key for a short while.
      this.state.ownerPresence = { keyId: auth.endpoint.keyId, at: auth.endpoint.lastUsedAt };
    } else {
      // Another key at the reader since: the owner's key is no longer the one present.
      delete this.state.ownerPresence;
    }
    this.dropExpiredKeys();
    return this.decide(position, wanted, auth, refused, { skipped: auth.skipped });
  }

  /**
   * The decision of an authenticated transaction: the profile's refusal if
   * any, else the action. It rests on the authentication alone; `notKept`
   * says the commit failed, `skipped` lists the mailbox work not done.
   */
  private decide(
    position: ReaderPosition,
    wanted: Intent,
    auth: AuthenticatedTransaction,
    refused: string | undefined,
    outcome: { skipped: string[]; notKept?: string },
  ): TapResult {
    const identified = { flow: auth.flow, keyId: auth.endpoint.keyId };
    const skipped = outcome.skipped.length ? { skipped: outcome.skipped } : {};
    const kept = !outcome.notKept;
    const notes = [
      kept && auth.enrolled ? "enrolled from the owner's attestation" : "",
      kept && auth.ownerMail?.revocations.length
        ? `applied ${auth.ownerMail.revocations.length} revocation(s)`
        : "",
      kept && auth.ownerMail?.rejected ? `dropped ${auth.ownerMail.rejected} invalid revocation(s)` : "",
      ...outcome.skipped,
      outcome.notKept ?? "",
    ].filter(Boolean);
    const suffix = notes.length ? `; ${notes.join("; ")}` : "";
    if (refused) {
      const problems = [...outcome.skipped, outcome.notKept ?? ""].filter(Boolean);
      const reason = `${refused}${problems.length ? `; ${problems.join("; ")}` : ""}`;
      return this.record(position, { decision: "refused", ...identified, reason, ...skipped });
    }

    const decision: Decision = wanted === "start" ? "started" : wanted === "unlock" ? "unlocked" : "locked";
    if (wanted !== "start") this.state.doorsLocked = wanted === "lock";
    const profile = auth.endpoint.profile;
    // Driving limits matter when the engine starts: the car applies them for this drive and says so.
    const limits = wanted === "start" ? drivingLimits(profile) : undefined;
    // "friend key" as before for a guest; a co-owner or service key names its role.
    const shared = sharingRole(profile);
    const role = auth.endpoint.role === "friend" && shared !== "guest" ? shared : auth.endpoint.role;
    return this.record(position, {
      decision,
      ...identified,
      reason: `${role} key, ${profile.kind}${limits ? `, ${describeLimits(limits)}` : ""}${suffix}`,
      ...(limits?.speedLimitKmh !== undefined ? { speedLimitKmh: limits.speedLimitKmh } : {}),
      ...(limits ? { limits } : {}),
      ...skipped,
    });
  }

  private identity() {
    return {
      vehicleIdentifier: fromHex(this.state.vehicleIdentifier),
      publicKey: fromHex(this.state.publicKey),
      privateKey: fromHex(this.state.privateKey),
    };
  }

  private record(reader: ReaderPosition, outcome: Omit<TapResult, "reader" | "at">): TapResult {
    const result: TapResult = { ...outcome, reader, at: new Date(this.now()).toISOString() };
    this.state.log.push(result);
    if (this.state.log.length > LOG_LIMIT) this.state.log.splice(0, this.state.log.length - LOG_LIMIT);
    return structuredClone(result);
  }
}

function hex2(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}

function refusal(error: unknown): Omit<TapResult, "reader" | "at"> {
  if (error instanceof TransactionRefusedError) {
    return {
      decision: "refused",
      flow: error.flow,
      keyId: error.keyId,
      reason: error.message,
      ...(error.evidence ? { failure: error.evidence } : {}),
    };
  }
  if (error instanceof ProtocolError)
    return { decision: "refused", flow: null, keyId: null, reason: error.message };
  return {
    decision: "refused",
    flow: null,
    keyId: null,
    reason: `internal error: ${(error as Error).message}`,
  };
}

function parseTerminationKeyId(attestation: Uint8Array): Uint8Array {
  return parseSignedStatement(attestation, TERMINATION_USAGE, "termination attestation").fields.require(
    0x4e,
    "key identifier",
    6,
  );
}
