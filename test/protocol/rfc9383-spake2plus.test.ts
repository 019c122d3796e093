// RFC 9383 (SPAKE2+) conformance: every P-256 vector of Appendix C (both HMAC
// and both CMAC-AES-128 suites) checked field by field, then the properties the
// vectors cannot show: both sides agree for any password, a wrong password is
// refused on both sides with nothing derived, and invalid shares never reach
// the key schedule.
import { readFileSync } from "node:fs";
import { p256 } from "@noble/curves/nist.js";
import { numberToBytesBE } from "@noble/curves/utils.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromHex, toHex, utf8 } from "../../src/protocol/bytes.js";
import { ProtocolInputError, VerificationError } from "../../src/protocol/errors.js";
import {
  computeL,
  computeProverPoints,
  computeShareP,
  computeShareV,
  computeVerifierPoints,
  createProver,
  createVerifier,
  keySchedule,
  P256_M_COMPRESSED,
  P256_N_COMPRESSED,
  P256_SHA256_HKDF_SHA256_CMAC_AES128,
  P256_SHA256_HKDF_SHA256_HMAC_SHA256,
  P256_SHA512_HKDF_SHA512_CMAC_AES128,
  P256_SHA512_HKDF_SHA512_HMAC_SHA512,
  type Spake2PlusSuite,
  transcript,
} from "../../src/protocol/spake2plus.js";

interface Vector {
  Context: string;
  Context_hex: string;
  idProver: string;
  idProver_hex: string;
  idVerifier: string;
  idVerifier_hex: string;
  w0: string;
  w1: string;
  L: string;
  x: string;
  shareP: string;
  y: string;
  shareV: string;
  Z: string;
  V: string;
  TT: string;
  K_main: string;
  K_confirmP: string;
  K_confirmV: string;
  confirmP: string;
  confirmV: string;
  K_shared: string;
  _byte_lengths: Record<string, number>;
  _TT_length_bytes: number;
  [field: string]: unknown;
}

interface VectorFile {
  ciphersuite_constants_P256: {
    M_compressed: string;
    N_compressed: string;
    M_uncompressed: string;
    N_uncompressed: string;
  };
  vectors: Vector[];
  other_P256_vectors_in_RFC9383_AppendixC: Vector[];
}

const file = JSON.parse(
  readFileSync(new URL("../vectors/rfc9383/rfc9383-p256.json", import.meta.url), "utf8"),
) as VectorFile;
const allVectors = [...file.vectors, ...file.other_P256_vectors_in_RFC9383_AppendixC];

const suites: readonly Spake2PlusSuite[] = [
  P256_SHA256_HKDF_SHA256_HMAC_SHA256,
  P256_SHA512_HKDF_SHA512_HMAC_SHA512,
  P256_SHA256_HKDF_SHA256_CMAC_AES128,
  P256_SHA512_HKDF_SHA512_CMAC_AES128,
];

/** The RFC names each vector's suite in its Context: "SPAKE2+-<suite> Test Vectors". */
function suiteOf(vector: Vector): Spake2PlusSuite {
  const suite = suites.find((s) => vector.Context === `SPAKE2+-${s.name} Test Vectors`);
  if (!suite) throw new Error(`no suite for ${vector.Context}`);
  return suite;
}

const h = (hex: string) => fromHex(hex);
const ORDER = p256.Point.Fn.ORDER;
const scalar = (value: bigint) => numberToBytesBE(value, 32);

