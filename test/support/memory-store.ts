// An in-process fake of the service's Store port, for domain tests that need
// many cases fast. It keeps the contract of ports.ts (each write all or
// nothing, ConflictError / ReplayError on a failed condition) with plain
// maps; the real adapter is tested against DynamoDB Local in
// test/adapters/dynamodb, and the handlers run on it in test/functions.
// `writes` counts successful writes, so a test can assert that a refusal
// left the store untouched.
import {
  ConflictError,
  ForbiddenError,
  FriendSlotsFullError,
  ReplayError,
  SuspendedDeviceError,
} from "../../src/service/errors.js";
import type {
  DeviceNoticeFeed,
  DeviceNoticeRecord,
  DeviceNoticeState,
  DeviceNoticeWrite,
  EndedKeysPage,
  FriendRegistrationConditions,
  KeyExpiryWrite,
  KeyRecord,
  KeyRevocationWrite,
  KeyTerminationRecord,
  LostModeRecords,
  NonceClaim,
  OemRootProfile,
  OwnerMigration,
  PairingRecord,
  RecordReads,
  RecordsRead,
  RevocationEntryRecord,
  RootCertificateRecord,
  SecureElementRecord,
  Store,
  VehicleNoticeRecord,
  VehicleNoticeWrite,
  VehicleRecord,
} from "../../src/service/ports.js";

export class MemoryStore implements Store {
  readonly roots = new Map<string, RootCertificateRecord>();
  readonly secureElements = new Map<string, SecureElementRecord>();
  readonly vehicles = new Map<string, VehicleRecord>();
  readonly pairings = new Map<string, PairingRecord>();
  readonly keys = new Map<string, KeyRecord>();
  readonly nonces = new Map<string, Date>();
  readonly deviceNoticeStates = new Map<string, DeviceNoticeState>();
  readonly deviceNotices = new Map<string, DeviceNoticeRecord[]>();
  readonly vehicleNotices = new Map<string, VehicleNoticeRecord[]>();
  readonly revocationEntries = new Map<string, RevocationEntryRecord[]>();
  writes = 0;

  /** Everything, as one JSON text: what a test searches for secrets. */
  dump(): string {
    return JSON.stringify({
      roots: [...this.roots.values()],
      secureElements: [...this.secureElements.values()],
      vehicles: [...this.vehicles.values()],
      pairings: [...this.pairings.values()],
      keys: [...this.keys.values()],
      nonces: [...this.nonces.keys()],
    });
  }

  /** Counts readRecords calls: what one BatchGetItem would be. */
  batchReads = 0;

  async readRecords(reads: RecordReads): Promise<RecordsRead> {
    this.batchReads++;
    const found = <T>(ids: readonly string[] | undefined, get: (id: string) => T | undefined) =>
      new Map(
        (ids ?? []).flatMap((id) => {
          const value = get(id);
          return value === undefined ? [] : [[id, clone(value)] as [string, T]];
        }),
      );
    return {
      secureElements: found(reads.secureElements, (id) => this.secureElements.get(id)),
      keys: found(reads.keys, (id) => this.keys.get(id)),
      vehicles: found(reads.vehicles, (id) => this.vehicles.get(id)),
      pairings: found(reads.pairings, (id) => this.pairings.get(id)),
      deviceNoticeStates: new Map(
        await Promise.all(
          (reads.deviceNoticeStates ?? []).map(
            async (id) => [id, await this.getDeviceNoticeState(id)] as const,
          ),
        ),
      ),
      vehicleSequences: new Map(
        await Promise.all(
          (reads.vehicleSequences ?? []).map(async (id) => [id, await this.getVehicleSequences(id)] as const),
        ),
      ),
    };
  }

  async readDeviceNoticeFeed(seId: string, after: number, limit: number): Promise<DeviceNoticeFeed> {
    const secureElement = await this.getSecureElement(seId);
    return {
      ...(secureElement ? { secureElement } : {}),
      state: await this.getDeviceNoticeState(seId),
      notices: await this.listDeviceNotices(seId, after, limit),
    };
  }

