// The service's Store over DynamoDB (@aws-sdk/lib-dynamodb), one table laid
// out in table-design.ts. Every write that creates or changes state is a
// conditional Put or a TransactWriteItems whose items carry their conditions
// (docs/architecture.md "Conventions"), and a refused condition becomes a
// domain error ( ConditionalCheckFailedException → ConflictError, a claimed
// nonce → ReplayError), so the service never sees an SDK exception for a
// business outcome. Nonces are written in the same transaction as the state
// they authorize. Reads are strongly consistent, except the index query.
// The endpoint comes from the SDK's standard settings
// (AWS_ENDPOINT_URL_DYNAMODB), so the same code runs against DynamoDB Local.
import { randomUUID } from "node:crypto";
import {
  ConditionalCheckFailedException,
  type DynamoDBClientConfig,
  TransactionCanceledException,
} from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandOutput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import {
  ConflictError,
  ForbiddenError,
  FriendSlotsFullError,
  ReplayError,
  StorageUnavailableError,
  SuspendedDeviceError,
} from "../../service/errors.js";
import type {
  DeviceNoticeFeed,
  DeviceNoticeRecord,
  DeviceNoticeState,
  DeviceNoticeWrite,
  EndedKeysPage,
  FriendRegistrationConditions,
  KeyExpiryWrite,
  KeyRecord,
  KeyRevocationRecord,
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
  RevocationEntryWrite,
  RootCertificateRecord,
  SecureElementRecord,
  Store,
  VehicleNoticeRecord,
  VehicleNoticeWrite,
  VehicleOwner,
  VehicleRecord,
} from "../../service/ports.js";
import { createDocumentClient } from "./dynamodb-client.js";
import { EXPIRY_BUCKETS, expiryBucket, expiryBuckets, TABLE_DESIGN } from "./table-design.js";

type Item = Record<string, unknown>;
type TransactItem = NonNullable<TransactWriteCommandInput["TransactItems"]>[number];

/** What to throw when the condition on one transaction item fails. */
type Refusal = () => Error;

const key = {
  root: (profile: OemRootProfile, keyId: string) => ({ pk: `ROOT#${profile}`, sk: `KEY#${keyId}` }),
  se: (seId: string) => ({ pk: `SE#${seId}`, sk: "SE" }),
  vehicle: (vehicleId: string) => ({ pk: `VEHICLE#${vehicleId}`, sk: "VEHICLE" }),
  pairing: (vehicleId: string) => ({ pk: `VEHICLE#${vehicleId}`, sk: "PAIRING" }),
  key: (keyId: string) => ({ pk: `KEY#${keyId}`, sk: "KEY" }),
  nonce: (claim: NonceClaim) => ({ pk: `NONCE#${claim.signer}#${claim.nonce}`, sk: "NONCE" }),
  // Counters live in their own items beside the record they count for, so one transaction
  // can move a key's state, a vehicle's sequence and a device's counter without touching an item twice.
  // Lost mode's index of a device's keys, filed under its reference (an HMAC of its id), never its id.
  deviceKey: (reference: string, keyId: string) => ({ pk: `DEVICE#${reference}`, sk: `KEY#${keyId}` }),
  // Written before device references: the same index under the SE id; read, never written.
  legacyDeviceKey: (seId: string) => ({ pk: `SE#${seId}`, prefix: "KEY#" }),
  deviceNotices: (seId: string) => ({ pk: `SE#${seId}`, sk: "NOTICES" }),
  deviceNotice: (seId: string, counter: number) => ({
    pk: `SE#${seId}`,
    sk: `NOTICE#${sequenceKey(counter)}`,
  }),
  vehicleNotices: (vehicleId: string) => ({ pk: `VEHICLE#${vehicleId}`, sk: "NOTICES" }),
  vehicleNotice: (vehicleId: string, sequence: number) => ({
    pk: `VEHICLE#${vehicleId}`,
    sk: `NOTICE#${sequenceKey(sequence)}`,
  }),
  vehicleRevocations: (vehicleId: string) => ({ pk: `VEHICLE#${vehicleId}`, sk: "REVOCATIONS" }),
  revocationEntry: (vehicleId: string, sequence: number) => ({
    pk: `VEHICLE#${vehicleId}`,
    sk: `REVOCATION#${sequenceKey(sequence)}`,
  }),
};

/** Zero-padded so that the sort key orders numerically. */
function sequenceKey(n: number): string {
  return String(n).padStart(16, "0");
}

const epochSeconds = (date: Date | string): number =>
  Math.ceil((typeof date === "string" ? Date.parse(date) : date.getTime()) / 1000);

/** The token of the call that wrote an item (putNew): bookkeeping of the store, never part of a record. */
const WRITE_TOKEN = "writeToken";

/**
 * On an SE's item: where lost mode finds the device's keys. `reference` says under its device reference
 * alone (every SE enrolled since, and older ones once a lost-mode change found none under the SE id);
 * absent, keys registered before references may also be filed under the SE id.
 */
const KEY_INDEX = "keyIndex";
const KEYS_UNDER_REFERENCE = "reference";

/** The key-ends index's attributes, removed by every write that moves a key out of active. */
const KEY_ENDS_NAMES = {
  "#endsPk": TABLE_DESIGN.keyEndsIndex.partitionKey,
  "#endsSk": TABLE_DESIGN.keyEndsIndex.sortKey,
};
const LEAVE_KEY_ENDS = "REMOVE #endsPk, #endsSk";

/** Where listEndedKeys goes on: a bucket of the key-ends index and, within it, the Query's last key. */
interface EndedKeysCursor {
  readonly bucket: number;
  readonly start?: Record<string, unknown>;
}

