// Checks aes.ts and aes-cmac.ts (OpenSSL through node:crypto) against published
// vectors — FIPS 197 C.1, SP 800-38A F.2.1/F.2.2, the GCM specification's test
// cases 2 and 3, RFC 4493 §4 and SP 800-38B D.2/D.3 (AES-192/256 CMAC) — and
// against noble's AES, a second, pure-JS implementation (fast-check).
import { cbc, cmac, ecb, gcm } from "@noble/ciphers/aes.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  aesCbcDecrypt,
  aesCbcEncrypt,
  aesEcbEncrypt,
  aesGcmDecrypt,
  aesGcmEncrypt,
} from "../../src/protocol/aes.js";
import { AesCmac, aesCmac } from "../../src/protocol/aes-cmac.js";
import { fromHex, toHex } from "../../src/protocol/bytes.js";
import { ProtocolInputError } from "../../src/protocol/errors.js";

const h = fromHex;
const SP800_38A_KEY = h("2b7e151628aed2a6abf7158809cf4f3c");
const SP800_38A_PLAIN =
  "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51" +
  "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710";

describe("AES block and modes: published vectors", () => {
  it("FIPS 197 C.1: AES-128 of one block", () => {
    expect(
      toHex(aesEcbEncrypt(h("000102030405060708090a0b0c0d0e0f"), h("00112233445566778899aabbccddeeff"))),
    ).toBe("69c4e0d86a7b0430d8cdb78070b4c55a");
  });

  it("SP 800-38A F.2.1 / F.2.2: CBC-AES128 encrypt and decrypt", () => {
    const iv = h("000102030405060708090a0b0c0d0e0f");
    const cipher =
      "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2" +
      "73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7";
    expect(toHex(aesCbcEncrypt(SP800_38A_KEY, iv, h(SP800_38A_PLAIN)))).toBe(cipher);
    expect(toHex(aesCbcDecrypt(SP800_38A_KEY, iv, h(cipher)))).toBe(SP800_38A_PLAIN);
  });

  it("GCM specification test cases 2 and 3 (AES-128, 96-bit IV)", () => {
    const zero = new Uint8Array(16);
    const sealed2 = aesGcmEncrypt(zero, new Uint8Array(12), new Uint8Array(16));
    expect(toHex(sealed2)).toBe("0388dace60b6a392f328c2b971b2fe78ab6e47d42cec13bdf53a67b21257bddf");
    const key3 = h("feffe9928665731c6d6a8f9467308308");
    const iv3 = h("cafebabefacedbaddecaf888");
    const plain3 =
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" +
      "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
    const sealed3 = aesGcmEncrypt(key3, iv3, h(plain3));
    expect(toHex(sealed3)).toBe(
      "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e" +
        "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985" +
        "4d5c2af327cd64a62cf35abd2ba6fab4",
    );
    expect(toHex(aesGcmDecrypt(key3, iv3, sealed3))).toBe(plain3);
  });
});

describe("AES against noble (fast-check)", () => {
  const arbKey = fc.constantFrom(16, 24, 32).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }));
  const arbBlocks = fc
    .integer({ min: 0, max: 6 })
    .chain((n) => fc.uint8Array({ minLength: 16 * n, maxLength: 16 * n }));
  const arbBlock = fc.uint8Array({ minLength: 16, maxLength: 16 });

  it("ECB and CBC, every key size", () => {
    fc.assert(
      fc.property(arbKey, arbBlock, arbBlocks, (key, iv, data) => {
        expect(toHex(aesEcbEncrypt(key, data))).toBe(toHex(ecb(key, { disablePadding: true }).encrypt(data)));
        const ours = aesCbcEncrypt(key, iv, data);
        expect(toHex(ours)).toBe(toHex(cbc(key, iv, { disablePadding: true }).encrypt(data)));
        expect(toHex(aesCbcDecrypt(key, iv, ours))).toBe(toHex(data));
      }),
      { numRuns: 200 },
    );
  });

  it("GCM with and without AAD; a flipped bit is refused", () => {
    fc.assert(
      fc.property(
        arbKey,
        fc.uint8Array({ minLength: 12, maxLength: 12 }),
        fc.uint8Array({ maxLength: 100 }),
        fc.option(fc.uint8Array({ maxLength: 40 }), { nil: undefined }),
        fc.nat(),
        (key, nonce, plaintext, aad, at) => {
          const sealed = aesGcmEncrypt(key, nonce, plaintext, aad);
          expect(toHex(sealed)).toBe(toHex(gcm(key, nonce, aad).encrypt(plaintext)));
          expect(toHex(aesGcmDecrypt(key, nonce, sealed, aad))).toBe(toHex(plaintext));
          const bent = sealed.slice();
          bent[at % bent.length]! ^= 1;
          expect(() => aesGcmDecrypt(key, nonce, bent, aad)).toThrow();
        },
      ),
      { numRuns: 200 },
    );
  });

  it("CMAC, every key size, one-off and with a kept key", () => {
    fc.assert(
      fc.property(arbKey, fc.uint8Array({ maxLength: 100 }), (key, message) => {
        const expected = toHex(cmac(message, key));
        expect(toHex(aesCmac(key, message))).toBe(expected);
        const kept = new AesCmac(key);
        expect(toHex(kept.mac(message))).toBe(expected);
        expect(toHex(kept.mac(message))).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });
});

describe("AES-CMAC: published vectors", () => {
  const examples = [0, 16, 40, 64];
  it.each([
    // RFC 4493 §4 (= SP 800-38B D.1), AES-128.
    [
      "AES-128",
      "2b7e151628aed2a6abf7158809cf4f3c",
      [
        "bb1d6929e95937287fa37d129b756746",
        "070a16b46b4d4144f79bdd9dd04a287c",
        "dfa66747de9ae63030ca32611497c827",
        "51f0bebf7e3b9d92fc49741779363cfe",
      ],
    ],
    // SP 800-38B D.2, AES-192.
    [
      "AES-192",
      "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b",
      [
        "d17ddf46adaacde531cac483de7a9367",
        "9e99a7bf31e710900662f65e617c5184",
        "8a1de5be2eb31aad089a82e6ee908b0e",
        "a1d5df0eed790f794d77589659f39a11",
      ],
    ],
    // SP 800-38B D.3, AES-256.
    [
      "AES-256",
      "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
      [
        "028962f61b7bf89efc6b551f4667d983",
        "28a7023f452e8f82bd4bf28d8c37c35c",
        "aaf3d8f1de5640c232f5b169b9c911e6",
        "e1992190549f6ed5696a2c056c315410",
      ],
    ],
  ] as const)("%s, the four examples", (_name, key, macs) => {
    examples.forEach((length, i) => {
      const message = h(SP800_38A_PLAIN).subarray(0, length);
      expect(toHex(aesCmac(h(key), message)), `length ${length}`).toBe(macs[i]);
    });
  });
});

describe("refusals", () => {
  it("refuses key sizes AES does not have and partial blocks", () => {
    expect(() => aesEcbEncrypt(new Uint8Array(15), new Uint8Array(16))).toThrow(ProtocolInputError);
    expect(() => aesCbcEncrypt(new Uint8Array(16), new Uint8Array(16), new Uint8Array(17))).toThrow(
      /whole 16-byte blocks/,
    );
    expect(() => new AesCmac(new Uint8Array(20))).toThrow(/AES-CMAC key must be 16, 24 or 32 bytes/);
    expect(() => aesGcmDecrypt(new Uint8Array(16), new Uint8Array(12), new Uint8Array(15))).toThrow(
      /shorter than its tag/,
    );
  });
});
