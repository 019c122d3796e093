// The service's Store over DynamoDB (@aws-sdk/lib-dynamodb), one table laid
// out in table-design.ts. Every write that creates or changes state is a
// conditional Put or a TransactWriteItems whose items carry their conditions
// (DESIGN.md convention 6), and a refused condition becomes a domain error
// (convention 5; ConditionalCheckFailedException → ConflictError, a claimed
// nonce → ReplayError), so the service never sees an SDK exception for a
// business outcome. Nonces are written in the same transaction as the state
// they authorize. Reads are strongly consistent, except the index query.
// The endpoint comes from the SDK's standard settings
// (AWS_ENDPOINT_URL_DYNAMODB), so the same code runs against DynamoDB Local.
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  type DynamoDBClientConfig,
  TransactionCanceledException,
} from "@aws-sdk/client-dynamodb";
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandOutput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { ConflictError, ReplayError } from "../../service/errors.js";
import type {
  KeyRecord,
  NonceClaim,
  OemRootProfile,
  PairingRecord,
  RootCertificateRecord,
  SecureElementRecord,
  Store,
  VehicleRecord,
} from "../../service/ports.js";
import { TABLE_DESIGN } from "./table-design.js";

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
};

const epochSeconds = (date: Date | string): number =>
  Math.ceil((typeof date === "string" ? Date.parse(date) : date.getTime()) / 1000);

/** Attributes that belong to the table layout, not to the record. */
const LAYOUT_ATTRIBUTES = new Set(["pk", "sk", "type", "gsi1pk", "gsi1sk", TABLE_DESIGN.ttlAttribute]);

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

/** A document client that drops undefined fields (optional record fields) instead of failing. */
export function createDocumentClient(config: DynamoDBClientConfig = {}): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient(config), {
    marshallOptions: { removeUndefinedValues: true },
  });
}

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
        this.putIfAbsent({ ...key.se(se.seId), type: "secure-element", ...se }),
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
            ConditionExpression: "attribute_exists(pk) AND attribute_not_exists(#owner)",
            ExpressionAttributeNames: { "#owner": "owner" },
          },
        },
        () => new ConflictError(`vehicle ${pairing.vehicleId} is not enrolled or already has an owner key`),
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

  async registerOwnerKey(keyRecord: KeyRecord, nonce: NonceClaim, at: Date): Promise<void> {
    const vehicleId = keyRecord.vehicleId;
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
            ConditionExpression: "attribute_exists(pk) AND attribute_not_exists(#owner)",
            ExpressionAttributeNames: { "#owner": "owner" },
            ExpressionAttributeValues: {
              ":owner": { keyId: keyRecord.keyId, publicKey: keyRecord.endpointPublicKey },
            },
          },
        },
        () => new ConflictError(`vehicle ${vehicleId} already has an owner key`),
      ],
      [
        {
          // The pairing material is spent by the owner it paired; expired material cannot be spent.
          Delete: {
            TableName: this.tableName,
            Key: key.pairing(vehicleId),
            ConditionExpression: "attribute_exists(pk) AND #expires > :now",
            ExpressionAttributeNames: { "#expires": TABLE_DESIGN.ttlAttribute },
            ExpressionAttributeValues: { ":now": Math.floor(at.getTime() / 1000) },
          },
        },
        () => new ConflictError(`vehicle ${vehicleId} has no unexpired owner-pairing material`),
      ],
      this.nonceItem(nonce),
    ]);
  }

  async registerFriendKey(keyRecord: KeyRecord, ownerKeyId: string, nonce: NonceClaim): Promise<void> {
    await this.transact([
      [
        this.putIfAbsent(this.keyItem(keyRecord)),
        () => new ConflictError(`key ${keyRecord.keyId} is already registered`),
      ],
      [
        {
          ConditionCheck: {
            TableName: this.tableName,
            Key: key.vehicle(keyRecord.vehicleId),
            ConditionExpression: "#owner.keyId = :owner",
            ExpressionAttributeNames: { "#owner": "owner" },
            ExpressionAttributeValues: { ":owner": ownerKeyId },
          },
        },
        () => new ConflictError(`the owner key of vehicle ${keyRecord.vehicleId} changed; attest again`),
      ],
      this.nonceItem(nonce),
    ]);
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

  private async putNew(item: Item, refusal: Refusal): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw withCause(refusal(), error);
      throw error;
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
    return {
      ...key.key(keyRecord.keyId),
      type: "key",
      [TABLE_DESIGN.vehicleKeysIndex.partitionKey]: `VEHICLE#${keyRecord.vehicleId}`,
      [TABLE_DESIGN.vehicleKeysIndex.sortKey]: `KEY#${keyRecord.keyId}`,
      ...keyRecord,
    };
  }

  /** One TransactWriteItems; a cancelled transaction throws the refusal of the first item that failed. */
  private async transact(items: readonly [TransactItem, Refusal][]): Promise<void> {
    try {
      await this.client.send(new TransactWriteCommand({ TransactItems: items.map(([item]) => item) }));
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

function fromPairingItem(item: Item | undefined): PairingRecord | undefined {
  if (!item) return undefined;
  return {
    vehicleId: item.vehicleId as string,
    pairingId: item.pairingId as string,
    createdAt: item.createdAt as string,
    expiresAt: item.validUntil as string,
  };
}

/** For items without a condition: they cannot fail one. */
const unexpected: Refusal = () => new Error("an unconditional transaction item failed its condition");

function withCause(error: Error, cause: unknown): Error {
  if (error.cause === undefined) Object.defineProperty(error, "cause", { value: cause, configurable: true });
  return error;
}
