// The request side of every handler, as a middy `before` middleware: find the
// route by API Gateway's routeKey, resolve the handler's dependencies, refuse
// a server-to-server route reached without mutual TLS where it is required,
// check OEM authorization is present, read the raw body (base64-decoded when
// API Gateway encoded it) within the route's limit (64 KiB by default), parse
// it as strict JSON, and validate path parameters, query and body with the
// route's zod schemas (its entry in src/api). A route set whose service reads
// the request itself (the relay: `serviceValidates`) gets its path
// parameters as received and its body parsed only when it asks, within the
// route's limit, whatever its media type. Written here rather than
// with a generic JSON body parser middleware because device routes must verify their
// signature over the exact raw bytes, which that parser replaces, and
// because it answers malformed JSON with 415 instead of 400. The result goes
// into a WeakMap keyed by the event, so nothing is smuggled through the
// event's own fields.
import type { MiddlewareObj } from "@middy/core";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import type * as z from "zod/mini";
import {
  MAX_BODY_BYTES,
  type RouteContract,
  type RouteKey,
  type RouteSet,
} from "../../api/route-contract.js";
import "../../api/validation-messages.js";
import type { DeviceRequest } from "../device-request-auth.js";
import {
  AuthenticationError,
  NotFoundError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  ValidationError,
} from "../errors.js";
import { assertClientCertificate, callerOfCertificate, clientCertificateOf } from "./client-certificate.js";

/** What every handler's dependencies may say about the request side. */
export interface HttpDependencies {
  /** Server-to-server routes only with a verified client certificate (mutual TLS configured). */
  readonly serverToServerMtls?: boolean;
}

export interface ParsedRequest {
  readonly routeKey: RouteKey;
  readonly route: RouteContract;
  readonly params: unknown;
  /** The validated body; for `serviceValidates`, a function that reads and parses it on demand. */
  readonly body: unknown;
  /** Query parameters validated by the route's `query` schema; undefined when it has none. */
  readonly query: unknown;
  /** The request exactly as received, for device signature checks. */
  readonly raw: DeviceRequest;
  /** OEM routes: the IAM principal API Gateway (or the local server) authenticated. */
  readonly caller?: string;
  /** The client's address as API Gateway saw it. */
  readonly sourceIp: string;
  /** The API's own domain the request came in on (`requestContext.domainName`), never a Host header. */
  readonly domainName: string;
  /** The handler's dependencies, resolved for this request. */
  readonly dependencies: unknown;
}

const parsedRequests = new WeakMap<object, ParsedRequest>();

export function parsedRequest(event: object): ParsedRequest {
  const parsed = parsedRequests.get(event);
  // Only reachable if the chain is assembled without requestParser: a programming error, a 500.
  if (!parsed) throw new Error("requestParser did not run for this event");
  return parsed;
}

const JSON_MEDIA_TYPE = /^application\/(?:[a-z0-9.+-]+\+)?json\s*(?:;.*)?$/i;

function rawBody(event: APIGatewayProxyEventV2, limit: number): Uint8Array {
  const body = event.body ?? "";
  // Checked on the encoded length first, so an oversized body is never decoded.
  const encodedLimit = event.isBase64Encoded ? Math.ceil(limit / 3) * 4 : limit * 3;
  if (body.length > encodedLimit) throw tooLarge(limit);
  const bytes = event.isBase64Encoded
    ? new Uint8Array(Buffer.from(body, "base64"))
    : new Uint8Array(Buffer.from(body, "utf8"));
  if (bytes.length > limit) throw tooLarge(limit);
  return bytes;
}

function tooLarge(limit: number): PayloadTooLargeError {
  return new PayloadTooLargeError(`the request body is over ${limit} bytes`);
}

/** `bytes` as JSON; undefined when empty. A media type other than JSON is refused unless `anyMediaType`. */
function parseJson(bytes: Uint8Array, contentType: string | undefined, anyMediaType = false): unknown {
  if (bytes.length === 0) return undefined;
  if (!anyMediaType && (!contentType || !JSON_MEDIA_TYPE.test(contentType))) {
    throw new UnsupportedMediaTypeError("the request body must be JSON (Content-Type: application/json)");
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ValidationError("the request body is not valid UTF-8");
  }
  try {
    // The parser's own message would quote the body back; the detail stays generic on purpose.
    return JSON.parse(text);
  } catch {
    throw new ValidationError("the request body is not valid JSON");
  }
}

