// The TIGRESS relay's RelayStore (src/service/relay/relay-store.ts) over the
// service's one DynamoDB table, in table-design.ts's conventions: string
// `pk`/`sk`, a `type` attribute, `expiresAt` in epoch seconds as the TTL
// attribute so DynamoDB deletes what has expired. Three item kinds, under
// prefixes of their own so they cannot meet the key store's items:
//
//   item                      pk                         sk       TTL (expiresAt)
//   mailbox                   MBX#<mailboxId>            MBX      its expiration
//   last creation of a claim  MBXCREATE#<claimDigest>    CREATE   the mailbox's expiration
//   rate-limit bucket         MBXRATE#<bucket>           RATE     when the bucket is full again
//
// TTL deletion lags (typically within days), so every read treats an item
// whose expiresAt has passed as absent, and every conditional write requires
// `expiresAt > now`. Each state change is one conditional write (docs/architecture.md
// "Conventions"); a failed condition becomes MailboxConditionError, a
// domain error. The first-reader binding is an UpdateItem conditioned on the Recipient
// attribute being absent, which DynamoDB evaluates atomically per item: of
// any number of racing readers exactly one binds. Rate limits use GCRA
// (rate-limiter.ts) as at most two conditional updates, no read.
import { randomUUID } from "node:crypto";
import { ConditionalCheckFailedException, TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import type { AeadPayload, DisplayInformation } from "../../api/relay-schemas.js";
import { logger } from "../../service/logger.js";
import { MailboxConditionError } from "../../service/relay/relay-errors.js";
import type {
  CreateMailboxOutcome,
  MailboxParty,
  MailboxRecord,
  MailboxSide,
  RatePolicy,
  RelayStore,
  TokenOutcome,
} from "../../service/relay/relay-store.js";
import { createDocumentClient } from "./dynamodb-store.js";
import { TABLE_DESIGN } from "./table-design.js";

type Item = Record<string, unknown>;

const TTL = TABLE_DESIGN.ttlAttribute;

const key = {
  mailbox: (mailboxId: string) => ({ pk: `MBX#${mailboxId}`, sk: "MBX" }),
  creation: (claimDigest: string) => ({ pk: `MBXCREATE#${claimDigest}`, sk: "CREATE" }),
  bucket: (bucket: string) => ({ pk: `MBXRATE#${bucket}`, sk: "RATE" }),
};

/** Attribute names of one side's fields on the mailbox item. */
const SIDE = {
  initiator: {
    claim: "initiatorClaimDigest",
    requestId: "initiatorRequestId",
    attestation: "initiatorAttestation",
  },
  recipient: {
    claim: "recipientClaimDigest",
    requestId: "recipientRequestId",
    attestation: "recipientAttestation",
  },
} as const;

const nowSeconds = (now: Date): number => Math.floor(now.getTime() / 1000);
const expiresAtOf = (expiration: string): number => Math.ceil(Date.parse(expiration) / 1000);

const UNEXPIRED = `attribute_exists(pk) AND #ttl > :now`;

export interface DynamoDbRelayStoreOptions {
  readonly tableName: string;
  /** A shared document client (one per Lambda container); else one with the SDK's standard settings. */
  readonly client?: DynamoDBDocumentClient;
}

export class DynamoDbRelayStore implements RelayStore {
  readonly tableName: string;
  private readonly client: DynamoDBDocumentClient;

  constructor(options: DynamoDbRelayStoreOptions) {
    if (typeof options.tableName !== "string" || options.tableName.length < 3) {
      throw new Error("tableName must be a DynamoDB table name (at least 3 characters)");
    }
    this.tableName = options.tableName;
    this.client = options.client ?? createDocumentClient();
  }

  async createMailbox(mailbox: MailboxRecord, requestId: string, now: Date): Promise<CreateMailboxOutcome> {
    const expiresAt = expiresAtOf(mailbox.expiration);
    try {
      await this.client.send(
        new TransactWriteCommand({
          // Explicit, so the SDK's retries after a timeout are plainly idempotent (dynamodb-client.ts).
          ClientRequestToken: randomUUID(),
          TransactItems: [
            {
              Put: {
                TableName: this.tableName,
                Item: toMailboxItem(mailbox),
                ConditionExpression: "attribute_not_exists(pk)",
              },
            },
            {
              // "The last successful ID per Device Claim" (§5.1), replaced unless it is this very request.
              Put: {
                TableName: this.tableName,
                Item: {
                  ...key.creation(mailbox.initiator.claimDigest),
                  type: "mailbox-creation",
                  requestId,
                  mailboxId: mailbox.mailboxId,
                  [TTL]: expiresAt,
                },
                ConditionExpression: "attribute_not_exists(pk) OR #ttl <= :now OR requestId <> :rid",
                ExpressionAttributeNames: { "#ttl": TTL },
                ExpressionAttributeValues: { ":now": nowSeconds(now), ":rid": requestId },
              },
            },
          ],
        }),
      );
      return { kind: "created" };
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const reasons = error.CancellationReasons ?? [];
      if (reasons[1]?.Code === "ConditionalCheckFailed") {
        const earlier = await this.findCreation(mailbox.initiator.claimDigest, requestId, now);
        if (earlier !== undefined) return { kind: "duplicate", mailboxId: earlier };
      }
      throw new MailboxConditionError("the mailbox could not be created; retry", { cause: error });
    }
  }

  async findCreation(claimDigest: string, requestId: string, now: Date): Promise<string | undefined> {
    const item = await this.get(key.creation(claimDigest), now);
    return item?.requestId === requestId ? (item.mailboxId as string) : undefined;
  }

  async getMailbox(mailboxId: string, now: Date): Promise<MailboxRecord | undefined> {
    const item = await this.get(key.mailbox(mailboxId), now);
    return item ? fromMailboxItem(item) : undefined;
  }

  async bindRecipient(mailboxId: string, recipient: MailboxParty, now: Date): Promise<MailboxRecord> {
    const names: Record<string, string> = {
      "#ttl": TTL,
      "#rc": SIDE.recipient.claim,
      "#ic": SIDE.initiator.claim,
    };
    const values: Record<string, unknown> = { ":now": nowSeconds(now), ":claim": recipient.claimDigest };
    let update = "SET #rc = :claim";
    if (recipient.attestation !== undefined) {
      update += ", #ra = :att";
      names["#ra"] = SIDE.recipient.attestation;
      values[":att"] = recipient.attestation;
    }
    const out = await this.conditional(
      () =>
        this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: key.mailbox(mailboxId),
            UpdateExpression: update,
            ConditionExpression: `${UNEXPIRED} AND attribute_not_exists(#rc) AND #ic <> :claim`,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ReturnValues: "ALL_NEW",
          }),
        ),
      "a Recipient is bound already, or the mailbox is gone",
    );
    return fromMailboxItem(out.Attributes as Item);
  }

  async writePayload(
    mailboxId: string,
    side: MailboxSide,
    claimDigest: string,
    write: { readonly payload: AeadPayload; readonly requestId: string; readonly attestation?: string },
    now: Date,
  ): Promise<void> {
    const names: Record<string, string> = {
      "#ttl": TTL,
      "#payload": "payload",
      "#claim": SIDE[side].claim,
      "#rid": SIDE[side].requestId,
    };
    const values: Record<string, unknown> = {
      ":now": nowSeconds(now),
      ":claim": claimDigest,
      ":rid": write.requestId,
      ":payload": { type: write.payload.type, data: write.payload.data },
    };
    let update = "SET #payload = :payload, #rid = :rid";
    if (write.attestation !== undefined) {
      update += ", #att = :att";
      names["#att"] = SIDE[side].attestation;
      values[":att"] = write.attestation;
    }
    await this.conditional(
      () =>
        this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: key.mailbox(mailboxId),
            UpdateExpression: update,
            ConditionExpression: `${UNEXPIRED} AND #claim = :claim AND (attribute_not_exists(#rid) OR #rid <> :rid)`,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
          }),
        ),
      `the ${side} is not bound to this claim, or the mailbox is gone`,
    );
  }

  async relinquish(mailboxId: string, claimDigest: string, requestId: string, now: Date): Promise<void> {
    await this.conditional(
      () =>
        this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: key.mailbox(mailboxId),
            UpdateExpression:
              "SET relinquishedClaimDigest = :claim, relinquishedRequestId = :rid REMOVE #rc, #rr, #ra",
            ConditionExpression: `${UNEXPIRED} AND #rc = :claim`,
            ExpressionAttributeNames: {
              "#ttl": TTL,
              "#rc": SIDE.recipient.claim,
              "#rr": SIDE.recipient.requestId,
              "#ra": SIDE.recipient.attestation,
            },
            ExpressionAttributeValues: { ":now": nowSeconds(now), ":claim": claimDigest, ":rid": requestId },
          }),
        ),
      "the Recipient is not bound to this claim, or the mailbox is gone",
    );
  }

  async deleteMailbox(mailboxId: string, claimDigest: string, now: Date): Promise<void> {
    const out = await this.conditional(
      () =>
        this.client.send(
          new DeleteCommand({
            TableName: this.tableName,
            Key: key.mailbox(mailboxId),
            ConditionExpression: `${UNEXPIRED} AND (#ic = :claim OR #rc = :claim)`,
            ExpressionAttributeNames: {
              "#ttl": TTL,
              "#ic": SIDE.initiator.claim,
              "#rc": SIDE.recipient.claim,
            },
            ExpressionAttributeValues: { ":now": nowSeconds(now), ":claim": claimDigest },
            ReturnValues: "ALL_OLD",
          }),
        ),
      "the claim is not bound, or the mailbox is gone",
    );
    const initiator = out.Attributes?.[SIDE.initiator.claim];
    if (typeof initiator !== "string") return;
    // Housekeeping (TTL would remove it too): the Initiator's creation record, if it still names this mailbox.
    // The mailbox is already gone, so the delete has happened: a failure here is logged, never the caller's
    // error (a 500 would make a client retry a delete that then answers 404). A record left behind only
    // makes a repeat of its creation request answer "already done" until its TTL removes it.
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: key.creation(initiator),
          ConditionExpression: "mailboxId = :id",
          ExpressionAttributeValues: { ":id": mailboxId },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) {
        logger.warn("relay housekeeping failed: creation record left for its TTL", {
          mailboxId,
          error: (error as Error).name,
        });
      }
    }
  }

  async takeToken(bucket: string, policy: RatePolicy, now: Date): Promise<TokenOutcome> {
    const nowMs = now.getTime();
    const limit = nowMs + (policy.burst - 1) * policy.intervalMs;
    // The arrival time can be at most burst intervals ahead; the bucket is full (forgettable) after it.
    const ttl = Math.ceil((nowMs + policy.burst * policy.intervalMs) / 1000) + 1;
    const itemKey = key.bucket(bucket);
    for (let attempt = 0; attempt < 3; attempt++) {
      // Idle bucket (or none): start over from now.
      const fresh = await this.tryUpdate(itemKey, {
        UpdateExpression: "SET #type = :type, #tat = :next, #ttl = :ttl",
        ConditionExpression: "attribute_not_exists(pk) OR #tat <= :nowMs",
        ExpressionAttributeNames: { "#type": "type", "#tat": "tat", "#ttl": TTL },
        ExpressionAttributeValues: {
          ":type": "rate-bucket",
          ":next": nowMs + policy.intervalMs,
          ":ttl": ttl,
          ":nowMs": nowMs,
        },
      });
      if (fresh.ok) return { allowed: true };
      const tat = typeof fresh.old?.tat === "number" ? fresh.old.tat : await this.bucketTat(itemKey);
      if (tat === undefined || tat <= nowMs) continue;
      if (tat > limit) return { allowed: false, retryAfterMs: tat - limit };
      // Busy bucket with room: one interval more, if nobody else took the room meanwhile.
      const busy = await this.tryUpdate(itemKey, {
        UpdateExpression: "SET #tat = #tat + :interval, #ttl = :ttl",
        ConditionExpression: "#tat > :nowMs AND #tat <= :limit",
        ExpressionAttributeNames: { "#tat": "tat", "#ttl": TTL },
        ExpressionAttributeValues: {
          ":interval": policy.intervalMs,
          ":ttl": ttl,
          ":nowMs": nowMs,
          ":limit": limit,
        },
      });
      if (busy.ok) return { allowed: true };
      const after = typeof busy.old?.tat === "number" ? busy.old.tat : await this.bucketTat(itemKey);
      if (after !== undefined && after > limit) return { allowed: false, retryAfterMs: after - limit };
    }
    // Heavy contention on one bucket is itself a reason to slow down.
    return { allowed: false, retryAfterMs: policy.intervalMs };
  }

  // ---- helpers ----

  private async get(itemKey: { pk: string; sk: string }, now: Date): Promise<Item | undefined> {
    const out = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: itemKey, ConsistentRead: true }),
    );
    const item = out.Item;
    if (!item) return undefined;
    // Expired but not yet swept by TTL: gone all the same.
    return typeof item[TTL] === "number" && (item[TTL] as number) <= nowSeconds(now) ? undefined : item;
  }

  private async bucketTat(itemKey: { pk: string; sk: string }): Promise<number | undefined> {
    const out = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: itemKey, ConsistentRead: true }),
    );
    return typeof out.Item?.tat === "number" ? out.Item.tat : undefined;
  }

  private async tryUpdate(
    itemKey: { pk: string; sk: string },
    expression: Pick<
      ConstructorParameters<typeof UpdateCommand>[0],
      "UpdateExpression" | "ConditionExpression" | "ExpressionAttributeNames" | "ExpressionAttributeValues"
    >,
  ): Promise<{ ok: true } | { ok: false; old: Item | undefined }> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: itemKey,
          ...expression,
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return { ok: true };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return { ok: false, old: error.Item as Item | undefined };
    }
  }

  private async conditional<T>(send: () => Promise<T>, refusal: string): Promise<T> {
    try {
      return await send();
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new MailboxConditionError(refusal, { cause: error });
      }
      throw error;
    }
  }
}