  async getRootCertificate(profile: OemRootProfile, keyId: string) {
    return clone(this.roots.get(`${profile}#${keyId}`));
  }

  async createRootCertificate(record: RootCertificateRecord) {
    const id = `${record.profile}#${record.keyId}`;
    if (this.roots.has(id)) throw new ConflictError("root exists");
    this.roots.set(id, clone(record));
    this.writes++;
  }

  async getSecureElement(seId: string) {
    return clone(this.secureElements.get(seId));
  }

  async createSecureElement(record: SecureElementRecord, nonce: NonceClaim) {
    if (this.secureElements.has(record.seId)) throw new ConflictError("secure element exists");
    this.checkNonce(nonce);
    this.secureElements.set(record.seId, clone(record));
    this.spend(nonce);
  }

  async claimNonce(nonce: NonceClaim) {
    this.checkNonce(nonce);
    this.spend(nonce);
  }

  async getVehicle(vehicleId: string) {
    return clone(this.vehicles.get(vehicleId));
  }

  async createVehicle(record: VehicleRecord, pairing: PairingRecord) {
    if (this.vehicles.has(record.vehicleId)) throw new ConflictError("vehicle exists");
    this.vehicles.set(record.vehicleId, clone(record));
    this.pairings.set(record.vehicleId, clone(pairing));
    this.writes++;
  }

  async getPairing(vehicleId: string) {
    return clone(this.pairings.get(vehicleId));
  }

  async replacePairing(pairing: PairingRecord) {
    const vehicle = this.vehicles.get(pairing.vehicleId);
    if (!vehicle) throw new ConflictError("vehicle missing");
    this.pairings.set(pairing.vehicleId, clone(pairing));
    this.writes++;
  }

  async getKey(keyId: string) {
    return clone(this.keys.get(keyId));
  }

  async listVehicleKeys(vehicleId: string) {
    return [...this.keys.values()]
      .filter((k) => k.vehicleId === vehicleId)
      .sort((a, b) => a.keyId.localeCompare(b.keyId))
      .map((k) => clone(k));
  }

  async listEndedKeys(endedBy: Date, limit: number, after?: string): Promise<EndedKeysPage> {
    const ended = [...this.keys.values()]
      .filter((k) => {
        const until = k.attestation?.profile.validUntil;
        return (k.state ?? "active") === "active" && until !== undefined && until * 1000 <= endedBy.getTime();
      })
      .sort((a, b) => a.keyId.localeCompare(b.keyId))
      .filter((k) => after === undefined || k.keyId > after);
    const page = ended.slice(0, limit);
    return {
      keys: page.map((k) => clone(k)),
      ...(ended.length > limit ? { next: page.at(-1)!.keyId } : {}),
    };
  }

  async registerOwnerKey(
    key: KeyRecord,
    nonce: NonceClaim,
    at: Date,
    pairingId: string,
    migration?: OwnerMigration,
  ) {
    const vehicle = this.vehicles.get(key.vehicleId);
    const pairing = this.pairings.get(key.vehicleId);
    if (this.keys.has(key.keyId)) throw new ConflictError("key exists");
    if (!vehicle || vehicle.owner?.keyId !== migration?.previousKeyId) {
      throw new ConflictError("vehicle missing or owned");
    }
    if (!pairing || pairing.pairingId !== pairingId || Date.parse(pairing.expiresAt) <= at.getTime()) {
      throw new ConflictError("no such unexpired pairing");
    }
    this.checkNonce(nonce);
    if (migration?.revocation) this.checkActive(migration.previousKeyId);
    if (migration?.notice) this.checkDeviceNotice(migration.notice);
    if (migration?.revocation) this.applyRevocation(migration.previousKeyId, migration.revocation);
    if (migration?.notice) this.applyDeviceNotice(migration.notice);
    this.keys.set(key.keyId, clone(key));
    this.vehicles.set(key.vehicleId, {
      ...vehicle,
      owner: {
        keyId: key.keyId,
        publicKey: key.endpointPublicKey,
        ...(key.deviceSeal ? { deviceSeal: key.deviceSeal } : {}),
      },
    });
    this.pairings.delete(key.vehicleId);
    this.spend(nonce);
  }

