// DynamoDbStore against DynamoDB Local: the single-table layout
// (table-design.ts), every state change conditional and atomic — a failed
// condition is a domain error (ConflictError, ReplayError) and leaves the
// table exactly as it was, checked by scanning it — nonces and pairing
// records carrying the TTL attribute in epoch seconds, and the index that
// lists a vehicle's keys. ensureTable is idempotent and enables TTL.
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import { DeleteCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoDbStore } from "../../../src/adapters/dynamodb/dynamodb-store.js";
import { backfillKeyEnds } from "../../../src/adapters/dynamodb/key-ends-backfill.js";
import { countDynamoDbOperations } from "../../../src/adapters/dynamodb/operation-count.js";
import { ensureTable, TABLE_DESIGN } from "../../../src/adapters/dynamodb/table-design.js";
import { ConflictError, ForbiddenError, ReplayError } from "../../../src/service/errors.js";
import type {
  KeyRecord,
  LostModeRecords,
  NonceClaim,
  PairingRecord,
  VehicleRecord,
} from "../../../src/service/ports.js";
import { startTestTable, type TestTable } from "../../support/dynamodb-table.js";

let table: TestTable;
let store: DynamoDbStore;
let counter = 0;

const hex = (bytes: number) => {
  counter++;
  return counter.toString(16).padStart(bytes * 2, "0");
};
const nonce = (signer = "instance:x"): NonceClaim => ({
  signer,
  nonce: hex(16),
  expiresAt: new Date(Date.now() + 600_000),
});
const vehicle = (vehicleId = hex(16)): VehicleRecord => ({
  vehicleId,
  publicKey: `04${"ab".repeat(64)}`,
  certificatePem: "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n",
  serialNumber: "01",
  enrolledAt: new Date().toISOString(),
  enrolledBy: "arn:aws:iam::123456789012:user/oem",
});
const pairing = (vehicleId: string, hoursLeft = 1): PairingRecord => ({
  vehicleId,
  pairingId: hex(8),
  createdAt: new Date().toISOString(),
  expiresAt: new Date(Date.now() + hoursLeft * 3600_000).toISOString(),
});
const key = (vehicleId: string, role: "owner" | "friend" = "owner", keyId = hex(6)): KeyRecord => ({
  keyId,
  vehicleId,
  role,
  endpointPublicKey: `04${keyId.padEnd(128, "0")}`,
  endpointCertificatePem: "pem",
  instanceCaCertificatePem: "pem",
  serialNumber: "02",
  registeredAt: new Date().toISOString(),
  receipt: "70",
  ...(role === "friend"
    ? {
        attestation: {
          encoded: "70",
          serial: 3,
          profile: { kind: "drive" as const, speedLimitKmh: 80 },
          ownerKeyId: "000000000001",
          issuedAt: new Date().toISOString(),
        },
      }
    : {}),
});

const conditions = (ownerKeyId: string, unsuspendedDevices: string[] = []) => ({
  ownerKeyId,
  unsuspendedDevices,
});

/** Runs `write`, expects it to throw `error`, and checks the table did not change. */
async function refusedWithoutWrites(
  write: () => Promise<unknown>,
  error: abstract new (...a: never[]) => Error,
) {
  const before = await table.scan();
  await expect(write()).rejects.toThrow(error);
  expect(await table.scan()).toEqual(before);
}

beforeAll(async () => {
  table = await startTestTable();
  store = new DynamoDbStore({ tableName: table.tableName, client: table.documentClient });
});

afterAll(async () => {
  await table?.stop();
});

