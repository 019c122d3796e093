// A loopback HTTP proxy that signs device requests, for API testers that
// cannot: Schemathesis (scripts/contract/run-schemathesis.ts) generates
// requests from the OpenAPI document, but a `device` route wants the four
// carkey-* headers, an ECDSA signature by a key in the device's secure element
// over the exact method, path, query and body bytes (docs/protocol.md "Signed
// service requests"). A tester cannot compute that, so it sends its requests
// here instead: each one is forwarded unchanged to the service, except that a
// request for a `device` route (matched against src/api/routes.ts as the local
// server matches it) gets fresh carkey-* headers signed by the project's own
// client code (signedRequestHeaders in src/client/signed-fetch.ts, the same
// function every device request of the client goes through) with a key of an
// emulated SE that the caller enrolled, in place of the four carkey-* headers
// the tester sent. A request that lacks any of the four is passed on as it
// is: that is a tester checking that the route refuses an unsigned request,
// and it must see the refusal. Every other request, and every answer, passes
// through byte for byte.
//
// Which key signs is the route's to say (its service call requires an
// `instance` or an `endpoint` signer, src/service/device-request-auth.ts):
// DEVICE_ROUTE_SIGNERS names one per device route, and the proxy refuses to
// start when a device route is missing from it.
import { createServer, request as httpRequest, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Router } from "../../src/adapters/local-server/router.js";
import { ROUTES, type RouteDefinition } from "../../src/api/routes.js";
import { type RequestSigningSe, signedRequestHeaders } from "../../src/client/signed-fetch.js";
import { REQUEST_HEADERS, type RequestSigner } from "../../src/protocol/request-signature.js";

/** The kind of key each device route's service call verifies the request with. */
export const DEVICE_ROUTE_SIGNERS: Readonly<Record<string, "instance" | "endpoint">> = {
  "POST /v1/devices": "instance",
  "GET /v1/devices/{seId}/notices": "instance",
  "POST /v1/keys/{keyId}/termination": "instance",
  "POST /v1/keys": "endpoint",
  "POST /v1/revocations": "endpoint",
};

export interface DeviceSigningProxyOptions {
  /** The service, e.g. http://127.0.0.1:3000 (loopback only). */
  readonly upstream: string;
  /** The SE whose keys sign. */
  readonly se: RequestSigningSe;
  /** The signer names it signs as: its instance key and one of its endpoint keys. */
  readonly signers: { readonly instance: RequestSigner; readonly endpoint: RequestSigner };
  /** Default ROUTES (src/api/routes.ts). */
  readonly routes?: readonly RouteDefinition[];
  /** Port to listen on (127.0.0.1); default 0, a free one. */
  readonly port?: number;
}

export interface DeviceSigningProxy {
  /** e.g. http://127.0.0.1:41234 */
  readonly url: string;
  /** Requests it signed, by route key. */
  readonly signed: ReadonlyMap<string, number>;
  close(): Promise<void>;
}

/** The proxy cannot start: a device route without a signer, or an upstream off loopback. */
export class DeviceSigningProxyError extends Error {
  override name = "DeviceSigningProxyError";
}

const CARKEY_HEADERS = new Set<string>(Object.values(REQUEST_HEADERS));
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection"]);

export async function startDeviceSigningProxy(
  options: DeviceSigningProxyOptions,
): Promise<DeviceSigningProxy> {
  const upstream = new URL(options.upstream);
  if (upstream.protocol !== "http:" || !["127.0.0.1", "[::1]", "localhost"].includes(upstream.hostname)) {
    throw new DeviceSigningProxyError(`upstream must be http on loopback, not ${options.upstream}`);
  }
  const routes = options.routes ?? ROUTES;
  const unsigned = routes
    .filter((r) => r.auth === "device" && !DEVICE_ROUTE_SIGNERS[`${r.method} ${r.path}`])
    .map((r) => `${r.method} ${r.path}`);
  if (unsigned.length > 0) {
    throw new DeviceSigningProxyError(`no signer kind for device route(s) ${unsigned.join(", ")}`);
  }
  const router = new Router(routes);
  const signed = new Map<string, number>();

  const server: Server = createServer((req, res) => {
    forward(req)
      .then((answer) => {
        res.writeHead(answer.status, answer.headers);
        res.end(answer.body);
      })
      .catch((error: unknown) => {
        // The service did not answer: a tester must see that, not a made-up status.
        res.destroy(error instanceof Error ? error : new Error(String(error)));
      });
  });

  async function forward(req: IncomingMessage) {
    const body = await readAll(req);
    const method = req.method ?? "GET";
    const target = req.url ?? "/";
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headersDistinct)) {
      if (value === undefined || HOP_BY_HOP.has(name) || name === "host") continue;
      headers[name] = value;
    }
    const signing = signingFor(method, target);
    if (signing && [...CARKEY_HEADERS].every((name) => headers[name] !== undefined)) {
      for (const name of CARKEY_HEADERS) delete headers[name];
      Object.assign(
        headers,
        signedRequestHeaders(options.se, options.signers[signing.kind], {
          method,
          path: signing.signedPath,
          body,
        }),
      );
      signed.set(signing.routeKey, (signed.get(signing.routeKey) ?? 0) + 1);
    }
    if (body.length > 0 || req.headers["content-length"] !== undefined) {
      headers["content-length"] = String(body.length);
    }
    return send(upstream, method, target, headers, body);
  }

  /** The signer kind and signed path for a device route's request; undefined for anything else. */
  function signingFor(method: string, target: string) {
    const question = target.indexOf("?");
    let rawPath: string;
    try {
      rawPath = decodeURIComponent(question < 0 ? target : target.slice(0, question));
    } catch {
      return undefined; // the service refuses a malformed path before any route: nothing to sign
    }
    // What the service verifies (src/service/http): the decoded path, then `?` and the query as sent.
    const query = question < 0 ? "" : target.slice(question + 1);
    const signedPath = query ? `${rawPath}?${query}` : rawPath;
    if (/\s/.test(signedPath) || !/^[A-Z]+$/.test(method)) return undefined; // no canonical form exists
    const match = router.match(method, rawPath);
    if (match.kind !== "matched" || match.route.auth !== "device") return undefined;
    const kind = DEVICE_ROUTE_SIGNERS[match.routeKey];
    return kind ? { kind, signedPath, routeKey: match.routeKey } : undefined;
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    signed,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function readAll(req: IncomingMessage): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.once("end", () => resolve(new Uint8Array(Buffer.concat(chunks))));
    req.once("error", reject);
  });
}

function send(
  upstream: URL,
  method: string,
  target: string,
  headers: Record<string, string | string[]>,
  body: Uint8Array,
): Promise<{ status: number; headers: Record<string, string | string[]>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: upstream.hostname.replace(/^\[|\]$/g, ""),
        port: upstream.port,
        method,
        path: target,
        headers: { ...headers, host: upstream.host },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.once("error", reject);
        res.once("end", () => {
          const answerHeaders: Record<string, string | string[]> = {};
          for (const [name, value] of Object.entries(res.headersDistinct)) {
            if (value !== undefined && !HOP_BY_HOP.has(name)) answerHeaders[name] = value;
          }
          resolve({ status: res.statusCode ?? 502, headers: answerHeaders, body: Buffer.concat(chunks) });
        });
      },
    );
    req.once("error", reject);
    req.end(body);
  });
}
