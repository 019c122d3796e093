// `npm run backfill:key-ends`: run once against a table from before the key-ends index, so the expiry
// sweep lists keys registered then (src/adapters/dynamodb/key-ends-backfill.ts). TABLE_NAME names the
// table; the endpoint and credentials are the SDK's usual settings (AWS_ENDPOINT_URL_DYNAMODB for
// DynamoDB Local). The caller needs dynamodb:Scan and dynamodb:UpdateItem on the table, which no
// function of the stack has: an operator's role, once.
import { createDocumentClient } from "../src/adapters/dynamodb/dynamodb-store.js";
import { backfillKeyEnds } from "../src/adapters/dynamodb/key-ends-backfill.js";

const tableName = process.env.TABLE_NAME;
if (!tableName) {
  process.stderr.write("backfill:key-ends: set TABLE_NAME to the service's table\n");
  process.exit(1);
}
const client = createDocumentClient();
try {
  const report = await backfillKeyEnds(client, tableName);
  process.stdout.write(`${JSON.stringify({ tableName, ...report })}\n`);
} finally {
  client.destroy();
}