describe("RFC 9383 Appendix C vectors (P-256)", () => {
  it("covers the four P-256 vectors, one per P-256 suite", () => {
    expect(allVectors).toHaveLength(4);
    expect(new Set(allVectors.map((v) => suiteOf(v).name)).size).toBe(4);
  });

  it("uses the RFC's M and N, uncompressed in the transcript", () => {
    const constants = file.ciphersuite_constants_P256;
    expect(P256_M_COMPRESSED).toBe(constants.M_compressed);
    expect(P256_N_COMPRESSED).toBe(constants.N_compressed);
    expect(toHex(p256.Point.fromBytes(h(P256_M_COMPRESSED)).toBytes(false))).toBe(constants.M_uncompressed);
    expect(toHex(p256.Point.fromBytes(h(P256_N_COMPRESSED)).toBytes(false))).toBe(constants.N_uncompressed);
  });

  describe.each(allVectors.map((v) => [suiteOf(v).name, v] as const))("%s", (_name, v) => {
    const suite = suiteOf(v);
    const identity = {
      context: h(v.Context_hex),
      idProver: h(v.idProver_hex),
      idVerifier: h(v.idVerifier_hex),
    };

    it("has the identities the RFC prints", () => {
      expect(identity.context).toEqual(utf8(v.Context));
      expect(identity.idProver).toEqual(utf8(v.idProver));
      expect(identity.idVerifier).toEqual(utf8(v.idVerifier));
    });

    it("computes L, shareP and shareV", () => {
      expect(toHex(computeL(h(v.w1)))).toBe(v.L);
      expect(toHex(computeShareP(h(v.w0), h(v.x)))).toBe(v.shareP);
      expect(toHex(computeShareV(h(v.w0), h(v.y)))).toBe(v.shareV);
    });

    it("computes the same Z and V on both sides", () => {
      const prover = computeProverPoints({ w0: h(v.w0), w1: h(v.w1), x: h(v.x), shareV: h(v.shareV) });
      const verifier = computeVerifierPoints({ w0: h(v.w0), L: h(v.L), y: h(v.y), shareP: h(v.shareP) });
      expect(toHex(prover.Z)).toBe(v.Z);
      expect(toHex(prover.V)).toBe(v.V);
      expect(toHex(verifier.Z)).toBe(v.Z);
      expect(toHex(verifier.V)).toBe(v.V);
    });

    it("builds TT and the key schedule", () => {
      const TT = transcript({
        ...identity,
        shareP: h(v.shareP),
        shareV: h(v.shareV),
        Z: h(v.Z),
        V: h(v.V),
        w0: h(v.w0),
      });
      expect(toHex(TT)).toBe(v.TT);
      expect(TT.length).toBe(v._TT_length_bytes);
      const keys = keySchedule(suite, TT);
      expect(toHex(keys.K_main)).toBe(v.K_main);
      expect(toHex(keys.K_confirmP)).toBe(v.K_confirmP);
      expect(toHex(keys.K_confirmV)).toBe(v.K_confirmV);
      expect(toHex(keys.K_shared)).toBe(v.K_shared);
      // The RFC prints the confirmations as MAC(K_confirmP, shareV) and MAC(K_confirmV, shareP).
      const macName = suite.name.includes("CMAC") ? "CMAC" : "HMAC";
      expect(toHex(suite.mac(keys.K_confirmP, h(v.shareV)))).toBe(v[`${macName}(K_confirmP, shareV)`]);
      expect(toHex(suite.mac(keys.K_confirmV, h(v.shareP)))).toBe(v[`${macName}(K_confirmV, shareP)`]);
    });

    it("runs the prover and the verifier to the vector's messages and key", () => {
      const prover = createProver({ suite, ...identity, w0: h(v.w0), w1: h(v.w1), x: h(v.x) });
      expect(toHex(prover.shareP)).toBe(v.shareP);
      const verifier = createVerifier({ suite, ...identity, w0: h(v.w0), L: h(v.L), y: h(v.y) });
      const { shareV, confirmV } = verifier.respond(prover.shareP);
      expect(toHex(shareV)).toBe(v.shareV);
      expect(toHex(confirmV)).toBe(v.confirmV);
      const { confirmP, sharedKey } = prover.finish(shareV, confirmV);
      expect(toHex(confirmP)).toBe(v.confirmP);
      expect(toHex(sharedKey)).toBe(v.K_shared);
      expect(toHex(verifier.finish(confirmP))).toBe(v.K_shared);
    });

    it("has the byte lengths the vector records", () => {
      const lengths = v._byte_lengths;
      for (const [field, length] of Object.entries(lengths)) {
        expect(h(v[field] as string).length, field).toBe(length);
      }
      expect(lengths.confirmP).toBe(suite.macLength);
      expect(lengths.K_confirmP).toBe(suite.macKeyLength);
      expect(lengths.K_shared).toBe(suite.hash.outputLen);
    });
  });
});

const CONTEXT = utf8("Car Keys owner pairing test");
const ids = { context: CONTEXT, idProver: new Uint8Array(), idVerifier: new Uint8Array() };
const cmacSuite = P256_SHA256_HKDF_SHA256_CMAC_AES128;

function record(w0: Uint8Array, w1: Uint8Array) {
  return { w0, L: computeL(w1) };
}

function randomScalarBytes(): Uint8Array {
  return p256.utils.randomSecretKey();
}

/**
 * What a prover that skips the confirmV check would send: the MAC under keys it
 * derives from its own (wrong) w0 and w1. Built from the exported pieces.
 */
