// The RelayStore contract (src/service/relay/relay-store.ts), run against
// the DynamoDB adapter on DynamoDB Local and against the in-memory fake the
// domain tests use, so the fake cannot promise what DynamoDB does not do:
// conditional creation with the per-claim request id, expired-but-unswept
// items read as absent and refused for writes, the first-reader binding
// under parallel requests (exactly one wins), payload writes per side,
// relinquish, delete, and GCRA buckets that never let more than the burst
// through, even when hammered in parallel: a token is taken on a decision
// made on a read, by a write whose condition fails when another taker moved
// the bucket in between, so two takers of one last token never both win,
// and a write that fails for its bucket writes nothing of its state change.
import { randomUUID } from "node:crypto";
import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoDbRelayStore } from "../../../src/adapters/dynamodb/dynamodb-relay-store.js";
import { claimDigest } from "../../../src/service/relay/mailbox-headers.js";
import { TAKE_ATTEMPTS, tokenTake } from "../../../src/service/relay/rate-limiter.js";
import { MailboxConditionError, RateBucketMovedError } from "../../../src/service/relay/relay-errors.js";
import type {
  MailboxRecord,
  RatePolicy,
  RelayStore,
  TokenTake,
} from "../../../src/service/relay/relay-store.js";
import { MemoryRelayStore } from "../../service/relay/memory-relay-store.js";
import { DISPLAY, payloadOfSize } from "../../service/relay/relay-fixtures.js";
import { startTestTable, type TestTable } from "../../support/dynamodb-table.js";

const NOW = new Date("2030-01-01T00:00:00.500Z");
const LATER = new Date("2030-01-01T02:00:00Z");
const digest = () => claimDigest(randomUUID());

function mailbox(initiator = digest()): MailboxRecord {
  return {
    mailboxId: randomUUID(),
    initiator: { claimDigest: initiator, lastRequestId: randomUUID() },
    payload: payloadOfSize(40),
    displayInformation: { ...DISPLAY },
    recipientRights: "RWD",
    expiration: "2030-01-01T01:00:00Z",
  };
}

/** What the relay does for one bucket: read, decide, take on that decision; read again when it moved. */
async function takeToken(
  store: RelayStore,
  bucket: string,
  policy: RatePolicy,
  now: Date,
): Promise<{ allowed: true } | { allowed: false; retryAfterMs: number }> {
  for (let attempt = 0; attempt < TAKE_ATTEMPTS; attempt++) {
    const { tats } = await store.readForRequest({ buckets: [bucket] }, now);
    const decision = tokenTake(bucket, tats.get(bucket), now.getTime(), policy);
    if (!decision.allowed) return decision;
    try {
      await store.takeTokens([decision.take]);
      return { allowed: true };
    } catch (error) {
      if (!(error instanceof RateBucketMovedError)) throw error;
    }
  }
  return { allowed: false, retryAfterMs: policy.intervalMs };
}

/** The take a request would decide on `bucket` as it reads it now. */
async function decidedTake(
  store: RelayStore,
  bucket: string,
  policy: RatePolicy,
  now: Date,
): Promise<TokenTake> {
  const { tats } = await store.readForRequest({ buckets: [bucket] }, now);
  const decision = tokenTake(bucket, tats.get(bucket), now.getTime(), policy);
  if (!decision.allowed) throw new Error(`no token left in ${bucket}`);
  return decision.take;
}

let table: TestTable;

beforeAll(async () => {
  table = await startTestTable("carkeys-relay-store-test");
});

afterAll(async () => {
  await table?.stop();
});

const backends: [string, () => RelayStore][] = [
  ["memory fake", () => new MemoryRelayStore()],
  [
    "DynamoDB Local",
    () => new DynamoDbRelayStore({ tableName: table.tableName, client: table.documentClient }),
  ],
];

