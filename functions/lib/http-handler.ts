// The one middy chain every Lambda in functions/ uses (docs/architecture.md
// "Conventions"): Powertools logger context (event logging forced off), header
// normalization, route lookup + raw-body JSON parsing + zod validation
// (request-parser.ts), then one call into the service per route, and on the
// way out typed errors mapped to problem+json by @middy/http-error-handler.
// A function file only says which service call answers which of its routes
// (functions/routes.ts); this file checks at load time that it answers
// exactly those, so a route added to the table without a handler fails the
// first test rather than a request in production.
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
import type { CarKeysService } from "../../src/service/car-keys-service.js";
import type { DeviceRequest } from "../../src/service/device-request-auth.js";
import { logger } from "../../src/service/logger.js";
import type { ROUTE_SCHEMAS, RouteKey } from "../../src/service/schemas.js";
import { getService } from "./dependencies.js";
import { withInvocationDeadline } from "./invocation-deadline.js";
import { errorMapper, INTERNAL_PROBLEM, PROBLEM_CONTENT_TYPE } from "./problem-details.js";
import { parsedRequest, requestParser, routesOf } from "./request-parser.js";

type Schemas = typeof ROUTE_SCHEMAS;
type Infer<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface RouteInput<K extends RouteKey> {
  readonly body: Schemas[K] extends { body: infer S } ? Infer<S> : undefined;
  readonly params: Schemas[K] extends { params: infer S } ? Infer<S> : undefined;
  readonly query: Schemas[K] extends { query: infer S } ? Infer<S> : undefined;
  /** The request as received: method, path with query, raw body bytes, lower-case headers. */
  readonly raw: DeviceRequest;
  /** OEM routes: the authenticated principal. */
  readonly caller: string | undefined;
  readonly service: CarKeysService;
}

export interface RouteOutput<K extends RouteKey> {
  readonly status: 200 | 201;
  readonly body: z.input<Schemas[K]["response"]>;
}

export type RouteImplementations<K extends RouteKey> = {
  readonly [P in K]: (input: RouteInput<P>) => Promise<RouteOutput<P>>;
};

function problemContentType(): MiddlewareObj<APIGatewayProxyEventV2> {
  return {
    name: "problemContentType",
    onError: (request) => {
      const response = request.response as APIGatewayProxyStructuredResultV2 | undefined;
      if (!response?.headers) return;
      delete response.headers["Content-Type"];
      response.headers["content-type"] = PROBLEM_CONTENT_TYPE;
    },
  };
}

/** The Lambda handler serving `functionName`'s routes with `implementations`. */
export function createHttpHandler<K extends RouteKey>(
  functionName: string,
  implementations: RouteImplementations<K>,
): APIGatewayProxyHandlerV2 {
  const routes = routesOf(functionName);
  const implemented = Object.keys(implementations).sort();
  const expected = [...routes.keys()].sort();
  if (implemented.join("\n") !== expected.join("\n")) {
    throw new Error(
      `functions/${functionName}.ts implements [${implemented.join(", ")}] but routes.ts gives it [${expected.join(", ")}]`,
    );
  }

  const core = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    const parsed = parsedRequest(event);
    const implementation = (implementations as Record<string, (input: unknown) => Promise<RouteOutput<K>>>)[
      parsed.routeKey
    ]!;
    const service = await getService();
    const output = await implementation({
      body: parsed.body,
      params: parsed.params,
      query: parsed.query,
      raw: parsed.raw,
      caller: parsed.caller,
      service,
    });
    logger.info("request served", { route: parsed.routeKey, status: output.status });
    return {
      statusCode: output.status,
      headers: { "content-type": "application/json" },
      body: JSON.stringify(output.body),
    };
  };

  const chain = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>(core)
    .use(injectLambdaContext(logger, { logEvent: false, resetKeys: true }))
    .use(problemContentType())
    .use(httpErrorHandler({ logger: false, fallbackMessage: JSON.stringify(INTERNAL_PROBLEM) }))
    .use(errorMapper())
    .use(httpHeaderNormalizer())
    .use(requestParser(routes));
  return withInvocationDeadline(chain) as unknown as APIGatewayProxyHandlerV2;
}
