// The TIGRESS share-invitation relay's Lambda (draft-vinokurov-tigress-http-00
// §6; docs/relay.md): the six mailbox routes of its route set
// (src/api/routes/relay-routes.ts), one service call each into src/service/relay. Its own
// middy chain in the style of lib/http-handler.ts (logger context without
// event logging, header normalization, typed errors → problem+json through
// @middy/http-error-handler) rather than that chain itself, because the
// relay answers what lib/http-handler.ts cannot: an HTML page (the preview),
// bodiless 200s and 201s, Retry-After on 429, the Mailbox-Request-ID echoed
// (§5.1), and bodies the relay validates only after it has ruled out a
// repeated request id. There is no carkey-* signature here: the relay
// authenticates by the Mailbox-Device-Claim header (routes are `auth: none`
// to API Gateway), inside the service.
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy, { type MiddlewareObj } from "@middy/core";
import httpErrorHandler from "@middy/http-error-handler";
import httpHeaderNormalizer from "@middy/http-header-normalizer";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { INTERNAL_PROBLEM, PROBLEM_MEDIA_TYPE } from "../src/api/problems.js";
import { MAX_RELAY_BODY_BYTES, UUID_PATTERN } from "../src/api/relay-schemas.js";
import type { RouteContract } from "../src/api/route-contract.js";
import { RELAY_ROUTES } from "../src/api/routes/relay-routes.js";
import { NotFoundError, PayloadTooLargeError, ValidationError } from "../src/service/errors.js";
import { logger } from "../src/service/logger.js";
import { HEADER } from "../src/service/relay/mailbox-headers.js";
import { PREVIEW_HEADERS } from "../src/service/relay/preview-page.js";
import type { RelayCaller, TigressRelay } from "../src/service/relay/relay-service.js";
import { businessMetrics } from "./lib/business-metrics.js";
import { reply } from "./lib/http-handler.js";
import { withInvocationDeadline } from "./lib/invocation-deadline.js";
import { errorMapper } from "./lib/problem-details.js";
import { configuredLinkBase, getRelay } from "./lib/relay-dependencies.js";

type RelayRouteKey = keyof typeof RELAY_ROUTES.routes;

interface RouteContext {
  readonly relay: TigressRelay;
  readonly caller: RelayCaller;
  readonly mailboxId: string;
  readonly linkBase: string;
  /** The parsed JSON body (undefined when empty); only read by the routes that take one. */
  readonly body: () => unknown;
}

const IMPLEMENTATIONS: Readonly<Record<RelayRouteKey, (context: RouteContext) => Promise<unknown>>> = {
  "POST /v1/m": (c) => c.relay.createMailbox(c.caller, c.body(), c.linkBase),
  "PUT /v1/m/{id}": (c) => c.relay.updateMailbox(c.mailboxId, c.caller, c.body()),
  "DELETE /v1/m/{id}": (c) => c.relay.deleteMailbox(c.mailboxId, c.caller),
  "GET /v1/m/{id}": (c) => c.relay.readDisplayInformation(c.mailboxId, c.caller, c.linkBase),
  // §6.5 defines no request body; one sent anyway (§4.3's push token) is not read.
  "POST /v1/m/{id}": (c) => c.relay.readSecureContent(c.mailboxId, c.caller),
  "PATCH /v1/m/{id}": (c) => c.relay.relinquishMailbox(c.mailboxId, c.caller),
};