  async registerFriendKey(key: KeyRecord, conditions: FriendRegistrationConditions, nonce: NonceClaim) {
    if (this.keys.has(key.keyId)) throw new ConflictError("key exists");
    if (this.vehicles.get(key.vehicleId)?.owner?.keyId !== conditions.ownerKeyId)
      throw new ConflictError("owner changed");
    const owner = this.keys.get(conditions.sharerKeyId ?? conditions.ownerKeyId);
    if (!owner || (owner.state ?? "active") !== "active")
      throw new ForbiddenError("attesting key not active");
    for (const device of conditions.unsuspendedDevices) {
      if (this.deviceNoticeStates.get(device)?.lostMode === "suspended")
        throw new SuspendedDeviceError(device);
    }
    const vehicle = this.vehicles.get(key.vehicleId)!;
    const count = vehicle.friendKeys ?? 0;
    const holdsSlot = conditions.holdsSlot !== false;
    if (holdsSlot && conditions.friendKeySlots !== undefined && count >= conditions.friendKeySlots)
      throw new FriendSlotsFullError("friend key slots full");
    this.checkNonce(nonce);
    this.keys.set(key.keyId, clone(key));
    this.vehicles.set(key.vehicleId, { ...vehicle, friendKeys: count + (holdsSlot ? 1 : 0) });
    this.spend(nonce);
  }

  async revokeKey(write: KeyRevocationWrite) {
    this.checkActive(write.keyId);
    if (
      write.entry &&
      (this.revocationEntries.get(write.entry.vehicleId)?.length ?? 0) !== write.entry.sequence - 1
    ) {
      throw new ConflictError("revocation sequence moved");
    }
    if (write.notice) this.checkDeviceNotice(write.notice);
    if (write.nonce) this.checkNonce(write.nonce);
    this.applyRevocation(write.keyId, write.revocation);
    if (write.freesFriendSlot) this.freeSlots(write.freesFriendSlot.vehicleId, 1);
    if (write.entry) this.push(this.revocationEntries, write.entry.vehicleId, write.entry);
    if (write.notice) this.applyDeviceNotice(write.notice);
    if (write.nonce) this.spend(write.nonce);
  }

  async terminateKey(
    keyId: string,
    termination: KeyTerminationRecord,
    appliedNotice?: { seId: string; counter: number },
    nonce?: NonceClaim,
  ) {
    const key = this.keys.get(keyId);
    if (key?.state !== "revoked") throw new ConflictError("not revoked");
    if (nonce) this.checkNonce(nonce);
    if (nonce) this.spend(nonce);
    this.keys.set(keyId, { ...key, state: "terminated", termination: clone(termination) });
    if (appliedNotice) {
      const notices = this.deviceNotices.get(appliedNotice.seId) ?? [];
      this.deviceNotices.set(
        appliedNotice.seId,
        notices.filter((n) => n.counter !== appliedNotice.counter),
      );
    }
    this.writes++;
  }

  async getDeviceNoticeState(seId: string) {
    return clone(this.deviceNoticeStates.get(seId)) ?? { counter: 0, lostMode: "active" as const };
  }

  async readLostModeRecords(device: { reference: string; seId: string }): Promise<LostModeRecords> {
    const secureElement = await this.getSecureElement(device.seId);
    const vehicleIds = [...this.keys.values()]
      .filter((k) => (k.deviceRef ? k.deviceRef === device.reference : k.seId === device.seId))
      .map((k) => k.vehicleId);
    return {
      ...(secureElement ? { secureElement } : {}),
      state: await this.getDeviceNoticeState(device.seId),
      vehicleNotices: new Map(
        await Promise.all(
          [...new Set(vehicleIds)].map(
            async (id) => [id, (await this.getVehicleSequences(id)).notices] as const,
          ),
        ),
      ),
    };
  }

  async getVehicleSequences(vehicleId: string) {
    return {
      notices: this.vehicleNotices.get(vehicleId)?.length ?? 0,
      revocations: this.revocationEntries.get(vehicleId)?.length ?? 0,
    };
  }

