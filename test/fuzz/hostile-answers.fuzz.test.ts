// Fuzz stage, the vehicle against hostile answers: a real SE answers each
// transaction, but one of its answers is replaced on the way (mutated, random
// bytes, empty, a bare status word, endless 61XX chaining). The vehicle must
// always come back with a decision (never throw), a refusal must store
// nothing but its log entry, and a normal transaction right after must
// succeed on both sides.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ApduChannel } from "../../src/emulator/vehicle/apdu-channel.js";
import type { Vehicle } from "../../src/emulator/vehicle/vehicle.js";
import { FUZZ_SEED, FUZZ_TIMEOUT, mutated, pairedCarAndPhone } from "./fuzz-support.js";

const RUNS = 400;

type Replacement =
  | { kind: "mutated"; seed: number }
  | { kind: "random"; bytes: Uint8Array }
  | { kind: "empty" }
  | { kind: "status"; sw: number }
  | { kind: "chaining"; sw2: number }
  | { kind: "data-only"; keep: number };

const replacement: fc.Arbitrary<Replacement> = fc.oneof(
  { weight: 6, arbitrary: fc.nat().map((seed) => ({ kind: "mutated" as const, seed })) },
  {
    weight: 2,
    arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ kind: "random" as const, bytes })),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "empty" as const }) },
  {
    weight: 2,
    arbitrary: fc.integer({ min: 0, max: 0xffff }).map((sw) => ({ kind: "status" as const, sw })),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 0, max: 0xff }).map((sw2) => ({ kind: "chaining" as const, sw2 })),
  },
  { weight: 1, arbitrary: fc.nat().map((keep) => ({ kind: "data-only" as const, keep })) },
);

function replace(answer: Uint8Array, r: Replacement): Uint8Array {
  switch (r.kind) {
    case "mutated":
      return fc.sample(mutated(answer), { seed: r.seed, numRuns: 1 })[0]!;
    case "random":
      return r.bytes;
    case "empty":
      return new Uint8Array(0);
    case "status":
      return Uint8Array.of(r.sw >> 8, r.sw & 0xff);
    case "chaining":
      return Uint8Array.of(...answer.subarray(0, -2), 0x61, r.sw2);
    case "data-only":
      return answer.subarray(0, r.keep % Math.max(1, answer.length - 1));
  }
}

function stored(car: Vehicle) {
  const { log: _log, ...rest } = car.exportState();
  return rest;
}

describe("fuzz: the vehicle against hostile answers", () => {
  it(
    `decides every one of ${RUNS} tampered taps, stores nothing on refusal, and taps normally after each`,
    async () => {
      const { se, car } = pairedCarAndPhone();
      const plain: ApduChannel = (command) => se.transceive(command);
      const cases = fc.sample(
        fc.record({
          at: fc.integer({ min: 0, max: 3 }),
          replacement,
          door: fc.boolean(),
          repeat: fc.boolean(),
        }),
        { seed: FUZZ_SEED, numRuns: RUNS },
      );
      const decisions: Record<string, number> = {};
      for (const { at, replacement: r, door, repeat } of cases) {
        let answers = 0;
        // `repeat`: every answer from the chosen one on is replaced (a device that stays broken).
        const hostile: ApduChannel = async (command) => {
          const answer = await se.transceive(command);
          const index = answers++;
          return index === at || (repeat && index > at) ? replace(answer, r) : answer;
        };
        const before = stored(car);
        const logLength = car.transactionLog.length;
        const result = await car.tap(door ? "door" : "dashboard", hostile);
        se.fieldLost();
        expect(["unlocked", "locked", "started", "refused"]).toContain(result.decision);
        expect(result.reason).toEqual(expect.any(String));
        expect(car.transactionLog.at(-1)).toEqual(result);
        expect(car.transactionLog.length).toBe(Math.min(logLength + 1, 500));
        if (result.decision === "refused") expect(stored(car)).toEqual(before);
        decisions[result.decision] = (decisions[result.decision] ?? 0) + 1;

        const normal = await car.tap("door", plain);
        se.fieldLost();
        expect(normal.decision, normal.reason).not.toBe("refused");
      }
      // Most tampering must be caught; some is harmless (best-effort mailbox work, an unchanged mutation).
      expect(decisions.refused ?? 0).toBeGreaterThan(RUNS / 2);
      process.stdout.write(
        `fuzz hostile answers: ${RUNS} tampered taps (${JSON.stringify(decisions)}) + ${RUNS} normal\n`,
      );
    },
    FUZZ_TIMEOUT,
  );
});
