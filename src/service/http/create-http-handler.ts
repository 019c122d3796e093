// The one middy chain every HTTP Lambda in functions/ is (docs/architecture.md
// "Conventions"): the invocation's log fields (invocation-log-context.ts),
// header normalization, route lookup + dependencies + raw-body JSON parsing +
// zod validation (request-parser.ts), then one call per route, and on the way
// out typed errors mapped to problem+json (problem-mapping.ts) by
// @middy/http-error-handler. A function file says which call answers which
// route of its route set (src/api/routes/) and with which dependencies; the
// types make it answer exactly those routes, and a check when the handler is
// built catches a route set and an implementation table that disagree at run
// time. The status comes from the route's entry and the outcome (a repeat of
// an idempotent request answers the route's repeatStatus), the media type
// from the route's response (JSON, an HTML page, or no body), never from the
// function file.
//
// onError middlewares run in reverse order of use(): errorMapper turns a
// domain error into an exposed HttpError (and logs it), http-error-handler
// builds the response (or the generic 500), answerHeaders labels it.
import type { MiddlewareObj } from "@middy/core";
import middy from "@middy/core";
import httpErrorHandler from "@middy/http-error-handler";
import httpHeaderNormalizer from "@middy/http-header-normalizer";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import type * as z from "zod/mini";
import { INTERNAL_PROBLEM, PROBLEM_MEDIA_TYPE } from "../../api/problems.js";
import type { BodyOf, ParamsOf, QueryOf, RouteContract, RouteSet } from "../../api/route-contract.js";
import type { DeviceRequest } from "../device-request-auth.js";
import { logger } from "../logger.js";
import { businessMetrics } from "./business-metrics.js";
import { type DependencySource, resolverOf } from "./dependency-source.js";
import { withInvocationDeadline } from "./invocation-deadline.js";
import { withInvocationLogContext } from "./invocation-log-context.js";
import { errorMapper } from "./problem-mapping.js";
import { parsedRequest, requestParser } from "./request-parser.js";

export type { DependencySource } from "./dependency-source.js";
export { buildOnce } from "./dependency-source.js";
export type { HttpDependencies } from "./request-parser.js";

interface RequestFacts {
  /** Request headers, lower-case names. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The client's address as API Gateway saw it. */
  readonly sourceIp: string;
  /** The API's own domain the request came in on (`requestContext.domainName`), never a Host header. */
  readonly domainName: string;
}

/** What a route's implementation gets when the handler validated the request (the default). */
export interface RouteInput<R> extends RequestFacts {
  readonly body: BodyOf<R>;
  readonly params: ParamsOf<R>;
  readonly query: QueryOf<R>;
  /** The request as received: method, path with query, raw body bytes, lower-case headers. */
  readonly raw: DeviceRequest;
  /** OEM routes: the authenticated principal. */
  readonly caller: string | undefined;
}

/** What it gets when the service reads the request itself (`serviceValidates`). */
export interface UnvalidatedRouteInput extends RequestFacts {
  /** The body parsed as JSON (undefined when empty), read on the first call; 413/400 from here. */
  readonly body: () => unknown;
  /** Path parameters as received. */
  readonly params: Readonly<Record<string, string | undefined>>;
}

/** What the route's success body is, as the implementation hands it over (z.input of the response schema). */
type ReplyBody<R> = R extends {
  readonly response: { readonly content: { readonly schema: infer S extends z.ZodMiniType } };
}
  ? z.input<S>
  : undefined;

/**
 * The service's outcome of an idempotent write: `created: false` (the
 * service's records) or `repeated: true` (the relay's request ids) mark a
 * repeat, which the route answers with its repeatStatus.
 */
export type RepeatableOutcome<T> =
  | { readonly created: boolean; readonly response: T }
  | { readonly repeated: boolean; readonly response: T };

/** What an implementation returns: the body, or for an idempotent route the service's outcome. */
export type RouteResult<R> = R extends { readonly response: { readonly repeatStatus: 200 | 201 } }
  ? RepeatableOutcome<ReplyBody<R>>
  : ReplyBody<R>;

export interface HttpHandlerOptions<S extends RouteSet = RouteSet> {
  /** The service reads and validates the request itself (request-parser.ts says what that changes). */
  readonly serviceValidates?: boolean;
  /** Extra headers of a route's successful answers (an HTML page's Content-Security-Policy, caching). */
  readonly replyHeaders?: { readonly [K in keyof S["routes"]]?: () => Readonly<Record<string, string>> };
  /** Headers on every answer, problems included (the relay's no-store and request-id echo). */
  readonly answerHeaders?: (event: APIGatewayProxyEventV2) => Readonly<Record<string, string>>;
}

