// The ports of the cloud domain (docs/architecture.md: functions → service →
// ports ← adapters): what the service needs from the outside world, and
// nothing about how it is provided. Store is DynamoDB in AWS and locally;
// Signer holds the two OEM root keys (KMS in AWS, a software key store on a
// laptop); Clock is injectable so tests can step past expiries; Notifier
// publishes the service's events (revocations, notices) for the OEM's backend. Records carry hex strings and ISO instants: they are what is stored,
// and the store adapter need not know any codec.
import type { AccessProfile } from "../protocol/access-profile.js";
import type { KeyRole } from "../protocol/certificate-profiles.js";
import type { MessageSigner } from "../protocol/signer.js";

/** The two roots the service signs with. */
export type OemRootProfile = "device-oem-root" | "vehicle-oem-root";
export const OEM_ROOT_PROFILES: readonly OemRootProfile[] = ["device-oem-root", "vehicle-oem-root"];

/**
 * One MessageSigner per OEM root, each chosen by a URI (`awskms:…`,
 * `softkms:…`; src/adapters/kms/signer-from-uri.ts). Issuance reaches KMS only
 * through here, one sign call per certificate or receipt.
 */
export interface Signer {
  root(profile: OemRootProfile): MessageSigner;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** An event for the OEM's backend (EventBridge in AWS). */
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
  /**
   * The owner key's device seal, as its key record holds it (device-pseudonyms.ts): kept here too so a
   * migration addresses the old owner key's terminate-key notice without reading that key first, reading
   * the key and its device's notice counter together (docs/architecture.md "DynamoDB budget"). Absent on
   * vehicles whose owner was registered before it was kept.
   */
  readonly deviceSeal?: string;
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
  /**
   * Friend keys of this vehicle holding a slot (active ones): raised by each friend registration in
   * its transaction, only while below the limit, and lowered when one is revoked or expires.
   * Absent until the first friend key.
   */
  readonly friendKeys?: number;
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

/**
 * What a friend key keeps of the owner's attestation once it verified: only
 * what later decisions need — the profile, and the serial an owner's
 * revocation and the revocation list name. Never who attested (the vehicle's
 * owner did; the owner key on the vehicle item is enough to authorise the
 * owner's revocations) nor the statement itself.
 */
export interface FriendKeyAttestationRecord {
  readonly serial: number;
  readonly profile: AccessProfile;
  /**
   * A key a co-owner shared: the co-owner key that signed its attestation (what revoking that
   * co-owner follows to revoke what it shared), and the chain's length from the owner (2).
   * Absent when the vehicle's owner signed (depth 1).
   */
  readonly sharedBy?: string;
  readonly depth?: number;
  /** Legacy: records written before the service stopped keeping the sharing graph carry these; never read. */
  readonly encoded?: string;
  readonly ownerKeyId?: string;
  readonly issuedAt?: string;
}

/**
 * Where a key is in its life: active → revoked → terminated, or active →
 * expired (its profile's end passed), only forward, each step a conditional
 * write on the `state` attribute. Records written by earlier versions carry
 * no state and count as active.
 */
export type KeyState = "active" | "revoked" | "terminated" | "expired";

/**
 * Who revoked: the owner's device (RVKE statement), the OEM backend, a new owner phone (migration, also
 * for the old owner's watch keys), the revocation of the co-owner that shared the key (sharer-revoked),
 * or of the owner key whose own second device holds it (owner-key-revoked), or the service's own
 * expiry sweep once the key's attested profile had ended (expired; src/service/expiry-sweep.ts).
 */
export type RevocationReason =
  | "owner"
  | "oem"
  | "migrated"
  | "sharer-revoked"
  | "owner-key-revoked"
  | "expired";

export interface KeyRevocationRecord {
  readonly reason: RevocationReason;
  readonly revokedAt: string;
  /**
   * `vehicle-owner` for the owner (never which owner key: the vehicle's owner), the IAM
   * principal for the OEM, `owner-migration` for a migration. Legacy records may hold `endpoint:<keyId>`.
   */
  readonly revokedBy: string;
  /** Legacy: the owner's RVKE statement, on records written before it stopped being kept. */
  readonly statement?: string;
  /** The entry in the vehicle's revocation list, when one was made. */
  readonly listSequence?: number;
  /**
   * The device counter of the terminate-key notice sent to the key's SE; absent for a key on another
   * phone maker's device, which gets no notice from here (src/service/revocation-delivery.ts).
   */
  readonly noticeCounter?: number;
}

export interface KeyTerminationRecord {
  /** The TERM statement (hex), verified with the endpoint key on record. */
  readonly attestation: string;
  /** When the SE deleted the key (from the attestation). */
  readonly terminatedAt: string;
  /** When the service recorded it: the revocation is confirmed. */
  readonly confirmedAt: string;
}

/** A car key the service tracks. */
export interface KeyRecord {
  /** 6 bytes, hex (tag 4E, docs/transaction.md). */
  readonly keyId: string;
  readonly vehicleId: string;
  readonly role: KeyRole;
  readonly endpointPublicKey: string;
  /**
   * Legacy only. The endpoint certificate names its instance CA (issuer and
   * authority key identifier: the same for every key of a device) and the
   * instance CA certificate names the SE, so neither is stored any more.
   */
  readonly endpointCertificatePem?: string;
  readonly instanceCaCertificatePem?: string;
  /** Serial of the endpoint certificate (hex). */
  readonly serialNumber: string;
  readonly registeredAt: string;
  /** The RCPT statement (hex) signed by the Vehicle OEM root. */
  readonly receipt: string;
  /** Friend keys only: the owner's attestation. */
  readonly attestation?: FriendKeyAttestationRecord;
  /** Legacy: the SE id in clear, on records written before device pseudonyms. */
  readonly seId?: string;
  /** The holding SE's reference (src/service/device-pseudonyms.ts): lost mode's index, an HMAC of its id. */
  readonly deviceRef?: string;
  /** The holding SE's id sealed for this key alone, to address its terminate-key notice. */
  readonly deviceSeal?: string;
  /** Absent on records written by earlier versions, which count as active. */
  readonly state?: KeyState;
  readonly revocation?: KeyRevocationRecord;
  readonly termination?: KeyTerminationRecord;
  /** State expired: when the service recorded that the key's profile had ended. */
  readonly expiredAt?: string;
  /** A key on a second device of the vehicle's owner (its attestation's tag CB): it holds no friend slot. */
  readonly ownerDevice?: boolean;
  /**
   * A key on the owner's second device: the owner key that attested it, as a keyed pseudonym
   * (DevicePseudonyms.ownerLink), so that owner key's revocation or replacement revokes exactly it.
   * Absent on such keys registered before it was kept: matched by registration times instead.
   */
  readonly ownerLink?: string;
  /**
   * Owner keys only: how many keys on the owner's other devices (a watch) this key attested and the
   * service registered, raised by each such registration's transaction and never lowered. Absent
   * (none): revoking or replacing this key has no device keys to look for.
   */
  readonly ownerDevices?: number;
  /**
   * A key on another phone maker's device: the subject key identifier (hex) of the configured Device OEM
   * root its certificate chain ends at. Absent for keys on SEs this service enrolled.
   */
  readonly deviceOemRoot?: string;
}

/** A signed lifecycle notice (src/protocol/lifecycle-notice.ts) as stored for its device to fetch. */
export interface DeviceNoticeRecord {
  readonly seId: string;
  /** The device's monotonic notice counter, which the notice carries. */
  readonly counter: number;
  readonly action: "suspend" | "resume" | "terminate-key";
  /** terminate-key: the key to delete. */
  readonly keyId?: string;
  /** The NTCE statement, hex, signed by the Device OEM root. */
  readonly notice: string;
  readonly issuedAt: string;
}

/** A vehicle-directed lost-mode notice, numbered per vehicle for the car's fetch cursor. */
export interface VehicleNoticeRecord {
  readonly vehicleId: string;
  /** The vehicle's notice sequence (the cursor of GET …/notices). */
  readonly sequence: number;
  readonly seId: string;
  /** The device counter the notice carries. */
  readonly counter: number;
  readonly action: "suspend" | "resume";
  readonly notice: string;
  readonly issuedAt: string;
}

/** One entry of a vehicle's revocation list (src/protocol/revocation-list.ts), numbered per vehicle. */
export interface RevocationEntryRecord {
  readonly vehicleId: string;
  readonly sequence: number;
  readonly keyId: string;
  readonly attestationSerial?: number;
  readonly revokedAt: string;
}

/** A device's notice counter and lost-mode status (counter 0 and active when nothing was ever sent). */
export interface DeviceNoticeState {
  readonly counter: number;
  readonly lostMode: "active" | "suspended";
}

/**
 * A notice to append for a device: written only if the device's counter is
 * still `notice.counter - 1` (the conditional counter increment), so notices
 * are gap-free and in order; `lostMode` also sets the device's status.
 */
export interface DeviceNoticeWrite {
  readonly notice: DeviceNoticeRecord;
  readonly lostMode?: DeviceNoticeState["lostMode"];
}

/** Same for a vehicle's notice sequence: written only if it is still `notice.sequence - 1`. */
export type VehicleNoticeWrite = VehicleNoticeRecord;

/** Same for a vehicle's revocation sequence: written only if it is still `entry.sequence - 1`. */
export type RevocationEntryWrite = RevocationEntryRecord;

/** A revocation, all or nothing: the key's state (only from active), its list entry, its device's notice. */
export interface KeyRevocationWrite {
  readonly keyId: string;
  readonly revocation: KeyRevocationRecord;
  /** A friend key: its vehicle's friend-key count goes down by one in the same transaction. */
  readonly freesFriendSlot?: { readonly vehicleId: string };
  readonly entry?: RevocationEntryWrite;
  /** The key's terminate-key notice; absent for a key on another phone maker's device. */
  readonly notice?: DeviceNoticeWrite;
  /** The signed request that asked for it (the owner's device), claimed in the same transaction. */
  readonly nonce?: NonceClaim;
}

/**
 * The records one request reads before it decides, named by their ids; the
 * store fetches them together (one BatchGetItem), strongly consistent.
 */
export interface RecordReads {
  readonly secureElements?: readonly string[];
  readonly keys?: readonly string[];
  readonly vehicles?: readonly string[];
  readonly pairings?: readonly string[];
  readonly deviceNoticeStates?: readonly string[];
  readonly vehicleSequences?: readonly string[];
}

/** What readRecords found: records by id (absent when not on record), states and sequences for every id asked. */
export interface RecordsRead {
  readonly secureElements: ReadonlyMap<string, SecureElementRecord>;
  readonly keys: ReadonlyMap<string, KeyRecord>;
  readonly vehicles: ReadonlyMap<string, VehicleRecord>;
  readonly pairings: ReadonlyMap<string, PairingRecord>;
  /** Counter 0 and active for a device that never had a notice. */
  readonly deviceNoticeStates: ReadonlyMap<string, DeviceNoticeState>;
  /** 0 and 0 for a vehicle that never had a notice or a revocation. */
  readonly vehicleSequences: ReadonlyMap<string, { notices: number; revocations: number }>;
}

/** A device's notice fetch: its record (to check the request's signature), its state, its notices after a counter. */
export interface DeviceNoticeFeed {
  readonly secureElement?: SecureElementRecord;
  readonly state: DeviceNoticeState;
  readonly notices: DeviceNoticeRecord[];
}

/** What lost mode reads before it writes: the device, its notice state, the vehicles holding its keys. */
export interface LostModeRecords {
  readonly secureElement?: SecureElementRecord;
  readonly state: DeviceNoticeState;
  /** Each vehicle holding one of the device's keys, with the sequence of its latest notice (0 when none). */
  readonly vehicleNotices: ReadonlyMap<string, number>;
  /**
   * The store's own bookkeeping, passed back to appendNotices: it looked for keys filed the way they were
   * before device references and found none, so the write may record that it need not look again.
   */
  readonly legacyIndexEmpty?: boolean;
}

/** A new owner phone: the old owner key moves to revoked (migrated) and its SE gets a terminate-key notice. */
export interface OwnerMigration {
  readonly previousKeyId: string;
  /** Absent when the old owner key is no longer active (revoked already): only the owner changes. */
  readonly revocation?: KeyRevocationRecord;
  readonly notice?: DeviceNoticeWrite;
}

/** What must still hold when a friend key is written (not read before and trusted after). */
export interface FriendRegistrationConditions {
  /** The owner key that signed the attestation: the vehicle's owner, in state active. */
  readonly ownerKeyId: string;
  /** The devices (as the store names them for lost mode) that must not be suspended: the friend's and the owner's. */
  readonly unsuspendedDevices: readonly string[];
  /** The vehicle's friend-key count must be below this (absent: no limit); the registration raises it by one. */
  readonly friendKeySlots?: number;
  /**
   * A key a co-owner shared: that co-owner key must still be active (instead of the owner key,
   * which need not have signed anything; the vehicle's owner must still be `ownerKeyId`).
   */
  readonly sharerKeyId?: string;
  /** False for a key on the owner's own second device (a watch): it takes no slot and leaves the count. */
  readonly holdsSlot?: boolean;
}

/**
 * A key whose profile has ended, recorded as expired. From active (the key
 * leaves its state and, for a friend key, frees its slot) or, when its SE's
 * termination attestation arrives later, from expired (adding the termination).
 */
export interface KeyExpiryWrite {
  readonly keyId: string;
  readonly from: "active" | "expired";
  readonly expiredAt: string;
  readonly termination?: KeyTerminationRecord;
  readonly freesFriendSlot: boolean;
}

/** One page of active keys whose attested profile ended (Store.listEndedKeys). */
export interface EndedKeysPage {
  readonly keys: readonly KeyRecord[];
  /** Where the next page starts; absent after the last. Opaque to the caller. */
  readonly next?: string;
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
  /** Everything `reads` names, in one round trip (docs/architecture.md "DynamoDB budget"). */
  readRecords(reads: RecordReads): Promise<RecordsRead>;

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
  /** Replaces the vehicle's pairing record; ConflictError unless the vehicle exists (an owner may exist: a new phone). */
  replacePairing(pairing: PairingRecord): Promise<void>;