function forgedConfirmP(suite: Spake2PlusSuite, w0: Uint8Array, w1: Uint8Array, shareV: Uint8Array) {
  const x = randomScalarBytes();
  const shareP = computeShareP(w0, x);
  const { Z, V } = computeProverPoints({ w0, w1, x, shareV });
  const keys = keySchedule(suite, transcript({ ...ids, shareP, shareV, Z, V, w0 }));
  return { shareP, confirmP: suite.mac(keys.K_confirmP, shareV) };
}

describe("SPAKE2+ with the car-key suite (CMAC-AES-128)", () => {
  it("derives equal keys with 16-byte confirmations", () => {
    const w0 = randomScalarBytes();
    const w1 = randomScalarBytes();
    const prover = createProver({ suite: cmacSuite, ...ids, w0, w1 });
    const verifier = createVerifier({ suite: cmacSuite, ...ids, ...record(w0, w1) });
    const { shareV, confirmV } = verifier.respond(prover.shareP);
    expect(prover.shareP).toHaveLength(65);
    expect(shareV).toHaveLength(65);
    expect(confirmV).toHaveLength(16);
    const { confirmP, sharedKey } = prover.finish(shareV, confirmV);
    expect(confirmP).toHaveLength(16);
    expect(sharedKey).toHaveLength(32);
    expect(verifier.finish(confirmP)).toEqual(sharedKey);
  });

  it("uses a fresh ephemeral scalar per run", () => {
    const w0 = randomScalarBytes();
    const w1 = randomScalarBytes();
    const a = createProver({ suite: cmacSuite, ...ids, w0, w1 });
    const b = createProver({ suite: cmacSuite, ...ids, w0, w1 });
    expect(a.shareP).not.toEqual(b.shareP);
  });

  it("draws the ephemeral scalar from the injected random source", () => {
    const w0 = randomScalarBytes();
    const w1 = randomScalarBytes();
    const fixed = (length: number) => new Uint8Array(length).fill(7);
    const a = createProver({ suite: cmacSuite, ...ids, w0, w1, random: fixed });
    const b = createProver({ suite: cmacSuite, ...ids, w0, w1, random: fixed });
    expect(a.shareP).toEqual(b.shareP);
  });

  it("refuses a wrong password on the prover side, deriving nothing", () => {
    const w0 = randomScalarBytes();
    const w1 = randomScalarBytes();
    const verifier = createVerifier({ suite: cmacSuite, ...ids, ...record(w0, w1) });
    const wrong = createProver({
      suite: cmacSuite,
      ...ids,
      w0: randomScalarBytes(),
      w1: randomScalarBytes(),
    });
    const { shareV, confirmV } = verifier.respond(wrong.shareP);
    let result: unknown;
    expect(() => {
      result = wrong.finish(shareV, confirmV);
    }).toThrow(VerificationError);
    expect(result).toBeUndefined();
    // The run is spent: a retry with the same x is refused too.
    expect(() => wrong.finish(shareV, confirmV)).toThrow(ProtocolInputError);
  });

  it("refuses a wrong password on the verifier side, deriving nothing", () => {
    const w0 = randomScalarBytes();
    const w1 = randomScalarBytes();
    const verifier = createVerifier({ suite: cmacSuite, ...ids, ...record(w0, w1) });
    const wrongW0 = randomScalarBytes();
    // The attacker needs shareV before it can compute its confirmation, so it
    // commits to shareP first, as the protocol order requires.
    const x = randomScalarBytes();
    const shareP = computeShareP(wrongW0, x);
    const { shareV } = verifier.respond(shareP);
    const forged = forgedConfirmP(cmacSuite, wrongW0, randomScalarBytes(), shareV);
    let key: unknown;
    expect(() => {
      key = verifier.finish(forged.confirmP);
    }).toThrow(VerificationError);
    expect(key).toBeUndefined();
    expect(() => verifier.finish(forged.confirmP)).toThrow(ProtocolInputError);
  });

  it("refuses a right password with a tampered confirmation on either side", () => {
    const w0 = randomScalarBytes();
    const w1 = randomScalarBytes();
    const prover = createProver({ suite: cmacSuite, ...ids, w0, w1 });
    const verifier = createVerifier({ suite: cmacSuite, ...ids, ...record(w0, w1) });
    const { shareV, confirmV } = verifier.respond(prover.shareP);
    const { confirmP } = prover.finish(shareV, confirmV);
    const bad = confirmP.slice();
    bad[15]! ^= 1;
    expect(() => verifier.finish(bad)).toThrow(VerificationError);

    const prover2 = createProver({ suite: cmacSuite, ...ids, w0, w1 });
    const verifier2 = createVerifier({ suite: cmacSuite, ...ids, ...record(w0, w1) });
    const response = verifier2.respond(prover2.shareP);
    const badV = response.confirmV.slice();
    badV[0]! ^= 0x80;
    expect(() => prover2.finish(response.shareV, badV)).toThrow(VerificationError);
  });

  it("refuses a mismatched context or identity (the transcript binds them)", () => {
    const w0 = randomScalarBytes();
    const w1 = randomScalarBytes();
    const prover = createProver({ suite: cmacSuite, ...ids, idProver: utf8("device"), w0, w1 });
    const verifier = createVerifier({ suite: cmacSuite, ...ids, ...record(w0, w1) });
    const { shareV, confirmV } = verifier.respond(prover.shareP);
    expect(() => prover.finish(shareV, confirmV)).toThrow(VerificationError);
  });

  it("refuses confirmations of the wrong length as input errors", () => {
    const w0 = randomScalarBytes();
    const w1 = randomScalarBytes();
    const prover = createProver({ suite: cmacSuite, ...ids, w0, w1 });
    const verifier = createVerifier({ suite: cmacSuite, ...ids, ...record(w0, w1) });
    const { shareV, confirmV } = verifier.respond(prover.shareP);
    expect(() => prover.finish(shareV, confirmV.subarray(0, 15))).toThrow(/confirmV must be 16 bytes/);
    expect(() => verifier.finish(new Uint8Array(32))).toThrow(/confirmP must be 16 bytes/);
  });

  it("enforces the order of calls on the verifier", () => {
    const w0 = randomScalarBytes();
    const w1 = randomScalarBytes();
    const verifier = createVerifier({ suite: cmacSuite, ...ids, ...record(w0, w1) });
    expect(() => verifier.finish(new Uint8Array(16))).toThrow(ProtocolInputError);
    const prover = createProver({ suite: cmacSuite, ...ids, w0, w1 });
    verifier.respond(prover.shareP);
    expect(() => verifier.respond(prover.shareP)).toThrow(ProtocolInputError);
  });
});

