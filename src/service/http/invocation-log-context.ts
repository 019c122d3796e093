// Puts the Lambda invocation's facts on every log line written while it runs
// (src/service/logger.ts): whether it is the container's first (cold start),
// the function's name, the request id and the X-Ray trace. Kept per
// invocation in an AsyncLocalStorage, so the local server, which runs many
// invocations at once in one process, never mixes them; the event itself is
// never logged.
import type { Context } from "aws-lambda";
import { type Logger, logger } from "../logger.js";

let coldStart = true;

type Handler<E, R> = (event: E, context: Context) => Promise<R>;

/** The X-Ray trace's root id from the `_X_AMZN_TRACE_ID` Lambda sets per invocation ("Root=1-…;Parent=…;Sampled=…"). */
export function traceRootOf(header: string | undefined): string | undefined {
  const root = header
    ?.split(";")
    .find((part) => part.startsWith("Root="))
    ?.slice("Root=".length);
  return root && /^[0-9A-Za-z-]{1,64}$/.test(root) ? root : undefined;
}

/** `handler` with its invocation's fields on the lines `log` (the service's logger) writes while it runs. */
export function withInvocationLogContext<E, R>(handler: Handler<E, R>, log: Logger = logger): Handler<E, R> {
  return (event, context) => {
    const first = coldStart;
    coldStart = false;
    const traceId = traceRootOf(process.env._X_AMZN_TRACE_ID);
    return log.runInInvocation(
      {
        cold_start: first,
        ...(typeof context?.functionName === "string" ? { function_name: context.functionName } : {}),
        ...(typeof context?.awsRequestId === "string" ? { function_request_id: context.awsRequestId } : {}),
        ...(traceId ? { xray_trace_id: traceId } : {}),
      },
      () => handler(event, context),
    );
  };
}
