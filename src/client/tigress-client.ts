// A client of the TIGRESS relay ("mailbox") API, draft-vinokurov-tigress-http-00
// (docs/relay.md "Routes and headers"), written from the draft's text so that it works
// with any relay that follows it, ours included. The choices where the draft
// is ambiguous (docs/relay.md), each on the side a relay following the text
// accepts:
// - Mailbox-Request-ID (a UUID) goes on Create, Update, Delete and Relinquish
//   (http-00's list), not on the reads: a relay that keeps "the last ID per
//   claim" must never answer a read with a bodiless 201. A retry of a write
//   (no answer, 429 or 5xx) reuses the same ID, so the relay can recognise it;
//   its 201 means "done already".
// - Mailbox-Device-Claim goes on every call but the preview, Delete and
//   Relinquish included (§6.3, §6.6). Claims are random UUIDs the caller
//   keeps per mailbox and per role (newDeviceClaim); this module never reuses
//   one across mailboxes.
// - Mailbox-Device-Attestation, when given, goes on Create and Update only.
// - A repeated Delete answers 404 (the draft defines no 201 for it): after a
//   retry, 404 means the first attempt deleted it.
// - A retried Create answered 201 may carry no body, hence no link; that is a
//   MailboxDuplicateError, never a guessed id.
// - ReadSecureContent's `payload` is accepted as the object of the example or
//   as a JSON string (the §6.5.4 text).
// - The urlLink may lack the version segment (§6.1.6) or have it (§7.3): the
//   mailbox id is the UUID after `/m/`, and calls go where the link points.
// Share URLs follow §7.3: `https://{host}/v1/m/{uuid}?v=c#{Secret}`, the
// Secret base64 in the fragment, which is stripped before any call (§8.2.1).
import {
  MailboxDuplicateError,
  ServiceConnectionError,
  ServiceProblemError,
  ServiceResponseError,
  ShareLinkError,
} from "./errors.js";
import { type FetchOptions, type HttpMethod, readJson, send, serviceErrorFrom } from "./signed-fetch.js";

export const MAILBOX_HEADERS = {
  requestId: "Mailbox-Request-ID",
  claim: "Mailbox-Device-Claim",
  attestation: "Mailbox-Device-Attestation",
} as const;

/** RFC 5116 names the draft makes mandatory (§7.2). */
export type MailboxPayloadType = "AEAD_AES_128_GCM" | "AEAD_AES_256_GCM";

export interface MailboxPayload {
  type: string;
  /** base64(IV ‖ ciphertext ‖ tag). */
  data: string;
}

export interface DisplayInformation {
  title: string;
  description: string;
  imageURL: string;
}

export interface NotificationToken {
  /** e.g. `com.apple.apns`. */
  type: string;
  tokenData: string;
}

export interface MailboxConfiguration {
  /** Any combination of R, W and D; the draft's default is RD. */
  accessRights?: string;
  /** RFC 3339 UTC, `YYYY-MM-DDThh:mm:ssZ` (see rfc3339Utc). */
  expiration: string;
}

export interface CreateMailboxRequest {
  payload: MailboxPayload;
  displayInformation: DisplayInformation;
  notificationToken?: NotificationToken;
  mailboxConfiguration?: MailboxConfiguration;
}

export interface CreatedMailbox {
  urlLink: string;
  mailboxId: string;
  isPushNotificationSupported: boolean;
  /** The relay answered 201: a retry of a Create it had already done (it repeated the link). */
  duplicate: boolean;
  /** The expiration in force, when the relay says (an addition of this project's relay, not in the draft). */
  expiration: string | undefined;
}

export interface SecureContent {
  payload: MailboxPayload;
  displayInformation: DisplayInformation | undefined;
  expiration: string | undefined;
}

export interface WriteOptions {
  /** Default: a new UUID for this operation (kept across its retries). */
  readonly requestId?: string;
  /**
   * Opaque OEM attestation (Create and Update only); SHALL NOT identify the
   * device (§8.2.2). This project's relay takes base64 of 1 to 4096 bytes.
   */
  readonly attestation?: string;
}

export interface TigressClientOptions extends Pick<FetchOptions, "fetch" | "timeoutMs"> {
  /** Further attempts of a write after no answer, 429 or 5xx; default 2. */
  readonly retries?: number;
  /** Delay before the first retry, doubled each time; default 200 ms. */
  readonly retryDelayMs?: number;
}

