// Owner-pairing password → SPAKE2+ scalars (docs/transaction.md "Owner pairing"):
// node:crypto (OpenSSL) scrypt cross-checked against noble's, in the foreground and
// the background, the (z mod (n−1)) + 1
// reduction at its edges, L = w1·G, the limits a hostile vehicle's scrypt
// parameters hit, and the password generator's format and uniformity.
import { p256 } from "@noble/curves/nist.js";
import { scrypt } from "@noble/hashes/scrypt.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "../../src/protocol/bytes.js";
import { ProtocolInputError, VerificationError } from "../../src/protocol/errors.js";
import {
  computePairingVerifier,
  computePairingVerifierInBackground,
  createScryptParams,
  DEFAULT_SCRYPT_COST,
  derivePasswordScalars,
  derivePasswordScalarsInBackground,
  generatePairingPassword,
  isPairingPassword,
  reduceToNonZeroScalar,
  type ScryptParams,
  validateScryptParams,
} from "../../src/protocol/pairing-password.js";
import {
  computeL,
  createProver,
  createVerifier,
  P256_SHA256_HKDF_SHA256_CMAC_AES128,
} from "../../src/protocol/spake2plus.js";

const ORDER = p256.Point.Fn.ORDER;
const SALT = fromHex("000102030405060708090a0b0c0d0e0f");
const CHEAP: ScryptParams = { salt: SALT, N: 2 ** 10, r: 8, p: 1 };

/** The derivation written out independently: noble's scrypt (pure JS), bigint arithmetic. */
function reference(password: string, params: ScryptParams) {
  const z = scrypt(new TextEncoder().encode(password), params.salt, {
    N: params.N,
    r: params.r,
    p: params.p,
    dkLen: 80,
  });
  const reduce = (half: Uint8Array) =>
    ((BigInt(`0x${toHex(half)}`) % (ORDER - 1n)) + 1n).toString(16).padStart(64, "0");
  return { w0: reduce(z.subarray(0, 40)), w1: reduce(z.subarray(40, 80)) };
}

const asBigInt = (bytes: Uint8Array) => BigInt(`0x${toHex(bytes)}`);

describe("derivePasswordScalars", () => {
  it("matches noble's scrypt and the (z mod (n−1)) + 1 reduction", () => {
    const { w0, w1 } = derivePasswordScalars("12345678", CHEAP);
    const expected = reference("12345678", CHEAP);
    expect(toHex(w0)).toBe(expected.w0);
    expect(toHex(w1)).toBe(expected.w1);
  });

  it("matches noble for random passwords, salts and small costs", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 99_999_999 }).map((n) => n.toString().padStart(8, "0")),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.constantFrom(2, 16, 256, 1024),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        (password, salt, N, r, p) => {
          const params = { salt, N, r, p };
          const { w0, w1 } = derivePasswordScalars(password, params);
          const expected = reference(password, params);
          expect(toHex(w0)).toBe(expected.w0);
          expect(toHex(w1)).toBe(expected.w1);
          for (const w of [w0, w1]) {
            expect(w).toHaveLength(32);
            expect(asBigInt(w)).toBeGreaterThanOrEqual(1n);
            expect(asBigInt(w)).toBeLessThan(ORDER);
          }
        },
      ),
      { numRuns: 20 },
    );
  });

  it("matches noble at the realistic default cost (N = 2^15, r = 8, p = 1), in the background too", async () => {
    const params = { salt: SALT, ...DEFAULT_SCRYPT_COST };
    expect(params).toMatchObject({ N: 32768, r: 8, p: 1 });
    const { w0, w1 } = derivePasswordScalars("00000000", params);
    const expected = reference("00000000", params);
    expect(toHex(w0)).toBe(expected.w0);
    expect(toHex(w1)).toBe(expected.w1);
    const background = await derivePasswordScalarsInBackground("00000000", params);
    expect(toHex(background.w0)).toBe(expected.w0);
    expect(toHex(background.w1)).toBe(expected.w1);
  });

  it("takes the largest cost the limits allow (N·r at the memory cap)", () => {
    // 128·N·r = 256 MiB: OpenSSL's own memory check must not refuse what validation admits.
    const params = { salt: SALT, N: 2 ** 16, r: 32, p: 1 };
    expect(() => validateScryptParams(params)).not.toThrow();
    expect(derivePasswordScalars("12345678", params).w0).toHaveLength(32);
  });

  it("refuses the same inputs in the background, before any scrypt work", async () => {
    await expect(derivePasswordScalarsInBackground("1234567", CHEAP)).rejects.toThrow(
      /password must be 8 decimal digits/,
    );
    await expect(derivePasswordScalarsInBackground("12345678", { ...CHEAP, N: 3 })).rejects.toThrow(
      ProtocolInputError,
    );
  });

  it("depends on the password, the salt and the cost", () => {
    const base = toHex(derivePasswordScalars("12345678", CHEAP).w0);
    expect(toHex(derivePasswordScalars("12345679", CHEAP).w0)).not.toBe(base);
    const otherSalt = SALT.slice();
    otherSalt[0] = 0xff;
    expect(toHex(derivePasswordScalars("12345678", { ...CHEAP, salt: otherSalt }).w0)).not.toBe(base);
    expect(toHex(derivePasswordScalars("12345678", { ...CHEAP, r: 4 }).w0)).not.toBe(base);
  });

  it.each(["1234567", "123456789", "abcdefgh", "1234 678", "１２３４５６７８", ""])(
    "refuses password %j",
    (password) => {
      expect(() => derivePasswordScalars(password, CHEAP)).toThrow(/password must be 8 decimal digits/);
    },
  );

  it("refuses a non-string password", () => {
    expect(() => derivePasswordScalars(12345678 as unknown as string, CHEAP)).toThrow(ProtocolInputError);
  });
});

