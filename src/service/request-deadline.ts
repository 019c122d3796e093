// The deadline of the invocation a DynamoDB call runs in. A Lambda that waits
// on a database that does not answer is killed at its timeout, and API Gateway
// answers 503/504 with no word from us; worse, the caller cannot tell whether
// a write happened. The handler chain (src/service/http/invocation-deadline.ts)
// runs each invocation under an AbortSignal that fires shortly before the
// Lambda's deadline (context.getRemainingTimeInMillis()); the DynamoDB client
// (src/adapters/dynamodb/dynamodb-client.ts) gives up on any call still pending when it fires, so
// the handler still answers, in its own words. AsyncLocalStorage carries the
// signal to every call of that invocation without threading it through the
// domain, which must not know about Lambda.
import { AsyncLocalStorage } from "node:async_hooks";

const current = new AsyncLocalStorage<AbortSignal>();

/** Runs `fn` with `signal` as the deadline of every DynamoDB call it makes. */
export function runWithDeadline<T>(signal: AbortSignal, fn: () => T): T {
  return current.run(signal, fn);
}

/** The deadline of the current invocation, if it runs under one. */
export function currentDeadline(): AbortSignal | undefined {
  return current.getStore();
}
