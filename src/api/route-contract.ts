// What one route of the HTTP API is, completely, in one entry: method and
// path, the Lambda function that serves it, its authorization, what it reads
// (path parameters, query, headers, body) and what it answers (status,
// media type, schema, headers, the problems it may refuse with). The CDK
// stack, the local server, the handlers, the OpenAPI document and the client
// all read these entries (src/api/routes.ts), so nothing about a route is
// written twice. A route set is one function's routes, keyed
// `"<METHOD> <path>"`: method and path are read from the key, so the two
// cannot disagree.
import type * as z from "zod/mini";
import type { ProblemKind } from "./problems.js";

/** Largest request body read (bytes) unless a route says otherwise; longer is refused with 413 before parsing. */
export const MAX_BODY_BYTES = 64 * 1024;

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/**
 * - `oem`: the automaker's backend; IAM (SigV4) on API Gateway in AWS, a
 *   configured static credential on the local server.
 * - `device`: a request signed by a key in the device's secure element
 *   (src/protocol/request-signature.ts), checked by the service.
 * - `none`: public to API Gateway (trust anchors, the OpenAPI document, the
 *   relay, which authenticates by its own headers inside the service).
 */
export type RouteAuth = "oem" | "device" | "none";

export type RouteKey = `${HttpMethod} /${string}`;

export interface RequestBodyContract {
  readonly schema: z.ZodMiniType;
  /**
   * - `json` (default): read, parsed and validated before the service runs;
   *   the media type must be JSON (415 otherwise).
   * - `lazy-json`: parsed as JSON whatever its media type, and only when the
   *   service asks for it; the service validates it (the relay, which must
   *   answer a repeated request id before it looks at the body).
   */
  readonly parse?: "json" | "lazy-json";
  /** Largest body read, in bytes; default MAX_BODY_BYTES (413 beyond). */
  readonly maxBytes?: number;
}

export type ResponseContent =
  | { readonly mediaType: "application/json"; readonly schema: z.ZodMiniType }
  | { readonly mediaType: "text/html"; readonly schema: z.ZodMiniType }
  | { readonly mediaType: "none" };

export interface ResponseContract {
  /** The status of a success. */
  readonly status: 200 | 201;
  /**
   * Idempotent routes: the status of a repeat of an earlier request, which
   * answers what that request did. The service tells a repeat apart
   * (`created: false`, or `repeated: true`); the status comes from here.
   */
  readonly repeatStatus?: 200 | 201;
  readonly content: ResponseContent;
  /** Response headers every answer of this route carries, success or problem: name → description. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** A route as its function's route set declares it. */
export interface RouteSpec {
  readonly auth: RouteAuth;
  /**
   * An `oem` route that another automaker's server calls (track key, manage
   * key, event notifications). Where mutual TLS is configured (a custom domain
   * with a truststore in AWS, `npm start -- --mtls` locally) it is served only
   * to callers that presented a client certificate the truststore accepts
   * (src/service/http/client-certificate.ts).
   */
  readonly serverToServer?: true;
  /** One line, for the OpenAPI summary and the API Gateway route. */
  readonly summary: string;
  /** What the route does, for the OpenAPI description. */
  readonly description: string;
  /** Path parameters (strings); required when the path has `{name}` segments. */
  readonly params?: z.ZodMiniType;
  /** Query parameters (strings, from rawQueryString). */
  readonly query?: z.ZodMiniType;
  /** Request headers the route reads besides authorization (lower-case names); checked by the service. */
  readonly headers?: z.ZodMiniObject;
  readonly body?: RequestBodyContract;
  readonly response: ResponseContract;
  /**
   * The refusals this route answers with besides those every route of its
   * kind may give (authentication for `oem`/`device`, payload-too-large for
   * a body, storage-unavailable, internal; see `routeProblems`).
   */
  readonly problems: readonly ProblemKind[];
}

/** A complete route entry: the spec with its method, path, key and function. */
export interface RouteContract extends RouteSpec {
  readonly key: RouteKey;
  readonly method: HttpMethod;
  /** API Gateway v2 path syntax: `/v1/keys/{keyId}`. */
  readonly path: string;
  /** The Lambda function that serves the route: its entry point is `functions/<functionName>.ts`. */
  readonly functionName: string;
}

export type RouteSpecs = Readonly<Record<RouteKey, RouteSpec>>;

/** One Lambda function's routes. */
export interface RouteSet<F extends string = string, S extends RouteSpecs = RouteSpecs> {
  readonly functionName: F;
  readonly routes: { readonly [K in keyof S & RouteKey]: S[K] & RouteContract };
}

const METHODS: readonly HttpMethod[] = ["GET", "POST", "PUT", "PATCH", "DELETE"];
const PATH =
  /^\/(?:[A-Za-z0-9._-]+|\{[A-Za-z_][A-Za-z0-9_]*\})(?:\/(?:[A-Za-z0-9._-]+|\{[A-Za-z_][A-Za-z0-9_]*\}))*$/;

/** Declares `functionName`'s routes; throws on a key that is not `"<METHOD> <path>"`. */
export function defineRouteSet<const F extends string, const S extends RouteSpecs>(
  functionName: F,
  specs: S,
): RouteSet<F, S> {
  const routes: Record<string, RouteContract> = {};
  for (const [key, spec] of Object.entries(specs) as [RouteKey, RouteSpec][]) {
    const [method, path, extra] = key.split(" ");
    if (!METHODS.includes(method as HttpMethod) || !path || !PATH.test(path) || extra !== undefined) {
      throw new Error(`route key "${key}" of ${functionName} is not "<METHOD> <path>"`);
    }
    routes[key] = { ...spec, key, method: method as HttpMethod, path, functionName };
  }
  return { functionName, routes: routes as RouteSet<F, S>["routes"] };
}

/** The routes of `set`, in declaration order. */
export function routesOf(set: RouteSet): readonly RouteContract[] {
  return Object.values(set.routes) as RouteContract[];
}

/** Every problem a route may answer with: its own, and those every route of its kind may give. */
export function routeProblems(route: RouteSpec): ProblemKind[] {
  const kinds = new Set<ProblemKind>(route.problems);
  if (route.auth !== "none") kinds.add("authentication");
  if (route.body) kinds.add("payload-too-large");
  kinds.add("internal");
  return [...kinds];
}

/** The path parameter names of an API Gateway path: `/v1/keys/{keyId}` → ["keyId"]. */
export function pathParameterNames(path: string): string[] {
  return [...path.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)\+?\}/g)].map((m) => m[1]!);
}

/** What a route's body parses to (z.output), or undefined when it takes none. */
export type BodyOf<R> = R extends { readonly body: { readonly schema: infer S extends z.ZodMiniType } }
  ? z.output<S>
  : undefined;
/** What a client sends as the route's body (z.input). */
export type BodyInputOf<R> = R extends { readonly body: { readonly schema: infer S extends z.ZodMiniType } }
  ? z.input<S>
  : undefined;
export type ParamsOf<R> = R extends { readonly params: infer S extends z.ZodMiniType }
  ? z.output<S>
  : undefined;
export type QueryOf<R> = R extends { readonly query: infer S extends z.ZodMiniType }
  ? z.output<S>
  : undefined;
/** The success body a route answers (z.output of its response schema), undefined for no body. */
export type ResponseOf<R> = R extends {
  readonly response: { readonly content: { readonly schema: infer S extends z.ZodMiniType } };
}
  ? z.output<S>
  : undefined;
