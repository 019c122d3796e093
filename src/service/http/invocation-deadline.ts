// Runs each invocation under an AbortSignal that fires ANSWER_MARGIN_MS before
// the Lambda's deadline (context.getRemainingTimeInMillis()), so a DynamoDB
// call still waiting then gives up (src/service/request-deadline.ts, which the DynamoDB client reads)
// and the handler answers 503 "try again" itself instead of being killed with
// the outcome unknown to everybody. Without a context that knows its deadline
// (some tests) the handler runs as it is.
import type { Context } from "aws-lambda";
import { runWithDeadline } from "../request-deadline.js";

/** Time kept to map the error, write the answer and flush the log line. */
export const ANSWER_MARGIN_MS = 1_000;

type Handler<E> = (event: E, context: Context, callback: never) => unknown;

export function withInvocationDeadline<E, R>(
  handler: Handler<E>,
): (event: E, context: Context) => Promise<R> {
  return async (event, context) => {
    const remaining = context?.getRemainingTimeInMillis?.();
    if (typeof remaining !== "number" || !Number.isFinite(remaining)) {
      return (await handler(event, context, undefined as never)) as R;
    }
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), Math.max(0, remaining - ANSWER_MARGIN_MS));
    try {
      return (await runWithDeadline(controller.signal, () =>
        handler(event, context, undefined as never),
      )) as R;
    } finally {
      clearTimeout(timer);
    }
  };
}