describe("ensureTable", () => {
  it("creates pk/sk, the vehicle-keys index and TTL on expiresAt, and can run again", async () => {
    await ensureTable(table.client, table.tableName);
    const { Table } = await table.client.send(new DescribeTableCommand({ TableName: table.tableName }));
    expect(Table?.KeySchema).toEqual([
      { AttributeName: "pk", KeyType: "HASH" },
      { AttributeName: "sk", KeyType: "RANGE" },
    ]);
    expect(Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName).sort()).toEqual([
      TABLE_DESIGN.vehicleKeysIndex.name,
      TABLE_DESIGN.keyEndsIndex.name,
    ]);
    const ttl = await table.client.send(new DescribeTimeToLiveCommand({ TableName: table.tableName }));
    expect(ttl.TimeToLiveDescription).toMatchObject({
      AttributeName: "expiresAt",
      TimeToLiveStatus: "ENABLED",
    });
  });

  it("adds the key-ends index to a table made before it, and waits until it is active", async () => {
    const name = "carkeys-before-key-ends";
    await table.client.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [
          { AttributeName: "pk", AttributeType: "S" },
          { AttributeName: "sk", AttributeType: "S" },
          { AttributeName: "gsi1pk", AttributeType: "S" },
          { AttributeName: "gsi1sk", AttributeType: "S" },
        ],
        KeySchema: [
          { AttributeName: "pk", KeyType: "HASH" },
          { AttributeName: "sk", KeyType: "RANGE" },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: "gsi1",
            KeySchema: [
              { AttributeName: "gsi1pk", KeyType: "HASH" },
              { AttributeName: "gsi1sk", KeyType: "RANGE" },
            ],
            Projection: { ProjectionType: "ALL" },
          },
        ],
      }),
    );
    await ensureTable(table.client, name);
    const { Table } = await table.client.send(new DescribeTableCommand({ TableName: name }));
    const ends = Table?.GlobalSecondaryIndexes?.find((i) => i.IndexName === TABLE_DESIGN.keyEndsIndex.name);
    expect(ends).toMatchObject({
      IndexStatus: "ACTIVE",
      KeySchema: [
        { AttributeName: "gsi2pk", KeyType: "HASH" },
        { AttributeName: "gsi2sk", KeyType: "RANGE" },
      ],
    });
    // And the store lists ended keys from it.
    const older = new DynamoDbStore({ tableName: name, client: table.documentClient });
    expect(await older.listEndedKeys(new Date(), 10)).toEqual({ keys: [] });
  });
});

describe("the key-ends backfill", () => {
  it("indexes active keys with an end that predate the index, once; revoked keys and keys without an end stay out", async () => {
    const past = Math.floor(Date.now() / 1000) - 60;
    const legacy = (keyId: string, extra: Record<string, unknown>) => ({
      pk: `KEY#${keyId}`,
      sk: "KEY",
      type: "key",
      keyId,
      vehicleId: hex(16),
      role: "friend",
      registeredAt: new Date().toISOString(),
      gsi1pk: "VEHICLE#backfill",
      gsi1sk: `KEY#${keyId}`,
      ...extra,
    });
    const [unlisted, revoked, endless] = [hex(6), hex(6), hex(6)];
    for (const item of [
      legacy(unlisted, { attestation: { serial: 1, profile: { kind: "full", validUntil: past } } }),
      legacy(revoked, {
        state: "revoked",
        attestation: { serial: 2, profile: { kind: "full", validUntil: past } },
      }),
      legacy(endless, { attestation: { serial: 3, profile: { kind: "full" } } }),
    ]) {
      await table.documentClient.send(new PutCommand({ TableName: table.tableName, Item: item }));
    }
    const listed = async () =>
      (await store.listEndedKeys(new Date(), 1000)).keys
        .map((k) => k.keyId)
        .filter((id) => [unlisted, revoked, endless].includes(id));
    expect(await listed()).toEqual([]);
    const first = await backfillKeyEnds(table.documentClient, table.tableName, { pageSize: 7 });
    expect(first.indexed).toBeGreaterThanOrEqual(1);
    expect(await listed()).toEqual([unlisted]);
    const again = await backfillKeyEnds(table.documentClient, table.tableName);
    expect(again).toMatchObject({ indexed: 0, skipped: 0 });
    expect(await listed()).toEqual([unlisted]);
  });
});