/** The body as JSON; 413 over the relay's limit (checked before decoding), 400 when not JSON. */
function jsonBody(event: APIGatewayProxyEventV2): unknown {
  const text = event.body ?? "";
  const encodedLimit = event.isBase64Encoded
    ? Math.ceil(MAX_RELAY_BODY_BYTES / 3) * 4
    : MAX_RELAY_BODY_BYTES * 3;
  if (text.length > encodedLimit) throw tooLarge();
  const bytes = event.isBase64Encoded ? Buffer.from(text, "base64") : Buffer.from(text, "utf8");
  if (bytes.length > MAX_RELAY_BODY_BYTES) throw tooLarge();
  if (bytes.length === 0) return undefined;
  // Any Content-Type is read as JSON: the draft's bodies are all JSON, and refusing a label would only break clients.
  let decoded: string;
  try {
    decoded = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ValidationError("the request body is not valid UTF-8");
  }
  try {
    // The parser's message would quote the body; the detail stays generic.
    return JSON.parse(decoded);
  } catch {
    throw new ValidationError("the request body is not valid JSON");
  }
}

function tooLarge(): PayloadTooLargeError {
  return new PayloadTooLargeError(`the request body is over ${MAX_RELAY_BODY_BYTES} bytes`);
}

/**
 * The origin urlLink and og:url use: RELAY_LINK_BASE_URL (the stack sets it to the API's endpoint, the
 * local stack to its own URL), else the API's own domain. Never the Host or X-Forwarded-* headers: a link
 * must not point at whatever origin a caller names. `requestContext.domainName` is "the full domain name
 * used to invoke the API" (API Gateway developer guide, HTTP API `$context` variables); API Gateway invokes
 * this function only for a domain that belongs to the API (its execute-api domain or a custom domain mapped
 * to it), so it is one of ours. HTTP APIs serve HTTPS only.
 */
function linkBase(event: APIGatewayProxyEventV2): string {
  return configuredLinkBase() ?? `https://${event.requestContext.domainName}`;
}

function header(event: APIGatewayProxyEventV2, name: string): string | undefined {
  return event.headers?.[name] ?? undefined;
}

const core = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  const route = (RELAY_ROUTES.routes as Record<string, RouteContract>)[event.routeKey];
  const implementation = (IMPLEMENTATIONS as Record<string, (c: RouteContext) => Promise<unknown>>)[
    event.routeKey
  ];
  if (!route || !implementation) throw new NotFoundError(`no route ${event.routeKey} here`);
  let parsed: { value: unknown } | undefined;
  const result = await implementation({
    relay: getRelay(),
    caller: {
      claim: header(event, HEADER.claim),
      requestId: header(event, HEADER.requestId),
      attestation: header(event, HEADER.attestation),
      address: event.requestContext.http.sourceIp,
    },
    mailboxId: event.pathParameters?.id ?? "",
    linkBase: linkBase(event),
    body: () => {
      parsed ??= { value: jsonBody(event) };
      return parsed.value;
    },
  });
  const output = reply(route, result);
  logger.info("request served", { route: event.routeKey, status: output.status });
  const media = route.response.content.mediaType;
  if (media === "text/html")
    return { statusCode: output.status, headers: { ...PREVIEW_HEADERS }, body: output.body as string };
  if (media === "none") return { statusCode: output.status, headers: {}, body: "" };
  return {
    statusCode: output.status,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(output.body),
  };
};

/** On every answer: the request id echoed (§5.1), no caching, problem+json labelled. */
function relayHeaders(): MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
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
    headers["cache-control"] = "no-store";
    headers["x-content-type-options"] = "nosniff";
    // Only a UUID is echoed, so nothing a client sends is reflected unchecked.
    const requestId = request.event?.headers?.[HEADER.requestId]?.trim();
    if (requestId && UUID_PATTERN.test(requestId)) headers[HEADER.requestId] = requestId;
    response.headers = headers;
  };
  return {
    name: "relayHeaders",
    after: (request) => decorate(request, false),
    onError: (request) => decorate(request, true),
  };
}

export const handler = withInvocationDeadline(
  middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>(core)
    .use(businessMetrics())
    .use(injectLambdaContext(logger, { logEvent: false, resetKeys: true }))
    .use(relayHeaders())
    .use(httpErrorHandler({ logger: false, fallbackMessage: JSON.stringify(INTERNAL_PROBLEM) }))
    .use(errorMapper())
    .use(httpHeaderNormalizer()),
);
