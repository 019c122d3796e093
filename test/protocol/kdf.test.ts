// Checks the ANSI X9.63 KDF (SEC 1 §3.6.1, NIST CAVS ansx963_2001), HMAC-SHA256 (RFC 4231) and
// HKDF-SHA256 (RFC 5869). Published vectors, then noble (pure JS) and the OpenSSL CLI as
// independent implementations: the project's KDFs run on node:crypto themselves.
import { execFileSync } from "node:child_process";
import { hkdfSync } from "node:crypto";
import { hkdf as nobleHkdf } from "@noble/hashes/hkdf.js";
import { hmac as nobleHmac } from "@noble/hashes/hmac.js";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "../../src/protocol/bytes.js";
import { ProtocolInputError } from "../../src/protocol/errors.js";
import {
  hkdfExpandSha256,
  hkdfExtractSha256,
  hkdfSha256,
  hmacSha256,
  x963Kdf,
} from "../../src/protocol/kdf.js";
import { refX963 } from "../vectors/carkeys/node-crypto-reference.js";

const range = (from: number, to: number) => Uint8Array.from({ length: to - from + 1 }, (_, i) => from + i);

function hasOpenssl(): boolean {
  try {
    execFileSync("openssl", ["kdf", "-help"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
const openssl = hasOpenssl();

/** `openssl kdf` (OpenSSL 3): prints the key as colon-separated upper-case hex. */
function opensslKdf(algorithm: "X963KDF" | "HKDF", length: number, options: string[]): string {
  const args = ["kdf", "-keylen", String(length), "-kdfopt", "digest:SHA256"];
  for (const option of options) args.push("-kdfopt", option);
  args.push(algorithm);
  return execFileSync("openssl", args, { encoding: "utf8" }).trim().replaceAll(":", "").toLowerCase();
}

// NIST CAVS, SP 800-135 component tests, ansx963_2001.rsp, [SHA-256] (also in pyca/cryptography's
// vectors); re-checked here against OpenSSL's X963KDF below.
const CAVS_X963_SHA256 = [
  {
    name: "shared secret 192 bits, no SharedInfo, 128-bit key (COUNT = 0)",
    z: "96c05619d56c328ab95fe84b18264b08725b85e33fd34f08",
    sharedInfo: "",
    keyData: "443024c3dae66b95e6f5670601558f71",
  },
  {
    name: "shared secret 192 bits, no SharedInfo, 128-bit key (COUNT = 1)",
    z: "96f600b73ad6ac5629577eced51743dd2c24c21b1ac83ee4",
    sharedInfo: "",
    keyData: "b6295162a7804f5667ba9070f82fa522",
  },
  {
    name: "SharedInfo 128 bits, 1024-bit key (COUNT = 0)",
    z: "22518b10e70f2a3f243810ae3254139efbee04aa57c7af7d",
    sharedInfo: "75eef81aa3041e33b80971203d2c0c52",
    keyData:
      "c498af77161cc59f2962b9a713e2b215152d139766ce34a776df11866a69bf2e52a13d9c7c6fc878c50c5ea0bc7b00e0" +
      "da2447cfd874f6cf92f30d0097111485500c90c3af8b487872d04685d14c8d1dc8d7fa08beb0ce0ababc11f0bd496269" +
      "142d43525a78e5bc79a17f59676a5706dc54d54d4d1f0bd7e386128ec26afc21",
  },
  {
    name: "SharedInfo 128 bits, 1024-bit key (COUNT = 1)",
    z: "7e335afa4b31d772c0635c7b0e06f26fcd781df947d2990a",
    sharedInfo: "d65a4812733f8cdbcdfb4b2f4c191d87",
    keyData:
      "c0bd9e38a8f9de14c2acd35b2f3410c6988cf02400543631e0d6a4c1d030365acbf398115e51aaddebdc9590664210f9" +
      "aa9fed770d4c57edeafa0b8c14f93300865251218c262d63dadc47dfa0e0284826793985137e0a544ec80abf2fdf5ab9" +
      "0bdaea66204012efe34971dc431d625cd9a329b8217cc8fd0d9f02b13f2f6b0b",
  },
];

describe("X9.63-KDF-SHA256", () => {
  it.each(CAVS_X963_SHA256)("NIST CAVS: $name", ({ z, sharedInfo, keyData }) => {
    const length = keyData.length / 2;
    expect(toHex(x963Kdf(fromHex(z), fromHex(sharedInfo), length))).toBe(keyData);
    expect(toHex(refX963(fromHex(z), fromHex(sharedInfo), length))).toBe(keyData);
  });

  it.skipIf(!openssl).each(CAVS_X963_SHA256)("the CAVS vector agrees with OpenSSL X963KDF: $name", (v) => {
    const options = [`hexsecret:${v.z}`, ...(v.sharedInfo ? [`hexinfo:${v.sharedInfo}`] : [])];
    expect(opensslKdf("X963KDF", v.keyData.length / 2, options)).toBe(v.keyData);
  });

  it("is SHA-256(Z ‖ 00000001 ‖ transaction id) for the 32-byte Kdh (docs/transaction.md)", () => {
    const z = range(1, 32);
    const tid = range(0xa0, 0xaf);
    expect(toHex(x963Kdf(z, tid, 32))).toBe(toHex(refX963(z, tid, 32)));
  });

  it("matches the test's node:crypto reference and noble's SHA-256 for random inputs (fast-check)", () => {
    const nobleX963 = (z: Uint8Array, info: Uint8Array, length: number) => {
      let out = "";
      for (let counter = 1; out.length < 2 * length; counter++) {
        out += toHex(nobleSha256(Buffer.concat([z, Buffer.of(0, 0, counter >> 8, counter & 0xff), info])));
      }
      return out.slice(0, 2 * length);
    };
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 80 }),
        fc.uint8Array({ maxLength: 80 }),
        fc.integer({ min: 1, max: 200 }),
        (z, info, length) => {
          expect(toHex(x963Kdf(z, info, length))).toBe(toHex(refX963(z, info, length)));
          expect(toHex(x963Kdf(z, info, length))).toBe(nobleX963(z, info, length));
        },
      ),
      { numRuns: 300 },
    );
  });

  it.skipIf(!openssl)("matches OpenSSL X963KDF on random inputs", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.uint8Array({ minLength: 1, maxLength: 48 }),
        fc.integer({ min: 1, max: 100 }),
        (z, info, length) => {
          const expected = opensslKdf("X963KDF", length, [`hexsecret:${toHex(z)}`, `hexinfo:${toHex(info)}`]);
          expect(toHex(x963Kdf(z, info, length))).toBe(expected);
        },
      ),
      { numRuns: 10 },
    );
  });

  it("produces prefixes of the same stream at block boundaries", () => {
    const z = range(0, 31);
    const long = x963Kdf(z, new Uint8Array(0), 97);
    for (const length of [1, 31, 32, 33, 64, 65, 96]) {
      expect(toHex(x963Kdf(z, new Uint8Array(0), length))).toBe(toHex(long.subarray(0, length)));
    }
  });

  it.each([0, -1, 1.5, 32 * 255 + 1])("refuses length %s", (length) => {
    expect(() => x963Kdf(range(0, 31), new Uint8Array(0), length)).toThrow(ProtocolInputError);
  });
});

