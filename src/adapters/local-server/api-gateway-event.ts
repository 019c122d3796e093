// Translates an HTTP request into the event an API Gateway HTTP API sends a
// Lambda integration with payload format 2.0, and the function's result back
// into an HTTP response, so the local server can run the Lambda handlers
// unchanged. It follows what API Gateway is documented (and, where the docs
// are silent, observed) to do, because a handler that works here must work
// in AWS:
// - header names lower-cased, repeated headers joined with ","; `cookie`
//   headers move to `cookies` (one entry per cookie) and leave `headers`;
// - `rawPath` percent-decoded (HTTP APIs decode it, REST APIs do not);
//   `rawQueryString` exactly as sent; `queryStringParameters` decoded, repeats
//   joined with ","; absent fields (no query, no parameters, no body) left out;
// - the body as UTF-8 text only for text/*, application/json, application/xml
//   and application/javascript; anything else, and a body without a
//   content-type, base64 with `isBase64Encoded: true`;
// - a result without `statusCode` is a 200 `application/json` response whose
//   body is the result (a string as is, anything else as JSON); format 2.0 has
//   no `multiValueHeaders`, so they are ignored here as API Gateway ignores
//   them, and each entry of `cookies` becomes a `set-cookie` header.
// This module is pure (no sockets) so the translation is tested on its own.
import { randomBytes } from "node:crypto";
import type {
  APIGatewayEventRequestContextIAMAuthorizer,
  APIGatewayEventRequestContextV2,
  APIGatewayProxyEventV2,
} from "aws-lambda";
import { InvalidLambdaResultError, RequestTargetError } from "./errors.js";

/** What the HTTP server read off the wire, before any translation. */
export interface HttpRequestFacts {
  readonly method: string;
  /** The request target as sent: path and optional `?query`. */
  readonly target: string;
  /** Header values in arrival order, names in any case (node's `headersDistinct`). */
  readonly headers: Readonly<Record<string, readonly string[] | undefined>>;
  readonly body: Uint8Array;
  readonly sourceIp: string;
  /** e.g. `HTTP/1.1`. */
  readonly protocol: string;
  /** The port the client connected to, for `x-forwarded-port`. */
  readonly localPort: number;
  /** Whether the request came over TLS (`x-forwarded-proto: https`); default plain HTTP. */
  readonly tls?: boolean;
}

export interface EventOptions {
  /** `METHOD /path/{param}` of the matched route. */
  readonly routeKey: string;
  readonly pathParameters?: Readonly<Record<string, string>> | undefined;
  readonly accountId: string;
  readonly apiId: string;
  readonly requestId: string;
  readonly now: Date;
  /**
   * `requestContext.domainName`: the server's own name. API Gateway reports the API's domain the request
   * was routed by (only the API's own domains reach it); a local server reached at 127.0.0.1 must not let
   * the client's Host header stand in for it.
   */
  readonly domainName: string;
  /** Set for IAM-authorized routes once the caller is authenticated. */
  readonly iam?: APIGatewayEventRequestContextIAMAuthorizer["iam"] | undefined;
  /**
   * The client certificate the TLS handshake verified (mutual TLS), as API Gateway passes it in
   * `requestContext.authentication.clientCert`.
   */
  readonly clientCert?: ClientCertificateFacts | undefined;
}

/** `requestContext.authentication.clientCert` of an API Gateway custom domain with mutual TLS. */
export interface ClientCertificateFacts {
  readonly clientCertPem: string;
  readonly subjectDN: string;
  readonly issuerDN: string;
  readonly serialNumber: string;
  readonly validity: { readonly notBefore: string; readonly notAfter: string };
}

/** The HTTP response to write, the result of translating a Lambda result. */
export interface HttpResponseFacts {
  readonly statusCode: number;
  /** Pairs, because `set-cookie` may repeat. */
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Uint8Array;
}

const TEXT_MEDIA_TYPES = new Set(["application/json", "application/xml", "application/javascript"]);

