// What each HTTP request costs in DynamoDB operations, attributed to its route.
// The bench's requests are sequential and the local server runs the handlers
// in this process, so every DynamoDB command reported while a request is in
// flight (src/adapters/dynamodb/operation-count.ts) belongs to that request.
import { observeDynamoDbOperations } from "../src/adapters/dynamodb/operation-count.js";

/** Route names as the bench prints them (`ddb-ops-<route>`), by method and path. */
const ROUTE_NAMES: readonly [method: string, path: RegExp, name: string][] = [
  ["POST", /^\/v1\/devices$/, "issuance"],
  ["POST", /^\/v1\/vehicles$/, "vehicle-enrollment"],
  ["POST", /^\/v1\/vehicles\/[^/]+\/pairing$/, "pairing"],
  ["POST", /^\/v1\/keys$/, "key-registration"],
  ["GET", /^\/v1\/keys\/[^/]+$/, "key"],
  ["GET", /^\/v1\/vehicles\/[^/]+\/keys$/, "vehicle-keys"],
  ["POST", /^\/v1\/revocations$/, "owner-revocation"],
  ["POST", /^\/v1\/keys\/[^/]+\/revocation$/, "oem-revocation"],
  ["POST", /^\/v1\/keys\/[^/]+\/termination$/, "termination"],
  ["GET", /^\/v1\/vehicles\/[^/]+\/revocations$/, "revocation-list"],
  ["GET", /^\/v1\/devices\/[^/]+\/notices$/, "device-notices"],
  ["GET", /^\/v1\/vehicles\/[^/]+\/notices$/, "vehicle-notices"],
  ["POST", /^\/v1\/devices\/[^/]+\/lost-mode$/, "lost-mode"],
  ["POST", /^\/v1\/m$/, "relay-put"],
  ["POST", /^\/v1\/m\/[^/]+$/, "relay-get"],
  ["PUT", /^\/v1\/m\/[^/]+$/, "relay-update"],
  ["DELETE", /^\/v1\/m\/[^/]+$/, "relay-delete"],
  ["GET", /^\/v1\/m\/[^/]+$/, "relay-preview"],
  ["PATCH", /^\/v1\/m\/[^/]+$/, "relay-relinquish"],
  ["GET", /^\/v1\/trust-anchors$/, "trust-anchors"],
];

export function routeName(method: string, url: string): string {
  const path = new URL(url).pathname;
  const found = ROUTE_NAMES.find(([m, pattern]) => m === method.toUpperCase() && pattern.test(path));
  return found ? found[2] : `${method.toUpperCase()} ${path}`;
}

/** One request: its route, and the DynamoDB commands it sent. */
export interface RequestCost {
  readonly route: string;
  readonly operations: number;
  readonly byCommand: Record<string, number>;
}

/**
 * Runs `fn` with fetch and the DynamoDB observer wrapped; returns every request
 * it made, in order, with its operations. `label` renames a route (e.g. owner
 * and friend registration share POST /v1/keys).
 */
export async function traceRequests(
  fn: () => Promise<void>,
  label: (route: string) => string = (route) => route,
): Promise<RequestCost[]> {
  const requests: { route: string; operations: number; byCommand: Record<string, number> }[] = [];
  let current: (typeof requests)[number] | undefined;
  const stop = observeDynamoDbOperations((command) => {
    if (!current) return;
    current.operations++;
    current.byCommand[command] = (current.byCommand[command] ?? 0) + 1;
  });
  const originalFetch = globalThis.fetch;
  globalThis.fetch = (async (...args: Parameters<typeof fetch>) => {
    const [input, init] = args;
    const request = input instanceof Request ? input : undefined;
    const method = init?.method ?? request?.method ?? "GET";
    const url = request ? request.url : String(input);
    const entry = { route: label(routeName(method, url)), operations: 0, byCommand: {} };
    requests.push(entry);
    current = entry;
    try {
      const response = await originalFetch(...args);
      // The handler has answered once the body is here; read it so later operations are not counted here.
      const body = await response.arrayBuffer();
      const nullBody = [204, 205, 304].includes(response.status);
      return new Response(nullBody ? null : body, {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
    } finally {
      current = undefined;
    }
  }) as typeof fetch;
  try {
    await fn();
  } finally {
    globalThis.fetch = originalFetch;
    stop();
  }
  return requests;
}

/** Per route: the most operations one request of it took, and the mean. */
export function summarize(
  requests: readonly RequestCost[],
): Map<string, { max: number; mean: number; requests: number; byCommand: Record<string, number> }> {
  const out = new Map<
    string,
    { max: number; mean: number; requests: number; byCommand: Record<string, number> }
  >();
  for (const r of requests) {
    const s = out.get(r.route) ?? { max: 0, mean: 0, requests: 0, byCommand: {} };
    s.mean = (s.mean * s.requests + r.operations) / (s.requests + 1);
    s.requests++;
    s.max = Math.max(s.max, r.operations);
    for (const [name, n] of Object.entries(r.byCommand)) s.byCommand[name] = (s.byCommand[name] ?? 0) + n;
    out.set(r.route, s);
  }
  return out;
}
