// An in-process fake of the relay's RelayStore port
// (src/service/relay/relay-store.ts), for the domain tests that need many
// cases fast. It keeps the port's contract with plain maps: each write
// checks its condition (unexpired, bound claim, request id, absent
// recipient) and its tokens' conditions (each bucket still as the read
// decided), and either applies all of it or throws RateBucketMovedError or
// MailboxConditionError;
// records go in and out as copies, so the relay cannot mutate stored state
// by accident. The DynamoDB adapter runs the same contract against DynamoDB
// Local in test/adapters/dynamodb/dynamodb-relay-store.test.ts, and under the handler in
// test/functions/relay.test.ts.

import type { AeadPayload } from "../../../src/api/relay-schemas.js";
import { MailboxConditionError, RateBucketMovedError } from "../../../src/service/relay/relay-errors.js";
import type {
  CreateMailboxOutcome,
  MailboxParty,
  MailboxRecord,
  MailboxSide,
  RelayStore,
  RequestRead,
  RequestState,
  TokenTake,
} from "../../../src/service/relay/relay-store.js";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const copy = <T>(value: T): T => structuredClone(value);
const live = (expiration: string, now: Date) => Date.parse(expiration) > now.getTime();

export class MemoryRelayStore implements RelayStore {
  readonly mailboxes = new Map<string, MailboxRecord>();
  readonly creations = new Map<string, { requestId: string; mailboxId: string; expiration: string }>();
  readonly buckets = new Map<string, number>();
  /** Successful state changes (rate-limit buckets not counted). */
  writes = 0;

  async readForRequest(read: RequestRead, now: Date): Promise<RequestState> {
    const tats = new Map(read.buckets.map((bucket) => [bucket, this.buckets.get(bucket)] as const));
    const mailbox = read.mailboxId === undefined ? undefined : await this.getMailbox(read.mailboxId, now);
    const creation = read.creationOf === undefined ? undefined : this.creations.get(read.creationOf);
    return {
      tats,
      ...(mailbox ? { mailbox } : {}),
      ...(creation && live(creation.expiration, now) ? { creation: { ...creation } } : {}),
    };
  }

  async takeTokens(tokens: readonly TokenTake[]): Promise<void> {
    this.checkTokens(tokens);
    this.applyTokens(tokens);
  }

  async createMailbox(
    mailbox: MailboxRecord,
    requestId: string,
    now: Date,
    tokens: readonly TokenTake[] = [],
  ): Promise<CreateMailboxOutcome> {
    this.checkTokens(tokens);
    const claim = mailbox.initiator.claimDigest;
    const earlier = this.creations.get(claim);
    if (earlier && live(earlier.expiration, now) && earlier.requestId === requestId) {
      return { kind: "duplicate", mailboxId: earlier.mailboxId };
    }
    if (this.mailboxes.has(mailbox.mailboxId)) throw new MailboxConditionError("mailbox id taken");
    this.applyTokens(tokens);
    this.mailboxes.set(mailbox.mailboxId, copy(mailbox));
    this.creations.set(claim, { requestId, mailboxId: mailbox.mailboxId, expiration: mailbox.expiration });
    this.writes++;
    return { kind: "created" };
  }

  async findCreation(claimDigest: string, requestId: string, now: Date): Promise<string | undefined> {
    const earlier = this.creations.get(claimDigest);
    return earlier && live(earlier.expiration, now) && earlier.requestId === requestId
      ? earlier.mailboxId
      : undefined;
  }

  async getMailbox(mailboxId: string, now: Date): Promise<MailboxRecord | undefined> {
    const mailbox = this.mailboxes.get(mailboxId);
    return mailbox && live(mailbox.expiration, now) ? copy(mailbox) : undefined;
  }

  async bindRecipient(
    mailboxId: string,
    recipient: MailboxParty,
    now: Date,
    tokens: readonly TokenTake[] = [],
  ): Promise<void> {
    this.checkTokens(tokens);
    const mailbox = this.live(mailboxId, now);
    if (mailbox.recipient || mailbox.initiator.claimDigest === recipient.claimDigest) {
      throw new MailboxConditionError("a recipient is bound already");
    }
    this.applyTokens(tokens);
    mailbox.recipient = copy(recipient);
    this.writes++;
  }