type InputOf<R, O> = O extends { readonly serviceValidates: true } ? UnvalidatedRouteInput : RouteInput<R>;

export type RouteImplementations<S extends RouteSet, D, O = object> = {
  readonly [K in keyof S["routes"]]: (
    input: InputOf<S["routes"][K], O>,
    dependencies: D,
  ) => Promise<RouteResult<S["routes"][K]>>;
};

/** A handler as Lambda (and the local server) calls it. */
export type HttpHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

/** The status and body a route answers for `result`. */
export function reply(route: RouteContract, result: unknown): { status: 200 | 201; body: unknown } {
  const { response } = route;
  if (response.repeatStatus === undefined) return { status: response.status, body: result };
  const outcome = result as { created?: boolean; repeated?: boolean; response: unknown };
  const repeated = "created" in outcome ? !outcome.created : outcome.repeated === true;
  return { status: repeated ? response.repeatStatus : response.status, body: outcome.response };
}

/** On every answer the extra headers; on a problem, the problem media type. */
function answerHeaders(
  extra: HttpHandlerOptions["answerHeaders"],
): MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  const decorate = (
    request: {
      event: APIGatewayProxyEventV2;
      response: APIGatewayProxyStructuredResultV2 | undefined | null;
    },
    failed: boolean,
  ) => {
    const response = request.response;
    if (!response) return;
    const headers: Record<string, string | number | boolean> = { ...response.headers };
    if (failed) {
      delete headers["Content-Type"];
      headers["content-type"] = PROBLEM_MEDIA_TYPE;
    }
    if (extra && request.event) Object.assign(headers, extra(request.event));
    response.headers = headers;
  };
  return {
    name: "answerHeaders",
    after: (request) => decorate(request, false),
    onError: (request) => decorate(request, true),
  };
}

/** The body and content type of a success, by the route's media type. */
function encode(route: RouteContract, body: unknown): { headers: Record<string, string>; body: string } {
  switch (route.response.content.mediaType) {
    case "text/html":
      return { headers: { "content-type": "text/html; charset=utf-8" }, body: String(body) };
    case "none":
      return { headers: {}, body: "" };
    default:
      return { headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
  }
}

/** The Lambda handler serving `routeSet` with `implementations`, each called with `dependencies`. */
export function createHttpHandler<
  S extends RouteSet,
  D extends object,
  const O extends HttpHandlerOptions<S> = HttpHandlerOptions<S>,
>(
  routeSet: S,
  implementations: RouteImplementations<S, D, O>,
  dependencies: DependencySource<D>,
  options?: O,
): HttpHandler {
  const implemented = Object.keys(implementations).sort();
  const expected = Object.keys(routeSet.routes).sort();
  if (implemented.join("\n") !== expected.join("\n")) {
    throw new Error(
      `the ${routeSet.functionName} function implements [${implemented.join(", ")}] but its route set gives it [${expected.join(", ")}]`,
    );
  }
  const resolve = resolverOf(dependencies);
  const replyHeaders = (options?.replyHeaders ?? {}) as Record<
    string,
    () => Readonly<Record<string, string>>
  >;

  const core = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    const parsed = parsedRequest(event);
    const implementation = (
      implementations as Record<string, (input: unknown, dependencies: unknown) => Promise<unknown>>
    )[parsed.routeKey]!;
    const result = await implementation(
      {
        body: parsed.body,
        params: parsed.params,
        query: parsed.query,
        raw: parsed.raw,
        caller: parsed.caller,
        headers: parsed.raw.headers,
        sourceIp: parsed.sourceIp,
        domainName: parsed.domainName,
      },
      parsed.dependencies,
    );
    const output = reply(parsed.route, result);
    logger.info("request served", { route: parsed.routeKey, status: output.status });
    const encoded = encode(parsed.route, output.body);
    return {
      statusCode: output.status,
      headers: { ...encoded.headers, ...replyHeaders[parsed.routeKey]?.() },
      body: encoded.body,
    };
  };

  const chain = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>(core)
    .use(businessMetrics())
    .use(answerHeaders(options?.answerHeaders))
    .use(httpErrorHandler({ logger: false, fallbackMessage: JSON.stringify(INTERNAL_PROBLEM) }))
    .use(errorMapper())
    .use(httpHeaderNormalizer())
    .use(requestParser(routeSet, resolve, options?.serviceValidates ? { serviceValidates: true } : {}));
  return withInvocationLogContext(
    withInvocationDeadline<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>(chain),
  );
}
