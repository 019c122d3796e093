// The one middy chain the service's Lambdas in functions/ use
// (docs/architecture.md "Conventions"): Powertools logger context (event
// logging forced off), header normalization, route lookup + raw-body JSON
// parsing + zod validation (request-parser.ts), then one call into the
// service per route, and on the way out typed errors mapped to problem+json
// by @middy/http-error-handler. A function file says which service call
// answers which route of its route set (src/api/routes/); the types make it
// answer exactly those, and a check when the handler is built catches a
// route set and an implementation table that disagree at run time. The
// status comes from the route's entry and the service's outcome (a repeat
// of an idempotent request answers the route's repeatStatus), never from the
// function file.
//
// onError middlewares run in reverse order of use(): errorMapper turns a
// domain error into an exposed HttpError (and logs it), http-error-handler
// builds the response (or the generic 500), problemContentType labels it.
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import type { MiddlewareObj } from "@middy/core";
import middy from "@middy/core";
import httpErrorHandler from "@middy/http-error-handler";
import httpHeaderNormalizer from "@middy/http-header-normalizer";
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyHandlerV2,
  APIGatewayProxyStructuredResultV2,
} from "aws-lambda";
import type { z } from "zod";
import { INTERNAL_PROBLEM, PROBLEM_MEDIA_TYPE } from "../../src/api/problems.js";
import type { BodyOf, ParamsOf, QueryOf, RouteContract, RouteSet } from "../../src/api/route-contract.js";
import type { CarKeysService } from "../../src/service/car-keys-service.js";
import type { DeviceRequest } from "../../src/service/device-request-auth.js";
import { logger } from "../../src/service/logger.js";
import { businessMetrics } from "./business-metrics.js";
import { getService } from "./dependencies.js";
import { withInvocationDeadline } from "./invocation-deadline.js";
import { errorMapper } from "./problem-details.js";
import { parsedRequest, requestParser } from "./request-parser.js";

export interface RouteInput<R> {
  readonly body: BodyOf<R>;
  readonly params: ParamsOf<R>;
  readonly query: QueryOf<R>;
  /** The request as received: method, path with query, raw body bytes, lower-case headers. */
  readonly raw: DeviceRequest;
  /** OEM routes: the authenticated principal. */
  readonly caller: string | undefined;
  readonly service: CarKeysService;
}

/** What the route's success body is, as the implementation hands it over (z.input of the response schema). */
type ReplyBody<R> = R extends {
  readonly response: { readonly content: { readonly schema: infer S extends z.ZodType } };
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

export type RouteImplementations<S extends RouteSet> = {
  readonly [K in keyof S["routes"]]: (
    input: RouteInput<S["routes"][K]>,
  ) => Promise<RouteResult<S["routes"][K]>>;
};

/** The status and body a route answers for `result`. */
export function reply(route: RouteContract, result: unknown): { status: 200 | 201; body: unknown } {
  const { response } = route;
  if (response.repeatStatus === undefined) return { status: response.status, body: result };
  const outcome = result as { created?: boolean; repeated?: boolean; response: unknown };
  const repeated = "created" in outcome ? !outcome.created : outcome.repeated === true;
  return { status: repeated ? response.repeatStatus : response.status, body: outcome.response };
}

function problemContentType(): MiddlewareObj<APIGatewayProxyEventV2> {
  return {
    name: "problemContentType",
    onError: (request) => {
      const response = request.response as APIGatewayProxyStructuredResultV2 | undefined;
      if (!response?.headers) return;
      delete response.headers["Content-Type"];
      response.headers["content-type"] = PROBLEM_MEDIA_TYPE;
    },
  };
}

/** The Lambda handler serving `routeSet` with `implementations`. */
export function createHttpHandler<S extends RouteSet>(
  routeSet: S,
  implementations: RouteImplementations<S>,
): APIGatewayProxyHandlerV2 {
  const implemented = Object.keys(implementations).sort();
  const expected = Object.keys(routeSet.routes).sort();
  if (implemented.join("\n") !== expected.join("\n")) {
    throw new Error(
      `functions/${routeSet.functionName}.ts implements [${implemented.join(", ")}] but its route set gives it [${expected.join(", ")}]`,
    );
  }

  const core = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    const parsed = parsedRequest(event);
    const implementation = (implementations as Record<string, (input: unknown) => Promise<unknown>>)[
      parsed.routeKey
    ]!;
    const service = await getService();
    const result = await implementation({
      body: parsed.body,
      params: parsed.params,
      query: parsed.query,
      raw: parsed.raw,
      caller: parsed.caller,
      service,
    });
    const output = reply(parsed.route, result);
    logger.info("request served", { route: parsed.routeKey, status: output.status });
    return {
      statusCode: output.status,
      headers: { "content-type": "application/json" },
      body: JSON.stringify(output.body),
    };
  };

  const chain = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>(core)
    .use(businessMetrics())
    .use(injectLambdaContext(logger, { logEvent: false, resetKeys: true }))
    .use(problemContentType())
    .use(httpErrorHandler({ logger: false, fallbackMessage: JSON.stringify(INTERNAL_PROBLEM) }))
    .use(errorMapper())
    .use(httpHeaderNormalizer())
    .use(requestParser(routeSet));
  return withInvocationDeadline(chain) as unknown as APIGatewayProxyHandlerV2;
}
