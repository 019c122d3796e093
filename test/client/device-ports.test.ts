// The client package stands alone: the emulator's SecureElement and Vehicle
// satisfy the client's device interfaces (src/client/device-ports.ts), and
// nothing the client entry point loads, by a value or a type import, comes
// from the emulator, the service, the adapters or the Lambda functions.
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, expectTypeOf, it } from "vitest";
import type {
  EnrollableSecureElement,
  FriendSecureElement,
  KeyHoldingSecureElement,
  OwnerSecureElement,
  RequestSigningSecureElement,
  SyncingSecureElement,
  SyncingVehicle,
} from "../../src/client/device-ports.js";
import type { SecureElement } from "../../src/emulator/secure-element/secure-element.js";
import type { Vehicle } from "../../src/emulator/vehicle/vehicle.js";

const ROOT = resolve(fileURLToPath(new URL("../../", import.meta.url)));

/** Every project module `entry` reaches through its imports, type-only ones included. */
function importGraph(entry: string): string[] {
  const seen = new Set<string>();
  const pending = [resolve(ROOT, entry)];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = readFileSync(file, "utf8");
    for (const match of source.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)) {
      pending.push(resolve(dirname(file), match[1]!.replace(/\.js$/, ".ts")));
    }
  }
  return [...seen].map((file) => relative(ROOT, file)).sort();
}

describe("the client's device interfaces", () => {
  it("are what the emulated SE and vehicle are", () => {
    expectTypeOf<SecureElement>().toExtend<RequestSigningSecureElement>();
    expectTypeOf<SecureElement>().toExtend<EnrollableSecureElement>();
    expectTypeOf<SecureElement>().toExtend<KeyHoldingSecureElement>();
    expectTypeOf<SecureElement>().toExtend<OwnerSecureElement>();
    expectTypeOf<SecureElement>().toExtend<FriendSecureElement>();
    expectTypeOf<SecureElement>().toExtend<SyncingSecureElement>();
    expectTypeOf<Vehicle>().toExtend<SyncingVehicle>();
  });

  it("keep the client's import graph free of the emulator, the service and the adapters", () => {
    const graph = importGraph("src/client/index.ts");
    expect(graph).toContain(join("src", "client", "device-ports.ts"));
    expect(graph).toContain(join("src", "api", "contract-types.ts"));
    const outside = graph.filter((file) => !/^src\/(client|protocol|api)\//.test(file));
    expect(outside).toEqual([]);
  });
});
