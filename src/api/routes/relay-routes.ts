// The TIGRESS share-invitation relay (functions/relay.ts;
// draft-vinokurov-tigress-http-00 §6). Authenticated inside the service by
// the Mailbox-Device-Claim header (§5.2), so `none` to API Gateway. Bodies
// are read lazily and validated by the relay (relay-schemas.ts says why).
// Success statuses are the draft's: 200 when done, 201 for a repeated
// Mailbox-Request-ID, which does nothing again.

import type * as z from "zod/mini";
import {
  CreateMailboxRequestSchema,
  CreateMailboxResponseSchema,
  MAX_RELAY_BODY_BYTES,
  MailboxActionHeadersSchema,
  MailboxIdParamsSchema,
  MailboxReadHeadersSchema,
  MailboxWriteHeadersSchema,
  PreviewPageSchema,
  ReadSecureContentResponseSchema,
  UpdateMailboxRequestSchema,
  UpdateMailboxResponseSchema,
} from "../relay-schemas.js";
import { defineRouteSet } from "../route-contract.js";

/** On every relay answer, problems included. */
export const RELAY_RESPONSE_HEADERS = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "mailbox-request-id": "The request's Mailbox-Request-ID, echoed when it is a UUID (§5.1)",
} as const;

const json = <S extends z.ZodMiniType>(schema: S) =>
  ({
    status: 200,
    repeatStatus: 201,
    content: { mediaType: "application/json", schema },
    headers: RELAY_RESPONSE_HEADERS,
  }) as const;
const empty = {
  status: 200,
  repeatStatus: 201,
  content: { mediaType: "none" },
  headers: RELAY_RESPONSE_HEADERS,
} as const;
const lazyJson = { parse: "lazy-json", maxBytes: MAX_RELAY_BODY_BYTES } as const;

export const RELAY_ROUTES = defineRouteSet("relay", {
  "POST /v1/m": {
    auth: "none",
    summary: "TIGRESS CreateMailbox: store an encrypted share invitation, get its link",
    description:
      "CreateMailbox (TIGRESS §6.1): stores the encrypted payload and the preview, answers the link. A repeated " +
      "request id answers 201 with the same body and creates nothing.",
    headers: MailboxWriteHeadersSchema,
    body: { schema: CreateMailboxRequestSchema, ...lazyJson },
    response: json(CreateMailboxResponseSchema),
    problems: ["validation", "authentication", "rate-limited", "storage-unavailable"],
  },
  "PUT /v1/m/{id}": {
    auth: "none",
    summary: "TIGRESS UpdateMailbox: replace the mailbox's encrypted payload",
    description:
      "UpdateMailbox (TIGRESS §6.2): replaces the payload. Initiator or bound Recipient (with W); 201 on a " +
      "repeated request id.",
    params: MailboxIdParamsSchema,
    headers: MailboxWriteHeadersSchema,
    body: { schema: UpdateMailboxRequestSchema, ...lazyJson },
    response: json(UpdateMailboxResponseSchema),
    problems: [
      "validation",
      "authentication",
      "access-rights",
      "not-found",
      "rate-limited",
      "storage-unavailable",
    ],
  },
  "DELETE /v1/m/{id}": {
    auth: "none",
    summary: "TIGRESS DeleteMailbox",
    description: "DeleteMailbox (TIGRESS §6.3). Initiator or bound Recipient (with D); 404 once gone.",
    params: MailboxIdParamsSchema,
    headers: MailboxActionHeadersSchema,
    response: empty,
    problems: [
      "validation",
      "authentication",
      "access-rights",
      "not-found",
      "rate-limited",
      "storage-unavailable",
    ],
  },
  "GET /v1/m/{id}": {
    auth: "none",
    summary: "TIGRESS ReadDisplayInformationFromMailbox: the link preview page (HTML)",
    description:
      "ReadDisplayInformationFromMailbox (TIGRESS §6.4): the link preview, unauthenticated, as an HTML page " +
      "with a restrictive Content-Security-Policy.",
    params: MailboxIdParamsSchema,
    response: {
      status: 200,
      content: { mediaType: "text/html", schema: PreviewPageSchema },
      headers: {
        ...RELAY_RESPONSE_HEADERS,
        "content-security-policy": "default-src 'none': the page runs nothing and loads nothing",
        "referrer-policy": "no-referrer",
        "x-robots-tag": "noindex, nofollow",
      },
    },
    problems: ["not-found", "rate-limited", "storage-unavailable"],
  },
  "POST /v1/m/{id}": {
    auth: "none",
    summary: "TIGRESS ReadSecureContentFromMailbox: the encrypted payload; the first reader is bound",
    description:
      "ReadSecureContentFromMailbox (TIGRESS §6.5). The first claim other than the Initiator's is bound as the " +
      "Recipient (one conditional write: of racing readers exactly one wins); any other claim gets 401. Any " +
      "request body is ignored.",
    params: MailboxIdParamsSchema,
    headers: MailboxReadHeadersSchema,
    response: {
      status: 200,
      content: { mediaType: "application/json", schema: ReadSecureContentResponseSchema },
      headers: RELAY_RESPONSE_HEADERS,
    },
    problems: ["authentication", "access-rights", "not-found", "rate-limited", "storage-unavailable"],
  },
  "PATCH /v1/m/{id}": {
    auth: "none",
    summary: "TIGRESS RelinquishMailbox: the Recipient unbinds itself",
    description: "RelinquishMailbox (TIGRESS §6.6): unbinds the Recipient. Recipient only.",
    params: MailboxIdParamsSchema,
    headers: MailboxActionHeadersSchema,
    response: empty,
    problems: [
      "validation",
      "authentication",
      "access-rights",
      "not-found",
      "rate-limited",
      "storage-unavailable",
    ],
  },
});