  getKey(keyId: string): Promise<KeyRecord | undefined>;
  /** Keys of one vehicle, in key id order; eventually consistent. */
  listVehicleKeys(vehicleId: string): Promise<KeyRecord[]>;
  /**
   * Active keys whose attested profile ended at or before `endedBy` (valid until ≤ `endedBy`), at most
   * `limit` per page, from the cursor `after` (a previous page's `next`); eventually consistent, so a key
   * revoked a moment ago may still be listed. Keys leave the listing when they leave active. Keys
   * registered before the store kept the expiry index are not listed (docs/architecture.md "Expiry sweep").
   */
  listEndedKeys(endedBy: Date, limit: number, after?: string): Promise<EndedKeysPage>;
  /**
   * Records the owner key and makes it the vehicle's owner, consuming the
   * pairing record `pairingId` (the one the car's confirmation names).
   * ConflictError when the key id is taken, the vehicle has an owner (other
   * than `migration.previousKeyId`, which it then replaces), or the vehicle's
   * pairing record is not `pairingId` or not unexpired at `at`.
   */
  registerOwnerKey(
    key: KeyRecord,
    nonce: NonceClaim,
    at: Date,
    pairingId: string,
    migration?: OwnerMigration,
  ): Promise<void>;
  /**
   * Records a friend key, checking in the same transaction that the attesting
   * owner key is still the vehicle's owner and active, and that no device in
   * `conditions.unsuspendedDevices` is in lost mode. ConflictError when the key
   * id is taken or the owner changed; ForbiddenError when the owner key is no
   * longer active or a device is suspended; FriendSlotsFullError when the
   * vehicle's friend-key count is at `conditions.friendKeySlots`.
   */
  registerFriendKey(
    key: KeyRecord,
    conditions: FriendRegistrationConditions,
    nonce: NonceClaim,
  ): Promise<void>;

