// ECDSA-Sig-Value DER ⇄ raw r‖s (RFC 5480 §2.2, SEC 1 C.5): an RFC 6979 vector,
// round trips, cross-checks against node:crypto's two encodings and noble's
// DER, and the malformed encodings a strict parser must refuse.
import { createHash, generateKeyPairSync, sign, verify } from "node:crypto";
import { p256 } from "@noble/curves/nist.js";
import { sha256 } from "@noble/hashes/sha2.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromHex, toHex, utf8 } from "../../src/protocol/bytes.js";
import { derToRawSignature, rawToDerSignature } from "../../src/protocol/ecdsa-der.js";
import { ProtocolInputError, TlvError } from "../../src/protocol/errors.js";

// RFC 6979 A.2.5, P-256, SHA-256, message "sample": both r and s have the top
// bit set, so both DER INTEGERs need the 0x00 prefix.
const RFC6979 = {
  privateKey: "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721",
  r: "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716",
  s: "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8",
};
const RFC6979_DER = `3046022100${RFC6979.r}022100${RFC6979.s}`;

const nonZero32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((b) => b.some((x) => x !== 0));
const raw64 = fc.tuple(nonZero32, nonZero32).map(([r, s]) => Uint8Array.from([...r, ...s]));

describe("RFC 6979 A.2.5 vector", () => {
  it("converts r‖s to the expected DER and back", () => {
    const raw = fromHex(RFC6979.r + RFC6979.s);
    expect(toHex(rawToDerSignature(raw))).toBe(RFC6979_DER);
    expect(toHex(derToRawSignature(fromHex(RFC6979_DER)))).toBe(RFC6979.r + RFC6979.s);
  });

  it("agrees with noble's deterministic signature in both formats", () => {
    const digest = sha256(utf8("sample"));
    const sk = fromHex(RFC6979.privateKey);
    const compact = p256.sign(digest, sk, { prehash: false, lowS: false });
    const der = p256.sign(digest, sk, { prehash: false, lowS: false, format: "der" });
    expect(toHex(compact)).toBe(RFC6979.r + RFC6979.s);
    expect(toHex(der)).toBe(RFC6979_DER);
  });
});

describe("short integers", () => {
  it("encodes small r and s minimally and pads them back to 32 bytes", () => {
    const raw = new Uint8Array(64);
    raw[31] = 0x01;
    raw[63] = 0x80;
    const der = rawToDerSignature(raw);
    expect(toHex(der)).toBe("300702010102020080");
    expect(derToRawSignature(der)).toEqual(raw);
  });

  it("uses the long length form when the body reaches 128 bytes (P-521 sizes)", () => {
    const raw = new Uint8Array(132).fill(0xff);
    const der = rawToDerSignature(raw, 66);
    expect(toHex(der.subarray(0, 3))).toBe("30818a");
    expect(derToRawSignature(der, 66)).toEqual(raw);
  });
});

