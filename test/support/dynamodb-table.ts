// A fresh service table on DynamoDB Local for one test file: starts the
// server through the same launcher `npm start` uses, creates the table with
// ensureTable (the layout the CDK stack also reads), and can scan everything,
// which is how tests prove that a refused request wrote nothing.
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { createDocumentClient } from "../../src/adapters/dynamodb/dynamodb-store.js";
import { ensureTable } from "../../src/adapters/dynamodb/table-design.js";
import { type DynamoDbLocal, startDynamoDbLocal } from "./dynamodb-local.js";

export const LOCAL_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };
export const LOCAL_REGION = "eu-west-1";

export interface TestTable {
  readonly server: DynamoDbLocal;
  readonly endpoint: string;
  readonly tableName: string;
  readonly client: DynamoDBClient;
  readonly documentClient: ReturnType<typeof createDocumentClient>;
  /** Every item, unmarshalled, sorted by pk then sk. */
  scan(): Promise<Record<string, unknown>[]>;
  stop(): Promise<void>;
}

export async function startTestTable(tableName = "carkeys-test"): Promise<TestTable> {
  const server = await startDynamoDbLocal();
  const config = { endpoint: server.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  const client = new DynamoDBClient(config);
  const documentClient = createDocumentClient(config);
  try {
    await ensureTable(client, tableName);
  } catch (error) {
    client.destroy();
    await server.stop();
    throw error;
  }
  return {
    server,
    endpoint: server.endpoint,
    tableName,
    client,
    documentClient,
    async scan() {
      const items: Record<string, unknown>[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const page = await documentClient.send(
          new ScanCommand({
            TableName: tableName,
            ConsistentRead: true,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        items.push(...(page.Items ?? []));
        start = page.LastEvaluatedKey;
      } while (start);
      return items.sort((a, b) => `${a.pk}#${a.sk}`.localeCompare(`${b.pk}#${b.sk}`));
    },
    async stop() {
      documentClient.destroy();
      client.destroy();
      await server.stop();
    },
  };
}
