// The local server's stand-in for the Lambda Invoke API (AWS Lambda API
// Reference, "Invoke"), for the functions no route serves: `POST
// /2015-03-31/functions/{FunctionName}/invocations` runs one of them once, as
// `aws lambda invoke` runs it in AWS, so `carkey oem sweep-expired --endpoint
// http://127.0.0.1:3000` runs the expiry sweep against `npm start` the same
// way it runs the deployed function. Only the functions the stack lists here
// (the expiry sweep), only RequestResponse, and only with the OEM token:
// what IAM's `lambda:InvokeFunction` is in AWS, the bearer token is here,
// checked before the name, so nobody without it learns which functions exist.
// Answers have Lambda's shapes: the result as JSON; a function that threw as
// 200 with `X-Amz-Function-Error: Unhandled` and `{errorType, errorMessage}`;
// a refused call as a 4xx with `x-amzn-ErrorType` and `{Type, message}`.
import type { Context } from "aws-lambda";

/** A function the Invoke API path runs: its handler and its timeout (the stack's). */
export interface InvocableFunction {
  readonly handler: (event: unknown, context: Context) => Promise<unknown>;
  readonly timeoutMs: number;
}

export type InvocableFunctions = Readonly<Record<string, InvocableFunction>>;

export interface InvocationAnswer {
  readonly statusCode: number;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Uint8Array;
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

/** The FunctionName of an Invoke API path (still percent-encoded), or undefined for any other path. */
export function invocationTarget(method: string, rawPath: string): string | undefined {
  if (method !== "POST") return undefined;
  return INVOKE_PATH.exec(rawPath)?.[1];
}

/**
 * The function `encodedName` names: its name, or its ARN in this account (any region, `$LATEST` or no
 * qualifier), as Lambda resolves the FunctionName of an Invoke.
 */
export function resolveInvocable(
  functions: InvocableFunctions,
  encodedName: string,
  accountId: string,
): { name: string; fn: InvocableFunction } | undefined {
  let given: string;
  try {
    given = decodeURIComponent(encodedName);
  } catch {
    return undefined;
  }
  const arn = /^arn:aws:lambda:[a-z0-9-]+:(\d{12}):function:([^:]+)(?::\$LATEST)?$/.exec(given);
  const name = arn ? (arn[1] === accountId ? arn[2]! : "") : given;
  const fn = Object.hasOwn(functions, name) ? functions[name] : undefined;
  return fn ? { name, fn } : undefined;
}

/** A refusal in the Lambda API's error shape. */
export function invokeRefusal(statusCode: number, errorType: string, message: string): InvocationAnswer {
  return {
    statusCode,
    headers: [
      ["content-type", "application/json"],
      ["x-amzn-errortype", errorType],
    ],
    body: new TextEncoder().encode(JSON.stringify({ Type: "User", message })),
  };
}

/** The function's result, or its error as Lambda reports an unhandled one. */
export function invocationResult(outcome: { result: unknown } | { error: unknown }): InvocationAnswer {
  const headers: [string, string][] = [
    ["content-type", "application/json"],
    ["x-amz-executed-version", "$LATEST"],
  ];
  if ("error" in outcome) {
    const error = outcome.error;
    const errorType = error instanceof Error ? error.name : "Error";
    const errorMessage = error instanceof Error ? error.message : String(error);
    return {
      statusCode: 200,
      headers: [...headers, ["x-amz-function-error", "Unhandled"]],
      body: new TextEncoder().encode(JSON.stringify({ errorType, errorMessage })),
    };
  }
  return {
    statusCode: 200,
    headers,
    body: new TextEncoder().encode(JSON.stringify(outcome.result ?? null)),
  };
}

/** The event of an Invoke: the body as JSON, `{}` when empty; undefined when it is not JSON. */
export function invocationEvent(body: Uint8Array): { event: unknown } | undefined {
  const text = new TextDecoder().decode(body);
  if (text.trim() === "") return { event: {} };
  try {
    return { event: JSON.parse(text) as unknown };
  } catch {
    return undefined;
  }
}
