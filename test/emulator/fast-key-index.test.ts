// Checks the vehicle's fast-transaction key lookup (src/emulator/vehicle/fast-key-index.ts)
// against the full key schedule: whichever key produced the cryptogram is found, with the
// session keys deriveFastKeys gives; nothing else matches; a new persistent key or another
// reader identity is never answered from what was prepared for the old one.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { matchCryptogram } from "../../src/emulator/vehicle/fast-key-index.js";
import type { EnrolledEndpoint } from "../../src/emulator/vehicle/vehicle-state.js";
import { toHex } from "../../src/protocol/bytes.js";
import { PROTOCOL_VERSION } from "../../src/protocol/constants.js";
import { generateKeyPair, xCoordinate } from "../../src/protocol/p256.js";
import { deriveFastKeys, type TransactionContext } from "../../src/protocol/transaction-keys.js";

const reader = { vehicleIdentifier: randomBytes(8), ...generateKeyPair() };

function endpoint(i: number, persistent = true): EnrolledEndpoint {
  return {
    keyId: `00000000000${i.toString(16)}`.slice(-12),
    endpointPublicKey: toHex(generateKeyPair().publicKey),
    profile: { kind: "full" },
    role: "friend",
    enrolledAt: new Date(0).toISOString(),
    ...(persistent ? { persistentKey: toHex(randomBytes(32)) } : {}),
  };
}

function transaction(): TransactionContext {
  return {
    vehicleIdentifier: reader.vehicleIdentifier,
    vehicleEphemeralX: xCoordinate(generateKeyPair().publicKey),
    endpointEphemeralX: xCoordinate(generateKeyPair().publicKey),
    transactionId: randomBytes(16),
    flags: Uint8Array.of(0x01, 0x01),
    version: PROTOCOL_VERSION,
    versions: Uint8Array.of(0x02, 0x00, 0x01, 0x00),
  };
}

/** What the device computes: the full HKDF of deriveFastKeys. */
function deviceKeys(e: EnrolledEndpoint, context: TransactionContext, vehiclePublicKey = reader.publicKey) {
  return deriveFastKeys(
    Buffer.from(e.persistentKey!, "hex"),
    context,
    xCoordinate(vehiclePublicKey),
    xCoordinate(Buffer.from(e.endpointPublicKey, "hex")),
  );
}

describe("fast cryptogram lookup", () => {
  it("finds each of 40 keys, in any order, with the device's session keys", () => {
    const endpoints = [endpoint(0, false), ...Array.from({ length: 40 }, (_, i) => endpoint(i + 1))];
    const order = [7, 40, 1, 7, 23, 40, 2, 39, 7];
    for (const i of order) {
      const context = transaction();
      const expected = deviceKeys(endpoints[i]!, context);
      const found = matchCryptogram(expected.cryptogram, context, reader, endpoints);
      expect(found?.endpoint).toBe(endpoints[i]);
      expect(toHex(found!.keys.kenc) + toHex(found!.keys.kmac) + toHex(found!.keys.krmac)).toBe(
        toHex(expected.kenc) + toHex(expected.kmac) + toHex(expected.krmac),
      );
    }
  });

  it("matches nothing for a cryptogram no key produced, or one from another transaction", () => {
    const endpoints = Array.from({ length: 8 }, (_, i) => endpoint(i));
    const context = transaction();
    expect(matchCryptogram(randomBytes(16), context, reader, endpoints)).toBeUndefined();
    const other = deviceKeys(endpoints[3]!, transaction());
    expect(matchCryptogram(other.cryptogram, context, reader, endpoints)).toBeUndefined();
    // Keys without a persistent key (no standard transaction yet) are never tried.
    const fresh = endpoint(9, false);
    expect(matchCryptogram(randomBytes(16), context, reader, [fresh])).toBeUndefined();
  });

  it("a new persistent key replaces what was prepared for the old one", () => {
    const endpoints = Array.from({ length: 4 }, (_, i) => endpoint(i));
    const target = endpoints[2]!;
    const before = transaction();
    expect(matchCryptogram(deviceKeys(target, before).cryptogram, before, reader, endpoints)?.endpoint).toBe(
      target,
    );
    const old = { ...target };
    target.persistentKey = toHex(randomBytes(32));
    const after = transaction();
    expect(matchCryptogram(deviceKeys(old, after).cryptogram, after, reader, endpoints)).toBeUndefined();
    expect(matchCryptogram(deviceKeys(target, after).cryptogram, after, reader, endpoints)?.endpoint).toBe(
      target,
    );
  });

  it("another reader identity does not reuse what was prepared for this one", () => {
    const endpoints = Array.from({ length: 3 }, (_, i) => endpoint(i));
    const context = transaction();
    expect(
      matchCryptogram(deviceKeys(endpoints[1]!, context).cryptogram, context, reader, endpoints),
    ).toBeDefined();
    const otherCar = { vehicleIdentifier: reader.vehicleIdentifier, ...generateKeyPair() };
    const forOther = deviceKeys(endpoints[1]!, context, otherCar.publicKey);
    expect(matchCryptogram(forOther.cryptogram, context, reader, endpoints)).toBeUndefined();
    expect(matchCryptogram(forOther.cryptogram, context, otherCar, endpoints)?.endpoint).toBe(endpoints[1]);
  });
});