  // ---- key states, notices, revocation lists ----

  /** ConflictError when the key is not active, or a counter moved (retry with fresh counters). */
  revokeKey(write: KeyRevocationWrite): Promise<void>;
  /**
   * Records keys of one vehicle as expired, all in one transaction, lowering
   * its friend-key count by the slots they free. ConflictError when a key is
   * no longer in the state `from` says.
   */
  expireKeys(vehicleId: string, writes: readonly KeyExpiryWrite[]): Promise<void>;
  /**
   * Moves a revoked key to terminated; ConflictError when it is not revoked.
   * `appliedNotice` (the terminate-key notice the SE acted on) is deleted with
   * it: once the termination is confirmed nothing needs to tie that SE to the key.
   */
  terminateKey(
    keyId: string,
    termination: KeyTerminationRecord,
    appliedNotice?: { seId: string; counter: number },
    nonce?: NonceClaim,
  ): Promise<void>;
  getDeviceNoticeState(seId: string): Promise<DeviceNoticeState>;
  /**
   * Everything a lost-mode change reads before it writes (docs/architecture.md "DynamoDB budget"): the
   * SE's record, its notice state, and the vehicles holding its keys with their notice sequences.
   */
  readLostModeRecords(device: { reference: string; seId: string }): Promise<LostModeRecords>;
  /** The vehicle's notice and revocation sequences (0 when none). */
  getVehicleSequences(vehicleId: string): Promise<{ notices: number; revocations: number }>;
  /**
   * A device notice and the vehicle notices of one lost-mode action, all or nothing (ConflictError: retry).
   * `read` is what readLostModeRecords answered for the device, for the store's own bookkeeping.
   */
  appendNotices(
    device: DeviceNoticeWrite,
    vehicles: readonly VehicleNoticeWrite[],
    read?: LostModeRecords,
  ): Promise<void>;
  /**
   * The SE's record, notice state and notices above `after` (ascending, at most
   * `limit`) together: one Query when they fit in one page (they share a partition).
   */
  readDeviceNoticeFeed(seId: string, after: number, limit: number): Promise<DeviceNoticeFeed>;
  /** Notices with a counter above `after`, ascending, at most `limit`. */
  listDeviceNotices(seId: string, after: number, limit: number): Promise<DeviceNoticeRecord[]>;
  listVehicleNotices(vehicleId: string, after: number, limit: number): Promise<VehicleNoticeRecord[]>;
  listRevocationEntries(vehicleId: string, after: number, limit: number): Promise<RevocationEntryRecord[]>;
}