function parseEndedKeysCursor(text: string): EndedKeysCursor {
  const parsed = JSON.parse(text) as EndedKeysCursor;
  if (!Number.isInteger(parsed.bucket) || parsed.bucket < 0) throw new Error("not a cursor of listEndedKeys");
  return parsed;
}

/** Attributes that belong to the table layout, not to the record. */
const LAYOUT_ATTRIBUTES = new Set([
  "pk",
  "sk",
  "type",
  "gsi1pk",
  "gsi1sk",
  TABLE_DESIGN.keyEndsIndex.partitionKey,
  TABLE_DESIGN.keyEndsIndex.sortKey,
  TABLE_DESIGN.ttlAttribute,
  WRITE_TOKEN,
  KEY_INDEX,
]);

function record<T>(item: Item | undefined): T | undefined {
  if (!item) return undefined;
  const out: Item = {};
  for (const [name, value] of Object.entries(item)) if (!LAYOUT_ATTRIBUTES.has(name)) out[name] = value;
  return out as T;
}

export interface DynamoDbStoreOptions {
  readonly tableName: string;
  /** A shared document client (one per Lambda container); else one is made from `clientConfig`. */
  readonly client?: DynamoDBDocumentClient;
  readonly clientConfig?: DynamoDBClientConfig;
}

// One construction for every store: timeouts and the "outcome unknown" answer (dynamodb-client.ts).
export { createDocumentClient };

export class DynamoDbStore implements Store {
  readonly tableName: string;
  private readonly client: DynamoDBDocumentClient;

  constructor(options: DynamoDbStoreOptions) {
    if (typeof options.tableName !== "string" || options.tableName.length < 3) {
      throw new Error("tableName must be a DynamoDB table name (at least 3 characters)");
    }
    this.tableName = options.tableName;
    this.client = options.client ?? createDocumentClient(options.clientConfig);
  }

  // ---- reads of one request, together ----

  async readRecords(reads: RecordReads): Promise<RecordsRead> {
    // Each wanted item once, with what it becomes in the answer.
    const wanted = new Map<
      string,
      { itemKey: { pk: string; sk: string }; file: (item: Item | undefined) => void }
    >();
    const want = (itemKey: { pk: string; sk: string }, file: (item: Item | undefined) => void) => {
      const id = `${itemKey.pk}\u0000${itemKey.sk}`;
      const earlier = wanted.get(id);
      wanted.set(id, {
        itemKey,
        file: earlier
          ? (item) => {
              earlier.file(item);
              file(item);
            }
          : file,
      });
    };
    const secureElements = new Map<string, SecureElementRecord>();
    const keys = new Map<string, KeyRecord>();
    const vehicles = new Map<string, VehicleRecord>();
    const pairings = new Map<string, PairingRecord>();
    const deviceNoticeStates = new Map<string, DeviceNoticeState>();
    const vehicleSequences = new Map<string, { notices: number; revocations: number }>();
    const put = <T>(map: Map<string, T>, id: string, value: T | undefined) => {
      if (value !== undefined) map.set(id, value);
    };
    for (const id of reads.secureElements ?? []) {
      want(key.se(id), (item) => put(secureElements, id, record<SecureElementRecord>(item)));
    }
    for (const id of reads.keys ?? []) want(key.key(id), (item) => put(keys, id, record<KeyRecord>(item)));
    for (const id of reads.vehicles ?? []) {
      want(key.vehicle(id), (item) => put(vehicles, id, record<VehicleRecord>(item)));
    }
    for (const id of reads.pairings ?? []) {
      want(key.pairing(id), (item) => put(pairings, id, fromPairingItem(item)));
    }
    for (const id of reads.deviceNoticeStates ?? []) {
      want(key.deviceNotices(id), (item) => deviceNoticeStates.set(id, noticeState(item)));
    }
    for (const id of reads.vehicleSequences ?? []) {
      vehicleSequences.set(id, { notices: 0, revocations: 0 });
      want(key.vehicleNotices(id), (item) => {
        vehicleSequences.get(id)!.notices = counterOf(item);
      });
      want(key.vehicleRevocations(id), (item) => {
        vehicleSequences.get(id)!.revocations = counterOf(item);
      });
    }
    const found = await this.batchGet([...wanted.values()].map((w) => w.itemKey));
    for (const [id, { file }] of wanted) file(found.get(id));
    return { secureElements, keys, vehicles, pairings, deviceNoticeStates, vehicleSequences };
  }

