// Checks p256.ts (OpenSSL through node:crypto) against published vectors and
// against noble, a second, pure-JS implementation: RFC 6979 A.2.5 (key pair and
// the SHA-256 "sample" signature), NIST CAVS KAS ECC CDH P-256 (COUNT = 0), and
// random keys, points and messages compared with noble (fast-check).
import { p256 } from "@noble/curves/nist.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { sha256 } from "@noble/hashes/sha2.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromHex, toHex, utf8 } from "../../src/protocol/bytes.js";
import { ProtocolInputError } from "../../src/protocol/errors.js";
import {
  assertPublicKey,
  ecdhX,
  generateKeyPair,
  isValidPublicKey,
  keyIdentifier,
  P256PrivateKey,
  publicKeyOf,
  sha256Digest,
  signRaw,
  uncompressedPublicKey,
  verifyRaw,
} from "../../src/protocol/p256.js";

// RFC 6979 A.2.5: the P-256 key and the deterministic signature over "sample" with SHA-256.
const RFC6979 = {
  x: "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721",
  public:
    "0460fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6" +
    "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299",
  sampleSha256:
    "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716" +
    "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8",
};

// NIST CAVS, KAS ECC CDH primitive test vectors (SP 800-56A §5.7.1.2), [P-256] COUNT = 0.
const CAVS_CDH = {
  peer:
    "04700c48f77f56584c5cc632ca65640db91b6bacce3a4df6b42ce7cc838833d287" +
    "db71e509e3fd9b060ddb20ba5c51dcc5948d46fbf640dfe0441782cab85fa4ac",
  d: "7d7dc5f71eb29ddaf80d6214632eeae03d9058af1fb6d22ed80badb62bc1a534",
  own:
    "04ead218590119e8876b29146ff89ca61770c4edbbf97d38ce385ed281d8a6b230" +
    "28af61281fd35e2fa7002523acc85a429cb06ee6648325389f59edfce1405141",
  z: "46fc62106420ff012e54a434fbdd2d25ccc5852060561e68040dd7778997bd7b",
};

const arbPrivateKey = fc
  .uint8Array({ minLength: 48, maxLength: 48 })
  .map((seed) => p256.utils.randomSecretKey(seed));

describe("published vectors", () => {
  it("RFC 6979 A.2.5: public key and signature verification", () => {
    const d = fromHex(RFC6979.x);
    expect(toHex(publicKeyOf(d))).toBe(RFC6979.public);
    const sample = utf8("sample");
    expect(verifyRaw(fromHex(RFC6979.sampleSha256), sample, fromHex(RFC6979.public))).toBe(true);
    expect(verifyRaw(fromHex(RFC6979.sampleSha256), utf8("Sample"), fromHex(RFC6979.public))).toBe(false);
    // signRaw draws k at random (OpenSSL): a different signature every time, each verifying.
    const a = signRaw(d, sample);
    const b = signRaw(d, sample);
    expect(toHex(a)).not.toBe(toHex(b));
    expect(verifyRaw(a, sample, fromHex(RFC6979.public))).toBe(true);
    expect(p256.verify(b, sample, fromHex(RFC6979.public), { lowS: false })).toBe(true);
  });

  it("NIST CAVS ECC CDH P-256 COUNT = 0: Q_IUT and Z", () => {
    expect(toHex(publicKeyOf(fromHex(CAVS_CDH.d)))).toBe(CAVS_CDH.own);
    expect(toHex(ecdhX(fromHex(CAVS_CDH.d), fromHex(CAVS_CDH.peer)))).toBe(CAVS_CDH.z);
    expect(toHex(p256.getSharedSecret(fromHex(CAVS_CDH.d), fromHex(CAVS_CDH.peer), true).slice(1))).toBe(
      CAVS_CDH.z,
    );
  });

  it('FIPS 180-4 SHA-256 and SHA-1 of "abc" (the key identifier\'s hash)', () => {
    expect(toHex(sha256Digest(utf8("abc")))).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
    // keyIdentifier = the first 6 bytes of SHA-1(point); compared with noble's SHA-1 of the same point.
    expect(toHex(keyIdentifier(fromHex(RFC6979.public)))).toBe(
      toHex(sha1(fromHex(RFC6979.public)).slice(0, 6)),
    );
  });
});

