// The one DynamoDB table of the service: its key schema, its index and its
// TTL attribute, as data that the store adapter, ensureTable (local runs and
// tests) and the CDK stack (infra/) all read, so the three cannot disagree.
// Single-table design: every item has `pk` and `sk` (strings); keys are
// listed per vehicle through the `gsi1` index; `expiresAt` (epoch seconds)
// lets DynamoDB delete spent nonces and lapsed pairing records on its own.
// The sparse `gsi2` index holds only active keys with an end (a profile's
// valid until): partition `ENDS#<bucket>` (the key id's first byte modulo
// EXPIRY_BUCKETS, so no single partition takes every registration), sort key
// the end in epoch seconds. The expiry sweep (src/service/expiry-sweep.ts)
// Queries each bucket for `gsi2sk <= now`, never a Scan; a key leaves the
// index when it leaves active (the write that moves it removes both
// attributes).
//
//   item                 pk                          sk            gsi1pk / gsi1sk
//   OEM root cert        ROOT#<profile>              KEY#<ski>     –
//   secure element       SE#<seId>                   SE            –
//   vehicle              VEHICLE#<vehicleId>         VEHICLE       –
//   pairing record       VEHICLE#<vehicleId>         PAIRING       –              (TTL)
//   key                  KEY#<keyId>                 KEY           VEHICLE#<vehicleId> / KEY#<keyId>
//                                                                  gsi2pk / gsi2sk (active, with an end):
//                                                                  ENDS#<bucket> / <valid until, epoch s>
//   request nonce        NONCE#<signer>#<nonce>      NONCE         –              (TTL)
//   device's key index   SE#<seId>                   KEY#<keyId>   –              (lost mode)
//   device notice ctr    SE#<seId>                   NOTICES       –              (counter, lostMode)
//   device notice        SE#<seId>                   NOTICE#<16-digit counter>
//   vehicle notice ctr   VEHICLE#<vehicleId>         NOTICES       –
//   vehicle notice       VEHICLE#<vehicleId>         NOTICE#<16-digit sequence>
//   revocation ctr       VEHICLE#<vehicleId>         REVOCATIONS   –
//   revocation entry     VEHICLE#<vehicleId>         REVOCATION#<16-digit sequence>
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from "@aws-sdk/client-dynamodb";

export const TABLE_DESIGN = {
  partitionKey: "pk",
  sortKey: "sk",
  /** Global secondary index listing a vehicle's keys; projects all attributes. */
  vehicleKeysIndex: { name: "gsi1", partitionKey: "gsi1pk", sortKey: "gsi1sk" },
  /**
   * Sparse global secondary index of active keys with an end, by bucket and end (epoch seconds, a
   * number); projects all attributes, so the sweep needs no read of the key before revoking it.
   */
  keyEndsIndex: { name: "gsi2", partitionKey: "gsi2pk", sortKey: "gsi2sk" },
  /** Epoch seconds; DynamoDB TTL deletes the item some time after it passes. */
  ttlAttribute: "expiresAt",
} as const;

/** Partitions of the key-ends index: writes spread over them, the sweep Queries each. */
export const EXPIRY_BUCKETS = 8;

/** The key-ends index partition of a key: its id's first byte (ids are digests, so evenly spread). */
export function expiryBucket(keyId: string): string {
  const first = Number.parseInt(keyId.slice(0, 2), 16);
  return `ENDS#${(Number.isNaN(first) ? 0 : first) % EXPIRY_BUCKETS}`;
}

/** Every partition of the key-ends index, in order. */
export function expiryBuckets(): string[] {
  return Array.from({ length: EXPIRY_BUCKETS }, (_, i) => `ENDS#${i}`);
}

