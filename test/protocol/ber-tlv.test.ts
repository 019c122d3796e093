// Checks BER-TLV as docs/transaction.md "Encoding" specifies it (ISO/IEC 7816-4 §5.2).
// 1- to 3-byte tags, the length forms at their boundaries, every malformed form refused with a
// TlvError (never a RangeError), fast-check round trips and fuzzing.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseTlvs, TlvMap, tagHex, tlv } from "../../src/protocol/ber-tlv.js";
import { fromHex, toHex } from "../../src/protocol/bytes.js";
import { ProtocolError, ProtocolInputError, TlvError } from "../../src/protocol/errors.js";

/** Asserts that `fn` throws a TlvError whose message matches `message` (and so is not a RangeError). */
function expectTlvError(fn: () => unknown, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(TlvError);
  expect((caught as Error).message).toMatch(message);
}

const filled = (length: number, byte = 0xab) => new Uint8Array(length).fill(byte);

describe("tlv encoding", () => {
  it("encodes one-byte tags (5C, 4D, 9E)", () => {
    expect(toHex(tlv(0x5c, fromHex("02000100")))).toBe("5c0402000100");
    expect(toHex(tlv(0x4d, new Uint8Array(0)))).toBe("4d00");
    expect(toHex(tlv(0x9e, filled(2)))).toBe("9e02abab");
  });

  it("encodes two- and three-byte tags (7F50, 5F20, 7F8102)", () => {
    expect(toHex(tlv(0x7f50, fromHex("c00101")))).toBe("7f5003c00101");
    expect(toHex(tlv(0x5f20, fromHex("41")))).toBe("5f200141");
    expect(toHex(tlv(0x7f8102, fromHex("00")))).toBe("7f81020100");
  });

  it.each([
    [0x00, "00"],
    [0x7f, "7f"],
    [0x80, "8180"],
    [0xff, "81ff"],
    [0x100, "820100"],
    [0xffff, "82ffff"],
  ])("uses the minimal length form for %i bytes", (length, header) => {
    const encoded = tlv(0x53, filled(length));
    expect(toHex(encoded.subarray(1, 1 + header.length / 2))).toBe(header);
    expect(encoded.length).toBe(1 + header.length / 2 + length);
    const [parsed] = parseTlvs(encoded);
    expect(parsed?.tag).toBe(0x53);
    expect(parsed?.value.length).toBe(length);
  });

  it("refuses values longer than 82 FFFF can carry", () => {
    expect(() => tlv(0x53, filled(0x10000))).toThrow(ProtocolInputError);
  });

  it.each([
    ["0", 0, "out of range"],
    ["1000000", 0x1000000, "out of range"],
    ["1F", 0x1f, "announces a second byte"],
    ["FF", 0xff, "announces a second byte"],
    ["5F", 0x5f, "announces a second byte"],
    ["5020", 0x5020, "not a valid multi-byte tag"],
    ["FF50", 0xff50, "not a valid multi-byte tag"], // FF is a first byte the parser refuses
    ["7F81", 0x7f81, "continuation bit in byte 2"], // byte 2 announces a third byte that is not there
    ["7F0102", 0x7f0102, "continuation bit in byte 2"], // byte 2 does not announce byte 3
    ["7F8180", 0x7f8180, "continuation bit in byte 3"], // byte 3 announces a fourth byte
  ])("refuses to encode tag %s", (_name, tag, message) => {
    expect(() => tlv(tag, new Uint8Array(0))).toThrow(ProtocolInputError);
    expect(() => tlv(tag, new Uint8Array(0))).toThrow(new RegExp(message));
  });

  it("never produces bytes that parse as a different TLV (regression: 7F81 used to encode as 7F 81 …)", () => {
    // Before the fix, tlv(0x7F81, 01 02) gave 7F 81 02 01 02, which parses as tag 7F8102, value 02.
    expect(() => tlv(0x7f81, fromHex("0102"))).toThrow(ProtocolInputError);
  });

  it("formats tags as upper-case hex of their own width", () => {
    expect(tagHex(0x5c)).toBe("5C");
    expect(tagHex(0x7f50)).toBe("7F50");
    expect(tagHex(0x7f8102)).toBe("7F8102");
  });
});

describe("parseTlvs", () => {
  it("parses a concatenation of 1-, 2- and 3-byte tags", () => {
    const parsed = parseTlvs(fromHex("5c020200" + "7f5003c00101" + "7f81020100" + "9e00"));
    expect(parsed.map((t) => [tagHex(t.tag), toHex(t.value)])).toEqual([
      ["5C", "0200"],
      ["7F50", "c00101"],
      ["7F8102", "00"],
      ["9E", ""],
    ]);
  });

  it("parses an empty input as no TLVs", () => {
    expect(parseTlvs(new Uint8Array(0))).toEqual([]);
  });

  it.each([
    ["truncated two-byte tag", "7f", /truncated tag at offset 0/],
    ["truncated three-byte tag", "5c01007f81", /truncated tag at offset 3/],
    ["tag longer than three bytes", "7f818101", /tag longer than 3 bytes/],
    ["tag without a length", "5c", /missing length for tag 5C/],
    ["truncated 81 length", "5c81", /truncated length for tag 5C/],
    ["truncated 82 length", "5c8201", /truncated length for tag 5C/],
    ["value beyond the data", "5c04010203", /tag 5C declares 4 bytes but only 3 remain/],
    ["long-form value beyond the data", `7f50820100${"00".repeat(255)}`, /tag 7F50 declares 256 bytes/],
    ["non-minimal 81 length", "5c8101aa", /non-minimal length for tag 5C/],
    ["non-minimal 81 length at 7F", `5c817f${"aa".repeat(0x7f)}`, /non-minimal length/],
    ["non-minimal 82 length", `5c8200ff${"aa".repeat(0xff)}`, /non-minimal length for tag 5C/],
    ["non-minimal 82 length for a short value", "5c820001aa", /non-minimal length/],
    ["indefinite length 80", "5c80", /unsupported length byte 80/],
    ["83 length form", "5c83000001aa", /unsupported length byte 83/],
    ["84 length form", "5c8400000001aa", /unsupported length byte 84/],
    ["tag 00", "0001aa", /invalid tag byte 00 at offset 0/],
    ["tag FF", "5c00ff01aa", /invalid tag byte ff at offset 2/],
  ])("refuses %s", (_name, hex, message) => {
    expectTlvError(() => parseTlvs(fromHex(hex)), message);
  });

  it("accepts the smallest long forms (81 80, 82 0100)", () => {
    expect(parseTlvs(fromHex(`5c8180${"aa".repeat(0x80)}`))[0]?.value.length).toBe(0x80);
    expect(parseTlvs(fromHex(`5c820100${"aa".repeat(0x100)}`))[0]?.value.length).toBe(0x100);
  });

  it("returns views of the input, not copies", () => {
    const bytes = fromHex("5c020200");
    const [parsed] = parseTlvs(bytes);
    expect(parsed?.value.buffer).toBe(bytes.buffer);
  });
});

