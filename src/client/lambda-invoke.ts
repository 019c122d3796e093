// One synchronous invocation of a deployed Lambda function through the Lambda
// Invoke API (AWS Lambda API Reference, "Invoke"): `POST
// /2015-03-31/functions/{FunctionName}/invocations` with
// `X-Amz-Invocation-Type: RequestResponse`, the event as the JSON body and the
// function's result as the JSON answer. An error the function itself raised
// comes back as 200 with `X-Amz-Function-Error` (`Unhandled`, or `Handled`)
// and `{errorType, errorMessage}` as the body; a refusal of the call (unknown
// function, IAM, throttling) as a 4xx/5xx with `x-amzn-ErrorType`.
//
// The request is signed with SigV4 for the service `lambda` by oem-auth.ts,
// with the SDK's default credential chain, or carries the local server's
// bearer token: `npm start` serves this path for its expiry sweep
// (src/adapters/local-server/lambda-invocations.ts). A signed fetch rather
// than @aws-sdk/client-lambda: the call is one POST, and the signer and
// credential chain are dependencies already (docs/architecture.md "Expiry
// sweep" has the measured comparison).
import {
  ClientError,
  LambdaFunctionError,
  LambdaInvokeError,
  OemAuthError,
  ServiceResponseError,
} from "./errors.js";
import { type OemAuth, oemAuthHeaders } from "./oem-auth.js";
import { send } from "./signed-fetch.js";

/** The API version in the Invoke API's path. */
export const LAMBDA_INVOKE_PATH_PREFIX = "/2015-03-31/functions/";

export interface LambdaInvocation {
  /** A function name, a full ARN (`arn:aws:lambda:REGION:ACCOUNT:function:NAME`) or a partial one. */
  readonly functionName: string;
  /** Default: the ARN's region, else AWS_REGION or AWS_DEFAULT_REGION. */
  readonly region?: string;
  /**
   * The Lambda API's origin (an emulator's, the local server's). Default: AWS_ENDPOINT_URL_LAMBDA,
   * else AWS_ENDPOINT_URL (as the AWS SDKs read them), else `https://lambda.REGION.amazonaws.com`.
   */
  readonly endpoint?: string;
  /** SigV4 (default credentials unless given) or the local server's bearer token. */
  readonly auth: OemAuth;
  /** The event; default `{}`. */
  readonly payload?: unknown;
  /** How long to wait for the answer; default 15 minutes, Lambda's longest timeout. */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

const DEFAULT_TIMEOUT_MS = 15 * 60_000;
/** The Invoke API's FunctionName: a name, or an ARN of one, with an optional version or alias. */
const FUNCTION_NAME = /^[A-Za-z0-9_.:$-]{1,170}$/;
const ARN_REGION = /^arn:aws[a-z-]*:lambda:([a-z]{2}(?:-[a-z]+)+-\d+):\d{12}:function:/;

/** The Lambda API origin the environment names, as the AWS SDKs read it: AWS_ENDPOINT_URL_LAMBDA, else AWS_ENDPOINT_URL. */
export function lambdaEndpointFromEnvironment(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.AWS_ENDPOINT_URL_LAMBDA || env.AWS_ENDPOINT_URL || undefined;
}

/** The function's result (its JSON answer), or LambdaFunctionError, LambdaInvokeError, ServiceConnectionError. */
export async function invokeFunction(invocation: LambdaInvocation): Promise<unknown> {
  const name = invocation.functionName;
  if (!FUNCTION_NAME.test(name)) {
    throw new ClientError(`not a Lambda function name or ARN: ${JSON.stringify(name)}`);
  }
  const region =
    invocation.region ??
    ARN_REGION.exec(name)?.[1] ??
    (process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION);
  const endpoint = invocation.endpoint ?? lambdaEndpointFromEnvironment();
  if (region === undefined && (endpoint === undefined || invocation.auth.kind === "sigv4")) {
    throw new OemAuthError(
      `no AWS region to invoke ${name} in: give the region (--region) or an ARN, or set AWS_REGION`,
    );
  }
  let base: URL;
  try {
    base = new URL(endpoint ?? `https://lambda.${region}.amazonaws.com`);
  } catch {
    throw new ClientError(`the Lambda endpoint is not an absolute URL: ${endpoint}`);
  }
  const url = new URL(
    `${base.pathname.replace(/\/+$/, "")}${LAMBDA_INVOKE_PATH_PREFIX}${encodeURIComponent(name)}/invocations`,
    base.origin,
  );
  const body = new TextEncoder().encode(JSON.stringify(invocation.payload ?? {}));
  const auth: OemAuth =
    invocation.auth.kind === "sigv4" ? { ...invocation.auth, region: region! } : invocation.auth;
  const { headers: authHeaders } = await oemAuthHeaders(auth, { method: "POST", url, body }, "lambda");
  const response = await send(url, "POST", {
    headers: {
      "content-type": "application/json",
      "x-amz-invocation-type": "RequestResponse",
      ...authHeaders,
    },
    body,
    options: {
      timeoutMs: invocation.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      ...(invocation.fetch ? { fetch: invocation.fetch } : {}),
    },
  });
  const text = await response.text();
  const label = `invoking ${name} at ${url.origin}`;
  if (!response.ok) {
    const parsed = parseObject(text);
    const errorType =
      response.headers.get("x-amzn-errortype")?.split(":")[0] ||
      stringField(parsed, "__type", "Type", "code") ||
      `HTTP ${response.status}`;
    const message = stringField(parsed, "message", "Message") || text.slice(0, 200) || "(no message)";
    throw new LambdaInvokeError(
      `${label}: ${response.status} ${errorType}: ${message}`,
      response.status,
      errorType,
    );
  }
  const functionError = response.headers.get("x-amz-function-error");
  if (functionError) {
    const parsed = parseObject(text);
    const errorType = stringField(parsed, "errorType") || "Error";
    const errorMessage = stringField(parsed, "errorMessage") || text.slice(0, 200);
    throw new LambdaFunctionError(
      `${label}: the function failed (${functionError}) with ${errorType}: ${errorMessage}`,
      functionError,
      errorType,
      errorMessage,
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ServiceResponseError(`${label}: the function's answer is not JSON: ${text.slice(0, 200)}`);
  }
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return value !== null && typeof value === "object" ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function stringField(value: Record<string, unknown> | undefined, ...names: string[]): string | undefined {
  for (const name of names) {
    const field = value?.[name];
    if (typeof field === "string" && field !== "") return field;
  }
  return undefined;
}
