// The one DynamoDB table of the service: its key schema, its index and its
// TTL attribute, as data that the store adapter, ensureTable (local runs and
// tests) and the CDK stack (infra/) all read, so the three cannot disagree.
// Single-table design: every item has `pk` and `sk` (strings); keys are
// listed per vehicle through the `gsi1` index; `expiresAt` (epoch seconds)
// lets DynamoDB delete spent nonces and lapsed pairing records on its own.
//
//   item                 pk                          sk            gsi1pk / gsi1sk
//   OEM root cert        ROOT#<profile>              KEY#<ski>     –
//   secure element       SE#<seId>                   SE            –
//   vehicle              VEHICLE#<vehicleId>         VEHICLE       –
//   pairing record       VEHICLE#<vehicleId>         PAIRING       –              (TTL)
//   key                  KEY#<keyId>                 KEY           VEHICLE#<vehicleId> / KEY#<keyId>
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
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from "@aws-sdk/client-dynamodb";

export const TABLE_DESIGN = {
  partitionKey: "pk",
  sortKey: "sk",
  /** Global secondary index listing a vehicle's keys; projects all attributes. */
  vehicleKeysIndex: { name: "gsi1", partitionKey: "gsi1pk", sortKey: "gsi1sk" },
  /** Epoch seconds; DynamoDB TTL deletes the item some time after it passes. */
  ttlAttribute: "expiresAt",
} as const;

/**
 * Creates the table (on-demand billing) with its index and TTL if it does not
 * exist, and waits until it is ACTIVE. For DynamoDB Local and tests; in AWS
 * the CDK stack owns the table (with point-in-time recovery and deletion
 * protection, which are not set here).
 */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<void> {
  const { partitionKey, sortKey, vehicleKeysIndex, ttlAttribute } = TABLE_DESIGN;
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
