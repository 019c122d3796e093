// Domain errors of the cloud service (docs/architecture.md "Conventions"). Each class is
// one kind of refusal a caller can act on; src/service/http/problem-mapping.ts maps them by class to
// problem+json 4xx answers, so the domain never speaks HTTP. Messages are the
// `detail` a client reads: they say what was wrong and never carry key
// material, passwords or request bodies. Anything that is not one of these is
// an internal failure and answers a generic 500.

/** Base of every refusal the service explains to its caller. */
export class ServiceError extends Error {
  override name = "ServiceError";
}

/** The request is well-formed JSON but says something impossible (bad point, wrong lengths, mismatches). */
export class ValidationError extends ServiceError {
  override name = "ValidationError";
  /** Per-field messages, when the refusal names fields (`body.vehicleId`). */
  readonly fields: readonly { readonly path: string; readonly message: string }[];

  constructor(
    message: string,
    fields: readonly { path: string; message: string }[] = [],
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.fields = fields;
  }
}

/** The body is over the size the service reads. */
export class PayloadTooLargeError extends ServiceError {
  override name = "PayloadTooLargeError";
}

/** The body is not declared as JSON. */
export class UnsupportedMediaTypeError extends ServiceError {
  override name = "UnsupportedMediaTypeError";
}

/** Who is calling could not be established: missing or bad request signature, stale timestamp, no IAM identity. */
export class AuthenticationError extends ServiceError {
  override name = "AuthenticationError";
}

/** A nonce seen before: the signed request was already used once. */
export class ReplayError extends AuthenticationError {
  override name = "ReplayError";
}

/** The caller is known but the evidence it presents is not trusted (attestation, certificate chain). */
export class ForbiddenError extends ServiceError {
  override name = "ForbiddenError";
}

/**
 * A device in lost mode, found by a store's write-time condition: names the
 * device, so the service can say which of a request's devices it was and what
 * that refuses.
 */
export class SuspendedDeviceError extends ForbiddenError {
  override name = "SuspendedDeviceError";
  readonly seId: string;

  constructor(seId: string, options?: ErrorOptions) {
    super(`secure element ${seId} is in lost mode (suspended)`, options);
    this.seId = seId;
  }
}

/** An identifier names nothing the service has on record. */
export class NotFoundError extends ServiceError {
  override name = "NotFoundError";
}

/**
 * The request conflicts with what is on record (another key under the same
 * identifier, a vehicle that already has an owner). Store adapters raise it
 * for a failed condition (DynamoDB's ConditionalCheckFailedException).
 */
export class ConflictError extends ServiceError {
  override name = "ConflictError";
}

/**
 * A friend key would take a slot the vehicle does not have: its friend keys
 * are at the limit. Revoking, deleting or the expiry of one frees a slot.
 */
export class FriendSlotsFullError extends ConflictError {
  override name = "FriendSlotsFullError";
}

/**
 * Something the request needs is not there yet and will be (a root
 * certificate that only the function holding its key may create). Answers 503:
 * the client may retry later; the detail says what is missing.
 */
export class ServiceUnavailableError extends ServiceError {
  override name = "ServiceUnavailableError";
}

/**
 * The database did not answer (timeout, the invocation's deadline, a reset
 * connection) or is not serving for now. For a write the outcome is unknown:
 * it may still be applied. Answers 503 with Retry-After; every route answers a
 * repeat as a repeat, so the client repeats the request.
 */
export class StorageUnavailableError extends ServiceUnavailableError {
  override name = "StorageUnavailableError";
  readonly retryAfterSeconds = 1;
}

/** The service is misconfigured (missing environment, a root key that cannot sign). Answers 500. */
export class ConfigurationError extends Error {
  override name = "ConfigurationError";
}