describe("reduceToNonZeroScalar", () => {
  const wide = (value: bigint) => fromHex(value.toString(16).padStart(80, "0"));

  it.each([
    [0n, 1n],
    [1n, 2n],
    [ORDER - 2n, ORDER - 1n],
    [ORDER - 1n, 1n],
    [ORDER, 2n],
    [2n ** 320n - 1n, ((2n ** 320n - 1n) % (ORDER - 1n)) + 1n],
  ])("maps %s to %s", (z, w) => {
    expect(asBigInt(reduceToNonZeroScalar(wide(z)))).toBe(w);
  });

  it("always lands in [1, n−1]", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 40, maxLength: 40 }), (z) => {
        const w = asBigInt(reduceToNonZeroScalar(z));
        expect(w >= 1n && w < ORDER).toBe(true);
      }),
    );
  });

  it("refuses halves that are not 40 bytes", () => {
    expect(() => reduceToNonZeroScalar(new Uint8Array(32))).toThrow(/z must be 40 bytes/);
  });
});

describe("computePairingVerifier", () => {
  it("holds w0, L = w1·G and the scrypt inputs, and no w1", () => {
    const verifier = computePairingVerifier("87654321", CHEAP);
    const { w0, w1 } = derivePasswordScalars("87654321", CHEAP);
    expect(verifier.w0).toEqual(w0);
    expect(verifier.L).toHaveLength(65);
    expect(verifier.L).toEqual(p256.getPublicKey(w1, false));
    expect(verifier.L).toEqual(computeL(w1));
    expect(verifier).toEqual({ w0, L: verifier.L, salt: SALT, N: CHEAP.N, r: CHEAP.r, p: CHEAP.p });
    expect(Object.keys(verifier)).not.toContain("w1");
    // The record keeps its own copy of the salt.
    expect(verifier.salt).not.toBe(CHEAP.salt);
  });

  it("is the same record when scrypt runs in the background", async () => {
    expect(await computePairingVerifierInBackground("87654321", CHEAP)).toEqual(
      computePairingVerifier("87654321", CHEAP),
    );
  });

  const suite = P256_SHA256_HKDF_SHA256_CMAC_AES128;
  const session = {
    suite,
    context: new Uint8Array(),
    idProver: new Uint8Array(),
    idVerifier: new Uint8Array(),
  };

  it("pairs a device that knows the password with the vehicle's record", () => {
    const params = createScryptParams({ N: 2 ** 10, r: 8, p: 1 });
    const password = generatePairingPassword();
    const record = computePairingVerifier(password, params);
    // The device gets the salt and cost from the vehicle's SPAKE2+ REQUEST.
    const { salt, N, r, p } = record;
    const prover = createProver({ ...session, ...derivePasswordScalars(password, { salt, N, r, p }) });
    const verifier = createVerifier({ ...session, w0: record.w0, L: record.L });
    const { shareV, confirmV } = verifier.respond(prover.shareP);
    const { confirmP, sharedKey } = prover.finish(shareV, confirmV);
    expect(verifier.finish(confirmP)).toEqual(sharedKey);
  });

  it("refuses a device with the wrong password", () => {
    const record = computePairingVerifier("11111111", CHEAP);
    const prover = createProver({ ...session, ...derivePasswordScalars("11111112", CHEAP) });
    const verifier = createVerifier({ ...session, w0: record.w0, L: record.L });
    const { shareV, confirmV } = verifier.respond(prover.shareP);
    expect(() => prover.finish(shareV, confirmV)).toThrow(VerificationError);
  });
});