function toMailboxItem(mailbox: MailboxRecord): Item {
  const item: Item = {
    ...key.mailbox(mailbox.mailboxId),
    type: "mailbox",
    payload: { type: mailbox.payload.type, data: mailbox.payload.data },
    displayInformation: { ...mailbox.displayInformation },
    recipientRights: mailbox.recipientRights,
    expiration: mailbox.expiration,
    [TTL]: expiresAtOf(mailbox.expiration),
  };
  for (const side of ["initiator", "recipient"] as const) {
    const party = mailbox[side];
    if (!party) continue;
    item[SIDE[side].claim] = party.claimDigest;
    if (party.lastRequestId !== undefined) item[SIDE[side].requestId] = party.lastRequestId;
    if (party.attestation !== undefined) item[SIDE[side].attestation] = party.attestation;
  }
  if (mailbox.relinquished) {
    item.relinquishedClaimDigest = mailbox.relinquished.claimDigest;
    item.relinquishedRequestId = mailbox.relinquished.requestId;
  }
  return item;
}

function party(item: Item, side: MailboxSide): MailboxParty | undefined {
  const claim = item[SIDE[side].claim];
  if (typeof claim !== "string") return undefined;
  const requestId = item[SIDE[side].requestId];
  const attestation = item[SIDE[side].attestation];
  return {
    claimDigest: claim,
    ...(typeof requestId === "string" ? { lastRequestId: requestId } : {}),
    ...(typeof attestation === "string" ? { attestation } : {}),
  };
}

function fromMailboxItem(item: Item): MailboxRecord {
  const recipient = party(item, "recipient");
  const payload = item.payload as AeadPayload;
  return {
    mailboxId: (item.pk as string).slice("MBX#".length),
    initiator: party(item, "initiator")!,
    ...(recipient ? { recipient } : {}),
    ...(typeof item.relinquishedClaimDigest === "string" && typeof item.relinquishedRequestId === "string"
      ? {
          relinquished: {
            claimDigest: item.relinquishedClaimDigest,
            requestId: item.relinquishedRequestId,
          },
        }
      : {}),
    payload: { type: payload.type, data: payload.data },
    displayInformation: item.displayInformation as DisplayInformation,
    recipientRights: item.recipientRights as string,
    expiration: item.expiration as string,
  };
}
