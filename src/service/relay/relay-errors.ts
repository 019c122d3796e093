// The relay's own refusals (TIGRESS HTTP relay, draft-vinokurov-tigress-http-00),
// beside the service-wide ones in ../errors.ts that it reuses unchanged:
// ValidationError (400), AuthenticationError (401, a claim the mailbox does
// not know), NotFoundError (404, unknown, expired or deleted mailbox) and
// PayloadTooLargeError (413). What the draft leaves out gets a class here:
// a bound claim without the access right (403, ../../README.md "accessRights")
// and a spent rate limit (429 with Retry-After). MailboxConditionError is the
// store's failed conditional write (docs/architecture.md "Conventions"); the relay
// re-reads the mailbox to turn it into the answer the caller gets, so it
// never reaches HTTP as such. RateBucketMovedError is the same for a
// rate-limit bucket: another request took from it between this request's
// read and its write, so the relay reads and decides again.
import { ConflictError, ForbiddenError, ServiceError } from "../errors.js";

/** The claim is bound to the mailbox, but the Initiator did not grant it this operation (accessRights). */
export class AccessRightsError extends ForbiddenError {
  override name = "AccessRightsError";
}

/** A per-claim or per-client rate limit is spent; retry after `retryAfterSeconds`. */
export class RateLimitedError extends ServiceError {
  override name = "RateLimitedError";
  readonly retryAfterSeconds: number;

  constructor(message: string, retryAfterSeconds: number, options?: ErrorOptions) {
    super(message, options);
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterSeconds));
  }
}

/**
 * A conditional write found the mailbox not as expected: gone or expired, the
 * claim no longer bound, another recipient bound first, or the same request
 * id already applied. Raised by RelayStore adapters, resolved by the relay.
 */
export class MailboxConditionError extends ConflictError {
  override name = "MailboxConditionError";
}

/**
 * A write's rate-limit condition failed: a bucket moved since the request read
 * it, so the token it decided to take may no longer be there. Nothing was
 * written; the relay reads again and decides again (rate-limiter.ts).
 */
export class RateBucketMovedError extends ConflictError {
  override name = "RateBucketMovedError";
}