/** Splits the target into API Gateway's decoded `rawPath` and the raw query string. */
export function splitRequestTarget(target: string): { rawPath: string; rawQueryString: string } {
  if (typeof target !== "string" || !target.startsWith("/")) {
    throw new RequestTargetError("request target must be a path starting with /");
  }
  const question = target.indexOf("?");
  const encodedPath = question < 0 ? target : target.slice(0, question);
  const rawQueryString = question < 0 ? "" : target.slice(question + 1);
  let rawPath: string;
  try {
    rawPath = decodeURIComponent(encodedPath);
  } catch (cause) {
    throw new RequestTargetError("request path has a malformed percent-encoding", { cause });
  }
  return { rawPath, rawQueryString };
}

/** The payload 2.0 event for `request`, as API Gateway would build it for `options.routeKey`. */
export function toApiGatewayEvent(request: HttpRequestFacts, options: EventOptions): APIGatewayProxyEventV2 {
  const { rawPath, rawQueryString } = splitRequestTarget(request.target);
  const { headers, cookies } = collectHeaders(request);
  const domainName = options.domainName;
  const requestContext: APIGatewayEventRequestContextV2 & {
    authorizer?: APIGatewayEventRequestContextIAMAuthorizer;
  } = {
    accountId: options.accountId,
    apiId: options.apiId,
    domainName,
    domainPrefix: domainName.split(".")[0] ?? domainName,
    http: {
      method: request.method,
      path: rawPath,
      protocol: request.protocol,
      sourceIp: request.sourceIp,
      userAgent: headers["user-agent"] ?? "",
    },
    requestId: options.requestId,
    routeKey: options.routeKey,
    stage: "$default",
    time: apiGatewayTime(options.now),
    timeEpoch: options.now.getTime(),
  };
  if (options.iam) requestContext.authorizer = { iam: { ...options.iam } };
  if (options.clientCert) {
    (requestContext as { authentication?: unknown }).authentication = {
      clientCert: { ...options.clientCert, validity: { ...options.clientCert.validity } },
    };
  }

  const event: APIGatewayProxyEventV2 = {
    version: "2.0",
    routeKey: options.routeKey,
    rawPath,
    rawQueryString,
    headers,
    requestContext,
    isBase64Encoded: false,
  };
  if (cookies.length > 0) event.cookies = cookies;
  const query = parseQueryString(rawQueryString);
  if (query) event.queryStringParameters = query;
  if (options.pathParameters) event.pathParameters = { ...options.pathParameters };
  if (request.body.length > 0) {
    if (isTextMediaType(headers["content-type"])) {
      event.body = new TextDecoder("utf-8").decode(request.body);
    } else {
      event.body = Buffer.from(request.body).toString("base64");
      event.isBase64Encoded = true;
    }
  }
  return event;
}

/** The HTTP response API Gateway makes of a payload 2.0 result. */
export function fromApiGatewayResult(result: unknown): HttpResponseFacts {
  if (!isStructured(result)) {
    const body = typeof result === "string" ? result : JSON.stringify(result ?? null);
    return {
      statusCode: 200,
      headers: [["content-type", "application/json"]],
      body: new TextEncoder().encode(body),
    };
  }
  const { statusCode, headers, body, isBase64Encoded, cookies } = result;
  if (
    typeof statusCode !== "number" ||
    !Number.isInteger(statusCode) ||
    statusCode < 100 ||
    statusCode > 599
  ) {
    throw new InvalidLambdaResultError("statusCode must be an integer from 100 to 599");
  }
  const pairs: [string, string][] = [];
  if (headers !== undefined && headers !== null) {
    if (typeof headers !== "object" || Array.isArray(headers)) {
      throw new InvalidLambdaResultError("headers must be an object");
    }
    for (const [name, value] of Object.entries(headers)) {
      if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") {
        throw new InvalidLambdaResultError(`header ${name} must be a string, number or boolean`);
      }
      pairs.push([name, String(value)]);
    }
  }
  if (cookies !== undefined && cookies !== null) {
    if (!Array.isArray(cookies) || cookies.some((c) => typeof c !== "string")) {
      throw new InvalidLambdaResultError("cookies must be an array of strings");
    }
    for (const cookie of cookies as string[]) pairs.push(["set-cookie", cookie]);
  }
  if (body !== undefined && body !== null && typeof body !== "string") {
    throw new InvalidLambdaResultError("body must be a string");
  }
  const text = body ?? "";
  const bytes = isBase64Encoded === true ? Buffer.from(text, "base64") : new TextEncoder().encode(text);
  return { statusCode, headers: pairs, body: new Uint8Array(bytes) };
}

