// The backoff of counter-race retries, on an injected clock and random
// source (no real waiting, no timing assertions): full-jitter windows that
// start at one attempt's duration and double up to a cap, and a bounded
// deadline past which it says stop without sleeping across it.
import { describe, expect, it } from "vitest";
import { CounterBackoff } from "../../src/service/counter-backoff.js";

function fakeTime(start = 1_000) {
  let now = start;
  const slept: number[] = [];
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
    sleep: async (ms: number) => {
      slept.push(ms);
      now += ms;
    },
    slept,
  };
}

describe("CounterBackoff", () => {
  it("waits a random part of a window that starts at the first attempt's duration and doubles to the cap", async () => {
    const time = fakeTime();
    const backoff = new CounterBackoff({
      deadlineMs: 1_000_000,
      baseDelayMs: 10,
      maxDelayMs: 1_000,
      random: () => 0.999,
      now: time.now,
      sleep: time.sleep,
    });
    time.advance(50); // the first attempt took 50 ms
    for (let i = 0; i < 7; i++) expect(await backoff.afterLostRace()).toBe(true);
    expect(time.slept).toEqual([49, 99, 199, 399, 799, 999, 999]);
    expect(backoff.lostRaces).toBe(7);
  });

  it("uses the base window when an attempt was faster than it, and draws the jitter from [0, window)", async () => {
    const time = fakeTime();
    const draws = [0, 0.5];
    const backoff = new CounterBackoff({
      baseDelayMs: 10,
      random: () => draws.shift()!,
      now: time.now,
      sleep: time.sleep,
    });
    time.advance(1);
    await backoff.afterLostRace();
    await backoff.afterLostRace();
    expect(time.slept).toEqual([0, 10]);
  });

  it("stops at the deadline and never sleeps across it", async () => {
    const time = fakeTime();
    const backoff = new CounterBackoff({
      deadlineMs: 1_000,
      baseDelayMs: 100,
      random: () => 0.9,
      now: time.now,
      sleep: time.sleep,
    });
    let retries = 0;
    while (await backoff.afterLostRace()) {
      retries++;
      time.advance(100); // each attempt takes 100 ms
    }
    expect(retries).toBeGreaterThan(1);
    const total = time.slept.reduce((a, b) => a + b, 0) + retries * 100;
    expect(total).toBeLessThan(1_000);
  });
});