function validate(schema: z.ZodMiniType, value: unknown, prefix: "body" | "params" | "query"): unknown {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const fields = result.error.issues.map((issue) => {
    const path = [prefix, ...issue.path.map(String)].join(".");
    const message =
      issue.code === "unrecognized_keys" ? `unknown field(s): ${issue.keys.join(", ")}` : issue.message;
    return { path, message };
  });
  if (value === undefined && prefix === "body") {
    throw new ValidationError("a JSON request body is required", fields);
  }
  const summary = fields.map((f) => `${f.path}: ${f.message}`).join("; ");
  const what = { body: "request body", params: "path", query: "query" }[prefix];
  throw new ValidationError(`invalid ${what}: ${summary}`, fields);
}

function oemCaller(event: APIGatewayProxyEventV2): string {
  // Over mutual TLS the certificate names the partner; the IAM principal (in AWS) is only the role it assumed.
  const certificate = clientCertificateOf(event);
  if (certificate) return callerOfCertificate(certificate);
  const authorizer = (event.requestContext as { authorizer?: { iam?: Record<string, unknown> } }).authorizer;
  const iam = authorizer?.iam;
  if (!iam || typeof iam !== "object") {
    throw new AuthenticationError(
      "this route needs OEM authorization (IAM SigV4, or the local server credential)",
    );
  }
  for (const field of ["userArn", "callerId", "accountId"]) {
    const value = iam[field];
    if (typeof value === "string" && value !== "") return value;
  }
  return "unknown";
}

export interface RequestParserOptions {
  /**
   * The service reads the request itself (the relay, which must authenticate,
   * rate-limit and answer a repeated request id before it looks at anything
   * else): path parameters as received, a declared body read and parsed only
   * when the implementation calls `body()` (any media type, within the route's
   * limit), an undeclared body never read.
   */
  readonly serviceValidates?: boolean;
}

export function requestParser(
  routeSet: RouteSet,
  dependencies: () => Promise<object>,
  options: RequestParserOptions = {},
): MiddlewareObj<APIGatewayProxyEventV2> {
  const routes = new Map<string, RouteContract>(Object.entries(routeSet.routes));
  return {
    name: "requestParser",
    before: async (request) => {
      const event = request.event;
      const routeKey = event.routeKey as RouteKey;
      const route = routes.get(routeKey);
      if (!route) throw new NotFoundError(`no route ${event.routeKey} here`);
      const resolved = await dependencies();
      assertClientCertificate(route, event, (resolved as HttpDependencies).serverToServerMtls === true);
      const caller = route.auth === "oem" ? oemCaller(event) : undefined;
      const headers: Record<string, string | undefined> = {};
      for (const [name, value] of Object.entries(event.headers ?? {})) headers[name.toLowerCase()] = value;
      const query = event.rawQueryString ? `?${event.rawQueryString}` : "";
      // A hand-made event (a test, a console invocation) may lack the request context API Gateway sets.
      const context = event.requestContext as Partial<APIGatewayProxyEventV2["requestContext"]> | undefined;
      const method = (context?.http?.method ?? route.method).toUpperCase();
      const common = {
        routeKey,
        route,
        sourceIp: context?.http?.sourceIp ?? "",
        domainName: context?.domainName ?? "",
        dependencies: resolved,
        ...(caller === undefined ? {} : { caller }),
      };
      if (options.serviceValidates) {
        const limit = route.body?.maxBytes ?? MAX_BODY_BYTES;
        let parsedBody: { value: unknown } | undefined;
        parsedRequests.set(event, {
          ...common,
          params: { ...(event.pathParameters ?? {}) },
          body: () => {
            parsedBody ??= { value: parseJson(rawBody(event, limit), headers["content-type"], true) };
            return parsedBody.value;
          },
          query: Object.fromEntries(new URLSearchParams(event.rawQueryString ?? "")),
          raw: {
            method,
            path: `${event.rawPath}${query}`,
            body: new Uint8Array(),
            headers,
          },
        });
        return;
      }
      const bytes = rawBody(event, route.body?.maxBytes ?? MAX_BODY_BYTES);
      const params = route.params ? validate(route.params, event.pathParameters ?? {}, "params") : undefined;
      const body = route.body
        ? validate(route.body.schema, parseJson(bytes, headers["content-type"]), "body")
        : undefined;
      const queryValues = route.query
        ? validate(route.query, Object.fromEntries(new URLSearchParams(event.rawQueryString ?? "")), "query")
        : undefined;
      parsedRequests.set(event, {
        ...common,
        params,
        body,
        query: queryValues,
        raw: {
          method,
          path: `${event.rawPath}${query}`,
          body: bytes,
          headers,
        },
      });
    },
  };
}
