// DER primitives against X.690 and RFC 5280 by hand-checked vectors, and the
// refusals that keep the output DER; certificate-encoding.test.ts compares
// whole certificates with @peculiar/x509.
import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "../../src/protocol/bytes.js";
import {
  derBitString,
  derBoolean,
  derContext,
  derElement,
  derEnumerated,
  derNamedBits,
  derOctetString,
  derOid,
  derPrintableString,
  derSequence,
  derSetOf,
  derSmallInteger,
  derTime,
  derUnsignedInteger,
  derUtf8String,
} from "../../src/protocol/der-writer.js";
import { ProtocolInputError } from "../../src/protocol/errors.js";

const hex = (bytes: Uint8Array) => toHex(bytes);

describe("lengths", () => {
  it("short form below 128, then the fewest length octets", () => {
    const head = (n: number) => hex(derOctetString(new Uint8Array(n)).subarray(0, 4));
    expect(head(0).slice(0, 4)).toBe("0400");
    expect(head(127).slice(0, 4)).toBe("047f");
    expect(head(128).slice(0, 6)).toBe("048180");
    expect(head(255).slice(0, 6)).toBe("0481ff");
    expect(head(256)).toBe("04820100");
    expect(head(65_535)).toBe("0482ffff");
    expect(hex(derOctetString(new Uint8Array(65_536)).subarray(0, 5))).toBe("0483010000");
  });

  it("refuses a tag that would need more octets", () => {
    expect(() => derElement(0x1f, new Uint8Array(0))).toThrow(ProtocolInputError);
    expect(() => derElement(0x100, new Uint8Array(0))).toThrow(ProtocolInputError);
  });
});

describe("INTEGER", () => {
  it("is minimal two's complement of the magnitude", () => {
    expect(hex(derUnsignedInteger(Uint8Array.of(0x7f)))).toBe("02017f");
    expect(hex(derUnsignedInteger(Uint8Array.of(0x80)))).toBe("02020080");
    expect(hex(derUnsignedInteger(Uint8Array.of(0, 0, 0x01, 0x00)))).toBe("02020100");
    expect(hex(derUnsignedInteger(Uint8Array.of(0, 0xff)))).toBe("020200ff");
    expect(hex(derUnsignedInteger(Uint8Array.of(0, 0)))).toBe("020100");
    expect(hex(derUnsignedInteger(new Uint8Array(0)))).toBe("020100");
    expect(hex(derSmallInteger(0))).toBe("020100");
    expect(hex(derSmallInteger(2))).toBe("020102");
    expect(hex(derSmallInteger(128))).toBe("02020080");
    expect(hex(derSmallInteger(65_536))).toBe("0203010000");
    expect(hex(derEnumerated(1))).toBe("0a0101");
    expect(() => derSmallInteger(-1)).toThrow(ProtocolInputError);
    expect(() => derSmallInteger(1.5)).toThrow(ProtocolInputError);
  });
});

describe("OBJECT IDENTIFIER", () => {
  it("packs the first two arcs and writes the rest in base 128", () => {
    expect(hex(derOid("1.2.840.10045.4.3.2"))).toBe("06082a8648ce3d040302");
    expect(hex(derOid("2.5.29.19"))).toBe("0603551d13");
    expect(hex(derOid("1.3.6.1.4.1.61892.2.3"))).toBe("060a2b0601040183e3440203");
    expect(hex(derOid("2.999.3"))).toBe("0603883703");
    expect(hex(derOid("0.0"))).toBe("060100");
  });

  it("refuses what is not a dotted OID", () => {
    for (const bad of ["", "1", "3.1", "1.40", "1.2.", "1..2", "1.02", "1.2.a", "1.2.99999999999999999"]) {
      expect(() => derOid(bad), bad).toThrow(ProtocolInputError);
    }
  });
});