describe("TlvMap", () => {
  const message = fromHex("4c02aabb" + "4d03010203");

  it("looks tags up and keeps their order", () => {
    const m = TlvMap.parse(message, "AUTH0");
    expect(m.order).toEqual([0x4c, 0x4d]);
    expect(m.has(0x4c)).toBe(true);
    expect(m.has(0x9e)).toBe(false);
    expect(m.optional(0x9e)).toBeUndefined();
    expect(toHex(m.require(0x4d, "vehicle identifier", [2, 4]))).toBe("010203");
    expect(toHex(m.require(0x4c, "transaction id", 2))).toBe("aabb");
  });

  it("refuses a duplicate tag, naming the message and the tag", () => {
    expectTlvError(() => TlvMap.parse(fromHex("4c01aa4d01bb4c01cc"), "AUTH0"), /AUTH0: tag 4C appears twice/);
  });

  it("refuses a missing mandatory tag, naming it", () => {
    expectTlvError(
      () => TlvMap.parse(message).require(0x87, "vehicle ephemeral public key"),
      /missing vehicle ephemeral public key \(tag 87\)/,
    );
  });

  it("refuses a value of the wrong fixed length", () => {
    expectTlvError(
      () => TlvMap.parse(message).require(0x4c, "transaction id", 16),
      /transaction id \(tag 4C\) must be 16 bytes, got 2/,
    );
  });

  it("refuses a value outside a length range", () => {
    expectTlvError(
      () => TlvMap.parse(message).require(0x4d, "vehicle identifier", [8, 32]),
      /vehicle identifier \(tag 4D\) must be 8\.\.32 bytes, got 3/,
    );
  });

  it("passes parse errors through as TlvError", () => {
    expectTlvError(() => TlvMap.parse(fromHex("4c05aa")), /declares 5 bytes/);
  });
});

// Valid tags: one byte (not ending in 11111, not 00/FF); two bytes (first ends in 11111, second
// without the continuation bit); three bytes (second with it, third without).
const MULTI_BYTE_FIRST = [0x1f, 0x3f, 0x5f, 0x7f, 0x9f, 0xbf, 0xdf];
const arbTag = fc.oneof(
  fc.integer({ min: 0x01, max: 0xfe }).filter((t) => (t & 0x1f) !== 0x1f),
  fc
    .tuple(fc.constantFrom(...MULTI_BYTE_FIRST), fc.integer({ min: 0x00, max: 0x7f }))
    .map(([a, b]) => (a << 8) | b),
  fc
    .tuple(
      fc.constantFrom(...MULTI_BYTE_FIRST),
      fc.integer({ min: 0x80, max: 0xff }),
      fc.integer({ min: 0x00, max: 0x7f }),
    )
    .map(([a, b, c]) => (a << 16) | (b << 8) | c),
);
const arbValue = fc.oneof(
  fc.uint8Array({ maxLength: 0x90 }),
  fc.uint8Array({ minLength: 0xf0, maxLength: 0x110 }),
);

describe("fast-check", () => {
  it("random lists of (tag, value) round-trip", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(arbTag, arbValue), { maxLength: 8 }), (items) => {
        const encoded = new Uint8Array(items.flatMap(([tag, value]) => [...tlv(tag, value)]));
        const parsed = parseTlvs(encoded);
        expect(parsed.map((t) => t.tag)).toEqual(items.map(([tag]) => tag));
        expect(parsed.map((t) => toHex(t.value))).toEqual(items.map(([, value]) => toHex(value)));
      }),
      { numRuns: 300 },
    );
  });

  it("random bytes either parse or throw TlvError/ProtocolError, nothing else", () => {
    const tlvish = fc
      .array(
        fc.oneof(
          fc.uint8Array({ maxLength: 6 }),
          fc.constantFrom(
            fromHex("7f"),
            fromHex("81"),
            fromHex("82"),
            fromHex("83"),
            fromHex("8201"),
            fromHex("5c"),
          ),
        ),
        { maxLength: 12 },
      )
      .map((parts) => new Uint8Array(parts.flatMap((p) => [...p])));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), tlvish), (bytes) => {
        for (const parse of [() => parseTlvs(bytes), () => TlvMap.parse(bytes)]) {
          try {
            parse();
          } catch (error) {
            expect(error).toBeInstanceOf(ProtocolError);
            expect(error).toBeInstanceOf(TlvError);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});