  async writePayload(
    mailboxId: string,
    side: MailboxSide,
    claimDigest: string,
    write: { readonly payload: AeadPayload; readonly requestId: string; readonly attestation?: string },
    now: Date,
    tokens: readonly TokenTake[] = [],
  ): Promise<void> {
    this.checkTokens(tokens);
    const mailbox = this.live(mailboxId, now);
    const party = mailbox[side];
    if (party?.claimDigest !== claimDigest || party.lastRequestId === write.requestId) {
      throw new MailboxConditionError(`the ${side} is not bound to this claim`);
    }
    this.applyTokens(tokens);
    mailbox.payload = copy(write.payload);
    mailbox[side] = {
      ...party,
      lastRequestId: write.requestId,
      ...(write.attestation === undefined ? {} : { attestation: write.attestation }),
    };
    this.writes++;
  }

  async relinquish(
    mailboxId: string,
    claimDigest: string,
    requestId: string,
    now: Date,
    tokens: readonly TokenTake[] = [],
  ): Promise<void> {
    this.checkTokens(tokens);
    const mailbox = this.live(mailboxId, now);
    if (mailbox.recipient?.claimDigest !== claimDigest) throw new MailboxConditionError("not the recipient");
    this.applyTokens(tokens);
    delete mailbox.recipient;
    mailbox.relinquished = { claimDigest, requestId };
    this.writes++;
  }

  async deleteMailbox(
    mailboxId: string,
    initiatorDigest: string,
    claimDigest: string,
    now: Date,
    tokens: readonly TokenTake[] = [],
  ): Promise<void> {
    this.checkTokens(tokens);
    const mailbox = this.live(mailboxId, now);
    if (
      mailbox.initiator.claimDigest !== initiatorDigest ||
      (mailbox.initiator.claimDigest !== claimDigest && mailbox.recipient?.claimDigest !== claimDigest)
    ) {
      throw new MailboxConditionError("not bound");
    }
    this.applyTokens(tokens);
    this.mailboxes.delete(mailboxId);
    const creation = this.creations.get(mailbox.initiator.claimDigest);
    if (creation?.mailboxId === mailboxId) this.creations.delete(mailbox.initiator.claimDigest);
    this.writes++;
  }

  /** DynamoDB's conditions of a token's update (dynamodb-relay-store.ts), on the map. */
  private checkTokens(tokens: readonly TokenTake[]): void {
    for (const take of tokens) {
      const tat = this.buckets.get(take.bucket);
      const holds = take.idle
        ? tat === undefined || tat <= take.nowMs
        : tat !== undefined && tat > take.nowMs && tat <= take.limitMs;
      if (!holds) throw new RateBucketMovedError(`bucket ${take.bucket} moved`);
    }
  }

  private applyTokens(tokens: readonly TokenTake[]): void {
    for (const take of tokens) {
      const tat = this.buckets.get(take.bucket);
      this.buckets.set(
        take.bucket,
        take.idle || tat === undefined ? take.nowMs + take.intervalMs : tat + take.intervalMs,
      );
    }
  }

  /**
   * Everything stored, as one JSON text: what a privacy test searches. Payload data is shown as
   * `<ciphertext>`: it is random base64, which now and then spells a short needle ("Bob") by chance, and
   * it is the one field only the Secret opens (test/functions/relay.test.ts checks it is base64).
   */
  dump(): string {
    return JSON.stringify(
      {
        mailboxes: [...this.mailboxes.values()],
        creations: [...this.creations.entries()],
        buckets: [...this.buckets.keys()],
      },
      (key, value) => (key === "data" ? "<ciphertext>" : value),
    );
  }

  private live(mailboxId: string, now: Date): Mutable<MailboxRecord> {
    const mailbox = this.mailboxes.get(mailboxId);
    if (!mailbox || !live(mailbox.expiration, now)) throw new MailboxConditionError("no such mailbox");
    return mailbox as Mutable<MailboxRecord>;
  }
}
