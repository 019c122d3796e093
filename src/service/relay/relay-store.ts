// The relay's persistence port (TIGRESS HTTP relay, draft-vinokurov-tigress-http-00
// §4.1, §4.3, §5.1, §8.1): mailboxes, the last request id per claim, and
// rate-limit buckets. Its own port rather than methods on ../ports.ts Store,
// so the relay is one module and the key store does not grow
// mailbox methods.
//
// What a record holds is what the draft says the relay may see, and less:
// the random mailbox id, SHA-256 digests of the device claims (a claim is
// the only credential, so the table never holds one in usable form), the
// ciphertext as the client sent it, the plaintext displayInformation the
// draft makes public (§6.4), the Initiator's access rights, the expiry, the
// last request ids and opaque attestation blobs. No push tokens (this relay
// does not push), no client addresses, no names, nothing of the plaintext.
//
// A request reads everything it decides on in one go (readForRequest: its
// rate-limit buckets with its mailbox or its claim's creation record) and
// then makes one write, which takes its rate-limit tokens and makes its
// state change together (docs/relay.md "Rate limits: how they are stored
// and taken"). Every state change is one conditional write (docs/architecture.md
// "Conventions") that also requires the mailbox to be unexpired, so a
// mailbox past its expiration but not yet swept by DynamoDB TTL behaves as
// deleted. A failed condition writes nothing, tokens included, and throws
// RateBucketMovedError when a bucket moved since the read, else
// MailboxConditionError; the relay then reads again and decides again. The
// first-reader binding is such a write (`recipient` absent → set), so of two
// racing recipients exactly one is bound.
import type { AeadPayload, DisplayInformation } from "../../api/relay-schemas.js";

/** The two bound parties of a mailbox (§4.1). */
export type MailboxSide = "initiator" | "recipient";

/** A bound claim: its digest, the last successful request id (§5.1) and its latest attestation (§5.3). */
export interface MailboxParty {
  /** SHA-256 of the lower-case claim UUID, hex. */
  readonly claimDigest: string;
  /** Lower-case UUID of the last state change this claim made. */
  readonly lastRequestId?: string;
  /** The Mailbox-Device-Attestation header as sent (base64), opaque to the relay. */
  readonly attestation?: string;
}

export interface MailboxRecord {
  /** v4 UUID, lower case; the capability in the share link (§8.1.2). */
  readonly mailboxId: string;
  readonly initiator: MailboxParty;
  /** Absent until the first ReadSecureContent from an unknown claim (§4.3), and after RelinquishMailbox. */
  readonly recipient?: MailboxParty;
  /** The Recipient that relinquished last, kept so its retried PATCH answers 201, not 401. */
  readonly relinquished?: { readonly claimDigest: string; readonly requestId: string };
  /** The single payload slot (§6.2: each update replaces it). */
  readonly payload: AeadPayload;
  readonly displayInformation: DisplayInformation;
  /** What the Recipient may do: a non-empty subset of "RWD", in that order. The Initiator may do all. */
  readonly recipientRights: string;
  /** RFC 3339 UTC, whole seconds (`2024-01-11T10:00:00Z`). */
  readonly expiration: string;
}

export type CreateMailboxOutcome =
  | { readonly kind: "created" }
  /** This claim's last creation had this request id: nothing was created; `mailboxId` is the earlier one. */
  | { readonly kind: "duplicate"; readonly mailboxId: string };

/** A bucket for the generic cell rate algorithm (a token bucket stated as one timestamp). */
export interface RatePolicy {
  /** Requests allowed back to back from a full bucket. */
  readonly burst: number;
  /** Milliseconds per request at the sustained rate. */
  readonly intervalMs: number;
}

/**
 * One token a write takes, decided on the bucket as the request read it
 * (rate-limiter.ts). The write's condition is that decision: it holds only
 * while the bucket is still as read in the respect that matters, so a bucket
 * another request moved meanwhile makes the write fail (RateBucketMovedError)
 * rather than take a token that is no longer there.
 */
export interface TokenTake {
  readonly bucket: string;
  /**
   * True when the bucket was idle as read (absent, or its arrival time at or
   * before `nowMs`): it restarts at `nowMs + intervalMs`, on condition it is
   * still idle. False: its arrival time moves one interval on, on condition
   * it is still after `nowMs` and at most `limitMs`.
   */
  readonly idle: boolean;
  readonly nowMs: number;
  readonly intervalMs: number;
  /** The latest arrival time that still leaves a token: `nowMs + (burst − 1)·interval`. */
  readonly limitMs: number;
}

