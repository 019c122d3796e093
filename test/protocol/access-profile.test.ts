// Checks the access profile TLV of docs/protocol.md §7 (the project's own design).
// The vector encoding, fast-check round trips, malformed profiles refused, and the refusal rules.
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type AccessProfile,
  accessProfileFromOptions,
  checkAccessProfile,
  encodeAccessProfile,
  parseAccessProfile,
  profileRefusal,
  TAG_PROFILE,
} from "../../src/protocol/access-profile.js";
import { parseTlvs, tlv } from "../../src/protocol/ber-tlv.js";
import { concatBytes, fromHex, toHex } from "../../src/protocol/bytes.js";
import { ProtocolError, ProtocolInputError, TlvError } from "../../src/protocol/errors.js";
import type { TransactionVectors } from "../vectors/carkeys/generate-transaction-vectors.js";

const vectors = JSON.parse(
  readFileSync(new URL("../vectors/carkeys/transaction-vectors.json", import.meta.url), "utf8"),
) as TransactionVectors;

/** The value inside TLV(7F40, …), which is what parseAccessProfile takes. */
function profileValue(encoded: Uint8Array): Uint8Array {
  const [outer, ...rest] = parseTlvs(encoded);
  expect(rest).toHaveLength(0);
  expect(outer?.tag).toBe(TAG_PROFILE);
  return outer!.value;
}

function expectError(fn: () => unknown, type: typeof ProtocolError, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(type);
  expect((caught as Error).message).toMatch(message);
}

describe("encoding", () => {
  it("encodes the vector's drive profile (7F40 with kind, speed, from, until)", () => {
    const profile: AccessProfile = vectors.inputs.accessProfile;
    const encoded = encodeAccessProfile(profile);
    expect(toHex(encoded)).toBe(vectors.derived.accessProfile);
    expect(parseAccessProfile(profileValue(encoded))).toEqual(profile);
  });

  it.each([
    [{ kind: "full" }, "7f4003800101"],
    [{ kind: "unlock-only" }, "7f4003800102"],
    [{ kind: "drive", speedLimitKmh: 400 }, "7f4007" + "800103" + "81020190"],
    [{ kind: "full", validUntil: 1 }, "7f400d" + "800101" + "83080000000000000001"],
  ] as [AccessProfile, string][])("encodes %j", (profile, hex) => {
    expect(toHex(encodeAccessProfile(profile))).toBe(hex);
    expect(parseAccessProfile(profileValue(fromHex(hex)))).toMatchObject(profile);
  });

  it("ignores tags it does not know (room for later fields)", () => {
    const value = concatBytes(tlv(0x80, fromHex("01")), tlv(0x9e, fromHex("aa")));
    expect(parseAccessProfile(value)).toMatchObject({ kind: "full" });
  });
});

describe("malformed profiles", () => {
  const kind = (code: number) => tlv(0x80, Uint8Array.of(code));
  const u64 = (n: bigint) => fromHex(n.toString(16).padStart(16, "0"));

  it.each([
    ["a missing kind", tlv(0x81, fromHex("0064")), TlvError, /missing profile kind \(tag 80\)/],
    ["an unknown kind", kind(0x04), TlvError, /unknown profile kind 4/],
    ["a 2-byte kind", tlv(0x80, fromHex("0001")), TlvError, /profile kind \(tag 80\) must be 1 bytes/],
    [
      "a drive profile without a speed",
      kind(0x03),
      TlvError,
      /access profile: a drive profile needs a speed limit/,
    ],
    [
      "a speed on a full profile",
      concatBytes(kind(1), tlv(0x81, fromHex("0064"))),
      TlvError,
      /a full profile has no speed limit/,
    ],
    ["a speed below 5 km/h", concatBytes(kind(3), tlv(0x81, fromHex("0004"))), TlvError, /5 to 400 km\/h/],
    [
      "a 1-byte speed",
      concatBytes(kind(3), tlv(0x81, fromHex("64"))),
      TlvError,
      /speed limit \(tag 81\) must be 2 bytes/,
    ],
    [
      "a 4-byte validity bound",
      concatBytes(kind(1), tlv(0x82, fromHex("00000001"))),
      TlvError,
      /valid from \(tag 82\) must be 8 bytes/,
    ],
    [
      "validUntil before validFrom",
      concatBytes(kind(1), tlv(0x82, u64(200n)), tlv(0x83, u64(100n))),
      TlvError,
      /validUntil must be after validFrom/,
    ],
    [
      "validUntil equal to validFrom",
      concatBytes(kind(1), tlv(0x82, u64(5n)), tlv(0x83, u64(5n))),
      TlvError,
      /after validFrom/,
    ],
    [
      "a time beyond 2^53",
      concatBytes(kind(1), tlv(0x83, u64(2n ** 60n))),
      ProtocolInputError,
      /exceeds 2\^53/,
    ],
    ["a duplicate kind", concatBytes(kind(1), kind(2)), TlvError, /access profile: tag 80 appears twice/],
    ["a truncated TLV", fromHex("800201"), TlvError, /declares 2 bytes/],
  ])("refuses %s", (_name, value, type, message) => {
    expectError(() => parseAccessProfile(value), type, message);
  });

  it("the encoder refuses what the parser would refuse", () => {
    expect(() => encodeAccessProfile({ kind: "drive" })).toThrow(/needs a speed limit/);
    expect(() => encodeAccessProfile({ kind: "drive", speedLimitKmh: 401 })).toThrow(ProtocolInputError);
    expect(() => encodeAccessProfile({ kind: "drive", speedLimitKmh: 50.5 })).toThrow(ProtocolInputError);
    expect(() => encodeAccessProfile({ kind: "unlock-only", speedLimitKmh: 50 })).toThrow(/no speed limit/);
    expect(() => encodeAccessProfile({ kind: "valet" as never })).toThrow(
      /profile must be one of full, unlock-only, drive/,
    );
    expect(() => encodeAccessProfile({ kind: "full", validFrom: -1 })).toThrow(
      /validFrom must be unix seconds/,
    );
    expect(() => encodeAccessProfile({ kind: "full", validUntil: 1.5 })).toThrow(
      /validUntil must be unix seconds/,
    );
    expect(() => checkAccessProfile({ kind: "full", validFrom: 10, validUntil: 10 })).toThrow(
      /after validFrom/,
    );
  });
});