describe.each(backends)("RelayStore on %s", (_, make) => {
  it("creates once per claim and request id, and reads back what it stored", async () => {
    const store = make();
    const record = mailbox();
    const requestId = randomUUID();
    expect(await store.createMailbox(record, requestId, NOW)).toEqual({ kind: "created" });
    expect(await store.getMailbox(record.mailboxId, NOW)).toEqual(record);
    expect(await store.findCreation(record.initiator.claimDigest, requestId, NOW)).toBe(record.mailboxId);
    const retry = { ...mailbox(record.initiator.claimDigest) };
    expect(await store.createMailbox(retry, requestId, NOW)).toEqual({
      kind: "duplicate",
      mailboxId: record.mailboxId,
    });
    expect(await store.getMailbox(retry.mailboxId, NOW)).toBeUndefined();
    expect(await store.createMailbox(retry, randomUUID(), NOW)).toEqual({ kind: "created" });
    await expect(store.createMailbox(retry, randomUUID(), NOW)).rejects.toThrow(MailboxConditionError);
  });

  it("treats an expired mailbox as absent before any sweep, and refuses every write to it", async () => {
    const store = make();
    const record = mailbox();
    const requestId = randomUUID();
    await store.createMailbox(record, requestId, NOW);
    expect(await store.getMailbox(record.mailboxId, LATER)).toBeUndefined();
    expect(await store.findCreation(record.initiator.claimDigest, requestId, LATER)).toBeUndefined();
    const recipient = digest();
    await expect(store.bindRecipient(record.mailboxId, { claimDigest: recipient }, LATER)).rejects.toThrow(
      MailboxConditionError,
    );
    const write = { payload: payloadOfSize(50), requestId: randomUUID() };
    await expect(
      store.writePayload(record.mailboxId, "initiator", record.initiator.claimDigest, write, LATER),
    ).rejects.toThrow(MailboxConditionError);
    await expect(
      store.deleteMailbox(
        record.mailboxId,
        record.initiator.claimDigest,
        record.initiator.claimDigest,
        LATER,
      ),
    ).rejects.toThrow(MailboxConditionError);
    // A new Create with the old request id is a new request once the old mailbox expired.
    expect(await store.createMailbox(mailbox(record.initiator.claimDigest), requestId, LATER)).toEqual({
      kind: "created",
    });
  });

  it("binds exactly one of ten parallel first readers, never the Initiator", async () => {
    const store = make();
    const record = mailbox();
    await store.createMailbox(record, randomUUID(), NOW);
    await expect(
      store.bindRecipient(record.mailboxId, { claimDigest: record.initiator.claimDigest }, NOW),
    ).rejects.toThrow(MailboxConditionError);
    const readers = Array.from({ length: 10 }, () => digest());
    const results = await Promise.allSettled(
      readers.map((claim) => store.bindRecipient(record.mailboxId, { claimDigest: claim }, NOW)),
    );
    const winners = results.filter((r) => r.status === "fulfilled");
    expect(winners).toHaveLength(1);
    for (const r of results) {
      if (r.status === "rejected") expect(r.reason).toBeInstanceOf(MailboxConditionError);
    }
    const bound = (await store.getMailbox(record.mailboxId, NOW))!.recipient!.claimDigest;
    expect(bound).toBe(readers[results.findIndex((r) => r.status === "fulfilled")]);
  });

  it("writes the payload for a bound side once per request id", async () => {
    const store = make();
    const record = mailbox();
    await store.createMailbox(record, randomUUID(), NOW);
    const recipient = digest();
    await store.bindRecipient(record.mailboxId, { claimDigest: recipient }, NOW);
    const write = { payload: payloadOfSize(60), requestId: randomUUID(), attestation: "QUJD" };
    await store.writePayload(record.mailboxId, "recipient", recipient, write, NOW);
    await expect(store.writePayload(record.mailboxId, "recipient", recipient, write, NOW)).rejects.toThrow(
      MailboxConditionError,
    );
    await expect(
      store.writePayload(
        record.mailboxId,
        "initiator",
        recipient,
        { ...write, requestId: randomUUID() },
        NOW,
      ),
    ).rejects.toThrow(MailboxConditionError);
    const stored = (await store.getMailbox(record.mailboxId, NOW))!;
    expect(stored.payload).toEqual(write.payload);
    expect(stored.recipient).toEqual({
      claimDigest: recipient,
      lastRequestId: write.requestId,
      attestation: "QUJD",
    });
    expect(stored.initiator).toEqual(record.initiator);
  });

  it("relinquishes only the bound Recipient, remembering it, and lets another bind", async () => {
    const store = make();
    const record = mailbox();
    await store.createMailbox(record, randomUUID(), NOW);
    const first = digest();
    await store.bindRecipient(record.mailboxId, { claimDigest: first }, NOW);
    const requestId = randomUUID();
    await expect(store.relinquish(record.mailboxId, digest(), requestId, NOW)).rejects.toThrow(
      MailboxConditionError,
    );
    await store.relinquish(record.mailboxId, first, requestId, NOW);
    const after = (await store.getMailbox(record.mailboxId, NOW))!;
    expect(after.recipient).toBeUndefined();
    expect(after.relinquished).toEqual({ claimDigest: first, requestId });
    const second = digest();
    await store.bindRecipient(record.mailboxId, { claimDigest: second }, NOW);
    expect((await store.getMailbox(record.mailboxId, NOW))!.recipient).toEqual({ claimDigest: second });
  });

  it("deletes for a bound claim only, with the Initiator's creation record", async () => {
    const store = make();
    const record = mailbox();
    const requestId = randomUUID();
    await store.createMailbox(record, requestId, NOW);
    await expect(
      store.deleteMailbox(record.mailboxId, record.initiator.claimDigest, digest(), NOW),
    ).rejects.toThrow(MailboxConditionError);
    await store.deleteMailbox(
      record.mailboxId,
      record.initiator.claimDigest,
      record.initiator.claimDigest,
      NOW,
    );
    expect(await store.getMailbox(record.mailboxId, NOW)).toBeUndefined();
    expect(await store.findCreation(record.initiator.claimDigest, requestId, NOW)).toBeUndefined();
    await expect(
      store.deleteMailbox(record.mailboxId, record.initiator.claimDigest, record.initiator.claimDigest, NOW),
    ).rejects.toThrow(MailboxConditionError);
  });

  it("lets a bucket's burst through, then one per interval, and never more in parallel", async () => {
    const store = make();
    const policy = { burst: 3, intervalMs: 1000 };
    const bucket = `test:${randomUUID()}`;
    for (let i = 0; i < 3; i++)
      expect(await takeToken(store, bucket, policy, NOW)).toEqual({ allowed: true });
    expect(await takeToken(store, bucket, policy, NOW)).toEqual({ allowed: false, retryAfterMs: 1000 });
    expect(await takeToken(store, bucket, policy, new Date(NOW.getTime() + 1000))).toEqual({ allowed: true });
    const hammered = `test:${randomUUID()}`;
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, () => takeToken(store, hammered, { burst: 5, intervalMs: 60_000 }, NOW)),
    );
    const allowed = outcomes.filter((o) => o.allowed).length;
    expect(allowed).toBeGreaterThan(0);
    expect(allowed).toBeLessThanOrEqual(5);
  });

  it("lets exactly one of two takers that read the same last token win; the other finds it gone", async () => {
    const store = make();
    const policy = { burst: 2, intervalMs: 60_000 };
    const bucket = `test:${randomUUID()}`;
    expect(await takeToken(store, bucket, policy, NOW)).toEqual({ allowed: true });
    // Both read the bucket before either writes: each decides there is one token left.
    const [a, b] = await Promise.all([
      decidedTake(store, bucket, policy, NOW),
      decidedTake(store, bucket, policy, NOW),
    ]);
    const results = await Promise.allSettled([store.takeTokens([a]), store.takeTokens([b])]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const loser = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect(loser.reason).toBeInstanceOf(RateBucketMovedError);
    // Read again, the loser is refused: the bucket is spent for a whole interval.
    expect(await takeToken(store, bucket, policy, NOW)).toEqual({ allowed: false, retryAfterMs: 60_000 });
  });

  it("lets exactly one of two takers of a new bucket with a burst of one win", async () => {
    const store = make();
    const policy = { burst: 1, intervalMs: 60_000 };
    const bucket = `test:${randomUUID()}`;
    const [a, b] = await Promise.all([
      decidedTake(store, bucket, policy, NOW),
      decidedTake(store, bucket, policy, NOW),
    ]);
    expect(a.idle && b.idle).toBe(true);
    const results = await Promise.allSettled([store.takeTokens([a]), store.takeTokens([b])]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect((results.find((r) => r.status === "rejected") as PromiseRejectedResult).reason).toBeInstanceOf(
      RateBucketMovedError,
    );
    // Ten more racing takers, each going the relay's way (read, decide, write, again): none gets through.
    const late = await Promise.all(Array.from({ length: 10 }, () => takeToken(store, bucket, policy, NOW)));
    expect(late.every((o) => !o.allowed)).toBe(true);
  });

  it("writes nothing of a state change whose token's bucket moved since the read", async () => {
    const store = make();
    const record = mailbox();
    await store.createMailbox(record, randomUUID(), NOW);
    const policy = { burst: 1, intervalMs: 60_000 };
    const bucket = `test:${randomUUID()}`;
    const stale = await decidedTake(store, bucket, policy, NOW);
    await store.takeTokens([await decidedTake(store, bucket, policy, NOW)]);
    const write = { payload: payloadOfSize(70), requestId: randomUUID() };
    await expect(
      store.writePayload(record.mailboxId, "initiator", record.initiator.claimDigest, write, NOW, [stale]),
    ).rejects.toThrow(RateBucketMovedError);
    await expect(
      store.bindRecipient(record.mailboxId, { claimDigest: digest() }, NOW, [stale]),
    ).rejects.toThrow(RateBucketMovedError);
    await expect(
      store.deleteMailbox(record.mailboxId, record.initiator.claimDigest, record.initiator.claimDigest, NOW, [
        stale,
      ]),
    ).rejects.toThrow(RateBucketMovedError);
    const other = mailbox();
    await expect(store.createMailbox(other, randomUUID(), NOW, [stale])).rejects.toThrow(
      RateBucketMovedError,
    );
    expect(await store.getMailbox(other.mailboxId, NOW)).toBeUndefined();
    expect(await store.getMailbox(record.mailboxId, NOW)).toEqual(record);
    // With a fresh decision (another bucket) the same write goes through and takes its token.
    const fresh = `test:${randomUUID()}`;
    const take = await decidedTake(store, fresh, policy, NOW);
    await store.writePayload(record.mailboxId, "initiator", record.initiator.claimDigest, write, NOW, [take]);
    expect((await store.getMailbox(record.mailboxId, NOW))!.payload).toEqual(write.payload);
    expect((await store.readForRequest({ buckets: [fresh] }, NOW)).tats.get(fresh)).toBe(
      NOW.getTime() + 60_000,
    );
  });

  it("reads buckets, the mailbox and a claim's creation together, as absent when expired", async () => {
    const store = make();
    const record = mailbox();
    const requestId = randomUUID();
    await store.createMailbox(record, requestId, NOW);
    const bucket = `test:${randomUUID()}`;
    await takeToken(store, bucket, { burst: 5, intervalMs: 1000 }, NOW);
    const read = {
      buckets: [bucket, `test:${randomUUID()}`],
      mailboxId: record.mailboxId,
      creationOf: record.initiator.claimDigest,
    };
    const state = await store.readForRequest(read, NOW);
    expect([...state.tats.values()]).toEqual([NOW.getTime() + 1000, undefined]);
    expect(state.mailbox).toEqual(record);
    expect(state.creation).toEqual({ requestId, mailboxId: record.mailboxId, expiration: record.expiration });
    const later = await store.readForRequest(read, LATER);
    expect(later.mailbox).toBeUndefined();
    expect(later.creation).toBeUndefined();
  });
});

