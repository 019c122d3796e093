// The TIGRESS share-invitation relay (draft-vinokurov-tigress-http-00 §4, §5,
// §6; docs/relay.md): six operations on
// store-and-forward mailboxes that hold end-to-end encrypted payloads the
// relay cannot read. The Initiator's claim is bound at Create; the first
// ReadSecureContent from any other claim binds the Recipient, by one
// conditional write, so two racing recipients cannot both win (each
// invitation is redeemed once); every other claim gets 401.
//
// Each operation runs in the same order, so answers are predictable:
// address rate limit → headers (claim 401, request id 400, and on Create
// and Update the attestation 401) → claim rate limit → mailbox (404 when unknown, expired or deleted) → the
// claim's role (401) → a repeated Mailbox-Request-ID (201, body unread, as
// §5.1 says "ignoring its body") → access rights (403) → body (400, 413) →
// one conditional write. All of it is decided on one read (the request's
// rate-limit buckets with its mailbox, or its claim's last creation), and
// the one write takes the rate-limit tokens too; an answer that changes
// nothing takes them on their own. When the write's condition fails (a
// race for the mailbox or a bucket), nothing was written and the request
// is read and decided again, so the answer is the one the new state calls
// for (docs/relay.md "Rate limits: how they are stored and taken").
// HTTP stays out: the handler (functions/relay.ts) maps the answers and the
// typed errors.
import { randomUUID } from "node:crypto";
import type * as z from "zod/mini";
import {
  AEAD_IV_BYTES,
  AEAD_TAG_BYTES,
  type AeadPayload,
  CreateMailboxRequestSchema,
  type CreateMailboxResponse,
  MAX_PAYLOAD_DATA_BYTES,
  type ReadSecureContentResponse,
  UpdateMailboxRequestSchema,
  type UpdateMailboxResponse,
  UUID_PATTERN,
} from "../../api/relay-schemas.js";
import "../../api/validation-messages.js";
import {
  AuthenticationError,
  NotFoundError,
  PayloadTooLargeError,
  ServiceError,
  ValidationError,
} from "../errors.js";
import { type Clock, systemClock } from "../ports.js";
import {
  DEFAULT_LIFETIME_LIMITS,
  hasRight,
  type LifetimeLimits,
  recipientRights,
  resolveExpiration,
} from "./mailbox-configuration.js";
import {
  attestationHeader,
  base64DecodedLength,
  type DeviceClaim,
  requestIdHeader,
  requireClaim,
} from "./mailbox-headers.js";
import { previewPage } from "./preview-page.js";
import {
  contended,
  DEFAULT_RATE_LIMITS,
  RateLimiter,
  type RateLimits,
  TAKE_ATTEMPTS,
} from "./rate-limiter.js";
import { AccessRightsError, MailboxConditionError, RateBucketMovedError } from "./relay-errors.js";
import type { MailboxRecord, MailboxSide, RelayStore, RequestState, TokenTake } from "./relay-store.js";

/** What a request brings besides its body: the three TIGRESS headers as received, and where it came from. */
export interface RelayCaller {
  readonly claim?: string | undefined;
  readonly requestId?: string | undefined;
  readonly attestation?: string | undefined;
  /** The client's address (API Gateway's sourceIp): only ever a rate-limit bucket key. */
  readonly address: string;
}

export interface RelayAnswer<B> {
  /** True for a repeated Mailbox-Request-ID: nothing was done again (§5.1; the route answers 201). */
  readonly repeated: boolean;
  readonly response: B;
}

export interface RelayOptions {
  readonly store: RelayStore;
  readonly clock?: Clock;
  readonly lifetime?: LifetimeLimits;
  readonly rateLimits?: RateLimits;
}

/** Both sides learn of changes by polling: this relay sends no push notifications. */
const PUSH_SUPPORTED = false;

type Role = MailboxSide | "none";

export class TigressRelay {
  private readonly store: RelayStore;
  private readonly clock: Clock;
  private readonly lifetime: LifetimeLimits;
  private readonly limiter: RateLimiter;

