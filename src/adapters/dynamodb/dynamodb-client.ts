// The one way this service makes a DynamoDB client: bounded waits, and a
// typed answer when the database does not answer.
//
// - Timeouts: the SDK's defaults wait forever (no connection timeout, no
//   request timeout), so a hanging endpoint held a request until the Lambda
//   died. Here a connection must be up within 1 s and a request answered
//   within 4 s; the SDK's standard retries (3 attempts) still apply, and the
//   invocation's deadline (src/service/request-deadline.ts) cuts them short.
// - Outcome unknown: a write that timed out may still be applied by DynamoDB
//   afterwards, so it must never be reported as a definite failure (a 500
//   invites a caller to believe nothing happened). Any call that got no answer
//   (timeout, abort, connection reset), a throttling or server-side error, or
//   a condition that failed on a retry after an unanswered attempt (the first
//   attempt may have been applied and made the condition false)
//   after the SDK's retries becomes StorageUnavailableError: 503 with
//   Retry-After, saying the request may have been applied and repeating it is
//   safe. It is: every route answers a repeat as a repeat (200 with what is
//   on record), and a TransactWriteItems carries a ClientRequestToken
//   (dynamodb-store.ts), so the SDK's own retry of a transaction whose first
//   attempt did commit is a no-op for DynamoDB (idempotent for 10 minutes),
//   answered as the success it was; and a single put-if-absent carries a token
//   of its call, so the store tells its own first attempt (success) from
//   another writer's item (the refusal) when this client answers "unknown".
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  type DynamoDBClientConfig,
  TransactionCanceledException,
} from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { StorageUnavailableError } from "../../service/errors.js";
import { currentDeadline } from "../../service/request-deadline.js";
import { reportDynamoDbOperation } from "./operation-count.js";

export const DYNAMODB_TIMEOUTS = { connectionTimeoutMs: 1_000, requestTimeoutMs: 4_000 } as const;

const UNANSWERED_ATTEMPT = Symbol("an attempt of this call got no answer");

/** Errors after which the call's effect is unknown or the database is, for now, not serving. */
const UNAVAILABLE_NAMES = new Set([
  "TimeoutError",
  "AbortError",
  "RequestTimeout",
  "RequestTimeoutException",
  "ThrottlingException",
  "ProvisionedThroughputExceededException",
  "RequestLimitExceeded",
  "InternalServerError",
  "ServiceUnavailable",
]);
const UNAVAILABLE_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
]);

function unavailable(error: unknown): boolean {
  const e = error as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } } | null;
  if (!e) return false;
  return (
    UNAVAILABLE_NAMES.has(e.name ?? "") ||
    UNAVAILABLE_CODES.has(e.code ?? "") ||
    (e.$metadata?.httpStatusCode ?? 0) >= 500
  );
}

/**
 * `work`, or an AbortError once `signal` fires. The listener goes when the call settles: a long
 * invocation (the expiry sweep makes thousands of calls) must not pile up one per call.
 */
function raceDeadline<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  const abortError = () =>
    Object.assign(new Error("the invocation's deadline is near"), { name: "AbortError" });
  if (signal.aborted) return Promise.reject(abortError());
  let fail: () => void = () => {};
  const aborted = new Promise<never>((_, reject) => {
    fail = () => reject(abortError());
    signal.addEventListener("abort", fail, { once: true });
  });
  return Promise.race([work, aborted]).finally(() => signal.removeEventListener("abort", fail));
}

/** A DynamoDB client with the timeouts and the outcome mapping above. */
export function createDynamoDbClient(config: DynamoDBClientConfig = {}): DynamoDBClient {
  const client = new DynamoDBClient({
    requestHandler: {
      connectionTimeout: DYNAMODB_TIMEOUTS.connectionTimeoutMs,
      requestTimeout: DYNAMODB_TIMEOUTS.requestTimeoutMs,
      throwOnRequestTimeout: true,
    },
    ...config,
  });
  // Per attempt, inside the SDK's retry loop: remember that an attempt got no answer.
  client.middlewareStack.add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        if (unavailable(error)) (context as Record<symbol, unknown>)[UNANSWERED_ATTEMPT] = true;
        throw error;
      }
    },
    { step: "finalizeRequest", name: "carkeysUnansweredAttempt", priority: "low" },
  );
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const deadline = currentDeadline();
      try {
        return await (deadline ? raceDeadline(next(args), deadline) : next(args));
      } catch (error) {
        // A condition that failed on a retry after an unanswered attempt may have failed because that
        // attempt was applied (a put-if-absent finds its own item): the outcome is unknown, not refused.
        const ambiguous =
          (context as Record<symbol, unknown>)[UNANSWERED_ATTEMPT] === true &&
          (error instanceof ConditionalCheckFailedException || error instanceof TransactionCanceledException);
        if (!unavailable(error) && !ambiguous) throw error;
        throw new StorageUnavailableError(
          "the database did not answer in time; the request may have been applied: repeat it, a repeat is safe",
          { cause: Object.assign(error as object, { command: context.commandName }) },
        );
      }
    },
    // Outermost: it sees the result of all of the SDK's retries.
    { step: "initialize", name: "carkeysStorageOutcome", priority: "high" },
  );
  // Once per call (not per retried attempt): the operations a request costs (operation-count.ts).
  client.middlewareStack.add(
    (next, context) => (args) => {
      reportDynamoDbOperation(context.commandName ?? "unknown");
      return next(args);
    },
    { step: "initialize", name: "carkeysOperationCount", priority: "low" },
  );
  return client;
}

/** A document client over createDynamoDbClient that drops undefined fields (optional record fields). */
export function createDocumentClient(config: DynamoDBClientConfig = {}): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(createDynamoDbClient(config), {
    marshallOptions: { removeUndefinedValues: true },
  });
}
