// The strict DER reader (src/protocol/der-reader.ts): vectors from X.690's
// examples, RFC 5280 §4.1.2.5's time rules and OpenSSL (`openssl asn1parse
// -genstr`), the encodings DER forbids refused with a CertificateVerificationError
// ("malformed") naming the field, and round trips with der-writer.ts.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "../../src/protocol/bytes.js";
import {
  nameText,
  nameValues,
  readBitString,
  readBoolean,
  readInteger,
  readName,
  readNamedBits,
  readOid,
  readSmallUnsignedInteger,
  readString,
  readTime,
  readUnsignedIntegerBytes,
} from "../../src/protocol/der-reader.js";
import {
  derBoolean,
  derNamedBits,
  derOctetString,
  derOid,
  derPrintableString,
  derSequence,
  derSetOf,
  derTime,
  derUnsignedInteger,
  derUtf8String,
} from "../../src/protocol/der-writer.js";
import { CertificateVerificationError } from "../../src/protocol/errors.js";

/** Contents of a DER element written with a one-octet length. */
const contentsOf = (element: Uint8Array): Uint8Array => element.subarray(2);

function expectMalformed(run: () => unknown, field: string): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected a refusal naming ${field}`).toBeInstanceOf(CertificateVerificationError);
  expect((caught as CertificateVerificationError).reason).toBe("malformed");
  expect((caught as Error).message).toContain(field);
}

describe("OBJECT IDENTIFIER", () => {
  it.each([
    // X.690 §8.19.5's example: {2 999 3}.
    ["883703", "2.999.3"],
    ["2a864886f70d", "1.2.840.113549"],
    ["551d13", "2.5.29.19"],
    ["2a8648ce3d040302", "1.2.840.10045.4.3.2"],
    ["0992268993f22c640119", "0.9.2342.19200300.100.1.25"],
    // OpenSSL's encoding of X.667's UUID example: a 128-bit arc.
    ["6983f09da7ebcfdee0c7a1a7b2c0948cc8f9d776", "2.25.329800735698586629295641978511506172918"],
  ])("%s is %s", (hex, dotted) => {
    expect(readOid(fromHex(hex), "oid")).toBe(dotted);
  });

  it("reads back whatever der-writer writes", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 }),
        fc.integer({ min: 0, max: 39 }),
        fc.array(fc.maxSafeNat(), { maxLength: 6 }),
        (first, second, rest) => {
          const dotted = [first, second, ...rest].join(".");
          expect(readOid(contentsOf(derOid(dotted)), "oid")).toBe(dotted);
        },
      ),
    );
  });

  it.each([
    ["", "empty"],
    // 1.2.840 with 840 padded by a leading 80 octet (80 86 48 instead of 86 48).
    ["2a808648", "a padded arc"],
    ["802a", "a padded first subidentifier"],
    ["2a86", "a last octet that still has its continuation bit"],
  ])("refuses %s: %s", (hex) => {
    expectMalformed(() => readOid(fromHex(hex), "extnID"), "extnID");
  });
});

describe("INTEGER", () => {
  it.each([
    ["00", 0n],
    ["7f", 127n],
    ["0080", 128n],
    ["ff", -1n],
    ["80", -128n],
    ["ff7f", -129n],
    ["01000000000000000000", 2n ** 72n],
  ])("%s is %s", (hex, value) => {
    expect(readInteger(fromHex(hex), "n")).toBe(value);
  });

  it.each(["", "0000", "007f", "ff80", "ffff"])("refuses the non-minimal or empty %s", (hex) => {
    expectMalformed(() => readInteger(fromHex(hex), "pathLenConstraint"), "pathLenConstraint");
  });

  it("gives a serial number's magnitude without its sign octet, and refuses a negative one", () => {
    expect(toHex(readUnsignedIntegerBytes(fromHex("0080ff"), "serialNumber"))).toBe("80ff");
    expect(toHex(readUnsignedIntegerBytes(fromHex("4a11"), "serialNumber"))).toBe("4a11");
    expectMalformed(() => readUnsignedIntegerBytes(fromHex("80"), "serialNumber"), "serialNumber");
    expectMalformed(() => readUnsignedIntegerBytes(fromHex("0001"), "serialNumber"), "serialNumber");
  });

  it("reads der-writer's unsigned INTEGERs back", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 20 }), (magnitude) => {
        const contents = contentsOf(derUnsignedInteger(magnitude));
        expect(readInteger(contents, "n")).toBe(BigInt(`0x${toHex(magnitude)}`));
      }),
    );
  });

  it("takes small non-negative values only as a number", () => {
    expect(readSmallUnsignedInteger(fromHex("00"), "pathLen")).toBe(0);
    expectMalformed(() => readSmallUnsignedInteger(fromHex("ff"), "pathLen"), "pathLen");
    expectMalformed(() => readSmallUnsignedInteger(fromHex("200000000000000000"), "pathLen"), "pathLen");
  });
});

describe("BOOLEAN", () => {
  it("is 00 or FF, one octet (X.690 §11.1)", () => {
    expect(readBoolean(contentsOf(derBoolean(true)), "cA")).toBe(true);
    expect(readBoolean(contentsOf(derBoolean(false)), "cA")).toBe(false);
    for (const hex of ["01", "7f", "", "ffff", "0000"])
      expectMalformed(() => readBoolean(fromHex(hex), "cA"), "cA");
  });
});

describe("Time (RFC 5280 §4.1.2.5)", () => {
  const utc = (text: string) => ({ tag: 0x17, value: new TextEncoder().encode(text) });
  const generalized = (text: string) => ({ tag: 0x18, value: new TextEncoder().encode(text) });

  it.each([
    [utc("491231235959Z"), "2049-12-31T23:59:59.000Z"],
    // YY of 50 and above is 19YY.
    [utc("500101000000Z"), "1950-01-01T00:00:00.000Z"],
    [utc("000229120000Z"), "2000-02-29T12:00:00.000Z"],
    [generalized("20500101000000Z"), "2050-01-01T00:00:00.000Z"],
    [generalized("99991231235959Z"), "9999-12-31T23:59:59.000Z"],
    // Before 100 AD: not read as 19YY the way Date.UTC would.
    [generalized("00010101000000Z"), "0001-01-01T00:00:00.000Z"],
    // Either type for any year: relying parties MUST read both.
    [generalized("20240601120000Z"), "2024-06-01T12:00:00.000Z"],
  ])("%o is %s", (item, iso) => {
    expect(readTime(item, "notBefore").toISOString()).toBe(iso);
  });

  it.each([
    utc("4912312359Z"),
    utc("491231235959"),
    utc("491231235959+0100"),
    utc("491231235959.5Z"),
    utc(" 91231235959Z"),
    utc("491331235959Z"),
    utc("490431120000Z"),
    utc("230229120000Z"),
    utc("491231240000Z"),
    utc("491231236000Z"),
    utc("491231235960Z"),
    generalized("20500101000000.5Z"),
    generalized("20500101000000"),
    generalized("205001010000Z"),
    generalized("20500101000000+0000"),
    { tag: 0x04, value: new TextEncoder().encode("491231235959Z") },
  ])("refuses %o", (item) => {
    expectMalformed(() => readTime(item, "notAfter"), "notAfter");
  });

  it("reads der-writer's times back for every year it writes", () => {
    fc.assert(
      fc.property(fc.integer({ min: -62_135_596_800, max: 253_402_300_799 }), (seconds) => {
        const date = new Date(seconds * 1000);
        const element = derTime(date);
        expect(readTime({ tag: element[0]!, value: contentsOf(element) }, "t").getTime()).toBe(
          date.getTime(),
        );
      }),
    );
  });
});

describe("BIT STRING", () => {
  it("keeps the unused-bits count and refuses what DER does not allow", () => {
    expect(readBitString(fromHex("00"), "k")).toEqual({ bytes: new Uint8Array(0), unusedBits: 0 });
    expect(readBitString(fromHex("0680"), "k").unusedBits).toBe(6);
    for (const hex of ["", "01", "08ff", "0107", "0301"])
      expectMalformed(() => readBitString(fromHex(hex), "signatureValue"), "signatureValue");
  });

  it.each([
    // keyCertSign + cRLSign, as RFC 5280 CAs write it.
    ["0106", 32 | 64],
    ["0780", 1],
    ["00", 0],
    // decipherOnly, bit 8.
    ["070080", 256],
  ])("KeyUsage %s is flags %i", (hex, flags) => {
    expect(readNamedBits(fromHex(hex), "keyUsage")).toBe(flags);
  });

  it("reads trailing zero bits as no flag, and refuses a set bit past bit 30", () => {
    // Trustwave Global ECC P256's keyUsage (Mozilla's root store): 9 bits, the last one zero.
    expect(readNamedBits(fromHex("070600"), "keyUsage")).toBe(32 | 64);
    expect(readNamedBits(fromHex("000600"), "keyUsage")).toBe(32 | 64);
    expect(readNamedBits(fromHex("0000000000000000"), "keyUsage")).toBe(0);
    expect(readNamedBits(fromHex("0000000002"), "keyUsage")).toBe(2 ** 30);
    expect(readNamedBits(fromHex("000000000200"), "keyUsage")).toBe(2 ** 30);
    for (const hex of ["0000000001", "000000000080", "0101", "0801"])
      expectMalformed(() => readNamedBits(fromHex(hex), "keyUsage"), "keyUsage");
  });

  it("reads der-writer's named bits back", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (flags) => {
        expect(readNamedBits(contentsOf(derNamedBits(flags)), "keyUsage")).toBe(flags);
      }),
    );
  });
});

describe("Name", () => {
  const atv = (oid: string, value: Uint8Array) => derSequence(derOid(oid), value);
  const name = (...rdns: Uint8Array[]) => contentsOf(derSequence(...rdns));

  it("renders RFC 4514 types and escaping, in the order written, and looks attributes up", () => {
    const rdns = readName(
      name(
        derSetOf(atv("2.5.4.6", derPrintableString("US"))),
        derSetOf(atv("2.5.4.10", derUtf8String('Acme, Inc. + "Sons"'))),
        derSetOf(atv("2.5.4.11", derUtf8String("#1 ")), atv("2.5.4.3", derUtf8String("株式会社"))),
        derSetOf(atv("1.2.3.4", derOctetString(Uint8Array.of(1, 2)))),
        derSetOf(atv("2.5.4.3", derUtf8String("line\nbreak"))),
      ),
      "subject",
    );
    expect(nameText(rdns)).toBe(
      'C=US, O=Acme\\, Inc. \\+ \\"Sons\\", OU=\\#1\\ +CN=株式会社, 1.2.3.4=#04020102, CN=line\\0Abreak',
    );
    expect(nameValues(rdns, "2.5.4.3")).toEqual(["株式会社", "line\nbreak"]);
    expect(nameValues(rdns, "2.5.4.10")).toEqual(['Acme, Inc. + "Sons"']);
    expect(nameValues(rdns, "2.5.4.7")).toEqual([]);
    expect(nameText(readName(new Uint8Array(0), "subject"))).toBe("");
  });

  it("decodes the directory string types", () => {
    const text = (tag: number, hex: string) => readString({ tag, value: fromHex(hex) }, "CN");
    expect(text(0x1e, "00410416")).toBe("AЖ");
    expect(text(0x1c, "0001f697")).toBe("🚗");
    expect(text(0x16, "6140622e6578")).toBe("a@b.ex");
    expect(text(0x13, "4154265420")).toBe("AT&T ");
    expect(text(0x04, "00")).toBeUndefined();
    for (const [tag, hex] of [
      [0x0c, "c3"],
      [0x0c, "eda080"],
      [0x1e, "004100"],
      [0x1e, "d800"],
      [0x1c, "00110000"],
      [0x1c, "000041"],
    ] as const) {
      expectMalformed(() => text(tag, hex), "CN");
    }
  });

  it("refuses an empty RDN, an attribute of other than two parts, and a type that is no OID", () => {
    const o = atv("2.5.4.10", derUtf8String("Acme"));
    for (const bad of [
      name(derSetOf()),
      name(derSetOf(derSequence(derOid("2.5.4.10")))),
      name(derSetOf(derSequence(derOid("2.5.4.10"), derUtf8String("a"), derUtf8String("b")))),
      name(derSetOf(derSequence(derUtf8String("O"), derUtf8String("a")))),
      name(derSequence(o)),
      name(o),
    ]) {
      expectMalformed(() => readName(bad, "issuer"), "issuer");
    }
  });
});

describe("hostile bytes", () => {
  it("end in a malformed refusal, never another exception", () => {
    const readers: ((bytes: Uint8Array) => unknown)[] = [
      (b) => readOid(b, "x"),
      (b) => readInteger(b, "x"),
      (b) => readBoolean(b, "x"),
      (b) => readNamedBits(b, "x"),
      (b) => readName(b, "x"),
      (b) => readTime({ tag: 0x17, value: b }, "x"),
      (b) => readTime({ tag: 0x18, value: b }, "x"),
      (b) => readString({ tag: 0x1c, value: b }, "x"),
    ];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.nat(readers.length - 1), (bytes, which) => {
        try {
          readers[which]!(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(CertificateVerificationError);
          expect((error as CertificateVerificationError).reason).toBe("malformed");
        }
      }),
      { numRuns: 2000 },
    );
  });
});