function keyEndsIndexDefinition() {
  const { keyEndsIndex } = TABLE_DESIGN;
  return {
    IndexName: keyEndsIndex.name,
    KeySchema: [
      { AttributeName: keyEndsIndex.partitionKey, KeyType: "HASH" as const },
      { AttributeName: keyEndsIndex.sortKey, KeyType: "RANGE" as const },
    ],
    Projection: { ProjectionType: "ALL" as const },
  };
}

/**
 * Creates the table (on-demand billing) with its index and TTL if it does not
 * exist, and waits until it is ACTIVE. For DynamoDB Local and tests; in AWS
 * the CDK stack owns the table (with point-in-time recovery and deletion
 * protection, which are not set here).
 */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<void> {
  const { partitionKey, sortKey, vehicleKeysIndex, keyEndsIndex, ttlAttribute } = TABLE_DESIGN;
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [
          { AttributeName: partitionKey, AttributeType: "S" },
          { AttributeName: sortKey, AttributeType: "S" },
          { AttributeName: vehicleKeysIndex.partitionKey, AttributeType: "S" },
          { AttributeName: vehicleKeysIndex.sortKey, AttributeType: "S" },
          { AttributeName: keyEndsIndex.partitionKey, AttributeType: "S" },
          { AttributeName: keyEndsIndex.sortKey, AttributeType: "N" },
        ],
        KeySchema: [
          { AttributeName: partitionKey, KeyType: "HASH" },
          { AttributeName: sortKey, KeyType: "RANGE" },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: vehicleKeysIndex.name,
            KeySchema: [
              { AttributeName: vehicleKeysIndex.partitionKey, KeyType: "HASH" },
              { AttributeName: vehicleKeysIndex.sortKey, KeyType: "RANGE" },
            ],
            Projection: { ProjectionType: "ALL" },
          },
          keyEndsIndexDefinition(),
        ],
      }),
    );
  } catch (error) {
    // Created already (by an earlier run or a parallel starter): fine, it is checked below.
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  await waitUntilTableExists({ client, maxWaitTime: 60, minDelay: 1 }, { TableName: tableName });
  const table = await client.send(new DescribeTableCommand({ TableName: tableName }));
  const keys = table.Table?.KeySchema?.map((k) => k.AttributeName).join(",");
  if (keys !== `${partitionKey},${sortKey}`) {
    throw new Error(`table ${tableName} exists with key schema (${keys}), not (${partitionKey},${sortKey})`);
  }
  await ensureKeyEndsIndex(client, tableName, table.Table?.GlobalSecondaryIndexes ?? []);
  const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
  const status = ttl.TimeToLiveDescription?.TimeToLiveStatus;
  if (status !== "ENABLED" && status !== "ENABLING") {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: ttlAttribute, Enabled: true },
      }),
    );
  }
}

/**
 * A table made before the key-ends index (a local `.data/` from an earlier version) gets it added, and
 * this waits until it is ACTIVE. Keys registered before carry no index attributes: see
 * docs/architecture.md "Expiry sweep".
 */
async function ensureKeyEndsIndex(
  client: DynamoDBClient,
  tableName: string,
  indexes: readonly { IndexName?: string | undefined; IndexStatus?: string | undefined }[],
): Promise<void> {
  const { keyEndsIndex } = TABLE_DESIGN;
  if (!indexes.some((index) => index.IndexName === keyEndsIndex.name)) {
    await client.send(
      new UpdateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [
          { AttributeName: keyEndsIndex.partitionKey, AttributeType: "S" },
          { AttributeName: keyEndsIndex.sortKey, AttributeType: "N" },
        ],
        GlobalSecondaryIndexUpdates: [{ Create: keyEndsIndexDefinition() }],
      }),
    );
  }
  for (let attempt = 0; attempt < 120; attempt++) {
    const table = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const index = table.Table?.GlobalSecondaryIndexes?.find((i) => i.IndexName === keyEndsIndex.name);
    if (index?.IndexStatus === undefined || index.IndexStatus === "ACTIVE") return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`table ${tableName}: index ${keyEndsIndex.name} did not become ACTIVE within a minute`);
}
