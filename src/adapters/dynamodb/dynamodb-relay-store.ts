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
// any number of racing readers exactly one binds.
//
// A request costs at most three operations (docs/architecture.md "DynamoDB
// budget"): one BatchGetItem reads its rate-limit buckets with its mailbox
// or its claim's creation record; one write takes its tokens, with its state
// change when it has one: a TransactWriteItems of a conditional update per
// bucket and the mailbox's write, or for a lone token one conditional
// UpdateItem. A bucket's condition is the GCRA decision taken on the read
// (TokenTake), so a bucket another request moved meanwhile cancels the whole
// write (RateBucketMovedError) and the relay reads again. The third is a
// delete's housekeeping (a repeated Create answers from the creation record,
// which keeps the mailbox's expiration; only a record stored before it kept
// one costs a third read, of the mailbox).
import { randomUUID } from "node:crypto";
import { ConditionalCheckFailedException, TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import type { AeadPayload, DisplayInformation } from "../../api/relay-schemas.js";
import { logger } from "../../service/logger.js";
import { MailboxConditionError, RateBucketMovedError } from "../../service/relay/relay-errors.js";
import type {
  CreateMailboxOutcome,
  MailboxParty,
  MailboxRecord,
  MailboxSide,
  RelayStore,
  RequestRead,
  RequestState,
  TokenTake,
} from "../../service/relay/relay-store.js";
import { createDocumentClient } from "./dynamodb-store.js";
import { TABLE_DESIGN } from "./table-design.js";

type Item = Record<string, unknown>;
type TransactItem = NonNullable<TransactWriteCommandInput["TransactItems"]>[number];
type ItemKey = { pk: string; sk: string };
type TokenUpdate = ConstructorParameters<typeof UpdateCommand>[0] & NonNullable<TransactItem["Update"]>;

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

  async readForRequest(read: RequestRead, now: Date): Promise<RequestState> {
    const keys: ItemKey[] = read.buckets.map((bucket) => key.bucket(bucket));
    if (read.mailboxId !== undefined) keys.push(key.mailbox(read.mailboxId));
    if (read.creationOf !== undefined) keys.push(key.creation(read.creationOf));
    const items = await this.batchGet(keys);
    const found = (itemKey: ItemKey) => items.get(`${itemKey.pk}\u0000${itemKey.sk}`);
    const tats = new Map<string, number | undefined>();
    for (const bucket of read.buckets) {
      const tat = found(key.bucket(bucket))?.tat;
      tats.set(bucket, typeof tat === "number" ? tat : undefined);
    }
    const mailbox =
      read.mailboxId === undefined ? undefined : unexpired(found(key.mailbox(read.mailboxId)), now);
    const creation =
      read.creationOf === undefined ? undefined : unexpired(found(key.creation(read.creationOf)), now);
    return {
      tats,
      ...(mailbox ? { mailbox: fromMailboxItem(mailbox) } : {}),
      ...(creation && typeof creation.requestId === "string" && typeof creation.mailboxId === "string"
        ? {
            creation: {
              requestId: creation.requestId,
              mailboxId: creation.mailboxId,
              ...(typeof creation.expiration === "string" ? { expiration: creation.expiration } : {}),
            },
          }
        : {}),
    };
  }

  async takeTokens(tokens: readonly TokenTake[]): Promise<void> {
    if (tokens.length === 0) return;
    const [only] = tokens;
    if (tokens.length === 1 && only) {
      try {
        await this.client.send(new UpdateCommand(this.tokenUpdate(only)));
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) {
          throw new RateBucketMovedError("the rate-limit bucket moved since it was read", { cause: error });
        }
        throw error;
      }
      return;
    }
    await this.transact(tokens, [], "");
  }

  async createMailbox(
    mailbox: MailboxRecord,
    requestId: string,
    now: Date,
    tokens: readonly TokenTake[] = [],
  ): Promise<CreateMailboxOutcome> {
    const expiresAt = expiresAtOf(mailbox.expiration);
    const writes: TransactItem[] = [
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
            // Kept here so a repeated Create answers from this record alone (one read fewer).
            expiration: mailbox.expiration,
            [TTL]: expiresAt,
          },
          ConditionExpression: "attribute_not_exists(pk) OR #ttl <= :now OR requestId <> :rid",
          ExpressionAttributeNames: { "#ttl": TTL },
          ExpressionAttributeValues: { ":now": nowSeconds(now), ":rid": requestId },
        },
      },
    ];
    try {
      await this.transact(tokens, writes, "the mailbox could not be created; retry");
      return { kind: "created" };
    } catch (error) {
      if (!(error instanceof MailboxConditionError)) throw error;
      const cancelled = error.cause instanceof TransactionCanceledException ? error.cause : undefined;
      const reasons = cancelled?.CancellationReasons ?? [];
      if (reasons[tokens.length + 1]?.Code === "ConditionalCheckFailed") {
        const earlier = await this.findCreation(mailbox.initiator.claimDigest, requestId, now);
        if (earlier !== undefined) return { kind: "duplicate", mailboxId: earlier };
      }
      throw error;
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

  async bindRecipient(
    mailboxId: string,
    recipient: MailboxParty,
    now: Date,
    tokens: readonly TokenTake[] = [],
  ): Promise<void> {
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
    await this.transact(
      tokens,
      [
        {
          Update: {
            TableName: this.tableName,
            Key: key.mailbox(mailboxId),
            UpdateExpression: update,
            ConditionExpression: `${UNEXPIRED} AND attribute_not_exists(#rc) AND #ic <> :claim`,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
          },
        },
      ],
      "a Recipient is bound already, or the mailbox is gone",
    );
  }

  async writePayload(
    mailboxId: string,
    side: MailboxSide,
    claimDigest: string,
    write: { readonly payload: AeadPayload; readonly requestId: string; readonly attestation?: string },
    now: Date,
    tokens: readonly TokenTake[] = [],
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
    await this.transact(
      tokens,
      [
        {
          Update: {
            TableName: this.tableName,
            Key: key.mailbox(mailboxId),
            UpdateExpression: update,
            ConditionExpression: `${UNEXPIRED} AND #claim = :claim AND (attribute_not_exists(#rid) OR #rid <> :rid)`,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
          },
        },
      ],
      `the ${side} is not bound to this claim, or the mailbox is gone`,
    );
  }

  async relinquish(
    mailboxId: string,
    claimDigest: string,
    requestId: string,
    now: Date,
    tokens: readonly TokenTake[] = [],
  ): Promise<void> {
    await this.transact(
      tokens,
      [
        {
          Update: {
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
          },
        },
      ],
      "the Recipient is not bound to this claim, or the mailbox is gone",
    );
  }

  async deleteMailbox(
    mailboxId: string,
    initiatorDigest: string,
    claimDigest: string,
    now: Date,
    tokens: readonly TokenTake[] = [],
  ): Promise<void> {
    await this.transact(
      tokens,
      [
        {
          Delete: {
            TableName: this.tableName,
            Key: key.mailbox(mailboxId),
            ConditionExpression: `${UNEXPIRED} AND #ic = :initiator AND (#ic = :claim OR #rc = :claim)`,
            ExpressionAttributeNames: {
              "#ttl": TTL,
              "#ic": SIDE.initiator.claim,
              "#rc": SIDE.recipient.claim,
            },
            ExpressionAttributeValues: {
              ":now": nowSeconds(now),
              ":claim": claimDigest,
              ":initiator": initiatorDigest,
            },
          },
        },
      ],
      "the claim is not bound, or the mailbox is gone",
    );
    // Housekeeping (TTL would remove it too): the Initiator's creation record, if it still names this mailbox.
    // The mailbox is already gone, so the delete has happened: a failure here is logged, never the caller's
    // error (a 500 would make a client retry a delete that then answers 404). A record left behind only
    // makes a repeat of its creation request answer "already done" until its TTL removes it.
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: key.creation(initiatorDigest),
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

  // ---- helpers ----

  /**
   * One write of `tokens` and the `writes` of a state change, all or none: a
   * lone state write as itself (no transaction needed), else one
   * TransactWriteItems. A bucket's failed condition (or a transaction
   * conflict on it) is RateBucketMovedError, whatever else failed; a state
   * write's is MailboxConditionError with the cancellation as its cause.
   */
  private async transact(
    tokens: readonly TokenTake[],
    writes: readonly TransactItem[],
    refusal: string,
  ): Promise<void> {
    const [lone] = writes;
    if (tokens.length === 0 && writes.length === 1 && lone) {
      try {
        if (lone.Update) await this.client.send(new UpdateCommand(lone.Update));
        else if (lone.Delete) await this.client.send(new DeleteCommand(lone.Delete));
        else if (lone.Put) await this.client.send(new PutCommand(lone.Put));
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) {
          throw new MailboxConditionError(refusal, { cause: error });
        }
        throw error;
      }
      return;
    }
    try {
      await this.client.send(
        new TransactWriteCommand({
          // Explicit, so the SDK's retries after a timeout are plainly idempotent (dynamodb-client.ts).
          ClientRequestToken: randomUUID(),
          TransactItems: [...tokens.map((take) => ({ Update: this.tokenUpdate(take) })), ...writes],
        }),
      );
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const reasons = error.CancellationReasons ?? [];
      const failed = (code: string | undefined) =>
        code === "ConditionalCheckFailed" || code === "TransactionConflict";
      if (reasons.slice(0, tokens.length).some((r) => failed(r.Code))) {
        throw new RateBucketMovedError("a rate-limit bucket moved since it was read", { cause: error });
      }
      if (reasons.slice(tokens.length).some((r) => failed(r.Code))) {
        throw new MailboxConditionError(refusal, { cause: error });
      }
      throw error;
    }
  }

  /** The conditional update that takes one token as decided on the read (src/service/relay/rate-limiter.ts). */
  private tokenUpdate(take: TokenTake): TokenUpdate {
    // The arrival time can be at most burst intervals ahead; the bucket is full (forgettable) after it.
    const ttl = Math.ceil((take.limitMs + take.intervalMs) / 1000) + 1;
    const itemKey = key.bucket(take.bucket);
    if (take.idle) {
      // Idle as read (or never used): restart from now, if still idle.
      return {
        TableName: this.tableName,
        Key: itemKey,
        UpdateExpression: "SET #type = :type, #tat = :next, #ttl = :ttl",
        ConditionExpression: "attribute_not_exists(pk) OR #tat <= :nowMs",
        ExpressionAttributeNames: { "#type": "type", "#tat": "tat", "#ttl": TTL },
        ExpressionAttributeValues: {
          ":type": "rate-bucket",
          ":next": take.nowMs + take.intervalMs,
          ":ttl": ttl,
          ":nowMs": take.nowMs,
        },
      };
    }
    // Busy with room as read: one interval more, if it is still busy and the room is still there.
    return {
      TableName: this.tableName,
      Key: itemKey,
      UpdateExpression: "SET #tat = #tat + :interval, #ttl = :ttl",
      ConditionExpression: "#tat > :nowMs AND #tat <= :limit",
      ExpressionAttributeNames: { "#tat": "tat", "#ttl": TTL },
      ExpressionAttributeValues: {
        ":interval": take.intervalMs,
        ":ttl": ttl,
        ":nowMs": take.nowMs,
        ":limit": take.limitMs,
      },
    };
  }

  /** Items by `pk\0sk`, strongly consistent; keys DynamoDB leaves unprocessed (throttling) are asked again. */
  private async batchGet(keys: readonly ItemKey[]): Promise<Map<string, Item>> {
    const found = new Map<string, Item>();
    let pending: Record<string, unknown>[] = [...keys];
    for (let round = 0; pending.length > 0; round++) {
      if (round > 0) await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** round));
      if (round === 5) throw new Error("DynamoDB left keys of a BatchGetItem unprocessed five times");
      const out = await this.client.send(
        new BatchGetCommand({
          RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } },
        }),
      );
      for (const item of out.Responses?.[this.tableName] ?? []) found.set(`${item.pk}\u0000${item.sk}`, item);
      pending = (out.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Record<string, unknown>[];
    }
    return found;
  }

  private async get(itemKey: ItemKey, now: Date): Promise<Item | undefined> {
    const out = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: itemKey, ConsistentRead: true }),
    );
    return unexpired(out.Item, now);
  }
}

/** Expired but not yet swept by TTL: gone all the same. */
function unexpired(item: Item | undefined, now: Date): Item | undefined {
  if (!item) return undefined;
  return typeof item[TTL] === "number" && (item[TTL] as number) <= nowSeconds(now) ? undefined : item;
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