describe("node:crypto against noble (fast-check)", () => {
  it("public keys, ECDH from both sides", () => {
    fc.assert(
      fc.property(arbPrivateKey, arbPrivateKey, (a, b) => {
        const publicA = publicKeyOf(a);
        expect(toHex(publicA)).toBe(toHex(p256.getPublicKey(a, false)));
        const z = ecdhX(a, p256.getPublicKey(b, false));
        expect(toHex(z)).toBe(toHex(p256.getSharedSecret(b, publicA, true).slice(1)));
        expect(toHex(ecdhX(b, publicA))).toBe(toHex(z));
      }),
      { numRuns: 50 },
    );
  });

  it("key generation: the injected random source decides the key, as noble reduces it", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 48, maxLength: 48 }), (seed) => {
        const pair = generateKeyPair(() => seed);
        const expected = p256.utils.randomSecretKey(seed);
        expect(toHex(pair.privateKey)).toBe(toHex(expected));
        expect(toHex(pair.publicKey)).toBe(toHex(p256.getPublicKey(expected, false)));
      }),
      { numRuns: 50 },
    );
  });

  it("key generation at the edges of the reduction agrees with noble, and a short seed is refused", () => {
    const n = p256.Point.Fn.ORDER;
    const seedOf = (value: bigint) => fromHex(value.toString(16).padStart(96, "0"));
    // 0, n − 2 and n − 1 (the last scalar and the wrap to 1), a multiple of n − 1, the largest 48-byte seed.
    for (const value of [0n, n - 2n, n - 1n, (n - 1n) * 12345n, 2n ** 384n - 1n]) {
      const seed = seedOf(value);
      expect(toHex(generateKeyPair(() => seed).privateKey)).toBe(toHex(p256.utils.randomSecretKey(seed)));
    }
    expect(toHex(generateKeyPair(() => seedOf(n - 1n)).privateKey)).toBe("01".padStart(64, "0"));
    expect(() => generateKeyPair(() => new Uint8Array(32))).toThrow(ProtocolInputError);
  });

  it("decodes compressed and uncompressed points as noble does, and refuses hybrid, infinity and off-curve ones", () => {
    fc.assert(
      fc.property(arbPrivateKey, (d) => {
        const point = p256.getPublicKey(d, false);
        const compressed = p256.getPublicKey(d, true);
        expect(toHex(uncompressedPublicKey(compressed, "key"))).toBe(toHex(point));
        expect(toHex(uncompressedPublicKey(point, "key"))).toBe(toHex(point));
        const hybrid = point.slice();
        hybrid[0] = 0x06 + (point[64]! & 1);
        expect(() => uncompressedPublicKey(hybrid, "key")).toThrow(/compressed or uncompressed/);
        const bent = point.slice();
        bent[64]! ^= 1;
        expect(() => uncompressedPublicKey(bent, "key")).toThrow(/not a point on P-256/);
      }),
      { numRuns: 30 },
    );
    expect(() => uncompressedPublicKey(Uint8Array.of(0), "key")).toThrow(ProtocolInputError);
    expect(() => uncompressedPublicKey(undefined as unknown as Uint8Array, "key")).toThrow(
      ProtocolInputError,
    );
  });

  it("signatures cross: OpenSSL's verify under noble, noble's under OpenSSL (high-S too)", () => {
    const n = p256.Point.Fn.ORDER;
    fc.assert(
      fc.property(arbPrivateKey, fc.uint8Array({ maxLength: 300 }), (d, message) => {
        const publicKey = p256.getPublicKey(d, false);
        const ours = signRaw(d, message);
        expect(p256.verify(ours, message, publicKey, { lowS: false })).toBe(true);
        const theirs = p256.sign(message, d, { lowS: false });
        expect(verifyRaw(theirs, message, publicKey)).toBe(true);
        const s = BigInt(`0x${toHex(theirs.subarray(32))}`);
        const flipped = new Uint8Array(64);
        flipped.set(theirs.subarray(0, 32));
        flipped.set(fromHex((n - s).toString(16).padStart(64, "0")), 32);
        expect(verifyRaw(flipped, message, publicKey)).toBe(true);
        const other = message.length > 0 ? message.slice() : Uint8Array.of(0);
        if (message.length > 0) other[0]! ^= 1;
        expect(verifyRaw(ours, other, publicKey)).toBe(false);
      }),
      { numRuns: 40 },
    );
  });

  it("SHA-256 agrees with noble", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (m) => {
        expect(toHex(sha256Digest(m))).toBe(toHex(sha256(m)));
      }),
    );
  });

  it("point validation agrees with noble on random near-points", () => {
    fc.assert(
      fc.property(
        arbPrivateKey,
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 0, max: 7 }),
        (d, at, bit) => {
          const point = p256.getPublicKey(d, false);
          expect(isValidPublicKey(point)).toBe(true);
          const bent = point.slice();
          bent[at]! ^= 1 << bit;
          let nobleValid = true;
          try {
            p256.Point.fromBytes(bent).assertValidity();
          } catch {
            nobleValid = false;
          }
          expect(isValidPublicKey(bent)).toBe(nobleValid);
          // ECDH leaves the point check to OpenSSL's decoder: it must refuse exactly the same points.
          if (nobleValid) expect(ecdhX(d, bent).length).toBe(32);
          else expect(() => ecdhX(d, bent)).toThrow(/peer public key is not a point on P-256/);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe("refusals", () => {
  const good = fromHex(RFC6979.public);

  it("refuses points of the wrong form or off the curve, naming them", () => {
    expect(() => assertPublicKey(good.subarray(0, 33), "peer")).toThrow(/peer must be a 65-byte/);
    const compressedPrefix = good.slice();
    compressedPrefix[0] = 0x02;
    expect(() => assertPublicKey(compressedPrefix, "peer")).toThrow(ProtocolInputError);
    const off = good.slice();
    off[64]! ^= 1;
    expect(() => assertPublicKey(off, "peer")).toThrow(/peer is not a point on P-256/);
    expect(() => ecdhX(fromHex(RFC6979.x), off)).toThrow(ProtocolInputError);
  });

  it("a point found on the curve once does not vouch for other bytes, nor for the same array changed", () => {
    const point = good.slice();
    expect(assertPublicKey(point, "peer")).toBe(point);
    point[64]! ^= 1;
    expect(() => assertPublicKey(point, "peer")).toThrow(/peer is not a point on P-256/);
    expect(() => uncompressedPublicKey(point, "peer")).toThrow(/peer is not a point on P-256/);
    point[64]! ^= 1;
    expect(uncompressedPublicKey(point, "peer")).toEqual(good);
    expect(uncompressedPublicKey(point, "peer")).not.toBe(point);
  });

  it("refuses private scalars outside [1, n-1]", () => {
    const n = fromHex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
    for (const bad of [new Uint8Array(32), n, new Uint8Array(31).fill(1)]) {
      expect(() => publicKeyOf(bad)).toThrow(ProtocolInputError);
      expect(() => ecdhX(bad, good)).toThrow(ProtocolInputError);
    }
  });

  it("verifyRaw answers false, never throws, for malformed input", () => {
    const signature = fromHex(RFC6979.sampleSha256);
    const sample = utf8("sample");
    expect(verifyRaw(signature.subarray(0, 63), sample, good)).toBe(false);
    expect(verifyRaw(new Uint8Array(64), sample, good)).toBe(false);
    expect(verifyRaw(new Uint8Array(64).fill(0xff), sample, good)).toBe(false);
    expect(verifyRaw(signature, sample, good.subarray(0, 64))).toBe(false);
    const off = good.slice();
    off[64]! ^= 1;
    expect(verifyRaw(signature, sample, off)).toBe(false);
  });
});

describe("P256PrivateKey", () => {
  it("signs as signRaw with the same scalar, and keeps the scalar out of JSON", () => {
    const key = P256PrivateKey.fromScalar(fromHex(RFC6979.x));
    expect(toHex(key.publicKey)).toBe(RFC6979.public);
    const sample = utf8("sample");
    expect(verifyRaw(key.sign(sample), sample, key.publicKey)).toBe(true);
    expect(verifyRaw(key.sign(sample), utf8("other"), key.publicKey)).toBe(false);
    expect(verifyRaw(signRaw(fromHex(RFC6979.x), sample), sample, key.publicKey)).toBe(true);
    expect(toHex(key.exportScalar())).toBe(RFC6979.x);
    expect(JSON.stringify(key)).not.toContain(RFC6979.x);
    expect(JSON.stringify(Object.values(key))).not.toContain(RFC6979.x.slice(0, 16));
  });

  it("draws a new key from the random source and refuses a scalar outside [1, n-1]", () => {
    const seed = new Uint8Array(48).fill(9);
    const drawn = P256PrivateKey.generate(() => seed.slice());
    expect(toHex(drawn.exportScalar())).toBe(toHex(generateKeyPair(() => seed.slice()).privateKey));
    expect(toHex(drawn.publicKey)).toBe(toHex(publicKeyOf(drawn.exportScalar())));
    expect(() => P256PrivateKey.fromScalar(new Uint8Array(32))).toThrow(ProtocolInputError);
  });
});
