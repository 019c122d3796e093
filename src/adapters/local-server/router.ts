// Matches a request against the route table (src/api/routes.ts) the way an
// API Gateway HTTP API does: on the percent-decoded path, segment by segment,
// `{name}` taking one non-empty segment and a trailing `{name+}` the rest, the
// most specific route winning (a literal segment beats a parameter, a
// parameter beats a greedy one). API Gateway answers an unmatched request with
// a bare 404; the local server also tells a wrong method (405 with `allow`)
// apart from an unknown path, which is only more helpful, never different in
// what succeeds.
import type { HttpMethod, RouteDefinition } from "../../api/routes.js";
import { RouteTableError } from "./errors.js";

export type RouteMatch =
  | {
      readonly kind: "matched";
      readonly route: RouteDefinition;
      /** API Gateway's `routeKey`, e.g. `GET /v1/keys/{keyId}`. */
      readonly routeKey: string;
      /** Undefined when the route has no parameters, as in API Gateway's events. */
      readonly pathParameters: Readonly<Record<string, string>> | undefined;
    }
  | { readonly kind: "method-not-allowed"; readonly allowed: readonly HttpMethod[] }
  | { readonly kind: "not-found" };

type Segment =
  | { readonly kind: "literal"; readonly text: string }
  | { readonly kind: "param"; readonly name: string }
  | { readonly kind: "greedy"; readonly name: string };

interface CompiledRoute {
  readonly route: RouteDefinition;
  readonly routeKey: string;
  readonly segments: readonly Segment[];
}

export class Router {
  readonly #routes: readonly CompiledRoute[];

  constructor(routes: readonly RouteDefinition[]) {
    const keys = new Set<string>();
    this.#routes = routes.map((route) => {
      const routeKey = `${route.method} ${route.path}`;
      if (keys.has(routeKey)) throw new RouteTableError(`route ${routeKey} is defined twice`);
      keys.add(routeKey);
      return { route, routeKey, segments: compile(route.path) };
    });
  }

  /** `path` is the percent-decoded path without its query string (API Gateway's `rawPath`). */
  match(method: string, path: string): RouteMatch {
    const parts = path.split("/").slice(1);
    let best: { compiled: CompiledRoute; params: Record<string, string> } | undefined;
    const allowed = new Set<HttpMethod>();
    for (const compiled of this.#routes) {
      const params = matchSegments(compiled.segments, parts);
      if (params === undefined) continue;
      if (compiled.route.method !== method) {
        allowed.add(compiled.route.method);
        continue;
      }
      if (best === undefined || moreSpecific(compiled.segments, best.compiled.segments)) {
        best = { compiled, params };
      }
    }
    if (best !== undefined) {
      const names = Object.keys(best.params);
      return {
        kind: "matched",
        route: best.compiled.route,
        routeKey: best.compiled.routeKey,
        pathParameters: names.length === 0 ? undefined : best.params,
      };
    }
    if (allowed.size > 0) return { kind: "method-not-allowed", allowed: [...allowed].sort() };
    return { kind: "not-found" };
  }
}

function compile(path: string): Segment[] {
  if (!path.startsWith("/")) throw new RouteTableError(`route path ${path} must start with /`);
  const texts = path.split("/").slice(1);
  const names = new Set<string>();
  return texts.map((text, index) => {
    const param = /^\{([A-Za-z_][A-Za-z0-9_]*)(\+?)\}$/.exec(text);
    if (!param) {
      if (/[{}]/.test(text)) throw new RouteTableError(`route path ${path}: malformed segment "${text}"`);
      return { kind: "literal", text };
    }
    const name = param[1]!;
    if (names.has(name)) throw new RouteTableError(`route path ${path}: parameter ${name} appears twice`);
    names.add(name);
    if (param[2] === "+") {
      if (index !== texts.length - 1) {
        throw new RouteTableError(`route path ${path}: a greedy {${name}+} must be the last segment`);
      }
      return { kind: "greedy", name };
    }
    return { kind: "param", name };
  });
}

function matchSegments(
  segments: readonly Segment[],
  parts: readonly string[],
): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (const [index, segment] of segments.entries()) {
    if (segment.kind === "greedy") {
      const rest = parts.slice(index).join("/");
      if (rest === "") return undefined;
      params[segment.name] = rest;
      return params;
    }
    const part = parts[index];
    if (part === undefined) return undefined;
    if (segment.kind === "literal") {
      if (part !== segment.text) return undefined;
    } else {
      if (part === "") return undefined;
      params[segment.name] = part;
    }
  }
  return parts.length === segments.length ? params : undefined;
}

const RANK = { literal: 0, param: 1, greedy: 2 } as const;

/** Compares left to right: the first segment where they differ decides. */
function moreSpecific(a: readonly Segment[], b: readonly Segment[]): boolean {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const difference = RANK[a[i]!.kind] - RANK[b[i]!.kind];
    if (difference !== 0) return difference < 0;
  }
  return a.length > b.length;
}
