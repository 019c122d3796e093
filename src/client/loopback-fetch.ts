// A fetch for `*.localhost` URLs. RFC 6761 §6.3 reserves every name under
// `localhost` for the loopback interface, and local AWS emulators use that to
// tell APIs apart by host name on one port (MiniStack serves an HTTP API as
// `{apiId}.execute-api.localhost:PORT`). Node's fetch resolves names with the
// system resolver, which here often knows only `localhost` itself, and it
// will not send a Host header other than the URL's; so these URLs go over
// node:http, connected to 127.0.0.1, with the URL's host name as the Host.
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { LookupFunction } from "node:net";

/** True for a name under `localhost` (`localhost` itself resolves everywhere and stays with fetch). */
export function isLocalhostName(hostname: string): boolean {
  return hostname.toLowerCase().replace(/\.$/, "").endsWith(".localhost");
}

const loopbackLookup: LookupFunction = (_hostname, options, callback) => {
  if (options.all)
    (callback as (e: null, a: { address: string; family: number }[]) => void)(null, [
      { address: "127.0.0.1", family: 4 },
    ]);
  else callback(null, "127.0.0.1", 4);
};

/** fetch's subset that the client uses (method, headers, bytes body, signal), for `*.localhost` URLs. */
export async function loopbackFetch(
  input: string | URL | Request,
  init: RequestInit = {},
): Promise<Response> {
  const url = new URL(input instanceof Request ? input.url : input);
  if (!isLocalhostName(url.hostname))
    throw new TypeError(`loopbackFetch serves *.localhost URLs only: ${url.host}`);
  const headers: Record<string, string> = {};
  new Headers(init.headers).forEach((value, name) => {
    headers[name] = value;
  });
  const body =
    init.body === undefined || init.body === null
      ? undefined
      : new Uint8Array(await new Response(init.body).arrayBuffer());
  if (body !== undefined) headers["content-length"] = String(body.length);
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise<Response>((resolve, reject) => {
    const req = send(
      url,
      {
        method: init.method ?? "GET",
        headers,
        lookup: loopbackLookup,
        ...(init.signal ? { signal: init.signal } : {}),
      },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.once("error", reject);
        res.once("end", () => {
          const responseHeaders = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (value === undefined) continue;
            for (const one of Array.isArray(value) ? value : [value]) responseHeaders.append(name, one);
          }
          const status = res.statusCode ?? 502;
          const noBody = status === 204 || status === 304 || (init.method ?? "GET") === "HEAD";
          resolve(
            new Response(noBody ? null : Buffer.concat(chunks), {
              status,
              statusText: res.statusMessage ?? "",
              headers: responseHeaders,
            }),
          );
        });
      },
    );
    req.once("error", reject);
    req.end(body);
  });
}
