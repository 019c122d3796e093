// The TIGRESS share-invitation relay's Lambda (draft-vinokurov-tigress-http-00
// §6; docs/relay.md): the six mailbox routes of its route set
// (src/api/routes/relay-routes.ts), one service call each into
// src/service/relay, on the same handler chain as every other function. The
// relay reads the request itself (`serviceValidates`): it must authenticate
// by the Mailbox-Device-Claim header (routes are `auth: none` to API
// Gateway), spend the caller's rate limit and rule out a repeated request id
// before it looks at the body, so the body is parsed only when it asks. Its
// answers are an HTML page (the preview), bodiless 200s and 201s, and on
// every answer, problems included, no caching and the Mailbox-Request-ID
// echoed (§5.1).

import { UUID_PATTERN } from "../../api/relay-schemas.js";
import { RELAY_ROUTES } from "../../api/routes/relay-routes.js";
import {
  createHttpHandler,
  type DependencySource,
  type UnvalidatedRouteInput,
} from "../../service/http/create-http-handler.js";
import { HEADER } from "../../service/relay/mailbox-headers.js";
import { PREVIEW_HEADERS } from "../../service/relay/preview-page.js";
import type { RelayCaller } from "../../service/relay/relay-service.js";
import type { RelayDependencies } from "../relay-assembly.js";

function callerOf(input: UnvalidatedRouteInput): RelayCaller {
  return {
    claim: input.headers[HEADER.claim],
    requestId: input.headers[HEADER.requestId],
    attestation: input.headers[HEADER.attestation],
    address: input.sourceIp,
  };
}

/**
 * The origin urlLink and og:url use: the configured link base (RELAY_LINK_BASE_URL; the stack sets it to
 * the API's endpoint, the local stack to its own URL), else the API's own domain. Never the Host or
 * X-Forwarded-* headers: a link must not point at whatever origin a caller names.
 * `requestContext.domainName` is "the full domain name used to invoke the API" (API Gateway developer
 * guide, HTTP API `$context` variables); API Gateway invokes this function only for a domain that belongs
 * to the API (its execute-api domain or a custom domain mapped to it), so it is one of ours. HTTP APIs
 * serve HTTPS only.
 */
function linkBase(input: UnvalidatedRouteInput, dependencies: RelayDependencies): string {
  return dependencies.linkBase ?? `https://${input.domainName}`;
}

const mailboxId = (input: UnvalidatedRouteInput): string => input.params.id ?? "";

/** On every answer: no caching, and the request id echoed, only when it is a UUID (so nothing is reflected unchecked). */
function relayAnswerHeaders(event: { headers?: Record<string, string | undefined> }): Record<string, string> {
  const headers: Record<string, string> = {
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
  };
  const requestId = event.headers?.[HEADER.requestId]?.trim();
  if (requestId && UUID_PATTERN.test(requestId)) headers[HEADER.requestId] = requestId;
  return headers;
}

export function makeHandler(dependencies: DependencySource<RelayDependencies>) {
  return createHttpHandler(
    RELAY_ROUTES,
    {
      "POST /v1/m": async (input, d) =>
        d.relay.createMailbox(callerOf(input), input.body(), linkBase(input, d)),
      "PUT /v1/m/{id}": async (input, d) =>
        d.relay.updateMailbox(mailboxId(input), callerOf(input), input.body()),
      "DELETE /v1/m/{id}": async (input, d) => d.relay.deleteMailbox(mailboxId(input), callerOf(input)),
      "GET /v1/m/{id}": async (input, d) =>
        d.relay.readDisplayInformation(mailboxId(input), callerOf(input), linkBase(input, d)),
      // §6.5 defines no request body; one sent anyway (§4.3's push token) is not read.
      "POST /v1/m/{id}": async (input, d) => d.relay.readSecureContent(mailboxId(input), callerOf(input)),
      "PATCH /v1/m/{id}": async (input, d) => d.relay.relinquishMailbox(mailboxId(input), callerOf(input)),
    },
    dependencies,
    {
      serviceValidates: true,
      replyHeaders: { "GET /v1/m/{id}": () => PREVIEW_HEADERS },
      answerHeaders: relayAnswerHeaders,
    },
  );
}
