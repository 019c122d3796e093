// Shared pieces of the bounded fuzz stage (test/fuzz/*.fuzz.test.ts): real
// transactions to take APDUs from, and a fast-check arbitrary that mutates
// them the way a broken or hostile peer would. Every generator is driven by
// a fixed seed, so a run is reproducible and its cost is fixed by its case
// count, not by a clock.
import fc from "fast-check";
import { SecureElement } from "../../src/emulator/secure-element/secure-element.js";
import type { ApduChannel } from "../../src/emulator/vehicle/apdu-channel.js";
import { Vehicle } from "../../src/emulator/vehicle/vehicle.js";
import { fromHex } from "../../src/protocol/bytes.js";

/** The seed of every generator in the fuzz stage (a failure prints the seed and path to replay). */
export const FUZZ_SEED = 15_2026;
/** A bound for a loaded machine, not a performance target: the cost is fixed by the case counts. */
export const FUZZ_TIMEOUT = 600_000;

export interface RecordedTransactions {
  /** Every command APDU the car sent: a standard unlock, then a fast lock and an engine start. */
  commands: Uint8Array[];
  /** Every response APDU the device gave, in the same order. */
  responses: Uint8Array[];
}

/** A phone and a car with a key for it, in memory. */
export function pairedCarAndPhone() {
  const { se, sealingKey } = SecureElement.create();
  const car = Vehicle.create();
  const key = se.provisionKey({ vehicleIdentifier: car.vehicleIdentifier, vehiclePublicKey: car.publicKey });
  car.enrollKey({ endpointPublicKey: fromHex(key.endpointPublicKey) });
  return { se, sealingKey, car, keyId: key.keyId };
}

/** Runs real transactions in memory and keeps every APDU of them. */
export async function recordTransactions(): Promise<RecordedTransactions> {
  const { se, car } = pairedCarAndPhone();
  const recorded: RecordedTransactions = { commands: [], responses: [] };
  const channel: ApduChannel = async (command) => {
    const response = await se.transceive(command);
    recorded.commands.push(command);
    recorded.responses.push(response);
    return response;
  };
  for (const [position, intent] of [
    ["door", "unlock"],
    ["door", "lock"],
    ["dashboard", undefined],
  ] as const) {
    const result = await car.tap(position, channel, intent);
    if (result.decision === "refused") throw new Error(`recording tap refused: ${result.reason}`);
    se.fieldLost();
  }
  return recorded;
}

type Mutation = (bytes: Uint8Array) => Uint8Array;

const mutationOf: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }).map(({ at, bit }) => (b: Uint8Array) => {
    if (b.length === 0) return b;
    const out = b.slice();
    out[at % b.length]! ^= 1 << bit;
    return out;
  }),
  fc
    .record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) })
    .map(({ at, value }) => (b: Uint8Array) => {
      if (b.length === 0) return b;
      const out = b.slice();
      out[at % b.length] = value;
      return out;
    }),
  fc.nat().map((at) => (b: Uint8Array) => b.subarray(0, at % (b.length + 1))),
  fc
    .record({ at: fc.nat(), extra: fc.uint8Array({ minLength: 1, maxLength: 40 }) })
    .map(({ at, extra }) => (b: Uint8Array) => {
      const cut = at % (b.length + 1);
      return Uint8Array.from([...b.subarray(0, cut), ...extra, ...b.subarray(cut)]);
    }),
  fc
    .record({ at: fc.nat(), count: fc.integer({ min: 1, max: 16 }) })
    .map(({ at, count }) => (b: Uint8Array) => {
      const cut = at % (b.length + 1);
      return Uint8Array.from([...b.subarray(0, cut), ...b.subarray(cut + count)]);
    }),
  // Length fields are where parsers go wrong: rewrite a byte that is likely one (Lc, a TLV length).
  fc
    .record({
      at: fc.integer({ min: 0, max: 8 }),
      value: fc.constantFrom(0x00, 0x01, 0x7f, 0x80, 0x81, 0x82, 0xff),
    })
    .map(({ at, value }) => (b: Uint8Array) => {
      if (b.length === 0) return b;
      const out = b.slice();
      out[Math.min(at, b.length - 1)] = value;
      return out;
    }),
);

/** `base` changed by one to four mutations (bit flips, byte writes, cuts, insertions, deletions). */
export function mutated(base: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc.array(mutationOf, { minLength: 1, maxLength: 4 }).map((ms) => ms.reduce((b, m) => m(b), base));
}

/** One of `samples`, mutated. */
export function mutatedFrom(samples: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc.constantFrom(...samples).chain(mutated);
}
