// A one-off migration for tables from before the key-ends index
// (table-design.ts): key items with an end registered then carry no gsi2
// attributes, so the expiry sweep (src/service/expiry-sweep.ts) never lists
// them. This pass finds them with a paginated Scan — the only Scan in the
// project, run once by an operator (`npm run backfill:key-ends`), never by the
// service — and sets both attributes on each key that is still active, with a
// condition that it still is and has none yet, so it is safe to run twice, to
// interrupt, and beside the running service. Keys that left active meanwhile
// are skipped: they need no sweep.
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, ScanCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { expiryBucket, TABLE_DESIGN } from "./table-design.js";

export interface KeyEndsBackfillReport {
  /** Items the Scan read (every item of the table, page by page). */
  readonly scanned: number;
  /** Keys that got the index attributes now. */
  readonly indexed: number;
  /** Keys that left active, or got the attributes, between the Scan and the update. */
  readonly skipped: number;
}

const STILL_UNLISTED =
  "#type = :key AND attribute_exists(#attestation.#profile.#until) AND attribute_not_exists(#endsPk) " +
  "AND (attribute_not_exists(#state) OR #state = :active)";

export async function backfillKeyEnds(
  client: DynamoDBDocumentClient,
  tableName: string,
  options: { readonly pageSize?: number } = {},
): Promise<KeyEndsBackfillReport> {
  const { keyEndsIndex } = TABLE_DESIGN;
  const names = {
    "#type": "type",
    "#attestation": "attestation",
    "#profile": "profile",
    "#until": "validUntil",
    "#endsPk": keyEndsIndex.partitionKey,
    "#state": "state",
  };
  const values = { ":key": "key", ":active": "active" };
  let scanned = 0;
  let indexed = 0;
  let skipped = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: STILL_UNLISTED,
        ProjectionExpression: "pk, sk, keyId, #attestation.#profile.#until",
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        Limit: options.pageSize ?? 500,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    scanned += page.ScannedCount ?? 0;
    for (const item of page.Items ?? []) {
      const until = (item.attestation as { profile?: { validUntil?: unknown } } | undefined)?.profile
        ?.validUntil;
      if (typeof until !== "number" || typeof item.keyId !== "string") continue;
      try {
        await client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { pk: item.pk, sk: item.sk },
            UpdateExpression: "SET #endsPk = :bucket, #endsSk = :until",
            ConditionExpression: STILL_UNLISTED,
            ExpressionAttributeNames: { ...names, "#endsSk": keyEndsIndex.sortKey },
            ExpressionAttributeValues: { ...values, ":bucket": expiryBucket(item.keyId), ":until": until },
          }),
        );
        indexed++;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        skipped++;
      }
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return { scanned, indexed, skipped };
}