  constructor(options: RelayOptions) {
    this.store = options.store;
    this.clock = options.clock ?? systemClock;
    this.lifetime = options.lifetime ?? DEFAULT_LIFETIME_LIMITS;
    this.limiter = new RateLimiter(options.rateLimits ?? DEFAULT_RATE_LIMITS);
  }

  /** CreateMailbox (§6.1). `linkBase` is the relay's origin as clients reach it, e.g. https://relay.example. */
  async createMailbox(
    caller: RelayCaller,
    body: unknown,
    linkBase: string,
  ): Promise<RelayAnswer<CreateMailboxResponse>> {
    const now = this.clock.now();
    const headers = attempt(() => writeHeaders(caller, true));
    const digest = claimOf(headers);
    return this.perRequest(caller, { claimDigest: digest, creationOf: digest }, now, async (turn) => {
      const { claim, requestId, attestation } = unwrap(headers);
      const earlier = turn.state.creation;
      if (earlier?.requestId === requestId) {
        await turn.take();
        return this.repeatedCreate(earlier, linkBase, now);
      }
      const input = parseBody(CreateMailboxRequestSchema, body);
      const recipientRightsGranted = recipientRights(input.mailboxConfiguration?.accessRights);
      const expiration = resolveExpiration(input.mailboxConfiguration?.expiration, now, this.lifetime);
      const mailbox: MailboxRecord = {
        mailboxId: randomUUID(),
        initiator: {
          claimDigest: claim.digest,
          lastRequestId: requestId,
          ...(attestation === undefined ? {} : { attestation }),
        },
        payload: checkedPayload(input.payload),
        displayInformation: {
          title: input.displayInformation.title.normalize("NFC"),
          description: input.displayInformation.description.normalize("NFC"),
          imageURL: input.displayInformation.imageURL,
        },
        recipientRights: recipientRightsGranted,
        expiration,
      };
      const outcome = await this.store.createMailbox(mailbox, requestId, now, turn.tokens());
      // A parallel request with this id created it first (and took no token here): read again, answer 201.
      if (outcome.kind === "duplicate") throw new MailboxConditionError("created by a parallel request");
      return {
        repeated: false,
        response: {
          urlLink: mailboxUrl(linkBase, mailbox.mailboxId),
          isPushNotificationSupported: PUSH_SUPPORTED,
          expiration,
        },
      };
    });
  }

  /** UpdateMailbox (§6.2): replaces the payload. */
  async updateMailbox(
    mailboxId: string,
    caller: RelayCaller,
    body: unknown,
  ): Promise<RelayAnswer<UpdateMailboxResponse>> {
    const now = this.clock.now();
    const headers = attempt(() => writeHeaders(caller, true));
    const read = { claimDigest: claimOf(headers), mailboxId: mailboxKey(mailboxId) };
    return this.perRequest(caller, read, now, async (turn) => {
      const { claim, requestId, attestation } = unwrap(headers);
      const mailbox = existing(turn.state);
      const side = boundSide(mailbox, claim);
      const answer = { isPushNotificationSupported: PUSH_SUPPORTED };
      if (mailbox[side]?.lastRequestId === requestId) {
        await turn.take();
        return { repeated: true, response: answer };
      }
      if (side === "recipient" && !hasRight(mailbox.recipientRights, "W")) {
        throw new AccessRightsError(
          "the Initiator did not allow the Recipient to update this mailbox (no W)",
        );
      }
      const input = parseBody(UpdateMailboxRequestSchema, body);
      const write = {
        payload: checkedPayload(input.payload),
        requestId,
        ...(attestation === undefined ? {} : { attestation }),
      };
      await this.store.writePayload(mailbox.mailboxId, side, claim.digest, write, now, turn.tokens());
      return { repeated: false, response: answer };
    });
  }