describe("invalid shares and scalars", () => {
  const w0 = randomScalarBytes();
  const w1 = randomScalarBytes();
  const G = p256.Point.BASE.toBytes(false);

  function offCurve(): Uint8Array {
    const point = G.slice();
    point[64]! ^= 1;
    return point;
  }

  function coordinateTooLarge(): Uint8Array {
    const point = new Uint8Array(65).fill(0xff);
    point[0] = 0x04;
    return point;
  }

  // Y = w0·N, and X = w0·M: on the curve, but they unmask to the identity.
  const wN = p256.Point.fromBytes(h(P256_N_COMPRESSED))
    .multiply(BigInt(`0x${toHex(w0)}`))
    .toBytes(false);
  const wM = p256.Point.fromBytes(h(P256_M_COMPRESSED))
    .multiply(BigInt(`0x${toHex(w0)}`))
    .toBytes(false);

  const malformed: [string, Uint8Array][] = [
    ["empty", new Uint8Array()],
    ["the identity (0x00)", Uint8Array.of(0)],
    ["64 bytes", G.subarray(0, 64)],
    ["66 bytes", Uint8Array.of(...G, 0)],
    ["compressed", p256.Point.BASE.toBytes(true)],
    ["hybrid prefix 0x06", Uint8Array.of(0x06, ...G.subarray(1))],
    ["not on the curve", offCurve()],
    ["coordinates ≥ p", coordinateTooLarge()],
    ["all zeros", new Uint8Array(65)],
  ];

  it.each(malformed)("verifier refuses shareP: %s", (_label, share) => {
    const verifier = createVerifier({ suite: cmacSuite, ...ids, ...record(w0, w1) });
    expect(() => verifier.respond(share)).toThrow(ProtocolInputError);
    expect(() => createVerifier({ suite: cmacSuite, ...ids, ...record(w0, w1) }).respond(share)).toThrow(
      /shareP/,
    );
  });

  it.each(malformed)("prover refuses shareV: %s", (_label, share) => {
    const prover = createProver({ suite: cmacSuite, ...ids, w0, w1 });
    expect(() => prover.finish(share, new Uint8Array(16))).toThrow(ProtocolInputError);
    const again = createProver({ suite: cmacSuite, ...ids, w0, w1 });
    expect(() => again.finish(share, new Uint8Array(16))).toThrow(/shareV/);
  });

  it("refuses shares that unmask to the identity", () => {
    const verifier = createVerifier({ suite: cmacSuite, ...ids, ...record(w0, w1) });
    expect(() => verifier.respond(wM)).toThrow(/shareP unmasks to the identity/);
    const prover = createProver({ suite: cmacSuite, ...ids, w0, w1 });
    expect(() => prover.finish(wN, new Uint8Array(16))).toThrow(/shareV unmasks to the identity/);
  });

  it("refuses a malformed L", () => {
    for (const [, L] of malformed) {
      expect(() => createVerifier({ suite: cmacSuite, ...ids, w0, L })).toThrow(/\bL\b/);
    }
  });

  const badScalars: [string, Uint8Array][] = [
    ["zero", new Uint8Array(32)],
    ["n", scalar(ORDER)],
    ["n + 1", scalar(ORDER + 1n)],
    ["31 bytes", new Uint8Array(31).fill(1)],
    ["33 bytes", new Uint8Array(33).fill(1)],
  ];

  it.each(badScalars)("refuses scalar %s for w0, w1, x, y", (_label, bad) => {
    const L = computeL(w1);
    expect(() => createProver({ suite: cmacSuite, ...ids, w0: bad, w1 })).toThrow(/w0/);
    expect(() => createProver({ suite: cmacSuite, ...ids, w0, w1: bad })).toThrow(/w1/);
    expect(() => createProver({ suite: cmacSuite, ...ids, w0, w1, x: bad })).toThrow(/\bx\b/);
    expect(() => createVerifier({ suite: cmacSuite, ...ids, w0: bad, L })).toThrow(/w0/);
    expect(() => createVerifier({ suite: cmacSuite, ...ids, w0, L, y: bad })).toThrow(ProtocolInputError);
    expect(() => computeL(bad)).toThrow(ProtocolInputError);
  });

  it("accepts the largest scalar n − 1", () => {
    const top = scalar(ORDER - 1n);
    const prover = createProver({ suite: cmacSuite, ...ids, w0: top, w1: top });
    const verifier = createVerifier({ suite: cmacSuite, ...ids, ...record(top, top) });
    const { shareV, confirmV } = verifier.respond(prover.shareP);
    const { confirmP, sharedKey } = prover.finish(shareV, confirmV);
    expect(verifier.finish(confirmP)).toEqual(sharedKey);
  });

  it("refuses non-byte context and identities", () => {
    const bad = "client" as unknown as Uint8Array;
    expect(() => createProver({ suite: cmacSuite, ...ids, idProver: bad, w0, w1 })).toThrow(/idProver/);
    expect(() => createVerifier({ suite: cmacSuite, ...ids, context: bad, ...record(w0, w1) })).toThrow(
      /context/,
    );
  });
});