  /** BatchGetItem, strongly consistent, 100 keys a call, unprocessed keys asked again; items by `pk\0sk`. */
  private async batchGet(itemKeys: readonly { pk: string; sk: string }[]): Promise<Map<string, Item>> {
    const found = new Map<string, Item>();
    for (let start = 0; start < itemKeys.length; start += BATCH_GET_LIMIT) {
      let pending: Record<string, unknown>[] = itemKeys.slice(start, start + BATCH_GET_LIMIT);
      for (let attempt = 0; pending.length > 0; attempt++) {
        // Unprocessed keys come back when the table is throttled: ask again after a short, growing pause.
        if (attempt > 0)
          await new Promise((resolve) => setTimeout(resolve, Math.min(50 * 2 ** attempt, 1000)));
        const out: BatchGetCommandOutput = await this.client.send(
          new BatchGetCommand({
            RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } },
          }),
        );
        for (const item of out.Responses?.[this.tableName] ?? [])
          found.set(`${item.pk}\u0000${item.sk}`, item);
        pending = (out.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Record<string, unknown>[];
      }
    }
    return found;
  }

  // ---- roots ----

  async getRootCertificate(
    profile: OemRootProfile,
    keyId: string,
  ): Promise<RootCertificateRecord | undefined> {
    return record(await this.get(key.root(profile, keyId)));
  }

  async createRootCertificate(root: RootCertificateRecord): Promise<void> {
    await this.putNew(
      { ...key.root(root.profile, root.keyId), type: "root", ...root },
      () => new ConflictError(`a ${root.profile} certificate for key ${root.keyId} exists already`),
    );
  }

  // ---- secure elements ----

  async getSecureElement(seId: string): Promise<SecureElementRecord | undefined> {
    return record(await this.get(key.se(seId)));
  }

  async createSecureElement(se: SecureElementRecord, nonce: NonceClaim): Promise<void> {
    await this.transact([
      [
        // A new SE's keys are all filed under its reference: lost mode need not look under its id.
        this.putIfAbsent({
          ...key.se(se.seId),
          type: "secure-element",
          [KEY_INDEX]: KEYS_UNDER_REFERENCE,
          ...se,
        }),
        () => new ConflictError(`secure element ${se.seId} is already enrolled`),
      ],
      this.nonceItem(nonce),
    ]);
  }

  // ---- nonces ----

  async claimNonce(nonce: NonceClaim): Promise<void> {
    const [item, refusal] = this.nonceItem(nonce);
    await this.putNew(item.Put!.Item as Item, refusal);
  }

  // ---- vehicles and pairing ----

  async getVehicle(vehicleId: string): Promise<VehicleRecord | undefined> {
    return record(await this.get(key.vehicle(vehicleId)));
  }

  async createVehicle(vehicle: VehicleRecord, pairing: PairingRecord): Promise<void> {
    await this.transact([
      [
        this.putIfAbsent({ ...key.vehicle(vehicle.vehicleId), type: "vehicle", ...vehicle }),
        () => new ConflictError(`vehicle ${vehicle.vehicleId} is already enrolled`),
      ],
      [{ Put: { TableName: this.tableName, Item: this.pairingItem(pairing) } }, unexpected],
    ]);
  }

  async getPairing(vehicleId: string): Promise<PairingRecord | undefined> {
    return fromPairingItem(await this.get(key.pairing(vehicleId)));
  }

  async replacePairing(pairing: PairingRecord): Promise<void> {
    await this.transact([
      [
        {
          ConditionCheck: {
            TableName: this.tableName,
            Key: key.vehicle(pairing.vehicleId),
            // An owner may exist: new pairing material is how a new phone takes over (migration).
            ConditionExpression: "attribute_exists(pk)",
          },
        },
        () => new ConflictError(`vehicle ${pairing.vehicleId} is not enrolled`),
      ],
      [{ Put: { TableName: this.tableName, Item: this.pairingItem(pairing) } }, unexpected],
    ]);
  }

  // ---- keys ----

  async getKey(keyId: string): Promise<KeyRecord | undefined> {
    return record(await this.get(key.key(keyId)));
  }

  async listVehicleKeys(vehicleId: string): Promise<KeyRecord[]> {
    const { vehicleKeysIndex } = TABLE_DESIGN;
    const keys: KeyRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page: QueryCommandOutput = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: vehicleKeysIndex.name,
          KeyConditionExpression: "#pk = :pk",
          ExpressionAttributeNames: { "#pk": vehicleKeysIndex.partitionKey },
          ExpressionAttributeValues: { ":pk": `VEHICLE#${vehicleId}` },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of page.Items ?? []) keys.push(record<KeyRecord>(item)!);
      start = page.LastEvaluatedKey;
    } while (start);
    return keys;
  }

  async listEndedKeys(endedBy: Date, limit: number, after?: string): Promise<EndedKeysPage> {
    const { keyEndsIndex } = TABLE_DESIGN;
    const buckets = expiryBuckets();
    let cursor = after === undefined ? { bucket: 0 } : parseEndedKeysCursor(after);
    const keys: KeyRecord[] = [];
    // Bucket by bucket, each a Query for ends up to `endedBy`; a page may span buckets.
    while (cursor.bucket < EXPIRY_BUCKETS && keys.length < limit) {
      const page: QueryCommandOutput = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: keyEndsIndex.name,
          KeyConditionExpression: "#pk = :bucket AND #end <= :endedBy",
          ExpressionAttributeNames: { "#pk": keyEndsIndex.partitionKey, "#end": keyEndsIndex.sortKey },
          ExpressionAttributeValues: {
            ":bucket": buckets[cursor.bucket],
            ":endedBy": Math.floor(endedBy.getTime() / 1000),
          },
          Limit: limit - keys.length,
          ...(cursor.start ? { ExclusiveStartKey: cursor.start } : {}),
        }),
      );
      for (const item of page.Items ?? []) keys.push(record<KeyRecord>(item)!);
      cursor = page.LastEvaluatedKey
        ? { bucket: cursor.bucket, start: page.LastEvaluatedKey }
        : { bucket: cursor.bucket + 1 };
    }
    return {
      keys,
      ...(cursor.bucket < EXPIRY_BUCKETS ? { next: JSON.stringify(cursor) } : {}),
    };
  }

  async registerOwnerKey(
    keyRecord: KeyRecord,
    nonce: NonceClaim,
    at: Date,
    pairingId: string,
    migration?: OwnerMigration,
  ): Promise<void> {
    const vehicleId = keyRecord.vehicleId;
    const ownerCondition = migration
      ? { ConditionExpression: "attribute_exists(pk) AND #owner.keyId = :previous" }
      : { ConditionExpression: "attribute_exists(pk) AND attribute_not_exists(#owner)" };
    await this.transact([
      [
        this.putIfAbsent(this.keyItem(keyRecord)),
        () => new ConflictError(`key ${keyRecord.keyId} is already registered`),
      ],
      [
        {
          Update: {
            TableName: this.tableName,
            Key: key.vehicle(vehicleId),
            UpdateExpression: "SET #owner = :owner",
            ...ownerCondition,
            ExpressionAttributeNames: { "#owner": "owner" },
            ExpressionAttributeValues: {
              ":owner": vehicleOwner(keyRecord),
              ...(migration ? { ":previous": migration.previousKeyId } : {}),
            },
          },
        },
        () =>
          new ConflictError(
            migration
              ? `the owner key of vehicle ${vehicleId} changed meanwhile; retry`
              : `vehicle ${vehicleId} already has an owner key`,
          ),
      ],
      ...(migration?.revocation ? [this.revokeItem(migration.previousKeyId, migration.revocation)] : []),
      ...(migration?.notice ? this.deviceNoticeItems(migration.notice) : []),
      ...this.deviceKeyItems(keyRecord),
      [
        {
          // Exactly the pairing material the car confirmed is spent; expired or replaced material cannot be.
          Delete: {
            TableName: this.tableName,
            Key: key.pairing(vehicleId),
            ConditionExpression: "attribute_exists(pk) AND #pairingId = :pairingId AND #expires > :now",
            ExpressionAttributeNames: { "#expires": TABLE_DESIGN.ttlAttribute, "#pairingId": "pairingId" },
            ExpressionAttributeValues: { ":now": Math.floor(at.getTime() / 1000), ":pairingId": pairingId },
          },
        },
        () =>
          new ConflictError(
            `vehicle ${vehicleId} has no unexpired owner-pairing material ${pairingId}; the OEM can issue new material and the owner pair again`,
          ),
      ],
      this.nonceItem(nonce),
    ]);
  }

  async registerFriendKey(
    keyRecord: KeyRecord,
    conditions: FriendRegistrationConditions,
    nonce: NonceClaim,
  ): Promise<void> {
    const { ownerKeyId } = conditions;
    const holdsSlot = conditions.holdsSlot !== false;
    const friendKeySlots = holdsSlot ? conditions.friendKeySlots : undefined;
    const vehicleId = keyRecord.vehicleId;
    const vehicleRefused = new VehicleConditionFailedError();
    try {
      await this.transact([
        [
          this.putIfAbsent(this.keyItem(keyRecord)),
          () => new ConflictError(`key ${keyRecord.keyId} is already registered`),
        ],
        [
          {
            // The slot count is held by this conditional write: two registrations racing for the last
            // slot cannot both pass it (one fails its condition or the transaction conflicts).
            Update: {
              TableName: this.tableName,
              Key: key.vehicle(vehicleId),
              UpdateExpression: "SET #slots = if_not_exists(#slots, :zero) + :one",
              ConditionExpression:
                friendKeySlots === undefined
                  ? "#owner.keyId = :owner"
                  : "#owner.keyId = :owner AND (attribute_not_exists(#slots) OR #slots < :limit)",
              ExpressionAttributeNames: { "#owner": "owner", "#slots": "friendKeys" },
              ExpressionAttributeValues: {
                ":owner": ownerKeyId,
                ":zero": 0,
                // The owner's own watch leaves the count as it is: the same write, adding nothing.
                ":one": holdsSlot ? 1 : 0,
                ...(friendKeySlots === undefined ? {} : { ":limit": friendKeySlots }),
              },
            },
          },
          () => vehicleRefused,
        ],
        [
          // Checked at write time, in this transaction: a revocation committed after the service read the
          // owner key cannot let its attestation through. The owner's own second device also counts on the
          // owner key's item (`ownerDevices`), in the same write, so revoking or replacing that owner key
          // knows whether it has devices to take along without a Query each time.
          keyRecord.ownerDevice && !conditions.sharerKeyId
            ? {
                Update: {
                  TableName: this.tableName,
                  Key: key.key(ownerKeyId),
                  UpdateExpression: "ADD #devices :one",
                  ConditionExpression:
                    "attribute_exists(pk) AND (attribute_not_exists(#state) OR #state = :active)",
                  ExpressionAttributeNames: { "#state": "state", "#devices": "ownerDevices" },
                  ExpressionAttributeValues: { ":active": "active", ":one": 1 },
                },
              }
            : {
                ConditionCheck: {
                  TableName: this.tableName,
                  // The key that signed the attestation: the owner's, or the co-owner's that shared further.
                  Key: key.key(conditions.sharerKeyId ?? ownerKeyId),
                  ConditionExpression:
                    "attribute_exists(pk) AND (attribute_not_exists(#state) OR #state = :active)",
                  ExpressionAttributeNames: { "#state": "state" },
                  ExpressionAttributeValues: { ":active": "active" },
                },
              },
          () =>
            new ForbiddenError(
              conditions.sharerKeyId
                ? `the sharing co-owner key ${conditions.sharerKeyId} is no longer active`
                : `the attesting owner key ${ownerKeyId} is no longer active`,
            ),
        ],
        ...[...new Set(conditions.unsuspendedDevices)].map((device) => this.notSuspendedItem(device)),
        ...this.deviceKeyItems(keyRecord),
        this.nonceItem(nonce),
      ]);
    } catch (error) {
      if (error !== vehicleRefused) throw error;
      // Which half of the vehicle's condition failed is read back (only on this refusal path).
      const vehicle = await this.getVehicle(vehicleId);
      if (vehicle?.owner?.keyId !== ownerKeyId) {
        throw withCause(
          new ConflictError(`the owner key of vehicle ${vehicleId} changed; attest again`),
          (error as Error).cause,
        );
      }
      throw withCause(
        new FriendSlotsFullError(
          `vehicle ${vehicleId} holds ${vehicle?.friendKeys ?? 0} of ${friendKeySlots} friend keys; revoke or delete one first`,
        ),
        (error as Error).cause,
      );
    }
  }

  // ---- key states, notices, revocation lists ----

  async revokeKey(write: KeyRevocationWrite): Promise<void> {
    const items = [
      this.revokeItem(write.keyId, write.revocation),
      ...(write.entry ? this.revocationEntryItems(write.entry) : []),
      ...(write.notice ? this.deviceNoticeItems(write.notice) : []),
      ...(write.nonce ? [this.nonceItem(write.nonce)] : []),
    ];
    if (!write.freesFriendSlot) return this.transact(items);
    await this.withSlotsFreed(items, write.freesFriendSlot.vehicleId, 1);
  }

  async terminateKey(
    keyId: string,
    termination: KeyTerminationRecord,
    appliedNotice?: { seId: string; counter: number },
    nonce?: NonceClaim,
  ): Promise<void> {
    const update: TransactItem = {
      Update: {
        TableName: this.tableName,
        Key: key.key(keyId),
        UpdateExpression: "SET #state = :terminated, #termination = :termination",
        ConditionExpression: "#state = :revoked",
        ExpressionAttributeNames: { "#state": "state", "#termination": "termination" },
        ExpressionAttributeValues: {
          ":terminated": "terminated",
          ":revoked": "revoked",
          ":termination": termination,
        },
      },
    };
    const refusal = () => new ConflictError(`key ${keyId} is not revoked`);
    if (!appliedNotice && !nonce) {
      try {
        await this.client.send(new UpdateCommand(update.Update!));
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) throw withCause(refusal(), error);
        throw error;
      }
      return;
    }
    await this.transact([
      [update, refusal],
      ...(appliedNotice
        ? [
            [
              {
                // The SE applied it (its termination attestation is the proof): the notice has done its work.
                Delete: {
                  TableName: this.tableName,
                  Key: key.deviceNotice(appliedNotice.seId, appliedNotice.counter),
                },
              },
              unexpected,
            ] satisfies [TransactItem, Refusal],
          ]
        : []),
      ...(nonce ? [this.nonceItem(nonce)] : []),
    ]);
  }

  async getDeviceNoticeState(seId: string): Promise<DeviceNoticeState> {
    return noticeState(await this.get(key.deviceNotices(seId)));
  }

  async readDeviceNoticeFeed(seId: string, after: number, limit: number): Promise<DeviceNoticeFeed> {
    // One partition holds, in sort-key order, the device's notices (NOTICE#…), its state (NOTICES) and its
    // record (SE): one Query from the first notice after the cursor up to the record reads all three.
    const from = key.deviceNotice(seId, after + 1);
    const page: QueryCommandOutput = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: "#pk = :pk AND #sk BETWEEN :from AND :to",
        ExpressionAttributeNames: { "#pk": "pk", "#sk": "sk" },
        ExpressionAttributeValues: { ":pk": from.pk, ":from": from.sk, ":to": key.se(seId).sk },
        ConsistentRead: true,
        Limit: limit + 2,
      }),
    );
    const notices: DeviceNoticeRecord[] = [];
    let state: Item | undefined;
    let se: Item | undefined;
    for (const item of page.Items ?? []) {
      if (item.sk === key.deviceNotices(seId).sk) state = item;
      else if (item.sk === key.se(seId).sk) se = item;
      else if (notices.length < limit) notices.push(record<DeviceNoticeRecord>(item)!);
    }
    if (page.LastEvaluatedKey && !se) {
      // More notices than a page: the record and the state lie beyond it; read them on their own.
      const rest = await this.readRecords({ secureElements: [seId], deviceNoticeStates: [seId] });
      const secureElement = rest.secureElements.get(seId);
      return {
        ...(secureElement ? { secureElement } : {}),
        state: rest.deviceNoticeStates.get(seId)!,
        notices,
      };
    }
    const secureElement = record<SecureElementRecord>(se);
    return { ...(secureElement ? { secureElement } : {}), state: noticeState(state), notices };
  }

  async readLostModeRecords(device: { reference: string; seId: string }): Promise<LostModeRecords> {
    // The index of the device's keys first (one Query): it names the vehicles whose notice sequences are
    // read next, in one batch with the SE's record and its notice state. The write is the third operation.
    const indexed = await this.keyIndex(key.deviceKey(device.reference, "").pk, "KEY#");
    const vehicleIds = [...new Set(indexed.map((k) => k.vehicleId))];
    const se = key.se(device.seId);
    const state = key.deviceNotices(device.seId);
    const found = await this.batchGet([se, state, ...vehicleIds.map(key.vehicleNotices)]);
    const vehicleNotices = new Map(
      vehicleIds.map((id) => [id, counterOf(found.get(itemId(key.vehicleNotices(id))))] as const),
    );
    const seItem = found.get(itemId(se));
    let legacyIndexEmpty = false;
    if (seItem && seItem[KEY_INDEX] !== KEYS_UNDER_REFERENCE) {
      // Enrolled before SEs were marked: keys registered before device references may be filed under the
      // SE id. Looked up once more here, until a lost-mode change that finds none marks the SE.
      const legacy = key.legacyDeviceKey(device.seId);
      const old = await this.keyIndex(legacy.pk, legacy.prefix);
      const more = [...new Set(old.map((k) => k.vehicleId))].filter((id) => !vehicleNotices.has(id));
      const sequences = more.length > 0 ? await this.batchGet(more.map(key.vehicleNotices)) : new Map();
      for (const id of more) vehicleNotices.set(id, counterOf(sequences.get(itemId(key.vehicleNotices(id)))));
      legacyIndexEmpty = old.length === 0;
    }
    const secureElement = record<SecureElementRecord>(seItem);
    return {
      ...(secureElement ? { secureElement } : {}),
      state: noticeState(found.get(itemId(state))),
      vehicleNotices,
      ...(legacyIndexEmpty ? { legacyIndexEmpty } : {}),
    };
  }

  private async keyIndex(pk: string, prefix: string): Promise<{ keyId: string; vehicleId: string }[]> {
    const out: { keyId: string; vehicleId: string }[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page: QueryCommandOutput = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
          ExpressionAttributeNames: { "#pk": "pk", "#sk": "sk" },
          ExpressionAttributeValues: { ":pk": pk, ":prefix": prefix },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        out.push({ keyId: item.keyId as string, vehicleId: item.vehicleId as string });
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return out;
  }

  async getVehicleSequences(vehicleId: string): Promise<{ notices: number; revocations: number }> {
    const [notices, revocations] = await Promise.all([
      this.get(key.vehicleNotices(vehicleId)),
      this.get(key.vehicleRevocations(vehicleId)),
    ]);
    return { notices: counterOf(notices), revocations: counterOf(revocations) };
  }

  async appendNotices(
    device: DeviceNoticeWrite,
    vehicles: readonly VehicleNoticeWrite[],
    read?: LostModeRecords,
  ): Promise<void> {
    const { seId } = device.notice;
    await this.transact([
      ...this.deviceNoticeItems(device),
      ...vehicles.flatMap((notice) => [
        this.counterItem(
          key.vehicleNotices(notice.vehicleId),
          notice.sequence,
          {},
          "vehicle notice sequence",
        ),
        this.newItem({
          ...key.vehicleNotice(notice.vehicleId, notice.sequence),
          type: "vehicle-notice",
          ...notice,
        }),
      ]),
      // No keys of this SE are filed under its id: say so on its record, so lost mode stops looking there.
      ...(read?.legacyIndexEmpty ? [this.markKeysUnderReference(seId)] : []),
    ]);
  }

  private markKeysUnderReference(seId: string): [TransactItem, Refusal] {
    return [
      {
        Update: {
          TableName: this.tableName,
          Key: key.se(seId),
          UpdateExpression: "SET #index = :reference",
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeNames: { "#index": KEY_INDEX },
          ExpressionAttributeValues: { ":reference": KEYS_UNDER_REFERENCE },
        },
      },
      () => new ConflictError(`secure element ${seId} is not enrolled`),
    ];
  }

  async listDeviceNotices(seId: string, after: number, limit: number): Promise<DeviceNoticeRecord[]> {
    return this.range(`SE#${seId}`, "NOTICE#", after, limit);
  }

  async listVehicleNotices(vehicleId: string, after: number, limit: number): Promise<VehicleNoticeRecord[]> {
    return this.range(`VEHICLE#${vehicleId}`, "NOTICE#", after, limit);
  }

  async listRevocationEntries(
    vehicleId: string,
    after: number,
    limit: number,
  ): Promise<RevocationEntryRecord[]> {
    return this.range(`VEHICLE#${vehicleId}`, "REVOCATION#", after, limit);
  }

  /** Items of one partition whose sort key is `prefix` and a number above `after`, ascending. */
  private async range<T>(pk: string, prefix: string, after: number, limit: number): Promise<T[]> {
    const out: T[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page: QueryCommandOutput = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "#pk = :pk AND #sk BETWEEN :from AND :to",
          ExpressionAttributeNames: { "#pk": "pk", "#sk": "sk" },
          ExpressionAttributeValues: {
            ":pk": pk,
            ":from": `${prefix}${sequenceKey(after + 1)}`,
            ":to": `${prefix}${"9".repeat(16)}`,
          },
          ConsistentRead: true,
          Limit: limit - out.length,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of page.Items ?? []) out.push(record<T>(item)!);
      start = page.LastEvaluatedKey;
    } while (start && out.length < limit);
    return out;
  }

  /** The key moves to revoked, only from active (records written by earlier versions have no state: active). */
  private revokeItem(keyId: string, revocation: KeyRevocationRecord): [TransactItem, Refusal] {
    return [
      {
        Update: {
          TableName: this.tableName,
          Key: key.key(keyId),
          // Leaving active, the key leaves the key-ends index too: the sweep has nothing more to do with it.
          UpdateExpression: `SET #state = :revoked, #revocation = :revocation ${LEAVE_KEY_ENDS}`,
          ConditionExpression: "attribute_exists(pk) AND (attribute_not_exists(#state) OR #state = :active)",
          ExpressionAttributeNames: { "#state": "state", "#revocation": "revocation", ...KEY_ENDS_NAMES },
          ExpressionAttributeValues: {
            ":revoked": "revoked",
            ":active": "active",
            ":revocation": revocation,
          },
        },
      },
      () => new ConflictError(`key ${keyId} is not active`),
    ];
  }

  async expireKeys(vehicleId: string, writes: readonly KeyExpiryWrite[]): Promise<void> {
    if (writes.length === 0) return;
    const freed = writes.filter((w) => w.freesFriendSlot && w.from === "active").length;
    const items = writes.map((w) => this.expiryItem(w));
    await this.withSlotsFreed(items, vehicleId, freed);
  }

  private expiryItem(w: KeyExpiryWrite): [TransactItem, Refusal] {
    const names: Record<string, string> = { "#state": "state" };
    const values: Record<string, unknown> = { ":expired": "expired" };
    const sets = ["#state = :expired"];
    let condition: string;
    let remove = "";
    if (w.from === "active") {
      Object.assign(names, KEY_ENDS_NAMES);
      remove = ` ${LEAVE_KEY_ENDS}`;
      names["#expiredAt"] = "expiredAt";
      values[":at"] = w.expiredAt;
      values[":active"] = "active";
      sets.push("#expiredAt = :at");
      condition = "attribute_exists(pk) AND (attribute_not_exists(#state) OR #state = :active)";
    } else {
      names["#termination"] = "termination";
      condition = "#state = :expired AND attribute_not_exists(#termination)";
    }
    if (w.termination) {
      names["#termination"] = "termination";
      values[":termination"] = w.termination;
      sets.push("#termination = :termination");
    }
    return [
      {
        Update: {
          TableName: this.tableName,
          Key: key.key(w.keyId),
          UpdateExpression: `SET ${sets.join(", ")}${remove}`,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        },
      },
      () => new ConflictError(`key ${w.keyId} is no longer ${w.from}`),
    ];
  }

  /**
   * One transaction of `items` that also lowers the vehicle's friend-key count by `slots`. A vehicle
   * whose friend keys predate the count has none to lower: the same items then go without it.
   */
  private async withSlotsFreed(
    items: readonly [TransactItem, Refusal][],
    vehicleId: string,
    slots: number,
  ): Promise<void> {
    if (slots === 0) return this.transact(items);
    try {
      await this.transact([...items, this.freeSlotsItem(vehicleId, slots)]);
    } catch (error) {
      if (!(error instanceof SlotCountMissingError)) throw error;
      await this.transact(items);
    }
  }

  /** Lowers a vehicle's friend-key count; never below zero (counts from before slots existed start at 0). */
  private freeSlotsItem(vehicleId: string, slots: number): [TransactItem, Refusal] {
    return [
      {
        Update: {
          TableName: this.tableName,
          Key: key.vehicle(vehicleId),
          UpdateExpression: "SET #slots = #slots - :n",
          ConditionExpression: "#slots >= :n",
          ExpressionAttributeNames: { "#slots": "friendKeys" },
          ExpressionAttributeValues: { ":n": slots },
        },
      },
      () => new SlotCountMissingError(),
    ];
  }

  private deviceNoticeItems(write: DeviceNoticeWrite): [TransactItem, Refusal][] {
    const { notice } = write;
    return [
      this.counterItem(
        key.deviceNotices(notice.seId),
        notice.counter,
        write.lostMode ? { lostMode: write.lostMode } : {},
        "device notice counter",
      ),
      this.newItem({ ...key.deviceNotice(notice.seId, notice.counter), type: "device-notice", ...notice }),
    ];
  }

  private revocationEntryItems(entry: RevocationEntryWrite): [TransactItem, Refusal][] {
    return [
      this.counterItem(key.vehicleRevocations(entry.vehicleId), entry.sequence, {}, "revocation sequence"),
      this.newItem({
        ...key.revocationEntry(entry.vehicleId, entry.sequence),
        type: "revocation-entry",
        ...entry,
      }),
    ];
  }

  /** The conditional counter increment: `counter` becomes `next` only if it is `next - 1` now. */
  private counterItem(
    itemKey: { pk: string; sk: string },
    next: number,
    extra: Record<string, unknown>,
    what: string,
  ): [TransactItem, Refusal] {
    const names: Record<string, string> = { "#c": "counter" };
    const values: Record<string, unknown> = { ":next": next };
    const sets = ["#c = :next"];
    for (const [i, [name, value]] of Object.entries(extra).entries()) {
      names[`#x${i}`] = name;
      values[`:x${i}`] = value;
      sets.push(`#x${i} = :x${i}`);
    }
    if (next > 1) values[":prev"] = next - 1;
    return [
      {
        Update: {
          TableName: this.tableName,
          Key: itemKey,
          UpdateExpression: `SET ${sets.join(", ")}`,
          ConditionExpression: next > 1 ? "#c = :prev" : "attribute_not_exists(#c)",
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        },
      },
      () => new ConflictError(`the ${what} moved meanwhile; retry`),
    ];
  }

  /** Holds unless the device is in lost mode (a device never sent a notice has no item: not suspended). */
  private notSuspendedItem(device: string): [TransactItem, Refusal] {
    return [
      {
        ConditionCheck: {
          TableName: this.tableName,
          Key: key.deviceNotices(device),
          ConditionExpression: "attribute_not_exists(#lostMode) OR #lostMode <> :suspended",
          ExpressionAttributeNames: { "#lostMode": "lostMode" },
          ExpressionAttributeValues: { ":suspended": "suspended" },
        },
      },
      () => new SuspendedDeviceError(device),
    ];
  }

  /** The device's index entry for a key, so lost mode finds the vehicles holding its keys. */
  private deviceKeyItems(keyRecord: KeyRecord): [TransactItem, Refusal][] {
    if (!keyRecord.deviceRef) return [];
    return [
      [
        {
          Put: {
            TableName: this.tableName,
            Item: {
              ...key.deviceKey(keyRecord.deviceRef, keyRecord.keyId),
              type: "device-key",
              keyId: keyRecord.keyId,
              vehicleId: keyRecord.vehicleId,
            },
          },
        },
        unexpected,
      ],
    ];
  }

  private newItem(item: Item): [TransactItem, Refusal] {
    return [this.putIfAbsent(item), () => new ConflictError("the item exists already; retry")];
  }

  // ---- helpers ----

  private async get(itemKey: { pk: string; sk: string }): Promise<Item | undefined> {
    const out = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: itemKey, ConsistentRead: true }),
    );
    return out.Item;
  }

  private putIfAbsent(item: Item): TransactItem {
    return {
      Put: { TableName: this.tableName, Item: item, ConditionExpression: "attribute_not_exists(pk)" },
    };
  }

  /**
   * A put-if-absent. The item carries a token of this call, so that when an
   * attempt got no answer and the SDK's retry then finds the item present
   * (dynamodb-client.ts answers that "outcome unknown"), the item found tells
   * whether it is this call's own first attempt (done: success) or someone
   * else's (the refusal it would have been). A transaction needs none of this:
   * its ClientRequestToken makes DynamoDB answer the retry as the success.
   */
  private async putNew(item: Item, refusal: Refusal): Promise<void> {
    const writeToken = randomUUID();
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...item, [WRITE_TOKEN]: writeToken },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw withCause(refusal(), error);
      const failed = error instanceof StorageUnavailableError ? error.cause : undefined;
      if (!(failed instanceof ConditionalCheckFailedException)) throw error;
      // Only on this rare path: one read of the item the retry found.
      const found = await this.get({ pk: item.pk as string, sk: item.sk as string });
      if (found?.[WRITE_TOKEN] === writeToken) return;
      throw withCause(refusal(), failed);
    }
  }

  private nonceItem(nonce: NonceClaim): [TransactItem, Refusal] {
    return [
      this.putIfAbsent({
        ...key.nonce(nonce),
        type: "nonce",
        [TABLE_DESIGN.ttlAttribute]: epochSeconds(nonce.expiresAt),
      }),
      () => new ReplayError("this signed request was already used (carkey-nonce seen before)"),
    ];
  }

  private pairingItem(pairing: PairingRecord): Item {
    return {
      ...key.pairing(pairing.vehicleId),
      type: "pairing",
      vehicleId: pairing.vehicleId,
      pairingId: pairing.pairingId,
      createdAt: pairing.createdAt,
      // The TTL attribute is epoch seconds; the record's ISO instant is kept beside it.
      validUntil: pairing.expiresAt,
      [TABLE_DESIGN.ttlAttribute]: epochSeconds(pairing.expiresAt),
    };
  }

  private keyItem(keyRecord: KeyRecord): Item {
    const { vehicleKeysIndex, keyEndsIndex } = TABLE_DESIGN;
    const until = keyRecord.attestation?.profile.validUntil;
    const listedForExpiry = until !== undefined && (keyRecord.state ?? "active") === "active";
    return {
      ...key.key(keyRecord.keyId),
      type: "key",
      [vehicleKeysIndex.partitionKey]: `VEHICLE#${keyRecord.vehicleId}`,
      [vehicleKeysIndex.sortKey]: `KEY#${keyRecord.keyId}`,
      // Only a key that can end is in the key-ends index (sparse): the sweep reads nothing else.
      ...(listedForExpiry
        ? { [keyEndsIndex.partitionKey]: expiryBucket(keyRecord.keyId), [keyEndsIndex.sortKey]: until }
        : {}),
      ...keyRecord,
    };
  }

  /** One TransactWriteItems; a cancelled transaction throws the refusal of the first item that failed. */
  private async transact(items: readonly [TransactItem, Refusal][]): Promise<void> {
    try {
      // Our own token rather than the SDK's implicit one, so it is plain that the SDK's retries of this
      // transaction (after a timeout whose first attempt may have committed) are idempotent.
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: items.map(([item]) => item),
          ClientRequestToken: randomUUID(),
        }),
      );
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const reasons = error.CancellationReasons ?? [];
      const failed = reasons.findIndex((r) => r.Code === "ConditionalCheckFailed");
      if (failed >= 0 && items[failed]) throw withCause(items[failed][1](), error);
      if (reasons.some((r) => r.Code === "TransactionConflict")) {
        throw new ConflictError("a concurrent request changed the same records; retry", { cause: error });
      }
      throw error;
    }
  }
}