  /** DeleteMailbox (§6.3). A second delete finds nothing: 404, as the draft says. */
  async deleteMailbox(mailboxId: string, caller: RelayCaller): Promise<RelayAnswer<undefined>> {
    const now = this.clock.now();
    const headers = attempt(() => writeHeaders(caller, false));
    const read = { claimDigest: claimOf(headers), mailboxId: mailboxKey(mailboxId) };
    return this.perRequest(caller, read, now, async (turn) => {
      const { claim } = unwrap(headers);
      const mailbox = existing(turn.state);
      const side = boundSide(mailbox, claim);
      if (side === "recipient" && !hasRight(mailbox.recipientRights, "D")) {
        throw new AccessRightsError(
          "the Initiator did not allow the Recipient to delete this mailbox (no D)",
        );
      }
      await this.store.deleteMailbox(
        mailbox.mailboxId,
        mailbox.initiator.claimDigest,
        claim.digest,
        now,
        turn.tokens(),
      );
      return { repeated: false, response: undefined };
    });
  }

  /** ReadDisplayInformationFromMailbox (§6.4): the preview page, for anyone holding the link. */
  async readDisplayInformation(mailboxId: string, caller: RelayCaller, linkBase: string): Promise<string> {
    const now = this.clock.now();
    return this.perRequest(caller, { mailboxId: mailboxKey(mailboxId) }, now, async (turn) => {
      const mailbox = existing(turn.state);
      await turn.take();
      return previewPage(mailbox.displayInformation, mailboxUrl(linkBase, mailbox.mailboxId));
    });
  }

  /** ReadSecureContentFromMailbox (§6.5): binds the first claim other than the Initiator's. */
  async readSecureContent(mailboxId: string, caller: RelayCaller): Promise<ReadSecureContentResponse> {
    const now = this.clock.now();
    const headers = attempt(() => {
      const claim = requireClaim(caller.claim);
      // Optional on a read (§6.5 does not list it); checked when sent, never used to deduplicate a read.
      requestIdHeader(caller.requestId, false);
      return { claim };
    });
    const read = { claimDigest: claimOf(headers), mailboxId: mailboxKey(mailboxId) };
    return this.perRequest(caller, read, now, async (turn) => {
      const { claim } = unwrap(headers);
      const mailbox = existing(turn.state);
      const role = roleOf(mailbox, claim);
      if (role !== "initiator" && !hasRight(mailbox.recipientRights, "R")) {
        throw new AccessRightsError("the Initiator did not allow the Recipient to read this mailbox (no R)");
      }
      if (role !== "none") {
        await turn.take();
        return content(mailbox);
      }
      if (mailbox.recipient !== undefined) throw notBound();
      // When another reader is bound first, the write fails and the next read answers 401 (or 200, when
      // that reader was this very claim in a parallel request).
      await this.store.bindRecipient(mailbox.mailboxId, { claimDigest: claim.digest }, now, turn.tokens());
      return content(mailbox);
    });
  }

  /** RelinquishMailbox (§6.6): the Recipient lets go, so another device can claim the mailbox. */
  async relinquishMailbox(mailboxId: string, caller: RelayCaller): Promise<RelayAnswer<undefined>> {
    const now = this.clock.now();
    const headers = attempt(() => writeHeaders(caller, false));
    const read = { claimDigest: claimOf(headers), mailboxId: mailboxKey(mailboxId) };
    return this.perRequest(caller, read, now, async (turn) => {
      const { claim, requestId } = unwrap(headers);
      const mailbox = existing(turn.state);
      const repeated =
        (mailbox.recipient?.claimDigest === claim.digest && mailbox.recipient.lastRequestId === requestId) ||
        (mailbox.relinquished?.claimDigest === claim.digest && mailbox.relinquished.requestId === requestId);
      if (repeated) {
        await turn.take();
        return { repeated: true, response: undefined };
      }
      const role = roleOf(mailbox, claim);
      if (role === "initiator") throw new AccessRightsError("only the Recipient can relinquish a mailbox");
      if (role !== "recipient") throw notBound();
      await this.store.relinquish(mailbox.mailboxId, claim.digest, requestId, now, turn.tokens());
      return { repeated: false, response: undefined };
    });
  }

  // ---- helpers ----