const arbProfile: fc.Arbitrary<AccessProfile> = fc
  .record({
    kind: fc.constantFrom("full", "unlock-only", "drive") as fc.Arbitrary<AccessProfile["kind"]>,
    speed: fc.integer({ min: 5, max: 400 }),
    from: fc.option(fc.integer({ min: 0, max: 2 ** 40 }), { nil: undefined }),
    span: fc.option(fc.integer({ min: 1, max: 2 ** 32 }), { nil: undefined }),
  })
  .map(({ kind, speed, from, span }) => ({
    kind,
    speedLimitKmh: kind === "drive" ? speed : undefined,
    validFrom: from,
    validUntil: span === undefined ? undefined : (from ?? 0) + span,
  }));

describe("fast-check", () => {
  it("valid profiles round-trip", () => {
    fc.assert(
      fc.property(arbProfile, (profile) => {
        expect(parseAccessProfile(profileValue(encodeAccessProfile(profile)))).toEqual(profile);
      }),
      { numRuns: 300 },
    );
  });

  it("random values either parse or throw a ProtocolError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (value) => {
        try {
          parseAccessProfile(value);
        } catch (error) {
          expect(error).toBeInstanceOf(ProtocolError);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe("what a profile allows", () => {
  const window: AccessProfile = { kind: "full", validFrom: 1000, validUntil: 2000 };

  it("enforces the validity window, until exclusive", () => {
    expect(profileRefusal(window, "unlock", 999)).toBe("key not yet valid");
    expect(profileRefusal(window, "unlock", 1000)).toBeUndefined();
    expect(profileRefusal(window, "start", 1999)).toBeUndefined();
    expect(profileRefusal(window, "lock", 2000)).toBe("key expired");
  });

  it("an unlock-only key opens and locks but cannot start; a drive key can start", () => {
    expect(profileRefusal({ kind: "unlock-only" }, "unlock", 0)).toBeUndefined();
    expect(profileRefusal({ kind: "unlock-only" }, "lock", 0)).toBeUndefined();
    expect(profileRefusal({ kind: "unlock-only" }, "start", 0)).toBe(
      "unlock-only key cannot start the engine",
    );
    expect(profileRefusal({ kind: "drive", speedLimitKmh: 80 }, "start", 0)).toBeUndefined();
  });
});

describe("accessProfileFromOptions (CLI/JSON form)", () => {
  it("defaults to full and converts ISO 8601 bounds to Unix seconds", () => {
    expect(accessProfileFromOptions({})).toEqual({
      kind: "full",
      speedLimitKmh: undefined,
      validFrom: undefined,
      validUntil: undefined,
    });
    expect(
      accessProfileFromOptions({
        profile: "drive",
        speedLimit: "100",
        validFrom: "2026-01-01T00:00:00Z",
        validUntil: "2027-01-01T00:00:00Z",
      }),
    ).toEqual(vectors.inputs.accessProfile);
  });

  it("refuses bad options", () => {
    expect(() => accessProfileFromOptions({ validFrom: "yesterday" })).toThrow(
      /valid-from must be an ISO 8601/,
    );
    expect(() => accessProfileFromOptions({ profile: "drive", speedLimit: "fast" })).toThrow(
      ProtocolInputError,
    );
    expect(() => accessProfileFromOptions({ profile: "owner" })).toThrow(ProtocolInputError);
  });
});