describe("DynamoDbStore", () => {
  it("creates a root certificate once; a second create is a ConflictError caused by the condition", async () => {
    const root = {
      profile: "device-oem-root" as const,
      keyId: hex(20),
      publicKey: "04",
      certificatePem: "pem",
      serialNumber: "01",
      createdAt: new Date().toISOString(),
    };
    await store.createRootCertificate(root);
    expect(await store.getRootCertificate("device-oem-root", root.keyId)).toEqual(root);
    expect(await store.getRootCertificate("vehicle-oem-root", root.keyId)).toBeUndefined();
    const error = await store.createRootCertificate(root).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as Error).cause).toMatchObject({ name: "ConditionalCheckFailedException" });
  });

  it("enrolls a secure element with its nonce atomically", async () => {
    const se = {
      seId: hex(16),
      instanceCaPublicKey: "04",
      certificatePem: "pem",
      serialNumber: "01",
      factoryAttestedAt: new Date().toISOString(),
      enrolledAt: new Date().toISOString(),
    };
    const claim = nonce();
    await store.createSecureElement(se, claim);
    expect(await store.getSecureElement(se.seId)).toEqual(se);
    const items = await table.scan();
    const stored = items.find((i) => i.pk === `NONCE#${claim.signer}#${claim.nonce}`);
    expect(stored?.expiresAt).toBe(Math.ceil(claim.expiresAt.getTime() / 1000));
    // The SE exists: ConflictError, and the fresh nonce is not spent either.
    await refusedWithoutWrites(() => store.createSecureElement(se, nonce()), ConflictError);
    // The nonce was spent: ReplayError, and the new SE is not written.
    await refusedWithoutWrites(() => store.createSecureElement({ ...se, seId: hex(16) }, claim), ReplayError);
  });

  it("claims a nonce once per signer", async () => {
    const claim = nonce("endpoint:aaaaaaaaaaaa");
    await store.claimNonce(claim);
    await refusedWithoutWrites(() => store.claimNonce(claim), ReplayError);
    // The same nonce value from another signer is another claim.
    await store.claimNonce({ ...claim, signer: "endpoint:bbbbbbbbbbbb" });
  });

  it("enrolls a vehicle with its pairing record, which carries the TTL", async () => {
    const v = vehicle();
    const p = pairing(v.vehicleId);
    await store.createVehicle(v, p);
    expect(await store.getVehicle(v.vehicleId)).toEqual(v);
    expect(await store.getPairing(v.vehicleId)).toEqual(p);
    const item = (await table.scan()).find((i) => i.pk === `VEHICLE#${v.vehicleId}` && i.sk === "PAIRING");
    expect(item?.expiresAt).toBe(Math.ceil(Date.parse(p.expiresAt) / 1000));
    await refusedWithoutWrites(() => store.createVehicle(v, pairing(v.vehicleId)), ConflictError);
    const next = pairing(v.vehicleId);
    await store.replacePairing(next);
    expect(await store.getPairing(v.vehicleId)).toEqual(next);
  });

  it("refuses new pairing for an unknown vehicle", async () => {
    await refusedWithoutWrites(() => store.replacePairing(pairing(hex(16))), ConflictError);
  });

  it("registers the owner key: key, owner, pairing spent and nonce in one transaction", async () => {
    const v = vehicle();
    const material = pairing(v.vehicleId);
    await store.createVehicle(v, material);
    const owner = key(v.vehicleId);
    // Only the pairing material the car confirmed can be spent: another id changes nothing.
    await refusedWithoutWrites(
      () => store.registerOwnerKey(owner, nonce(), new Date(), hex(8)),
      ConflictError,
    );
    await store.registerOwnerKey(owner, nonce(), new Date(), material.pairingId);
    expect(await store.getKey(owner.keyId)).toEqual(owner);
    expect((await store.getVehicle(v.vehicleId))?.owner).toEqual({
      keyId: owner.keyId,
      publicKey: owner.endpointPublicKey,
    });
    expect(await store.getPairing(v.vehicleId)).toBeUndefined();
    // A second owner: the vehicle's condition fails.
    await refusedWithoutWrites(
      () => store.registerOwnerKey(key(v.vehicleId), nonce(), new Date(), material.pairingId),
      ConflictError,
    );
    // New pairing material for an owned vehicle is a new phone's; an unknown vehicle gets none.
    await store.replacePairing(pairing(v.vehicleId));
    expect(await store.getPairing(v.vehicleId)).toBeDefined();
    await refusedWithoutWrites(() => store.replacePairing(pairing("00".repeat(8))), ConflictError);
  });

  it("refuses an owner key without unexpired pairing material, or with a taken key id", async () => {
    const v = vehicle();
    const short = pairing(v.vehicleId, 1);
    await store.createVehicle(v, short);
    const later = new Date(Date.now() + 2 * 3600_000);
    await refusedWithoutWrites(
      () => store.registerOwnerKey(key(v.vehicleId), nonce(), later, short.pairingId),
      ConflictError,
    );
    const taken = key(vehicle().vehicleId);
    const w = vehicle();
    const wPairing = pairing(w.vehicleId);
    await store.createVehicle(w, wPairing);
    const takenPairing = pairing(taken.vehicleId);
    await store.createVehicle(vehicle(taken.vehicleId), takenPairing);
    await store.registerOwnerKey(taken, nonce(), new Date(), takenPairing.pairingId);
    await refusedWithoutWrites(
      () =>
        store.registerOwnerKey({ ...taken, vehicleId: w.vehicleId }, nonce(), new Date(), wPairing.pairingId),
      ConflictError,
    );
  });

  it("registers friend keys only under the owner on record, and lists a vehicle's keys", async () => {
    const v = vehicle();
    const material = pairing(v.vehicleId);
    await store.createVehicle(v, material);
    const owner = key(v.vehicleId);
    await store.registerOwnerKey(owner, nonce(), new Date(), material.pairingId);
    const friend = key(v.vehicleId, "friend");
    await refusedWithoutWrites(
      () => store.registerFriendKey(friend, conditions("ffffffffffff"), nonce()),
      ConflictError,
    );
    const claim = nonce();
    await store.registerFriendKey(friend, conditions(owner.keyId), claim);
    await refusedWithoutWrites(
      () => store.registerFriendKey(key(v.vehicleId, "friend"), conditions(owner.keyId), claim),
      ReplayError,
    );
    expect(await store.getKey(friend.keyId)).toEqual(friend);
    const listed = await store.listVehicleKeys(v.vehicleId);
    expect(listed.map((k) => k.keyId)).toEqual([owner.keyId, friend.keyId].sort());
    expect(listed.find((k) => k.keyId === friend.keyId)).toEqual(friend);
    expect(await store.listVehicleKeys(hex(16))).toEqual([]);
  });

  it("refuses a friend key, writing nothing, once the owner key is not active or a device is suspended", async () => {
    const v = vehicle();
    const material = pairing(v.vehicleId);
    await store.createVehicle(v, material);
    const owner = key(v.vehicleId);
    await store.registerOwnerKey(owner, nonce(), new Date(), material.pairingId);
    const [friendDevice, ownerDevice] = [hex(16), hex(16)];
    const devices = [friendDevice, ownerDevice];
    const issuedAt = new Date().toISOString();
    await store.appendNotices(
      {
        notice: { seId: ownerDevice, counter: 1, action: "suspend", notice: "70", issuedAt },
        lostMode: "suspended",
      },
      [],
    );
    await refusedWithoutWrites(
      () => store.registerFriendKey(key(v.vehicleId, "friend"), conditions(owner.keyId, devices), nonce()),
      ForbiddenError,
    );
    await store.appendNotices(
      {
        notice: { seId: ownerDevice, counter: 2, action: "resume", notice: "70", issuedAt },
        lostMode: "active",
      },
      [],
    );
    await store.registerFriendKey(key(v.vehicleId, "friend"), conditions(owner.keyId, devices), nonce());
    await store.revokeKey({
      keyId: owner.keyId,
      revocation: { reason: "oem", revokedAt: issuedAt, revokedBy: "oem", noticeCounter: 3 },
      notice: {
        notice: {
          seId: ownerDevice,
          counter: 3,
          action: "terminate-key",
          keyId: owner.keyId,
          notice: "70",
          issuedAt,
        },
      },
    });
    await refusedWithoutWrites(
      () => store.registerFriendKey(key(v.vehicleId, "friend"), conditions(owner.keyId, devices), nonce()),
      ForbiddenError,
    );
  });

  it("reads a request's records together, each as its own get would, absent ones left out", async () => {
    const v = vehicle();
    const material = pairing(v.vehicleId);
    await store.createVehicle(v, material);
    const owner = key(v.vehicleId);
    await store.registerOwnerKey(owner, nonce(), new Date(), material.pairingId);
    const [device, unknownDevice, unknownKey] = [hex(16), hex(16), hex(6)];
    const issuedAt = new Date().toISOString();
    await store.appendNotices(
      {
        notice: { seId: device, counter: 1, action: "suspend", notice: "70", issuedAt },
        lostMode: "suspended",
      },
      [],
    );
    const read = await store.readRecords({
      keys: [owner.keyId, unknownKey, owner.keyId],
      vehicles: [v.vehicleId],
      pairings: [v.vehicleId],
      deviceNoticeStates: [device, unknownDevice],
      vehicleSequences: [v.vehicleId],
      secureElements: [device],
    });
    expect(read.keys.get(owner.keyId)).toEqual(await store.getKey(owner.keyId));
    expect(read.keys.has(unknownKey)).toBe(false);
    expect(read.vehicles.get(v.vehicleId)).toEqual(await store.getVehicle(v.vehicleId));
    // The owner registration spent the pairing material.
    expect(read.pairings.has(v.vehicleId)).toBe(false);
    expect(read.deviceNoticeStates.get(device)).toEqual({ counter: 1, lostMode: "suspended" });
    expect(read.deviceNoticeStates.get(unknownDevice)).toEqual({ counter: 0, lostMode: "active" });
    expect(read.vehicleSequences.get(v.vehicleId)).toEqual({ notices: 0, revocations: 0 });
    expect(read.secureElements.size).toBe(0);
  });

  it("reads a device's record, notice state and notices after a cursor in one feed, a page at a time", async () => {
    const seId = hex(16);
    await store.createSecureElement(
      {
        seId,
        instanceCaPublicKey: `04${"cd".repeat(64)}`,
        certificatePem: "pem",
        serialNumber: "03",
        factoryAttestedAt: new Date().toISOString(),
        enrolledAt: new Date().toISOString(),
      },
      nonce(),
    );
    const issuedAt = new Date().toISOString();
    for (let counter = 1; counter <= 5; counter++) {
      const action = counter % 2 === 1 ? "suspend" : "resume";
      await store.appendNotices(
        {
          notice: { seId, counter, action, notice: "70", issuedAt },
          lostMode: action === "suspend" ? "suspended" : "active",
        },
        [],
      );
    }
    const all = await store.readDeviceNoticeFeed(seId, 0, 10);
    expect(all.secureElement).toEqual(await store.getSecureElement(seId));
    expect(all.state).toEqual({ counter: 5, lostMode: "suspended" });
    expect(all.notices.map((n) => n.counter)).toEqual([1, 2, 3, 4, 5]);
    expect(all.notices[0]).toEqual((await store.listDeviceNotices(seId, 0, 1))[0]);
    // More notices than a page: the page, and the record and state all the same.
    const page = await store.readDeviceNoticeFeed(seId, 1, 2);
    expect(page.notices.map((n) => n.counter)).toEqual([2, 3]);
    expect(page.secureElement?.seId).toBe(seId);
    expect(page.state.counter).toBe(5);
    const none = await store.readDeviceNoticeFeed(seId, 5, 10);
    expect(none.notices).toEqual([]);
    expect(none.state.counter).toBe(5);
    const unknown = await store.readDeviceNoticeFeed(hex(16), 0, 10);
    expect(unknown).toEqual({ state: { counter: 0, lostMode: "active" }, notices: [] });
  });

  it("reads lost mode's records in two operations, under the SE id as well only until a change finds none there", async () => {
    const se = (seId: string) => ({
      seId,
      instanceCaPublicKey: "04",
      certificatePem: "pem",
      serialNumber: "01",
      factoryAttestedAt: new Date().toISOString(),
      enrolledAt: new Date().toISOString(),
    });
    const v = vehicle();
    const material = pairing(v.vehicleId);
    await store.createVehicle(v, material);
    const owner = { ...key(v.vehicleId), deviceRef: hex(32) };
    await store.registerOwnerKey(owner, nonce(), new Date(), material.pairingId);
    const issuedAt = new Date().toISOString();
    const lostMode = (seId: string, counter: number, sequence: number, read: LostModeRecords) =>
      store.appendNotices(
        { notice: { seId, counter, action: "suspend", notice: "70", issuedAt }, lostMode: "suspended" },
        [{ vehicleId: v.vehicleId, sequence, seId, counter, action: "suspend", notice: "70", issuedAt }],
        read,
      );

    // An SE enrolled now: its keys are under its reference alone; one Query and one batch.
    const fresh = se(hex(16));
    await store.createSecureElement(fresh, nonce());
    const device = { reference: owner.deviceRef, seId: fresh.seId };
    const first = await countDynamoDbOperations(() => store.readLostModeRecords(device));
    expect(first.total).toBe(2);
    expect(first.result).toEqual({
      secureElement: fresh,
      state: { counter: 0, lostMode: "active" },
      vehicleNotices: new Map([[v.vehicleId, 0]]),
    });
    await lostMode(fresh.seId, 1, 1, first.result);
    expect((await store.readLostModeRecords(device)).vehicleNotices).toEqual(new Map([[v.vehicleId, 1]]));

    // An SE enrolled before SEs were marked, with a key registered before references (filed under its id).
    const old = se(hex(16));
    const oldVehicle = hex(16);
    await table.documentClient.send(
      new PutCommand({
        TableName: table.tableName,
        Item: { pk: `SE#${old.seId}`, sk: "SE", type: "secure-element", ...old },
      }),
    );
    const legacyEntry = {
      pk: `SE#${old.seId}`,
      sk: "KEY#00000000abcd",
      keyId: "00000000abcd",
      vehicleId: oldVehicle,
    };
    await table.documentClient.send(new PutCommand({ TableName: table.tableName, Item: legacyEntry }));
    const oldDevice = { reference: hex(32), seId: old.seId };
    const legacy = await countDynamoDbOperations(() => store.readLostModeRecords(oldDevice));
    expect(legacy.total).toBe(4);
    expect(legacy.result.secureElement).toEqual(old);
    expect(legacy.result.vehicleNotices).toEqual(new Map([[oldVehicle, 0]]));
    expect(legacy.result.legacyIndexEmpty).toBeUndefined();

    // Once none is under its id, the next lost-mode change marks it, and lost mode stops looking there.
    await table.documentClient.send(
      new DeleteCommand({ TableName: table.tableName, Key: { pk: legacyEntry.pk, sk: legacyEntry.sk } }),
    );
    const empty = await countDynamoDbOperations(() => store.readLostModeRecords(oldDevice));
    expect(empty.total).toBe(3);
    expect(empty.result).toMatchObject({ vehicleNotices: new Map(), legacyIndexEmpty: true });
    await store.appendNotices(
      {
        notice: { seId: old.seId, counter: 1, action: "suspend", notice: "70", issuedAt },
        lostMode: "suspended",
      },
      [],
      empty.result,
    );
    const marked = await countDynamoDbOperations(() => store.readLostModeRecords(oldDevice));
    expect(marked.total).toBe(2);
    expect(marked.result).toEqual({
      secureElement: old,
      state: { counter: 1, lostMode: "suspended" },
      vehicleNotices: new Map(),
    });
  });

  it("keeps layout attributes out of the records it returns", async () => {
    const v = vehicle();
    const material = pairing(v.vehicleId);
    await store.createVehicle(v, material);
    const owner = key(v.vehicleId);
    await store.registerOwnerKey(owner, nonce(), new Date(), material.pairingId);
    const record = (await store.getKey(owner.keyId)) as unknown as Record<string, unknown>;
    for (const name of ["pk", "sk", "type", "gsi1pk", "gsi1sk", "expiresAt"])
      expect(record).not.toHaveProperty(name);
  });
});
