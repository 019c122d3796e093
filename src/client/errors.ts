// The client's typed errors (docs/architecture.md "Conventions": one
// errors.ts per module, names ending in Error). Two families: what came back over HTTP
// (the service or the relay refused, or answered something unusable, or could
// not be reached) and what the share-invitation protocol refuses on the
// device itself (a link that is not one, a message that does not decrypt, a
// replayed, reordered or reflected message). Callers branch on the class, and
// on `status` for HTTP refusals; messages are for developers and never carry
// secrets, ciphertext or plaintext.

export class ClientError extends Error {
  override name = "ClientError";
}

/** One per-field message of a problem+json `errors` array. */
export interface ProblemField {
  readonly path: string;
  readonly message: string;
}

/**
 * The service (or the relay) answered with a 4xx/5xx. Built from the RFC 9457
 * problem details when the body is one; otherwise from the status line and
 * whatever message the body had (API Gateway's own `{"message": …}`).
 */
export class ServiceProblemError extends ClientError {
  override name = "ServiceProblemError";
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  /** `urn:carkeys:problem:<kind>` when the service sent one. */
  readonly type: string | undefined;
  readonly instance: string | undefined;
  readonly errors: readonly ProblemField[];
  /** The method and path the request went to, for messages. */
  readonly request: string;
  /** From a Retry-After header (429, 503), in seconds. */
  readonly retryAfterSeconds: number | undefined;

  constructor(options: {
    status: number;
    title: string;
    detail: string;
    type?: string | undefined;
    instance?: string | undefined;
    errors?: readonly ProblemField[];
    request: string;
    retryAfterSeconds?: number | undefined;
  }) {
    super(`${options.request}: ${options.status} ${options.title}: ${options.detail}`);
    this.status = options.status;
    this.title = options.title;
    this.detail = options.detail;
    this.type = options.type;
    this.instance = options.instance;
    this.errors = options.errors ?? [];
    this.request = options.request;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** The OEM credential is missing or unusable (no AWS credentials, no region). */
export class OemAuthError extends ClientError {
  override name = "OemAuthError";
}

/** No HTTP answer at all: connection refused, DNS, TLS, a timeout. */
export class ServiceConnectionError extends ClientError {
  override name = "ServiceConnectionError";
}

/** A 2xx whose body is not what the API defines (not JSON, a field missing or of the wrong type). */
export class ServiceResponseError extends ClientError {
  override name = "ServiceResponseError";
}

// ---- the Lambda Invoke API (lambda-invoke.ts) ----------------------------------------------------

/** The call was refused: the answer was a 4xx/5xx (unknown function, not allowed, throttled). */
export class LambdaInvokeError extends ClientError {
  override name = "LambdaInvokeError";
  constructor(
    message: string,
    readonly status: number,
    /** `x-amzn-ErrorType` or the body's type, e.g. ResourceNotFoundException. */
    readonly errorType: string,
  ) {
    super(message);
  }
}

/** The function ran and raised an error (`X-Amz-Function-Error`). */
export class LambdaFunctionError extends ClientError {
  override name = "LambdaFunctionError";
  constructor(
    message: string,
    /** `Unhandled` (it threw) or `Handled`. */
    readonly functionError: string,
    readonly errorType: string,
    readonly errorMessage: string,
  ) {
    super(message);
  }
}

/**
 * A retried CreateMailbox answered 201 ("duplicate") without the link: the
 * first attempt created a mailbox whose id this client never learned
 * (docs/relay.md "Choices where the draft is ambiguous" item 2). Create a new mailbox with a new claim.
 */
export class MailboxDuplicateError extends ClientError {
  override name = "MailboxDuplicateError";
}

// ---- share invitations --------------------------------------------------------------------------

/** Something in the share-invitation protocol was refused on this device. */
export class ShareError extends ClientError {
  override name = "ShareError";
}

/** The share URL is not a TIGRESS mailbox link with a Secret in its fragment, or names another relay. */
export class ShareLinkError extends ShareError {
  override name = "ShareLinkError";
}

/**
 * The payload does not decrypt: wrong Secret, or the ciphertext, IV or tag
 * was changed. AES-GCM cannot tell these apart, and neither does this error.
 */
export class ShareDecryptionError extends ShareError {
  override name = "ShareDecryptionError";
}

/** It decrypted, but is not a `digitalwallet.carkey.ccc` message this protocol defines. */
export class ShareFormatError extends ShareError {
  override name = "ShareFormatError";
}

/** A message of a step this device already received (the relay served an old payload again). */
export class ShareReplayError extends ShareError {
  override name = "ShareReplayError";
  constructor(
    readonly step: number,
    readonly expectedStep: number,
  ) {
    super(`step ${step} was already received; expected step ${expectedStep}`);
  }
}

/** A message from the peer, but not the next step (one was skipped or they arrived out of order). */
export class ShareOrderError extends ShareError {
  override name = "ShareOrderError";
  constructor(
    readonly step: number,
    readonly expectedStep: number,
  ) {
    super(`step ${step} arrived out of order; expected step ${expectedStep}`);
  }
}

/**
 * The mailbox holds a message this device's role wrote: its own last message
 * not yet answered (pollers wait), or one reflected back at it.
 */
export class ShareOwnMessageError extends ShareError {
  override name = "ShareOwnMessageError";
  constructor(readonly step: number) {
    super(`the mailbox holds this device's own message (step ${step})`);
  }
}

/** The invitation, or the access it grants, has expired. */
export class ShareExpiredError extends ShareError {
  override name = "ShareExpiredError";
}

/** Polling gave up before the other party answered. */
export class ShareTimeoutError extends ShareError {
  override name = "ShareTimeoutError";
}