describe("scrypt parameter validation", () => {
  const bad: [string, Partial<ScryptParams> & Record<string, unknown>, RegExp][] = [
    ["salt of 15 bytes", { salt: new Uint8Array(15) }, /params\.salt must be 16 bytes/],
    ["salt of 17 bytes", { salt: new Uint8Array(17) }, /params\.salt/],
    ["salt as a string", { salt: "0123456789abcdef" as unknown as Uint8Array }, /params\.salt/],
    ["N not a power of two", { N: 1000 }, /params\.N must be a power of two/],
    ["N = 1", { N: 1 }, /params\.N/],
    ["N = 0", { N: 0 }, /params\.N/],
    ["N above 2^20", { N: 2 ** 21 }, /params\.N/],
    ["N fractional", { N: 1024.5 }, /params\.N/],
    ["N as a bigint", { N: 1024n as unknown as number }, /params\.N/],
    ["r = 0", { r: 0 }, /params\.r/],
    ["r = 33", { r: 33 }, /params\.r/],
    ["p = 0", { p: 0 }, /params\.p/],
    ["p = 17", { p: 17 }, /params\.p/],
    ["p negative", { p: -1 }, /params\.p/],
    ["memory 1 GiB (N = 2^20, r = 8)", { N: 2 ** 20, r: 8 }, /bytes, over/],
    ["work over the cap (N = 2^18, r = 8, p = 16)", { N: 2 ** 18, r: 8, p: 16 }, /over/],
  ];

  it.each(bad)("refuses %s", (_label, change, message) => {
    const params = { ...CHEAP, ...change } as ScryptParams;
    expect(() => validateScryptParams(params)).toThrow(ProtocolInputError);
    expect(() => validateScryptParams(params)).toThrow(message);
    expect(() => derivePasswordScalars("12345678", params)).toThrow(message);
    expect(() => computePairingVerifier("12345678", params)).toThrow(message);
  });

  it("accepts the bounds themselves", () => {
    expect(() => validateScryptParams({ salt: SALT, N: 2 ** 20, r: 2, p: 1 })).not.toThrow();
    expect(() => validateScryptParams({ salt: SALT, N: 2, r: 32, p: 16 })).not.toThrow();
    expect(() => validateScryptParams({ salt: SALT, ...DEFAULT_SCRYPT_COST })).not.toThrow();
  });

  it("creates fresh parameters with a random 16-byte salt", () => {
    const a = createScryptParams();
    const b = createScryptParams();
    expect(a).toMatchObject(DEFAULT_SCRYPT_COST);
    expect(a.salt).toHaveLength(16);
    expect(a.salt).not.toEqual(b.salt);
    expect(() => createScryptParams({ N: 3, r: 8, p: 1 })).toThrow(/params\.N/);
  });
});

describe("generatePairingPassword", () => {
  it("returns 8 decimal digits", () => {
    for (let i = 0; i < 200; i++) {
      const password = generatePairingPassword();
      expect(password).toMatch(/^[0-9]{8}$/);
      expect(isPairingPassword(password)).toBe(true);
    }
  });

  it("keeps leading zeros", () => {
    expect(generatePairingPassword(() => Uint8Array.of(0, 0, 0, 42))).toBe("00000042");
  });

  it("redraws values that would bias the result (rejection sampling)", () => {
    // 4,200,000,000 = 42·10^8 is the first value that would wrap modulo 10^8.
    const draws = [
      Uint8Array.of(0xff, 0xff, 0xff, 0xff),
      Uint8Array.of(0xfa, 0x56, 0xea, 0x00),
      Uint8Array.of(0, 0, 0, 7),
    ];
    let calls = 0;
    const random = (length: number) => {
      expect(length).toBe(4);
      return draws[calls++]!;
    };
    expect(generatePairingPassword(random)).toBe("00000007");
    expect(calls).toBe(3);
    // 4,199,999,999 is the largest accepted value.
    expect(generatePairingPassword(() => Uint8Array.of(0xfa, 0x56, 0xe9, 0xff))).toBe("99999999");
  });

  it("spreads over every digit in every position", () => {
    const seen = Array.from({ length: 8 }, () => new Set<string>());
    for (let i = 0; i < 500; i++) {
      [...generatePairingPassword()].forEach((digit, position) => {
        seen[position]!.add(digit);
      });
    }
    for (const digits of seen) expect(digits.size).toBe(10);
  });

  it("refuses a random source that returns the wrong length", () => {
    expect(() => generatePairingPassword(() => new Uint8Array(3))).toThrow(ProtocolInputError);
  });

  it("isPairingPassword accepts only 8 ASCII digits", () => {
    expect(isPairingPassword("01234567")).toBe(true);
    for (const value of ["0123456", "012345678", "0123456a", " 01234567", 12345678, null]) {
      expect(isPairingPassword(value)).toBe(false);
    }
  });
});
