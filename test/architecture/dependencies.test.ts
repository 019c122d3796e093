// The dependency rules of docs/architecture.md ("Dependencies point one way"),
// checked over the whole tree rather than trusted: every relative import of
// every module under src/, functions/ and infra/, type-only ones included
// (a type import is still a dependency a reader must follow), makes one
// graph, and the graph must have no cycle and no edge against the layers.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = resolve(fileURLToPath(new URL("../../", import.meta.url)));
const TREES = ["src", "functions", "infra"];

function modulesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts"))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)));
}

/** `from "./x.js"`, `import "./x.js"`, `import("./x.js")`, `export … from "./x.js"`: the project modules a file names. */
function importsOf(file: string, source: string): string[] {
  const names = new Set<string>();
  for (const match of source.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)) {
    names.add(relative(ROOT, resolve(ROOT, dirname(file), match[1]!.replace(/\.js$/, ".ts"))));
  }
  return [...names];
}

const graph = new Map<string, string[]>();
for (const tree of TREES) {
  for (const file of modulesUnder(tree))
    graph.set(file, importsOf(file, readFileSync(join(ROOT, file), "utf8")));
}

/** One cycle of the graph (as a path that returns to its start), or undefined. */
function findCycle(edges: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    state.set(node, "open");
    path.push(node);
    for (const next of edges.get(node) ?? []) {
      if (!edges.has(next)) continue;
      if (state.get(next) === "open") return [...path.slice(path.indexOf(next)), next];
      if (state.get(next) === undefined) {
        const found = visit(next);
        if (found) return found;
      }
    }
    path.pop();
    state.set(node, "done");
    return undefined;
  };
  for (const node of [...edges.keys()].sort()) {
    if (state.get(node) === undefined) {
      const found = visit(node);
      if (found) return found;
    }
  }
  return undefined;
}

/** Every import from a module under `from` of a module under one of `forbidden`, as "a → b". */
function edgesInto(from: string, forbidden: readonly string[]): string[] {
  const found: string[] = [];
  for (const [file, imports] of graph) {
    if (!file.startsWith(`${from}/`)) continue;
    for (const target of imports) {
      if (forbidden.some((prefix) => target.startsWith(`${prefix}/`))) found.push(`${file} → ${target}`);
    }
  }
  return found;
}

describe("the project's import graph", () => {
  it("covers every module and resolves every relative import to a file of the tree", () => {
    expect(graph.size).toBeGreaterThan(200);
    const unresolved = [...graph].flatMap(([file, imports]) =>
      imports.filter((target) => !graph.has(target)).map((target) => `${file} → ${target}`),
    );
    // Data files (package.json, captured examples) are named too; they must exist.
    const missing = unresolved.filter((edge) => !existsSync(join(ROOT, edge.split(" → ")[1]!)));
    expect(missing).toEqual([]);
    expect(unresolved.every((edge) => edge.endsWith(".json"))).toBe(true);
  });

  it("has no cycle", () => {
    expect(findCycle(graph)).toBeUndefined();
  });

  it("finds a cycle when there is one (the check itself)", () => {
    const edges = new Map([
      ["a", ["b"]],
      ["b", ["c"]],
      ["c", ["a"]],
      ["d", ["a"]],
    ]);
    expect(findCycle(edges)).toEqual(["a", "b", "c", "a"]);
    expect(findCycle(new Map([...edges, ["c", []]]))).toBeUndefined();
    expect(importsOf("src/x/y.ts", 'import type { A } from "../z/a.js";\nexport * from "./b.js";')).toEqual([
      join("src", "z", "a.ts"),
      join("src", "x", "b.ts"),
    ]);
  });

  it("keeps src/protocol free of every other part of the project", () => {
    expect(
      edgesInto("src/protocol", [
        "src/api",
        "src/service",
        "src/adapters",
        "src/emulator",
        "src/client",
        "src/cli",
        "functions",
        "infra",
      ]),
    ).toEqual([]);
  });

  it("keeps the HTTP contract (src/api) on the protocol alone", () => {
    expect(
      edgesInto("src/api", [
        "src/service",
        "src/adapters",
        "src/emulator",
        "src/client",
        "src/cli",
        "functions",
        "infra",
      ]),
    ).toEqual([]);
  });

  it("keeps the domain (src/service) off its adapters, the emulators, the client and the CLI", () => {
    expect(
      edgesInto("src/service", [
        "src/adapters",
        "src/emulator",
        "src/client",
        "src/cli",
        "functions",
        "infra",
      ]),
    ).toEqual([]);
  });

  it("never imports a Lambda entry point or the CDK app from src/", () => {
    expect(edgesInto("src", ["functions", "infra"])).toEqual([]);
  });

  it("keeps the client off the emulator, the service and the adapters", () => {
    expect(
      edgesInto("src/client", [
        "src/emulator",
        "src/service",
        "src/adapters",
        "src/cli",
        "functions",
        "infra",
      ]),
    ).toEqual([]);
  });

  it("keeps the emulators off the cloud service and its adapters", () => {
    expect(
      edgesInto("src/emulator", ["src/service", "src/adapters", "src/cli", "functions", "infra"]),
    ).toEqual([]);
  });

  it("keeps every exported error class in its module's errors.ts", () => {
    const outside: string[] = [];
    for (const file of graph.keys()) {
      if (file.endsWith("errors.ts")) continue;
      const source = readFileSync(join(ROOT, file), "utf8");
      for (const match of source.matchAll(/^export class (\w+) extends \w*Error\b/gm))
        outside.push(`${file}: ${match[1]}`);
    }
    expect(outside).toEqual([]);
  });
});