// RFC 5869 Appendix A, test cases 1–3 (SHA-256). Our argument order is (ikm, info, length, salt).
const RFC5869 = [
  {
    name: "A.1 basic",
    ikm: new Uint8Array(22).fill(0x0b),
    salt: range(0x00, 0x0c) as Uint8Array | undefined,
    info: range(0xf0, 0xf9),
    okm: "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
  },
  {
    name: "A.2 longer inputs and outputs",
    ikm: range(0x00, 0x4f),
    salt: range(0x60, 0xaf) as Uint8Array | undefined,
    info: range(0xb0, 0xff),
    okm:
      "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09" +
      "da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87",
  },
  {
    name: "A.3 zero-length salt and info",
    ikm: new Uint8Array(22).fill(0x0b),
    salt: new Uint8Array(0) as Uint8Array | undefined,
    info: new Uint8Array(0),
    okm: "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
  },
];

describe("HKDF-SHA256", () => {
  it.each(RFC5869)("RFC 5869 $name", ({ ikm, salt, info, okm }) => {
    expect(toHex(hkdfSha256(ikm, info, okm.length / 2, salt))).toBe(okm);
    expect(
      Buffer.from(hkdfSync("sha256", ikm, salt ?? new Uint8Array(0), info, okm.length / 2)).toString("hex"),
    ).toBe(okm);
  });

  it("treats an absent salt as RFC 5869's default (A.3 again, salt omitted)", () => {
    const { ikm, okm } = RFC5869[2]!;
    expect(toHex(hkdfSha256(ikm, new Uint8Array(0), 42))).toBe(okm);
    expect(toHex(hkdfSha256(ikm, new Uint8Array(0), 42, new Uint8Array(32)))).toBe(okm);
  });

  it("RFC 5869 A.1 and A.3 PRKs from HKDF-Extract, and OKM from HKDF-Expand", () => {
    const [a1, , a3] = RFC5869;
    const prk1 = hkdfExtractSha256(a1!.ikm, a1!.salt);
    expect(toHex(prk1)).toBe("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5");
    expect(toHex(hkdfExpandSha256(prk1, a1!.info, 42))).toBe(a1!.okm);
    const prk3 = hkdfExtractSha256(a3!.ikm);
    expect(toHex(prk3)).toBe("19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04");
    expect(toHex(hkdfExpandSha256(prk3, a3!.info, 42))).toBe(a3!.okm);
  });

  it("matches noble's HKDF for random inputs, salts and info longer than node:crypto's 1024 bytes", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.option(fc.uint8Array({ maxLength: 64 }), { nil: undefined }),
        fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ minLength: 1020, maxLength: 1300 })),
        fc.integer({ min: 1, max: 255 }),
        (ikm, salt, info, length) => {
          const expected = toHex(nobleHkdf(nobleSha256, ikm, salt, info, length));
          expect(toHex(hkdfSha256(ikm, info, length, salt))).toBe(expected);
          expect(toHex(hkdfExpandSha256(hkdfExtractSha256(ikm, salt), info, length))).toBe(expected);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("matches node:crypto hkdfSync with no salt for random inputs (fast-check)", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.uint8Array({ maxLength: 200 }),
        fc.integer({ min: 1, max: 255 }),
        (ikm, info, length) => {
          const expected = Buffer.from(hkdfSync("sha256", ikm, new Uint8Array(0), info, length)).toString(
            "hex",
          );
          expect(toHex(hkdfSha256(ikm, info, length))).toBe(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it.skipIf(!openssl)("matches OpenSSL HKDF on random inputs with a salt", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.uint8Array({ minLength: 1, maxLength: 32 }),
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.integer({ min: 1, max: 100 }),
        (ikm, salt, info, length) => {
          const expected = opensslKdf("HKDF", length, [
            `hexkey:${toHex(ikm)}`,
            `hexsalt:${toHex(salt)}`,
            `hexinfo:${toHex(info)}`,
          ]);
          expect(toHex(hkdfSha256(ikm, info, length, salt))).toBe(expected);
        },
      ),
      { numRuns: 10 },
    );
  });

  it.each([0, 255 * 32 + 1, 2.5])("refuses length %s", (length) => {
    expect(() => hkdfSha256(range(0, 31), new Uint8Array(0), length)).toThrow(ProtocolInputError);
  });
});

describe("HMAC-SHA256", () => {
  it("RFC 4231 test cases 1 and 2", () => {
    expect(toHex(hmacSha256(new Uint8Array(20).fill(0x0b), new TextEncoder().encode("Hi There")))).toBe(
      "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
    );
    expect(
      toHex(
        hmacSha256(
          new TextEncoder().encode("Jefe"),
          new TextEncoder().encode("what do ya want for nothing?"),
        ),
      ),
    ).toBe("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  });

  it("matches noble's HMAC for random keys (shorter and longer than a block) and messages", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.uint8Array({ maxLength: 200 }), (key, message) => {
        expect(toHex(hmacSha256(key, message))).toBe(toHex(nobleHmac(nobleSha256, key, message)));
      }),
    );
  });
});