describe("DynamoDB items", () => {
  it("use the table's conventions: MBX prefixes, a type, expiresAt as epoch seconds", async () => {
    const store = new DynamoDbRelayStore({ tableName: table.tableName, client: table.documentClient });
    const record = mailbox();
    await store.createMailbox(record, randomUUID(), NOW);
    await takeToken(store, "addr:0123", { burst: 2, intervalMs: 1000 }, NOW);
    const items = await table.scan();
    const mine = items.filter((i) => i.pk === `MBX#${record.mailboxId}`);
    expect(mine).toEqual([
      expect.objectContaining({
        sk: "MBX",
        type: "mailbox",
        expiresAt: Date.parse(record.expiration) / 1000,
      }),
    ]);
    expect(items).toContainEqual(
      expect.objectContaining({ pk: `MBXCREATE#${record.initiator.claimDigest}`, sk: "CREATE" }),
    );
    expect(items).toContainEqual(
      expect.objectContaining({
        pk: "MBXRATE#addr:0123",
        sk: "RATE",
        type: "rate-bucket",
        expiresAt: expect.any(Number),
      }),
    );
    for (const item of items) expect(String(item.pk)).toMatch(/^MBX(?:#|CREATE#|RATE#)/);
  });

  it("read a creation record stored without the mailbox's expiration as a creation without one", async () => {
    const store = new DynamoDbRelayStore({ tableName: table.tableName, client: table.documentClient });
    const record = mailbox();
    const requestId = randomUUID();
    await store.createMailbox(record, requestId, NOW);
    // A record as stored before the creation kept the expiration: the relay then reads the mailbox to answer.
    await table.documentClient.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: { pk: `MBXCREATE#${record.initiator.claimDigest}`, sk: "CREATE" },
        UpdateExpression: "REMOVE expiration",
      }),
    );
    const state = await store.readForRequest({ buckets: [], creationOf: record.initiator.claimDigest }, NOW);
    expect(state.creation).toEqual({ requestId, mailboxId: record.mailboxId });
  });
});