/** How batchGet files an item: `pk\0sk`. */
function itemId(itemKey: { pk: string; sk: string }): string {
  return `${itemKey.pk}\u0000${itemKey.sk}`;
}

/** BatchGetItem takes at most 100 keys per call. */
const BATCH_GET_LIMIT = 100;

/** The vehicle's `owner` field for its owner key: id, public key and the key's device seal. */
function vehicleOwner(keyRecord: KeyRecord): VehicleOwner {
  return {
    keyId: keyRecord.keyId,
    publicKey: keyRecord.endpointPublicKey,
    ...(keyRecord.deviceSeal ? { deviceSeal: keyRecord.deviceSeal } : {}),
  };
}

function counterOf(item: Item | undefined): number {
  return (item?.counter as number | undefined) ?? 0;
}

function noticeState(item: Item | undefined): DeviceNoticeState {
  return {
    counter: counterOf(item),
    lostMode: (item?.lostMode as DeviceNoticeState["lostMode"] | undefined) ?? "active",
  };
}

function fromPairingItem(item: Item | undefined): PairingRecord | undefined {
  if (!item) return undefined;
  return {
    vehicleId: item.vehicleId as string,
    pairingId: item.pairingId as string,
    createdAt: item.createdAt as string,
    expiresAt: item.validUntil as string,
  };
}

/** The vehicle item's condition of a friend registration failed: the owner changed, or the slots are full. */
class VehicleConditionFailedError extends ConflictError {
  override name = "VehicleConditionFailedError";

  constructor() {
    super("the vehicle's owner or friend-key count did not hold");
  }
}

/** The vehicle has no friend-key count to lower (its friend keys predate it). */
class SlotCountMissingError extends ConflictError {
  override name = "SlotCountMissingError";

  constructor() {
    super("the vehicle has no friend-key count");
  }
}

/** For items without a condition: they cannot fail one. */
const unexpected: Refusal = () => new Error("an unconditional transaction item failed its condition");

function withCause(error: Error, cause: unknown): Error {
  if (error.cause === undefined) Object.defineProperty(error, "cause", { value: cause, configurable: true });
  return error;
}
