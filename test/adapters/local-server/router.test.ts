// Route matching against the real route table and against small tables that
// exercise specificity, greedy parameters and malformed templates.
import { describe, expect, it } from "vitest";
import { RouteTableError } from "../../../src/adapters/local-server/errors.js";
import { Router } from "../../../src/adapters/local-server/router.js";
import { ROUTES, type RouteDefinition } from "../../../src/api/routes.js";

function route(method: RouteDefinition["method"], path: string): RouteDefinition {
  return { method, path, functionName: "f", auth: "none", summary: "" };
}

describe("Router", () => {
  const router = new Router(ROUTES);

  it("matches every route of the table, filling its parameters", () => {
    for (const r of ROUTES) {
      const concrete = r.path.replace(/\{(\w+)\}/g, (_, name: string) => `value-of-${name}`);
      const match = router.match(r.method, concrete);
      expect(match.kind, `${r.method} ${r.path}`).toBe("matched");
      if (match.kind !== "matched") continue;
      expect(match.route).toBe(r);
      expect(match.routeKey).toBe(`${r.method} ${r.path}`);
      const names = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
      if (names.length === 0) expect(match.pathParameters).toBeUndefined();
      for (const name of names) expect(match.pathParameters?.[name]).toBe(`value-of-${name}`);
    }
  });

  it("tells an unknown path from a wrong method", () => {
    expect(router.match("GET", "/v1/nothing")).toEqual({ kind: "not-found" });
    expect(router.match("GET", "/v1/keys/")).toEqual({ kind: "not-found" });
    expect(router.match("GET", "/v1/keys/a/b")).toEqual({ kind: "not-found" });
    expect(router.match("GET", "/v1/trust-anchors/")).toEqual({ kind: "not-found" });
    expect(router.match("DELETE", "/v1/keys")).toEqual({ kind: "method-not-allowed", allowed: ["POST"] });
    expect(router.match("post", "/v1/keys")).toEqual({ kind: "method-not-allowed", allowed: ["POST"] });
  });

  it("prefers literal segments over parameters, and parameters over greedy ones", () => {
    const table = new Router([
      route("GET", "/a/{id}"),
      route("GET", "/a/special"),
      route("GET", "/a/{rest+}"),
      route("GET", "/{x}/b"),
    ]);
    const key = (path: string) => {
      const m = table.match("GET", path);
      return m.kind === "matched" ? [m.routeKey, m.pathParameters] : m.kind;
    };
    expect(key("/a/special")).toEqual(["GET /a/special", undefined]);
    expect(key("/a/other")).toEqual(["GET /a/{id}", { id: "other" }]);
    expect(key("/a/b")).toEqual(["GET /a/{id}", { id: "b" }]);
    expect(key("/a/x/y")).toEqual(["GET /a/{rest+}", { rest: "x/y" }]);
    expect(key("/z/b")).toEqual(["GET /{x}/b", { x: "z" }]);
  });

  it("refuses a malformed route table", () => {
    expect(() => new Router([route("GET", "a")])).toThrow(RouteTableError);
    expect(() => new Router([route("GET", "/a/{id")])).toThrow(RouteTableError);
    expect(() => new Router([route("GET", "/a/{id}/{id}")])).toThrow(RouteTableError);
    expect(() => new Router([route("GET", "/{rest+}/a")])).toThrow(RouteTableError);
    expect(() => new Router([route("GET", "/a"), route("GET", "/a")])).toThrow(RouteTableError);
  });
});