describe("round trips (fast-check)", () => {
  it("raw → DER → raw is the identity", () => {
    fc.assert(
      fc.property(raw64, (raw) => {
        expect(derToRawSignature(rawToDerSignature(raw))).toEqual(raw);
      }),
    );
  });

  it("every strict prefix and every extension of a valid DER is refused with TlvError", () => {
    fc.assert(
      fc.property(raw64, fc.uint8Array({ minLength: 1, maxLength: 4 }), (raw, extra) => {
        const der = rawToDerSignature(raw);
        for (let n = 0; n < der.length; n++)
          expect(() => derToRawSignature(der.subarray(0, n))).toThrow(TlvError);
        expect(() => derToRawSignature(Uint8Array.from([...der, ...extra]))).toThrow(TlvError);
      }),
      { numRuns: 50 },
    );
  });

  it("arbitrary bytes either parse to 64 bytes that re-encode identically, or throw TlvError", () => {
    const derLike = fc.oneof(
      fc.uint8Array({ maxLength: 80 }),
      fc.tuple(raw64, fc.nat({ max: 71 }), fc.integer({ min: 0, max: 255 })).map(([raw, i, v]) => {
        const der = rawToDerSignature(raw);
        der[i % der.length] = v;
        return der;
      }),
    );
    fc.assert(
      fc.property(derLike, (bytes) => {
        let raw: Uint8Array;
        try {
          raw = derToRawSignature(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(TlvError);
          return;
        }
        expect(raw.length).toBe(64);
        // Strict DER has one encoding per value, so a parse must re-encode to the same bytes.
        expect(rawToDerSignature(raw)).toEqual(bytes);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("cross-check with node:crypto", () => {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const message = utf8("car keys");

  it("node's DER converts to the ieee-p1363 form node verifies", () => {
    for (let i = 0; i < 20; i++) {
      const der = sign("sha256", message, { key: privateKey, dsaEncoding: "der" });
      const raw = derToRawSignature(new Uint8Array(der));
      expect(verify("sha256", message, { key: publicKey, dsaEncoding: "ieee-p1363" }, raw)).toBe(true);
      expect(rawToDerSignature(raw)).toEqual(new Uint8Array(der));
    }
  });

  it("node's ieee-p1363 converts to the DER form node verifies", () => {
    for (let i = 0; i < 20; i++) {
      const raw = sign("sha256", message, { key: privateKey, dsaEncoding: "ieee-p1363" });
      const der = rawToDerSignature(new Uint8Array(raw));
      expect(verify("sha256", message, { key: publicKey, dsaEncoding: "der" }, der)).toBe(true);
    }
  });

  it("the converted signature also verifies with noble over the digest", () => {
    const jwk = publicKey.export({ format: "jwk" });
    const point = Uint8Array.from([
      4,
      ...Buffer.from(jwk.x!, "base64url"),
      ...Buffer.from(jwk.y!, "base64url"),
    ]);
    const digest = new Uint8Array(createHash("sha256").update(message).digest());
    const der = sign("sha256", message, { key: privateKey, dsaEncoding: "der" });
    const raw = derToRawSignature(new Uint8Array(der));
    expect(p256.verify(raw, digest, point, { prehash: false, lowS: false })).toBe(true);
  });
});

describe("malformed DER", () => {
  const r = "01";
  const s = "02";
  const cases: Array<[string, string]> = [
    ["empty", ""],
    ["not a SEQUENCE", "3106020101020102"],
    ["SEQUENCE length too long", "3007020101020102"],
    ["SEQUENCE length too short", "3005020101020102"],
    ["indefinite length", "3080020101020102 0000"],
    ["non-minimal long-form length", "308106020101020102"],
    ["two-byte length form", "30820006020101020102"],
    ["trailing bytes after the SEQUENCE", "300602010102010200"],
    ["third element", "3009020101020102020103"],
    ["only r", "3003020101"],
    ["r not an INTEGER", "3006030101020102"],
    ["s not an INTEGER", "3006020101040102"],
    ["empty r", "30050200020102"],
    ["negative r", "3006020181020102"],
    ["negative s", "3006020101020180"],
    ["non-minimal r (00 before a small byte)", "300702020001020102"],
    ["non-minimal s (00 00 80)", "30080201010203000080"],
    ["zero r", "3006020100020102"],
    ["zero s", "3006020101020100"],
    ["r of 33 bytes without the sign pad", `3026 0221 01${"00".repeat(32)} 0201${s}`],
    ["r of 33 magnitude bytes after the sign pad", `3027 0222 0080${"00".repeat(32)} 0201${s}`],
    ["r overruns the SEQUENCE", `3006 0205${r}020102`],
    ["truncated long-form length", "3081"],
  ];
  it.each(cases)("refuses %s", (_name, hex) => {
    expect(() => derToRawSignature(fromHex(hex.replaceAll(" ", "")))).toThrow(TlvError);
  });

  it("refuses inputs that are not bytes, and bad sizes, as input errors", () => {
    expect(() => derToRawSignature("3006020101020102" as unknown as Uint8Array)).toThrow(ProtocolInputError);
    expect(() => derToRawSignature(fromHex("3006020101020102"), 0)).toThrow(ProtocolInputError);
    expect(() => rawToDerSignature(new Uint8Array(63))).toThrow(ProtocolInputError);
    expect(() => rawToDerSignature(new Uint8Array(64))).toThrow(ProtocolInputError);
    expect(() =>
      rawToDerSignature(Uint8Array.from([...new Uint8Array(32), ...new Uint8Array(32).fill(1)])),
    ).toThrow(/r is zero/);
  });
});