export type ShareVertical = "a" | "h" | "c";

export interface ShareUrl {
  /** Where the mailbox API lives: everything before `/m/{id}`, e.g. `https://relay.example/v1`. */
  readonly apiRoot: string;
  readonly mailboxId: string;
  /** `a` general access, `h` home, `c` car; `a` when the link has no `v`. */
  readonly vertical: ShareVertical;
  readonly secret: Uint8Array;
  /** The link without its fragment: the only form that may reach a server. */
  readonly link: string;
}

/** Longest Retry-After this client waits out by itself. */
const MAX_RETRY_WAIT_MS = 5_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A random Device Claim; make a new one per mailbox and per role (§4.1). */
export function newDeviceClaim(): string {
  return crypto.randomUUID();
}

/** `YYYY-MM-DDThh:mm:ssZ`, the only form §6.1.5 allows (no fractional seconds). */
export function rfc3339Utc(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

function checkUuid(value: string, name: string): string {
  if (typeof value !== "string" || !UUID.test(value)) throw new TypeError(`${name} must be a UUID`);
  return value;
}

/** The mailbox a link points at: its API root and id (the query and fragment are ignored). */
export function parseMailboxLink(urlLink: string): { apiRoot: string; mailboxId: string } {
  let url: URL;
  try {
    url = new URL(urlLink);
  } catch {
    throw new ShareLinkError("the link is not an absolute URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new ShareLinkError("the link is not http(s)");
  const match = /^(.*)\/m\/([^/]+)\/?$/.exec(url.pathname);
  if (!match || !UUID.test(match[2]!)) throw new ShareLinkError("the link's path is not …/m/{mailbox UUID}");
  return { apiRoot: `${url.origin}${match[1]}`, mailboxId: match[2]! };
}

function base64Secret(secret: Uint8Array): string {
  return Buffer.from(secret).toString("base64");
}

/** base64 or base64url, padded or not, percent-encoded or not. */
function decodeSecret(fragment: string): Uint8Array {
  let text: string;
  try {
    text = decodeURIComponent(fragment);
  } catch {
    throw new ShareLinkError("the link's fragment is not valid percent-encoding");
  }
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) throw new ShareLinkError("the link's fragment is not base64");
  const bytes = new Uint8Array(Buffer.from(text.replace(/-/g, "+").replace(/_/g, "/"), "base64"));
  if (bytes.length !== 16 && bytes.length !== 32) {
    throw new ShareLinkError("the Secret in the link must be a 16- or 32-byte AES key");
  }
  return bytes;
}

/** The share URL of §7.3: the relay's link, `v` for the vertical, the Secret (base64) as the fragment. */
export function buildShareUrl(urlLink: string, secret: Uint8Array, vertical: ShareVertical = "c"): string {
  parseMailboxLink(urlLink);
  if (secret.length !== 16 && secret.length !== 32) throw new TypeError("secret must be 16 or 32 bytes");
  const url = new URL(urlLink);
  url.hash = "";
  url.searchParams.set("v", vertical);
  return `${url.href}#${base64Secret(secret)}`;
}

/** Splits a share URL into where to call, which mailbox, and the Secret that must never be sent. */
export function parseShareUrl(shareUrl: string): ShareUrl {
  const { apiRoot, mailboxId } = parseMailboxLink(shareUrl);
  const url = new URL(shareUrl);
  const fragment = url.hash.slice(1);
  if (fragment === "") throw new ShareLinkError("the link has no Secret (no #fragment)");
  const secret = decodeSecret(fragment);
  const v = url.searchParams.get("v") ?? "a";
  if (v !== "a" && v !== "h" && v !== "c") throw new ShareLinkError(`the link's v=${v} is not a, h or c`);
  url.hash = "";
  return { apiRoot, mailboxId, vertical: v, secret, link: url.href };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function retryable(error: unknown): boolean {
  if (error instanceof ServiceConnectionError) return true;
  return (
    error instanceof ServiceProblemError &&
    (error.status === 429 || (error.status >= 500 && error.status !== 501))
  );
}

function payloadOf(value: unknown, what: string): MailboxPayload {
  let payload = value;
  if (typeof payload === "string") {
    try {
      payload = JSON.parse(payload);
    } catch {
      throw new ServiceResponseError(`${what}: payload is neither an object nor JSON text`);
    }
  }
  const p = payload as Record<string, unknown> | null;
  if (!p || typeof p !== "object" || typeof p.type !== "string" || typeof p.data !== "string") {
    throw new ServiceResponseError(`${what}: payload must be {type, data}`);
  }
  return { type: p.type, data: p.data };
}

export class TigressClient {
  /** e.g. `https://relay.example/v1`; mailboxes are `${apiRoot}/m/{id}`. */
  readonly apiRoot: string;
  private readonly options: TigressClientOptions;

  constructor(apiRoot: string, options: TigressClientOptions = {}) {
    const url = new URL(apiRoot);
    if (url.protocol !== "https:" && url.protocol !== "http:") throw new TypeError("apiRoot must be http(s)");
    if (url.search || url.hash) throw new TypeError("apiRoot must not carry a query or a fragment");
    this.apiRoot = `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
    this.options = options;
  }

  /** A client for the service at `baseUrl`, whose relay lives under `/v1` (docs/relay.md). */
  static forService(baseUrl: string, options: TigressClientOptions = {}): TigressClient {
    return new TigressClient(`${baseUrl.replace(/\/+$/, "")}/v1`, options);
  }

  /** True when `link` (a urlLink or a share URL) points at a mailbox of this relay. */
  serves(link: string): boolean {
    return parseMailboxLink(link).apiRoot === this.apiRoot;
  }

  /** CreateMailbox (§6.1): binds `claim` as the Initiator's. */
  async createMailbox(
    claim: string,
    request: CreateMailboxRequest,
    options: WriteOptions = {},
  ): Promise<CreatedMailbox> {
    const what = "CreateMailbox";
    const { status, body } = await this.write("POST", "/m", claim, request, options, what);
    const created = (body ?? {}) as Record<string, unknown>;
    if (typeof created.urlLink !== "string") {
      if (status === 201) {
        throw new MailboxDuplicateError(
          "the relay says this Create was already done but did not repeat the link; create a new mailbox",
        );
      }
      throw new ServiceResponseError(`${what}: the response has no urlLink`);
    }
    const { mailboxId } = parseMailboxLink(created.urlLink);
    return {
      urlLink: created.urlLink,
      mailboxId,
      isPushNotificationSupported: created.isPushNotificationSupported === true,
      duplicate: status === 201,
      expiration: typeof created.expiration === "string" ? created.expiration : undefined,
    };
  }

  /** UpdateMailbox (§6.2): replaces the payload; the relay tells the other party. */
  async updateMailbox(
    mailboxId: string,
    claim: string,
    update: { payload: MailboxPayload; notificationToken?: NotificationToken },
    options: WriteOptions = {},
  ): Promise<{ isPushNotificationSupported: boolean; duplicate: boolean }> {
    const { status, body } = await this.write(
      "PUT",
      this.mailboxPath(mailboxId),
      claim,
      update,
      options,
      "UpdateMailbox",
    );
    const answer = (body ?? {}) as Record<string, unknown>;
    return {
      isPushNotificationSupported: answer.isPushNotificationSupported === true,
      duplicate: status === 201,
    };
  }

  /** ReadSecureContentFromMailbox (§6.5): the first read by an unknown claim binds it as the Recipient's. */
  async readSecureContent(mailboxId: string, claim: string): Promise<SecureContent> {
    const what = "ReadSecureContentFromMailbox";
    const url = this.url(this.mailboxPath(mailboxId));
    const body = await this.withRetries(async () => {
      const response = await send(url, "POST", {
        headers: {
          accept: "application/json, application/problem+json",
          [MAILBOX_HEADERS.claim]: checkUuid(claim, "claim"),
        },
        options: this.options,
      });
      return readJson<Record<string, unknown>>(response, "POST", url);
    });
    if (!body || typeof body !== "object") throw new ServiceResponseError(`${what}: not a JSON object`);
    const display = body.displayInformation as DisplayInformation | undefined;
    return {
      payload: payloadOf(body.payload, what),
      displayInformation: display && typeof display === "object" ? display : undefined,
      expiration: typeof body.expiration === "string" ? body.expiration : undefined,
    };
  }

  /** ReadDisplayInformationFromMailbox (§6.4): the unauthenticated HTML preview page. */
  async readDisplayInformation(mailboxId: string): Promise<string> {
    const url = this.url(this.mailboxPath(mailboxId));
    return this.withRetries(async () => {
      const response = await send(url, "GET", { headers: { accept: "text/html" }, options: this.options });
      const text = await response.text();
      if (!response.ok) throw serviceErrorFrom(response, text, `GET ${url.pathname}`);
      return text;
    });
  }

  /** RelinquishMailbox (§6.6): the Recipient unbinds itself so another device can claim the mailbox. */
  async relinquish(
    mailboxId: string,
    claim: string,
    options: WriteOptions = {},
  ): Promise<{ duplicate: boolean }> {
    const { status } = await this.write(
      "PATCH",
      this.mailboxPath(mailboxId),
      claim,
      undefined,
      { ...(options.requestId ? { requestId: options.requestId } : {}) },
      "RelinquishMailbox",
    );
    return { duplicate: status === 201 };
  }

  /** DeleteMailbox (§6.3), by either bound party. */
  async deleteMailbox(mailboxId: string, claim: string, options: WriteOptions = {}): Promise<void> {
    await this.write(
      "DELETE",
      this.mailboxPath(mailboxId),
      claim,
      undefined,
      { ...(options.requestId ? { requestId: options.requestId } : {}) },
      "DeleteMailbox",
      { notFoundAfterRetryIsDone: true },
    );
  }

  private mailboxPath(mailboxId: string): string {
    return `/m/${checkUuid(mailboxId, "mailboxId").toLowerCase()}`;
  }

  private url(path: string): URL {
    return new URL(`${this.apiRoot}${path}`);
  }

  /** One logical write: one Request-ID, retried on no answer, 429 and 5xx. */
  private async write(
    method: HttpMethod,
    path: string,
    claim: string,
    body: unknown,
    options: WriteOptions,
    what: string,
    behaviour: { notFoundAfterRetryIsDone?: boolean } = {},
  ): Promise<{ status: number; body: unknown }> {
    const requestId = checkUuid(options.requestId ?? crypto.randomUUID(), "requestId");
    const url = this.url(path);
    const headers: Record<string, string> = {
      accept: "application/json, application/problem+json",
      [MAILBOX_HEADERS.requestId]: requestId,
      [MAILBOX_HEADERS.claim]: checkUuid(claim, "claim"),
      ...(options.attestation ? { [MAILBOX_HEADERS.attestation]: options.attestation } : {}),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    };
    const bytes = body === undefined ? undefined : new TextEncoder().encode(JSON.stringify(body));
    let attempt = 0;
    return this.withRetries(async () => {
      attempt++;
      const response = await send(url, method, {
        headers,
        ...(bytes ? { body: bytes } : {}),
        options: this.options,
      });
      if (response.status === 404 && attempt > 1 && behaviour.notFoundAfterRetryIsDone) {
        await response.body?.cancel();
        return { status: 200, body: undefined };
      }
      const echoed = response.headers.get(MAILBOX_HEADERS.requestId);
      if (response.ok && echoed !== null && echoed.toLowerCase() !== requestId.toLowerCase()) {
        throw new ServiceResponseError(`${what}: the relay echoed another ${MAILBOX_HEADERS.requestId}`);
      }
      const text = await response.text();
      if (!response.ok) throw serviceErrorFrom(response, text, `${method} ${url.pathname}`);
      let parsed: unknown;
      if (text.trim() !== "") {
        try {
          parsed = JSON.parse(text);
        } catch {
          throw new ServiceResponseError(`${what}: the response body is not JSON`);
        }
      }
      return { status: response.status, body: parsed };
    });
  }

  private async withRetries<T>(operation: () => Promise<T>): Promise<T> {
    const retries = this.options.retries ?? 2;
    let delay = this.options.retryDelayMs ?? 200;
    for (let attempt = 0; ; attempt++) {
      try {
        return await operation();
      } catch (error) {
        if (attempt >= retries || !retryable(error)) throw error;
        // A relay that names a longer wait than this client would sleep gets its refusal passed on.
        const asked = error instanceof ServiceProblemError ? (error.retryAfterSeconds ?? 0) * 1000 : 0;
        if (asked > MAX_RETRY_WAIT_MS) throw error;
        await sleep(Math.max(delay, asked));
        delay *= 2;
      }
    }
  }
}
