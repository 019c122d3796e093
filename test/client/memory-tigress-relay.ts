// An in-memory TIGRESS relay behind a `fetch` function, for the client's unit
// tests only: the share-invitation tests need a relay whose stored payload
// they can tamper with, roll back or lose answers of, which a real server
// should never let them do. It follows the draft's text (docs/relay.md):
// claims bound at Create and at the first read, 401 for other claims, 201
// for a repeated Mailbox-Request-ID (without a body), 404 for unknown or
// deleted mailboxes, and an HTML preview. The relay-backed tests against the
// real local server are in share-over-relay.test.ts.
import { randomUUID } from "node:crypto";

export interface StoredMailbox {
  initiatorClaim: string;
  recipientClaim: string | undefined;
  payload: { type: string; data: string };
  displayInformation: { title: string; description: string; imageURL: string };
  expiration: string;
  /** Every payload this mailbox held, oldest first (for replay tests). */
  history: { type: string; data: string }[];
}

export interface LoggedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class MemoryTigressRelay {
  readonly origin: string;
  readonly mailboxes = new Map<string, StoredMailbox>();
  readonly log: LoggedRequest[] = [];
  /** Last successful Request-ID per claim (§5.1). */
  private readonly lastRequestId = new Map<string, string>();
  /** Perform the next N writes, then fail as if the answer was lost on the way. */
  loseAnswers = 0;
  /** Refuse the next N requests with 429 and this Retry-After (seconds). */
  rateLimit = { count: 0, retryAfterSeconds: 0 };

  constructor(origin = "https://relay.test") {
    this.origin = origin;
  }

  get apiRoot(): string {
    return `${this.origin}/v1`;
  }

  readonly fetch: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const method = init?.method ?? "GET";
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((value, name) => {
      headers[name.toLowerCase()] = value;
    });
    const body = init?.body ? new TextDecoder().decode(init.body as Uint8Array) : "";
    this.log.push({ method, url: url.href, headers, body });
    if (this.rateLimit.count > 0) {
      this.rateLimit.count--;
      const refusal = problem(429, "slow down");
      refusal.headers.set("retry-after", String(this.rateLimit.retryAfterSeconds));
      return refusal;
    }
    const response = this.handle(method, url, headers, body);
    if (this.loseAnswers > 0 && method !== "GET" && !(method === "POST" && url.pathname.includes("/m/"))) {
      this.loseAnswers--;
      throw new TypeError("fetch failed (answer lost)");
    }
    return response;
  };

  private handle(method: string, url: URL, headers: Record<string, string>, body: string): Response {
    const claim = headers["mailbox-device-claim"];
    const requestId = headers["mailbox-request-id"];
    if (url.pathname === "/v1/m" && method === "POST") {
      if (!claim || !UUID.test(claim)) return problem(401, "missing or malformed Mailbox-Device-Claim");
      if (requestId && this.lastRequestId.get(claim) === requestId)
        return new Response(null, { status: 201 });
      const request = JSON.parse(body);
      const id = randomUUID();
      this.mailboxes.set(id, {
        initiatorClaim: claim,
        recipientClaim: undefined,
        payload: request.payload,
        displayInformation: request.displayInformation,
        expiration: request.mailboxConfiguration?.expiration ?? "",
        history: [request.payload],
      });
      if (requestId) this.lastRequestId.set(claim, requestId);
      return json(200, { urlLink: `${this.apiRoot}/m/${id}`, isPushNotificationSupported: false }, requestId);
    }
    const match = /^\/v1\/m\/([^/]+)$/.exec(url.pathname);
    if (!match) return problem(404, "no such route");
    const id = match[1]!;
    const mailbox = this.mailboxes.get(id);
    if (method === "GET") {
      if (!mailbox) return problem(404, "no such mailbox");
      return new Response(
        `<html><head><meta property="og:title" content="${mailbox.displayInformation.title}"></head></html>`,
        {
          status: 200,
          headers: { "content-type": "text/html" },
        },
      );
    }
    if (!claim || !UUID.test(claim)) return problem(401, "missing or malformed Mailbox-Device-Claim");
    if (!mailbox) return problem(404, "no such mailbox");
    const bound = claim === mailbox.initiatorClaim || claim === mailbox.recipientClaim;
    if (requestId && this.lastRequestId.get(claim) === requestId) return new Response(null, { status: 201 });
    switch (method) {
      case "POST": {
        if (!bound) {
          if (mailbox.recipientClaim !== undefined)
            return problem(401, "the mailbox is bound to other claims");
          mailbox.recipientClaim = claim;
        }
        return json(200, {
          payload: mailbox.payload,
          displayInformation: mailbox.displayInformation,
          expiration: mailbox.expiration,
        });
      }
      case "PUT": {
        if (!bound) return problem(401, "claim not bound to this mailbox");
        const update = JSON.parse(body);
        mailbox.payload = update.payload;
        mailbox.history.push(update.payload);
        if (requestId) this.lastRequestId.set(claim, requestId);
        return json(200, { isPushNotificationSupported: false }, requestId);
      }
      case "PATCH": {
        if (claim !== mailbox.recipientClaim) return problem(401, "only the bound recipient may relinquish");
        mailbox.recipientClaim = undefined;
        if (requestId) this.lastRequestId.set(claim, requestId);
        return json(200, {}, requestId);
      }
      case "DELETE": {
        if (!bound) return problem(401, "claim not bound to this mailbox");
        this.mailboxes.delete(id);
        if (requestId) this.lastRequestId.set(claim, requestId);
        return json(200, {}, requestId);
      }
      default:
        return problem(405, `${method} not allowed`);
    }
  }
}

function json(status: number, body: unknown, requestId?: string): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      "content-type": "application/json",
      ...(requestId ? { "mailbox-request-id": requestId } : {}),
    },
  });
}

function problem(status: number, detail: string): Response {
  return new Response(JSON.stringify({ type: "about:blank", title: "Refused", status, detail }), {
    status,
    headers: { "content-type": "application/problem+json" },
  });
}