/** What one request reads, in one round trip. */
export interface RequestRead {
  /** Rate-limit bucket keys (rate-limiter.ts). */
  readonly buckets: readonly string[];
  /** The mailbox the request is about, when its id is a UUID. */
  readonly mailboxId?: string;
  /** A claim digest whose last creation (CreateMailbox's request id) the request needs. */
  readonly creationOf?: string;
}

export interface RequestState {
  /** Each bucket's theoretical arrival time (epoch ms) as read; undefined for a bucket never used or forgotten. */
  readonly tats: ReadonlyMap<string, number | undefined>;
  /** The mailbox, strongly consistent; undefined when absent or expired (or not asked for). */
  readonly mailbox?: MailboxRecord;
  /**
   * The claim's last unexpired creation, when asked for and present, with the
   * created mailbox's expiration so a repeated Create answers without reading
   * the mailbox (absent only from records stored before it was kept there).
   */
  readonly creation?: {
    readonly requestId: string;
    readonly mailboxId: string;
    readonly expiration?: string;
  };
}

export interface RelayStore {
  /**
   * Everything `read` names, strongly consistent, in one round trip
   * (DynamoDB: one BatchGetItem).
   */
  readForRequest(read: RequestRead, now: Date): Promise<RequestState>;

  /**
   * Takes the tokens and nothing else, all or none: for a request that
   * changes no state (a read, a repeat, a refusal). RateBucketMovedError
   * when a bucket moved since the read.
   */
  takeTokens(tokens: readonly TokenTake[]): Promise<void>;

  // Each write below takes `tokens` in the same transaction: it writes all
  // of it or nothing, and throws RateBucketMovedError when a token's bucket
  // moved since the read (before MailboxConditionError, when both failed).

  /**
   * Stores a new mailbox and remembers `requestId` as the last creation of
   * its Initiator's claim, in one transaction. When that claim's remembered
   * creation (unexpired) already has this request id, creates nothing, takes
   * no token and answers `duplicate` with the earlier mailbox's id.
   * MailboxConditionError when the mailbox id is taken (122 random bits:
   * never in practice).
   */
  createMailbox(
    mailbox: MailboxRecord,
    requestId: string,
    now: Date,
    tokens?: readonly TokenTake[],
  ): Promise<CreateMailboxOutcome>;

  /** The mailbox id of this claim's last unexpired creation, if its request id is `requestId`. */
  findCreation(claimDigest: string, requestId: string, now: Date): Promise<string | undefined>;

  /** The mailbox, strongly consistent; undefined when absent or expired at `now`. */
  getMailbox(mailboxId: string, now: Date): Promise<MailboxRecord | undefined>;

  /**
   * The first-reader binding: makes `recipient` the Recipient if none is bound
   * and its claim is not the Initiator's. MailboxConditionError when a
   * recipient is bound already, or the mailbox is gone or expired.
   */
  bindRecipient(
    mailboxId: string,
    recipient: MailboxParty,
    now: Date,
    tokens?: readonly TokenTake[],
  ): Promise<void>;

  /**
   * UpdateMailbox: replaces the payload and records `requestId` (and the
   * attestation, when given) for `side`. MailboxConditionError unless `side`
   * is still bound to `claimDigest`, its last request id is not `requestId`,
   * and the mailbox is unexpired.
   */
  writePayload(
    mailboxId: string,
    side: MailboxSide,
    claimDigest: string,
    write: { readonly payload: AeadPayload; readonly requestId: string; readonly attestation?: string },
    now: Date,
    tokens?: readonly TokenTake[],
  ): Promise<void>;

  /**
   * RelinquishMailbox: unbinds the Recipient and remembers it as `relinquished`.
   * MailboxConditionError unless the Recipient is `claimDigest` and the mailbox is unexpired.
   */
  relinquish(
    mailboxId: string,
    claimDigest: string,
    requestId: string,
    now: Date,
    tokens?: readonly TokenTake[],
  ): Promise<void>;

  /**
   * DeleteMailbox: removes the mailbox of Initiator `initiatorDigest` (and
   * that Initiator's remembered creation of it). MailboxConditionError unless
   * `claimDigest` is the Initiator's or the bound Recipient's, the Initiator
   * is `initiatorDigest`, and the mailbox is unexpired. Once the mailbox is
   * gone it resolves: failing to remove the creation record is the store's
   * to log.
   */
  deleteMailbox(
    mailboxId: string,
    initiatorDigest: string,
    claimDigest: string,
    now: Date,
    tokens?: readonly TokenTake[],
  ): Promise<void>;
}