describe("fast-check round trips", () => {
  const scalarArb = fc.bigInt(1n, ORDER - 1n).map(scalar);

  it("both sides agree for any w0, w1 and context (CMAC and HMAC suites)", () => {
    fc.assert(
      fc.property(
        scalarArb,
        scalarArb,
        fc.uint8Array({ maxLength: 64 }),
        fc.constantFrom(cmacSuite, P256_SHA256_HKDF_SHA256_HMAC_SHA256),
        (w0, w1, context, suite) => {
          const session = { ...ids, context };
          const prover = createProver({ suite, ...session, w0, w1 });
          const verifier = createVerifier({ suite, ...session, ...record(w0, w1) });
          const { shareV, confirmV } = verifier.respond(prover.shareP);
          const { confirmP, sharedKey } = prover.finish(shareV, confirmV);
          expect(confirmP).toHaveLength(suite.macLength);
          expect(verifier.finish(confirmP)).toEqual(sharedKey);
        },
      ),
      { numRuns: 25 },
    );
  });

  it("a different w0 is always refused by the prover", () => {
    fc.assert(
      fc.property(scalarArb, scalarArb, scalarArb, (w0, w1, other) => {
        fc.pre(toHex(w0) !== toHex(other));
        const prover = createProver({ suite: cmacSuite, ...ids, w0: other, w1 });
        const verifier = createVerifier({ suite: cmacSuite, ...ids, ...record(w0, w1) });
        const { shareV, confirmV } = verifier.respond(prover.shareP);
        expect(() => prover.finish(shareV, confirmV)).toThrow(VerificationError);
      }),
      { numRuns: 15 },
    );
  });
});