  async appendNotices(device: DeviceNoticeWrite, vehicles: readonly VehicleNoticeWrite[]) {
    this.checkDeviceNotice(device);
    for (const v of vehicles) {
      if ((this.vehicleNotices.get(v.vehicleId)?.length ?? 0) !== v.sequence - 1) {
        throw new ConflictError("vehicle notice sequence moved");
      }
    }
    this.applyDeviceNotice(device);
    for (const v of vehicles) this.push(this.vehicleNotices, v.vehicleId, v);
  }

  async listDeviceNotices(seId: string, after: number, limit: number) {
    return (this.deviceNotices.get(seId) ?? [])
      .filter((n) => n.counter > after)
      .slice(0, limit)
      .map(clone);
  }

  async listVehicleNotices(vehicleId: string, after: number, limit: number) {
    return (this.vehicleNotices.get(vehicleId) ?? [])
      .filter((n) => n.sequence > after)
      .slice(0, limit)
      .map(clone);
  }

  async listRevocationEntries(vehicleId: string, after: number, limit: number) {
    return (this.revocationEntries.get(vehicleId) ?? [])
      .filter((n) => n.sequence > after)
      .slice(0, limit)
      .map(clone);
  }

  async expireKeys(vehicleId: string, writes: readonly KeyExpiryWrite[]) {
    for (const w of writes) {
      const key = this.keys.get(w.keyId);
      const state = key?.state ?? "active";
      if (!key || state !== w.from || (w.from === "expired" && key.termination))
        throw new ConflictError(`key ${w.keyId} is no longer ${w.from}`);
    }
    for (const w of writes) {
      const key = this.keys.get(w.keyId)!;
      this.keys.set(w.keyId, {
        ...key,
        state: "expired",
        ...(w.from === "active" ? { expiredAt: w.expiredAt } : {}),
        ...(w.termination ? { termination: clone(w.termination) } : {}),
      });
    }
    this.freeSlots(vehicleId, writes.filter((w) => w.freesFriendSlot && w.from === "active").length);
    this.writes++;
  }

  private freeSlots(vehicleId: string, slots: number) {
    const vehicle = this.vehicles.get(vehicleId);
    if (vehicle?.friendKeys !== undefined && vehicle.friendKeys >= slots)
      this.vehicles.set(vehicleId, { ...vehicle, friendKeys: vehicle.friendKeys - slots });
  }

  private checkActive(keyId: string) {
    const key = this.keys.get(keyId);
    if (!key || (key.state ?? "active") !== "active") throw new ConflictError("key not active");
  }

  private applyRevocation(keyId: string, revocation: KeyRevocationWrite["revocation"]) {
    this.keys.set(keyId, { ...this.keys.get(keyId)!, state: "revoked", revocation: clone(revocation) });
  }

  private checkDeviceNotice(write: DeviceNoticeWrite) {
    const counter = this.deviceNoticeStates.get(write.notice.seId)?.counter ?? 0;
    if (counter !== write.notice.counter - 1) throw new ConflictError("device notice counter moved");
  }

  private applyDeviceNotice(write: DeviceNoticeWrite) {
    const { seId, counter } = write.notice;
    const previous = this.deviceNoticeStates.get(seId);
    this.deviceNoticeStates.set(seId, {
      counter,
      lostMode: write.lostMode ?? previous?.lostMode ?? "active",
    });
    this.push(this.deviceNotices, seId, write.notice);
  }

  private push<T>(map: Map<string, T[]>, id: string, value: T) {
    map.set(id, [...(map.get(id) ?? []), clone(value)]);
    this.writes++;
  }

  private checkNonce(nonce: NonceClaim) {
    if (this.nonces.has(`${nonce.signer}#${nonce.nonce}`)) throw new ReplayError("nonce seen");
  }

  private spend(nonce: NonceClaim) {
    this.nonces.set(`${nonce.signer}#${nonce.nonce}`, nonce.expiresAt);
    this.writes++;
  }
}

function clone<T>(value: T): T {
  return value === undefined ? value : structuredClone(value);
}