/** API Gateway's request id shape: 11 random bytes in base64, 16 characters ending in "=". */
export function newRequestId(): string {
  return randomBytes(11).toString("base64");
}

function isStructured(result: unknown): result is {
  statusCode: unknown;
  headers?: unknown;
  body?: unknown;
  isBase64Encoded?: unknown;
  cookies?: unknown;
} {
  return typeof result === "object" && result !== null && !Array.isArray(result) && "statusCode" in result;
}

function collectHeaders(request: HttpRequestFacts): { headers: Record<string, string>; cookies: string[] } {
  const joined = new Map<string, string[]>();
  for (const [name, values] of Object.entries(request.headers)) {
    if (values === undefined) continue;
    const key = name.toLowerCase();
    joined.set(key, [...(joined.get(key) ?? []), ...values]);
  }
  const cookies: string[] = [];
  for (const line of joined.get("cookie") ?? []) {
    for (const cookie of line.split(";")) {
      const trimmed = cookie.trim();
      if (trimmed !== "") cookies.push(trimmed);
    }
  }
  joined.delete("cookie");
  // API Gateway appends the caller's address and says how it was reached.
  joined.set("x-forwarded-for", [...(joined.get("x-forwarded-for") ?? []), request.sourceIp]);
  joined.set("x-forwarded-port", [String(request.localPort)]);
  joined.set("x-forwarded-proto", [request.tls ? "https" : "http"]);
  if (!joined.has("x-amzn-trace-id")) joined.set("x-amzn-trace-id", [traceId()]);
  const headers: Record<string, string> = {};
  for (const [name, values] of joined) headers[name] = values.join(",");
  return { headers, cookies };
}

function parseQueryString(raw: string): Record<string, string> | undefined {
  if (raw === "") return undefined;
  const params: Record<string, string> = {};
  let any = false;
  for (const pair of raw.split("&")) {
    if (pair === "") continue;
    const equals = pair.indexOf("=");
    const name = decodeQueryComponent(equals < 0 ? pair : pair.slice(0, equals));
    const value = equals < 0 ? "" : decodeQueryComponent(pair.slice(equals + 1));
    if (name === "") continue;
    params[name] = Object.hasOwn(params, name) ? `${params[name]},${value}` : value;
    any = true;
  }
  return any ? params : undefined;
}

/** Form-style decoding ("+" is a space); a malformed escape is passed on as sent rather than failing. */
function decodeQueryComponent(text: string): string {
  const spaced = text.replace(/\+/g, " ");
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

function isTextMediaType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const mediaType = contentType.split(";")[0]!.trim().toLowerCase();
  return mediaType.startsWith("text/") || TEXT_MEDIA_TYPES.has(mediaType);
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** `12/Mar/2020:19:03:58 +0000`, the CLF time API Gateway puts in `requestContext.time`. */
export function apiGatewayTime(date: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return (
    `${two(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
    `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +0000`
  );
}

/** An X-Ray trace header of the form API Gateway adds: `Root=1-<epoch hex>-<96 random bits>`. */
function traceId(): string {
  const epoch = Math.floor(Date.now() / 1000).toString(16);
  return `Root=1-${epoch}-${randomBytes(12).toString("hex")}`;
}