describe("BIT STRING", () => {
  it("whole octets carry 0 unused bits", () => {
    expect(hex(derBitString(Uint8Array.of(0xab)))).toBe("030200ab");
  });

  it("named bits drop trailing zero bits (X.690 §11.2.2), as KeyUsage needs", () => {
    expect(hex(derNamedBits(1))).toBe("03020780"); // digitalSignature
    expect(hex(derNamedBits(32 | 64))).toBe("03020106"); // keyCertSign, cRLSign
    expect(hex(derNamedBits(128))).toBe("03020001"); // encipherOnly, bit 7
    expect(hex(derNamedBits(256))).toBe("0303070080"); // decipherOnly, bit 8
    expect(hex(derNamedBits(1 | 256))).toBe("0303078080");
    expect(hex(derNamedBits(0))).toBe("030100");
    expect(() => derNamedBits(-1)).toThrow(ProtocolInputError);
  });
});

describe("strings", () => {
  it("UTF8String as UTF-8, PrintableString within its repertoire", () => {
    expect(hex(derUtf8String("Ü🚗"))).toBe("0c06c39cf09f9a97");
    expect(hex(derPrintableString("US"))).toBe("13025553");
    expect(hex(derPrintableString("A-z 0'()+,./:=?"))).toBe(`130f${toHex(Buffer.from("A-z 0'()+,./:=?"))}`);
    for (const bad of ["a@b", "ü", "a*b", "a_b"])
      expect(() => derPrintableString(bad)).toThrow(ProtocolInputError);
    expect(() => derUtf8String("x\ud800")).toThrow(ProtocolInputError);
    expect(() => derUtf8String("\udc00x")).toThrow(ProtocolInputError);
  });
});

describe("Time (RFC 5280 §4.1.2.5)", () => {
  const time = (iso: string) => Buffer.from(derTime(new Date(iso)).subarray(2)).toString("latin1");
  const tag = (iso: string) => derTime(new Date(iso))[0];

  it("UTCTime for 1950 through 2049, GeneralizedTime otherwise, always with seconds and Z", () => {
    expect(time("1950-01-01T00:00:00Z")).toBe("500101000000Z");
    expect(tag("1950-01-01T00:00:00Z")).toBe(0x17);
    expect(time("1999-12-31T23:59:59Z")).toBe("991231235959Z");
    expect(time("2000-02-29T01:02:03Z")).toBe("000229010203Z");
    expect(time("2049-12-31T23:59:59Z")).toBe("491231235959Z");
    expect(tag("2049-12-31T23:59:59Z")).toBe(0x17);
    expect(time("2050-01-01T00:00:00Z")).toBe("20500101000000Z");
    expect(tag("2050-01-01T00:00:00Z")).toBe(0x18);
    expect(time("1949-12-31T23:59:59Z")).toBe("19491231235959Z");
    expect(tag("1949-12-31T23:59:59Z")).toBe(0x18);
    expect(time("9999-12-31T23:59:59Z")).toBe("99991231235959Z");
  });

  it("refuses fractions of a second and invalid dates", () => {
    expect(() => derTime(new Date("2030-01-01T00:00:00.500Z"))).toThrow(ProtocolInputError);
    expect(() => derTime(new Date(Number.NaN))).toThrow(ProtocolInputError);
    expect(() => derTime(new Date(Date.UTC(10_000, 0, 1)))).toThrow(ProtocolInputError);
  });
});

describe("constructed types", () => {
  it("SEQUENCE in order, SET OF sorted by encoding (X.690 §11.6)", () => {
    const a = derSmallInteger(2);
    const b = derOctetString(Uint8Array.of(1));
    const c = derSmallInteger(1);
    expect(hex(derSequence(a, b, c))).toBe("3009020102040101020101");
    expect(hex(derSetOf(b, a, c))).toBe("3109020101020102040101");
    expect(hex(derSetOf(derOctetString(Uint8Array.of(1, 0)), derOctetString(Uint8Array.of(1))))).toBe(
      "310704010104020100",
    );
  });

  it("BOOLEAN TRUE is FF; context tags explicit and implicit", () => {
    expect(hex(derBoolean(true))).toBe("0101ff");
    expect(hex(derBoolean(false))).toBe("010100");
    expect(hex(derContext(0, derSmallInteger(2), true))).toBe("a003020102");
    expect(hex(derContext(0, fromHex("abcd"), false))).toBe("8002abcd");
    expect(hex(derContext(3, derSequence(), true))).toBe("a3023000");
    expect(() => derContext(31, new Uint8Array(0), true)).toThrow(ProtocolInputError);
  });
});