  /**
   * One request: read its buckets with what it is about (one round trip),
   * decide the rate limits on them (the address's first, refusing before
   * anything else is checked), then let `decide` answer on the same read.
   * Every answer costs the tokens the limits allowed, taken exactly once:
   * by `decide`'s one write (with its state change) or, for an answer that
   * writes nothing, refusals included, on their own. When that write finds
   * a bucket or the mailbox moved since the read, nothing was written: read
   * and decide again, up to TAKE_ATTEMPTS reads, then 429.
   */
  private async perRequest<T>(
    caller: RelayCaller,
    read: {
      readonly claimDigest?: string | undefined;
      readonly mailboxId?: string | undefined;
      readonly creationOf?: string | undefined;
    },
    now: Date,
    decide: (turn: Turn) => Promise<T>,
  ): Promise<T> {
    const buckets = this.limiter.buckets(caller.address, read.claimDigest);
    let lastTakes: readonly TokenTake[] = [];
    let lastConflict: MailboxConditionError | undefined;
    for (let attempt = 1; attempt <= TAKE_ATTEMPTS; attempt++) {
      const state = await this.store.readForRequest(
        {
          buckets,
          ...(read.mailboxId === undefined ? {} : { mailboxId: read.mailboxId }),
          ...(read.creationOf === undefined ? {} : { creationOf: read.creationOf }),
        },
        now,
      );
      const admission = this.limiter.admit(state.tats, caller.address, read.claimDigest, now);
      const turn = new Turn(state, admission.takes, this.store);
      lastTakes = admission.takes;
      try {
        if (admission.refusal) throw admission.refusal;
        return await decide(turn);
      } catch (error) {
        if (error instanceof RateBucketMovedError) continue;
        if (error instanceof MailboxConditionError) {
          lastConflict = error;
          continue;
        }
        if (!(error instanceof ServiceError) || turn.spent) throw error;
        // A refusal decided on the read still costs the tokens the limits allowed.
        try {
          await turn.take();
        } catch (takeError) {
          if (takeError instanceof RateBucketMovedError) continue;
          throw takeError;
        }
        throw error;
      }
    }
    if (lastConflict) throw lastConflict;
    throw contended(lastTakes);
  }

  private async repeatedCreate(
    earlier: { readonly mailboxId: string; readonly expiration?: string },
    linkBase: string,
    now: Date,
  ): Promise<RelayAnswer<CreateMailboxResponse>> {
    // The creation record lives exactly as long as its mailbox (same TTL; a delete removes it), so it answers
    // alone. Only if a delete's housekeeping failed does it outlive the mailbox: the repeat then answers 201
    // with a link whose next use is a 404, which is what a client whose first answer was lost would meet too.
    const mailbox =
      earlier.expiration === undefined
        ? await this.store.getMailbox(earlier.mailboxId, now)
        : { mailboxId: earlier.mailboxId, expiration: earlier.expiration };
    if (!mailbox) throw new NotFoundError("the mailbox this Mailbox-Request-ID created is gone");
    // The draft defines no body for this 201; returning the link keeps a client whose first answer was lost going.
    return {
      repeated: true,
      response: {
        urlLink: mailboxUrl(linkBase, mailbox.mailboxId),
        isPushNotificationSupported: PUSH_SUPPORTED,
        expiration: mailbox.expiration,
      },
    };
  }
}

/** One read of a request, and the tokens its limits allow, which are taken once: `tokens()` or `take()`. */
class Turn {
  spent = false;

  constructor(
    readonly state: RequestState,
    private readonly takes: readonly TokenTake[],
    private readonly store: RelayStore,
  ) {}

  /** The tokens, for the write that takes them with its state change. */
  tokens(): readonly TokenTake[] {
    this.spent = true;
    return this.takes;
  }

  /** Takes the tokens on their own, for an answer that changes nothing. */
  async take(): Promise<void> {
    const takes = this.tokens();
    if (takes.length > 0) await this.store.takeTokens(takes);
  }
}

type Checked<T> = { readonly value: T } | { readonly error: unknown };

/** Headers are checked before the read (the claim names a bucket to read) but refused after the limits. */
function attempt<T>(check: () => T): Checked<T> {
  try {
    return { value: check() };
  } catch (error) {
    return { error };
  }
}

