import { describe, expect, it } from "vitest";
import { RecentlyUsedCache } from "../../src/protocol/recently-used-cache.js";

describe("RecentlyUsedCache", () => {
  it("loads a value once and returns it again without loading", () => {
    const cache = new RecentlyUsedCache<number>(2);
    let loads = 0;
    const load = () => ++loads;
    expect(cache.get("a", load)).toBe(1);
    expect(cache.get("a", load)).toBe(1);
    expect(loads).toBe(1);
  });

  it("evicts the least recently used entry beyond its limit", () => {
    const cache = new RecentlyUsedCache<string>(2);
    cache.get("a", () => "a1");
    cache.get("b", () => "b1");
    cache.get("a", () => "never"); // a is now the most recent
    cache.get("c", () => "c1"); // evicts b
    expect(cache.size).toBe(2);
    expect(cache.get("a", () => "a2")).toBe("a1");
    expect(cache.get("b", () => "b2")).toBe("b2");
  });

  it("remembers nothing when the load throws", () => {
    const cache = new RecentlyUsedCache<string>(2);
    expect(() =>
      cache.get("bad", () => {
        throw new Error("refused");
      }),
    ).toThrow("refused");
    expect(cache.size).toBe(0);
    expect(cache.get("bad", () => "loaded")).toBe("loaded");
  });

  it("refuses a limit that is not a positive integer", () => {
    expect(() => new RecentlyUsedCache(0)).toThrow(RangeError);
    expect(() => new RecentlyUsedCache(1.5)).toThrow(RangeError);
  });
});
