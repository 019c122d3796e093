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
// one conditional write. When the write's condition fails (a race), the
// mailbox is read again to give the answer the new state calls for.
// HTTP stays out: the handler (functions/relay.ts) maps the answers and the
// typed errors.
import { randomUUID } from "node:crypto";
import type { z } from "zod";
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
import { AuthenticationError, NotFoundError, PayloadTooLargeError, ValidationError } from "../errors.js";
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
import { DEFAULT_RATE_LIMITS, RateLimiter, type RateLimits } from "./rate-limiter.js";
import { AccessRightsError, MailboxConditionError } from "./relay-errors.js";
import type { MailboxRecord, MailboxSide, RelayStore } from "./relay-store.js";

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
    this.limiter = new RateLimiter(options.store, options.rateLimits ?? DEFAULT_RATE_LIMITS);
  }

  /** CreateMailbox (§6.1). `linkBase` is the relay's origin as clients reach it, e.g. https://relay.example. */
  async createMailbox(
    caller: RelayCaller,
    body: unknown,
    linkBase: string,
  ): Promise<RelayAnswer<CreateMailboxResponse>> {
    const now = this.clock.now();
    const { claim, requestId, attestation } = await this.authenticate(caller, now, true);
    const earlier = await this.store.findCreation(claim.digest, requestId, now);
    if (earlier !== undefined) return this.repeatedCreate(earlier, linkBase, now);

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
    const outcome = await this.store.createMailbox(mailbox, requestId, now);
    if (outcome.kind === "duplicate") return this.repeatedCreate(outcome.mailboxId, linkBase, now);
    return {
      repeated: false,
      response: {
        urlLink: mailboxUrl(linkBase, mailbox.mailboxId),
        isPushNotificationSupported: PUSH_SUPPORTED,
        expiration,
      },
    };
  }

  /** UpdateMailbox (§6.2): replaces the payload. */
  async updateMailbox(
    mailboxId: string,
    caller: RelayCaller,
    body: unknown,
  ): Promise<RelayAnswer<UpdateMailboxResponse>> {
    const now = this.clock.now();
    const { claim, requestId, attestation } = await this.authenticate(caller, now, true);
    const mailbox = await this.existing(mailboxId, now);
    const side = boundSide(mailbox, claim);
    const answer = { isPushNotificationSupported: PUSH_SUPPORTED };
    if (mailbox[side]?.lastRequestId === requestId) return { repeated: true, response: answer };
    if (side === "recipient" && !hasRight(mailbox.recipientRights, "W")) {
      throw new AccessRightsError("the Initiator did not allow the Recipient to update this mailbox (no W)");
    }
    const input = parseBody(UpdateMailboxRequestSchema, body);
    const write = {
      payload: checkedPayload(input.payload),
      requestId,
      ...(attestation === undefined ? {} : { attestation }),
    };
    try {
      await this.store.writePayload(mailbox.mailboxId, side, claim.digest, write, now);
    } catch (error) {
      if (!(error instanceof MailboxConditionError)) throw error;
      const again = await this.existing(mailboxId, now);
      if (again[side]?.claimDigest !== claim.digest) throw notBound();
      if (again[side]?.lastRequestId === requestId) return { repeated: true, response: answer };
      throw error;
    }
    return { repeated: false, response: answer };
  }

  /** DeleteMailbox (§6.3). A second delete finds nothing: 404, as the draft says. */
  async deleteMailbox(mailboxId: string, caller: RelayCaller): Promise<RelayAnswer<undefined>> {
    const now = this.clock.now();
    const { claim } = await this.authenticate(caller, now);
    const mailbox = await this.existing(mailboxId, now);
    const side = boundSide(mailbox, claim);
    if (side === "recipient" && !hasRight(mailbox.recipientRights, "D")) {
      throw new AccessRightsError("the Initiator did not allow the Recipient to delete this mailbox (no D)");
    }
    try {
      await this.store.deleteMailbox(mailbox.mailboxId, claim.digest, now);
    } catch (error) {
      if (!(error instanceof MailboxConditionError)) throw error;
      await this.existing(mailboxId, now);
      throw notBound();
    }
    return { repeated: false, response: undefined };
  }

  /** ReadDisplayInformationFromMailbox (§6.4): the preview page, for anyone holding the link. */
  async readDisplayInformation(mailboxId: string, caller: RelayCaller, linkBase: string): Promise<string> {
    const now = this.clock.now();
    await this.limiter.admitAddress(caller.address, now);
    const mailbox = await this.existing(mailboxId, now);
    return previewPage(mailbox.displayInformation, mailboxUrl(linkBase, mailbox.mailboxId));
  }

  /** ReadSecureContentFromMailbox (§6.5): binds the first claim other than the Initiator's. */
  async readSecureContent(mailboxId: string, caller: RelayCaller): Promise<ReadSecureContentResponse> {
    const now = this.clock.now();
    await this.limiter.admitAddress(caller.address, now);
    const claim = requireClaim(caller.claim);
    // Optional on a read (§6.5 does not list it); checked when sent, never used to deduplicate a read.
    requestIdHeader(caller.requestId, false);
    await this.limiter.admitClaim(claim.digest, now);
    const mailbox = await this.existing(mailboxId, now);
    const role = roleOf(mailbox, claim);
    if (role === "initiator") return content(mailbox);
    if (!hasRight(mailbox.recipientRights, "R")) {
      throw new AccessRightsError("the Initiator did not allow the Recipient to read this mailbox (no R)");
    }
    if (role === "recipient") return content(mailbox);
    if (mailbox.recipient !== undefined) throw notBound();
    try {
      return content(await this.store.bindRecipient(mailbox.mailboxId, { claimDigest: claim.digest }, now));
    } catch (error) {
      if (!(error instanceof MailboxConditionError)) throw error;
      // Another reader was bound first, unless it was this very claim in a parallel request.
      const again = await this.existing(mailboxId, now);
      if (roleOf(again, claim) === "recipient") return content(again);
      throw notBound();
    }
  }

  /** RelinquishMailbox (§6.6): the Recipient lets go, so another device can claim the mailbox. */
  async relinquishMailbox(mailboxId: string, caller: RelayCaller): Promise<RelayAnswer<undefined>> {
    const now = this.clock.now();
    const { claim, requestId } = await this.authenticate(caller, now);
    const mailbox = await this.existing(mailboxId, now);
    const repeated = (m: MailboxRecord) =>
      (m.recipient?.claimDigest === claim.digest && m.recipient.lastRequestId === requestId) ||
      (m.relinquished?.claimDigest === claim.digest && m.relinquished.requestId === requestId);
    if (repeated(mailbox)) return { repeated: true, response: undefined };
    const role = roleOf(mailbox, claim);
    if (role === "initiator") throw new AccessRightsError("only the Recipient can relinquish a mailbox");
    if (role !== "recipient") throw notBound();
    try {
      await this.store.relinquish(mailbox.mailboxId, claim.digest, requestId, now);
    } catch (error) {
      if (!(error instanceof MailboxConditionError)) throw error;
      if (repeated(await this.existing(mailboxId, now))) return { repeated: true, response: undefined };
      throw notBound();
    }
    return { repeated: false, response: undefined };
  }

  // ---- helpers ----

  /**
   * Address limit, then the claim and request id (and the attestation where
   * §5.3/§6.2 send one: Create and Update; elsewhere it is ignored), then the
   * claim's limit.
   */
  private async authenticate(
    caller: RelayCaller,
    now: Date,
    withAttestation = false,
  ): Promise<{ claim: DeviceClaim; requestId: string; attestation: string | undefined }> {
    await this.limiter.admitAddress(caller.address, now);
    const claim = requireClaim(caller.claim);
    const requestId = requestIdHeader(caller.requestId, true);
    const attestation = withAttestation ? attestationHeader(caller.attestation) : undefined;
    await this.limiter.admitClaim(claim.digest, now);
    return { claim, requestId, attestation };
  }

  /** The unexpired mailbox; NotFoundError for an id that is not a UUID, unknown, expired or deleted. */
  private async existing(mailboxId: string, now: Date): Promise<MailboxRecord> {
    const id = mailboxId.toLowerCase();
    const mailbox = UUID_PATTERN.test(id) ? await this.store.getMailbox(id, now) : undefined;
    if (!mailbox) throw new NotFoundError("no such mailbox: it never existed, expired or was deleted");
    return mailbox;
  }

  private async repeatedCreate(
    mailboxId: string,
    linkBase: string,
    now: Date,
  ): Promise<RelayAnswer<CreateMailboxResponse>> {
    const mailbox = await this.store.getMailbox(mailboxId, now);
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
function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
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
