// HTTP calls to the Car Keys service, as devices and OEM backends make them.
// A device has no bearer secret: deviceFetch serializes the body once, signs
// the exact bytes it will send through the secure element
// (src/protocol/request-signature.ts: method, path with query, SHA-256 of the
// body, a timestamp and a fresh 16-byte nonce, the signer's name) and puts
// the signature in the carkey-* headers; the SE never hands out a key. An OEM
// backend calls its routes with oemFetch, authenticated as oem-auth.ts says:
// SigV4 (the AWS SDK's signer, default credential chain) for API Gateway's IAM
// authorizer in AWS or on an emulator, or the local server's static bearer
// token. `*.localhost` URLs (an emulator's API host names) go over
// loopback-fetch.ts. Every answer is parsed in one place: JSON on success,
// problem+json (RFC 9457) into a typed ServiceProblemError on refusal.
import { toHex } from "../protocol/bytes.js";
import {
  REQUEST_HEADERS,
  type RequestSigner,
  type SignedRequestParts,
} from "../protocol/request-signature.js";
import type { RequestSigningSecureElement } from "./device-ports.js";
import {
  type ProblemField,
  ServiceConnectionError,
  ServiceProblemError,
  ServiceResponseError,
} from "./errors.js";
import { isLocalhostName, loopbackFetch } from "./loopback-fetch.js";
import { type OemAuth, type OemSigning, oemAuth, oemAuthHeaders } from "./oem-auth.js";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** What signs a device request: the emulated SE, or a real one behind the same method. */
export type RequestSigningSe = RequestSigningSecureElement;