function unwrap<T>(checked: Checked<T>): T {
  if ("error" in checked) throw checked.error;
  return checked.value;
}

/** The claim whose bucket a request reads: only when every header checked out (else only the address's). */
function claimOf(checked: Checked<{ readonly claim: DeviceClaim }>): string | undefined {
  return "value" in checked ? checked.value.claim.digest : undefined;
}

/**
 * The claim and request id (and the attestation where §5.3/§6.2 send one:
 * Create and Update; elsewhere it is ignored), in the order they are refused.
 */
function writeHeaders(
  caller: RelayCaller,
  withAttestation: boolean,
): { claim: DeviceClaim; requestId: string; attestation: string | undefined } {
  const claim = requireClaim(caller.claim);
  const requestId = requestIdHeader(caller.requestId, true);
  const attestation = withAttestation ? attestationHeader(caller.attestation) : undefined;
  return { claim, requestId, attestation };
}

/** The stored form of a mailbox id; undefined for an id that is not a UUID, which is never read. */
function mailboxKey(mailboxId: string): string | undefined {
  const id = mailboxId.toLowerCase();
  return UUID_PATTERN.test(id) ? id : undefined;
}

/** The unexpired mailbox as read; NotFoundError for an id that is not a UUID, unknown, expired or deleted. */
function existing(state: RequestState): MailboxRecord {
  if (!state.mailbox) throw new NotFoundError("no such mailbox: it never existed, expired or was deleted");
  return state.mailbox;
}

export function mailboxUrl(linkBase: string, mailboxId: string): string {
  return `${linkBase.replace(/\/+$/, "")}/v1/m/${mailboxId}`;
}

function roleOf(mailbox: MailboxRecord, claim: DeviceClaim): Role {
  if (mailbox.initiator.claimDigest === claim.digest) return "initiator";
  if (mailbox.recipient?.claimDigest === claim.digest) return "recipient";
  return "none";
}

function boundSide(mailbox: MailboxRecord, claim: DeviceClaim): MailboxSide {
  const role = roleOf(mailbox, claim);
  if (role === "none") throw notBound();
  return role;
}

function notBound(): AuthenticationError {
  return new AuthenticationError("this Mailbox-Device-Claim is not bound to the mailbox");
}

function content(mailbox: MailboxRecord): ReadSecureContentResponse {
  return {
    payload: { type: mailbox.payload.type, data: mailbox.payload.data },
    displayInformation: { ...mailbox.displayInformation },
    expiration: mailbox.expiration,
  };
}

/** Validates a parsed JSON body; 413 first when the payload alone is over the limit. */
function parseBody<S extends z.ZodMiniType>(schema: S, body: unknown): z.output<S> {
  if (body === undefined) throw new ValidationError("a JSON request body is required");
  const data = (body as { payload?: { data?: unknown } } | null)?.payload?.data;
  if (typeof data === "string" && base64DecodedLength(data) > MAX_PAYLOAD_DATA_BYTES) {
    throw new PayloadTooLargeError(`payload.data is over ${MAX_PAYLOAD_DATA_BYTES} bytes decoded`);
  }
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const fields = result.error.issues.map((issue) => ({
    path: ["body", ...issue.path.map(String)].join("."),
    message: issue.message,
  }));
  throw new ValidationError(
    `invalid request body: ${fields.map((f) => `${f.path}: ${f.message}`).join("; ")}`,
    fields,
  );
}

/** The payload as stored: the two fields of §7.2, `data` long enough for an IV and a tag. */
function checkedPayload(payload: AeadPayload): AeadPayload {
  const bytes = payload.data.length % 4 === 1 ? -1 : base64DecodedLength(payload.data);
  if (bytes < AEAD_IV_BYTES + AEAD_TAG_BYTES) {
    throw new ValidationError("payload.data must be base64 of IV ‖ ciphertext ‖ tag (at least 28 bytes)", [
      { path: "body.payload.data", message: "base64 of at least 28 bytes" },
    ]);
  }
  return { type: payload.type, data: payload.data };
}