export interface FetchOptions {
  /** The fetch to use; default globalThis.fetch. */
  readonly fetch?: typeof fetch;
  /** Abort the request after this long; default 30 s (API Gateway's own limit). */
  readonly timeoutMs?: number;
  /** Device requests: the clock for carkey-timestamp (unix ms); default Date.now. */
  readonly now?: () => number;
  /** Device requests: the source of the nonce; default crypto.getRandomValues. */
  readonly randomBytes?: (length: number) => Uint8Array;
  /** Extra request headers (never carkey-* or authorization: those are set here). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface ServiceResponse<T> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const JSON_TYPE = /^application\/(?:[a-z0-9.+-]+\+)?json\s*(?:;|$)/i;

function defaultRandom(length: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(length));
}

/** `baseUrl` (which may carry a path prefix such as an API stage) joined with an absolute `path`. */
export function serviceUrl(baseUrl: string, path: string): URL {
  if (!path.startsWith("/")) throw new TypeError(`path must start with /: ${path}`);
  let base: URL;
  try {
    base = new URL(baseUrl);
  } catch {
    throw new TypeError(`baseUrl is not an absolute URL: ${baseUrl}`);
  }
  if (base.protocol !== "https:" && base.protocol !== "http:") {
    throw new TypeError(`baseUrl must be http(s): ${baseUrl}`);
  }
  if (base.search || base.hash) throw new TypeError("baseUrl must not carry a query or a fragment");
  return new URL(`${base.origin}${base.pathname.replace(/\/+$/, "")}${path}`);
}

/** JSON body bytes, or an empty body when there is none (what an empty request's signature covers). */
function encodeBody(body: unknown): Uint8Array {
  return body === undefined ? new Uint8Array(0) : new TextEncoder().encode(JSON.stringify(body));
}

/**
 * The carkey-* headers for one request: a fresh nonce and the current time,
 * signed by `se` as `signer` over exactly `method`, `path` (with query) and
 * `body` as they go on the wire.
 */
export function signedRequestHeaders(
  se: RequestSigningSe,
  signer: RequestSigner,
  request: { method: string; path: string; body: Uint8Array },
  options: Pick<FetchOptions, "now" | "randomBytes"> = {},
): Record<string, string> {
  const nonceBytes = (options.randomBytes ?? defaultRandom)(16);
  if (!(nonceBytes instanceof Uint8Array) || nonceBytes.length !== 16) {
    throw new TypeError("randomBytes(16) must return 16 bytes");
  }
  const parts: SignedRequestParts = {
    method: request.method,
    path: request.path,
    body: request.body,
    timestamp: Math.floor((options.now ?? Date.now)()),
    nonce: toHex(nonceBytes),
    signer,
  };
  const signature = se.signServiceRequest(parts);
  return {
    [REQUEST_HEADERS.signer]: signer,
    [REQUEST_HEADERS.timestamp]: String(parts.timestamp),
    [REQUEST_HEADERS.nonce]: parts.nonce,
    [REQUEST_HEADERS.signature]: toHex(signature),
  };
}

/**
 * A request signed by a key in the device's SE. `path` is absolute (with any
 * query); the signature covers the full path the server receives, so a base
 * URL with a stage prefix is signed as sent.
 */
export async function deviceFetch<T = unknown>(
  baseUrl: string,
  se: RequestSigningSe,
  signer: RequestSigner,
  method: HttpMethod,
  path: string,
  body?: unknown,
  options: FetchOptions = {},
): Promise<ServiceResponse<T>> {
  const url = serviceUrl(baseUrl, path);
  const bytes = encodeBody(body);
  const signed = signedRequestHeaders(
    se,
    signer,
    { method, path: `${url.pathname}${url.search}`, body: bytes },
    options,
  );
  return sendJson<T>(url, method, bytes, body !== undefined, { ...options.headers, ...signed }, options);
}

/**
 * A request to an OEM route, authenticated by `credential`: a non-empty string
 * is the local server's bearer token; "" (or `{ kind: "sigv4" }`) signs it
 * with SigV4 for API Gateway's IAM authorizer (oem-auth.ts).
 */
export async function oemFetch<T = unknown>(
  baseUrl: string,
  credential: string | OemAuth,
  method: HttpMethod,
  path: string,
  body?: unknown,
  options: FetchOptions = {},
): Promise<ServiceResponse<T>> {
  const url = serviceUrl(baseUrl, path);
  const bytes = encodeBody(body);
  const auth = oemAuth(credential);
  const { headers: authHeaders, signing } = await oemAuthHeaders(auth, { method, url, body: bytes });
  const headers: Record<string, string> = { ...options.headers, ...authHeaders };
  try {
    return await sendJson<T>(url, method, bytes, body !== undefined, headers, options);
  } catch (error) {
    throw explainOemRefusal(error, auth, signing);
  }
}

/** A 401/403 on an OEM route, with what the request was authenticated as (never a secret). */
function explainOemRefusal(error: unknown, auth: OemAuth, signing: OemSigning | undefined): unknown {
  if (!(error instanceof ServiceProblemError) || (error.status !== 401 && error.status !== 403)) return error;
  const how =
    auth.kind === "bearer"
      ? "sent the OEM bearer token: is it the one this server printed (.data/oem-token)? An API Gateway " +
        "deployment wants SigV4 instead: give no token and AWS credentials"
      : `signed with SigV4 as access key ${signing?.accessKeyId ?? "?"} for region ${signing?.region ?? "?"}: ` +
        "IAM refused it, so the region may be wrong (set AWS_REGION to the API's) or the caller may lack " +
        "execute-api:Invoke on this route (assume the stack's OemBackendRoleArn)";
  return new ServiceProblemError({
    status: error.status,
    title: error.title,
    detail: `${error.detail} (${how})`,
    type: error.type,
    instance: error.instance,
    errors: error.errors,
    request: error.request,
    retryAfterSeconds: error.retryAfterSeconds,
  });
}

/** A public route (trust anchors, the OpenAPI document). */
export async function publicFetch<T = unknown>(
  baseUrl: string,
  method: HttpMethod,
  path: string,
  options: FetchOptions = {},
): Promise<ServiceResponse<T>> {
  return sendJson<T>(
    serviceUrl(baseUrl, path),
    method,
    new Uint8Array(0),
    false,
    { ...options.headers },
    options,
  );
}

async function sendJson<T>(
  url: URL,
  method: HttpMethod,
  body: Uint8Array,
  hasBody: boolean,
  headers: Record<string, string>,
  options: FetchOptions,
): Promise<ServiceResponse<T>> {
  const response = await send(url, method, {
    headers: {
      accept: "application/json, application/problem+json",
      ...(hasBody ? { "content-type": "application/json" } : {}),
      ...headers,
    },
    ...(hasBody ? { body } : {}),
    options,
  });
  return {
    status: response.status,
    headers: response.headers,
    body: await readJson<T>(response, method, url),
  };
}

/** One fetch with a timeout; a failure to get any answer becomes ServiceConnectionError. */
export async function send(
  url: URL,
  method: HttpMethod,
  request: { headers: Record<string, string>; body?: Uint8Array; options: FetchOptions },
): Promise<Response> {
  const doFetch = request.options.fetch ?? (isLocalhostName(url.hostname) ? loopbackFetch : globalThis.fetch);
  try {
    return await doFetch(url, {
      method,
      headers: request.headers,
      // A copy on its own ArrayBuffer: what BodyInit's typing asks for, and immune to later changes.
      ...(request.body === undefined ? {} : { body: new Uint8Array(request.body) }),
      signal: AbortSignal.timeout(request.options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      redirect: "error",
    });
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new ServiceConnectionError(`${method} ${url.pathname}: no answer from ${url.origin}: ${reason}`, {
      cause,
    });
  }
}

/** The JSON body of a 2xx, or the ServiceProblemError a 4xx/5xx stands for. */
export async function readJson<T>(response: Response, method: string, url: URL): Promise<T> {
  const label = `${method} ${url.pathname}`;
  const text = await response.text();
  if (!response.ok) throw serviceErrorFrom(response, text, label);
  const contentType = response.headers.get("content-type") ?? "";
  if (!JSON_TYPE.test(contentType)) {
    throw new ServiceResponseError(`${label}: expected JSON, got ${contentType || "no content type"}`);
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ServiceResponseError(`${label}: the response body is not valid JSON`);
  }
}

/** Reads RFC 9457 problem details when present; falls back to the status line and any `message`. */
export function serviceErrorFrom(response: Response, text: string, label: string): ServiceProblemError {
  let parsed: Record<string, unknown> | undefined;
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === "object" && !Array.isArray(value))
      parsed = value as Record<string, unknown>;
  } catch {
    // not JSON: the status line is all there is
  }
  const str = (value: unknown) => (typeof value === "string" && value !== "" ? value : undefined);
  const errors: ProblemField[] = Array.isArray(parsed?.errors)
    ? (parsed.errors as unknown[]).flatMap((e) => {
        const field = e as Record<string, unknown> | null;
        return field && typeof field.path === "string" && typeof field.message === "string"
          ? [{ path: field.path, message: field.message }]
          : [];
      })
    : [];
  return new ServiceProblemError({
    status: response.status,
    title: str(parsed?.title) ?? (response.statusText || `HTTP ${response.status}`),
    detail: str(parsed?.detail) ?? str(parsed?.message) ?? "the response carried no explanation",
    type: str(parsed?.type),
    instance: str(parsed?.instance),
    errors,
    request: label,
    retryAfterSeconds: retryAfterSeconds(response.headers.get("retry-after")),
  });
}

/** Retry-After as delta-seconds or an HTTP-date (RFC 9110 §10.2.3), in seconds from now. */
function retryAfterSeconds(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (/^\d{1,9}$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}
