// SPAKE2+ (RFC 9383) on P-256: the augmented PAKE that owner pairing runs between
// the device (prover, knows w0 and w1) and the vehicle (verifier, holds only w0
// and L = w1·G). Implements §3.3 (online computation), §3.4 (key schedule and
// confirmation) and the P-256 ciphersuites of §4, checked against Appendix C.
//
// Why so shaped: the ciphersuite is a plain object (hash for Hash/HKDF, a MAC and
// the confirmation-key length) so one core serves the HMAC suite the RFC's main
// vector uses and the CMAC-AES-128 suite car-key pairing uses. Each side is a
// small one-shot state object: a run cannot be resumed after a failure, so a
// wrong guess costs the attacker a whole protocol run. The transcript and key
// schedule are exported so the tests can compare every intermediate value.
//
// Hashes, HMAC, HKDF and CMAC run on node:crypto; the point arithmetic, which
// node:crypto does not expose, stays on noble.
import { createHash, createHmac, hkdfSync } from "node:crypto";
import { p256 } from "@noble/curves/nist.js";
import { bytesToNumberBE, numberToBytesBE } from "@noble/curves/utils.js";
import { aesCmac } from "./aes-cmac.js";
import { concatBytes, equalBytes, fromHex, utf8 } from "./bytes.js";
import { ProtocolInputError, VerificationError } from "./errors.js";
import { assertPublicKey, type RandomSource, systemRandom } from "./p256.js";

type Point = ReturnType<typeof p256.Point.fromBytes>;

const Point = p256.Point;
const ORDER = Point.Fn.ORDER;
const SCALAR_LENGTH = 32;

/**
 * A SPAKE2+ ciphersuite over P-256 (RFC 9383 §4). `macKeyLength` is the size of
 * each of K_confirmP and K_confirmV: §3.4 sizes them by the MAC, HashLen for
 * HMAC, the AES key size (16) for CMAC-AES-128; `K_shared` is always HashLen.
 */
/** A suite's Hash: a function with the node:crypto name and output length HKDF needs. */
export interface SuiteHash {
  (message: Uint8Array): Uint8Array;
  readonly algorithm: "sha256" | "sha512";
  readonly outputLen: number;
}

function suiteHash(algorithm: "sha256" | "sha512", outputLen: number): SuiteHash {
  const hash = (message: Uint8Array) => new Uint8Array(createHash(algorithm).update(message).digest());
  return Object.freeze(Object.assign(hash, { algorithm, outputLen }));
}

const sha256 = suiteHash("sha256", 32);
const sha512 = suiteHash("sha512", 64);

const hmac = (hash: SuiteHash, key: Uint8Array, message: Uint8Array): Uint8Array =>
  new Uint8Array(createHmac(hash.algorithm, key).update(message).digest());

/** HKDF (RFC 5869) with no salt, as §3.4's KDF(nil, …) asks. */
const hkdf = (hash: SuiteHash, ikm: Uint8Array, info: Uint8Array, length: number): Uint8Array =>
  new Uint8Array(hkdfSync(hash.algorithm, ikm, new Uint8Array(0), info, length));

export interface Spake2PlusSuite {
  readonly name: string;
  readonly hash: SuiteHash;
  readonly macKeyLength: number;
  readonly macLength: number;
  readonly mac: (key: Uint8Array, message: Uint8Array) => Uint8Array;
}

export const P256_SHA256_HKDF_SHA256_HMAC_SHA256: Spake2PlusSuite = Object.freeze({
  name: "P256-SHA256-HKDF-SHA256-HMAC-SHA256",
  hash: sha256,
  macKeyLength: 32,
  macLength: 32,
  mac: (key: Uint8Array, message: Uint8Array) => hmac(sha256, key, message),
});

export const P256_SHA512_HKDF_SHA512_HMAC_SHA512: Spake2PlusSuite = Object.freeze({
  name: "P256-SHA512-HKDF-SHA512-HMAC-SHA512",
  hash: sha512,
  macKeyLength: 64,
  macLength: 64,
  mac: (key: Uint8Array, message: Uint8Array) => hmac(sha512, key, message),
});

/** The suite car-key owner pairing uses: 16-byte evidence values (docs/transaction.md "Owner pairing"). */
export const P256_SHA256_HKDF_SHA256_CMAC_AES128: Spake2PlusSuite = Object.freeze({
  name: "P256-SHA256-HKDF-SHA256-CMAC-AES-128",
  hash: sha256,
  macKeyLength: 16,
  macLength: 16,
  mac: (key: Uint8Array, message: Uint8Array) => aesCmac(key, message),
});

export const P256_SHA512_HKDF_SHA512_CMAC_AES128: Spake2PlusSuite = Object.freeze({
  name: "P256-SHA512-HKDF-SHA512-CMAC-AES-128",
  hash: sha512,
  macKeyLength: 16,
  macLength: 16,
  mac: (key: Uint8Array, message: Uint8Array) => aesCmac(key, message),
});

/** M and N for P-256 as RFC 9383 §4 prints them (compressed SEC1); the transcript uses them uncompressed. */
export const P256_M_COMPRESSED = "02886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f";
export const P256_N_COMPRESSED = "03d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b4f98baa1292b49";

const M = Point.fromBytes(fromHex(P256_M_COMPRESSED));
const N = Point.fromBytes(fromHex(P256_N_COMPRESSED));
const M_BYTES = M.toBytes(false);
const N_BYTES = N.toBytes(false);

function assertBytes(value: unknown, name: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new ProtocolInputError(`${name} must be a Uint8Array`);
  return value;
}

function assertSuite(suite: Spake2PlusSuite): Spake2PlusSuite {
  if (
    typeof suite !== "object" ||
    suite === null ||
    typeof suite.hash !== "function" ||
    (suite.hash.algorithm !== "sha256" && suite.hash.algorithm !== "sha512") ||
    typeof suite.mac !== "function" ||
    !Number.isInteger(suite.macKeyLength) ||
    suite.macKeyLength < 16 ||
    !Number.isInteger(suite.macLength) ||
    suite.macLength < 16
  ) {
    throw new ProtocolInputError("suite must be a SPAKE2+ ciphersuite");
  }
  return suite;
}

/**
 * A 32-byte big-endian scalar in [1, n−1]. The RFC allows 0 for x, y and w0, but
 * each would cancel a blinding term (or make L the identity), so we refuse it.
 */
function parseScalar(bytes: Uint8Array, name: string): bigint {
  if (!(bytes instanceof Uint8Array) || bytes.length !== SCALAR_LENGTH) {
    throw new ProtocolInputError(`${name} must be a ${SCALAR_LENGTH}-byte big-endian scalar`);
  }
  const value = bytesToNumberBE(bytes);
  if (value < 1n || value >= ORDER) throw new ProtocolInputError(`${name} must be in [1, n-1]`);
  return value;
}

/**
 * A 65-byte uncompressed point on P-256. The cofactor is 1, so being on the curve
 * is the whole group-membership check §3.3 asks for; the identity has no 65-byte
 * encoding, so it is refused by the length check.
 */
function parsePoint(bytes: Uint8Array, name: string): Point {
  assertPublicKey(bytes, name);
  return Point.fromBytes(bytes);
}

function randomScalar(random: RandomSource): bigint {
  // 48 bytes reduced mod n: a bias below 2^-128 (FIPS 186-5 A.2.1), as p256.ts does.
  return bytesToNumberBE(p256.utils.randomSecretKey(random(48)));
}

function scalarBytes(value: bigint): Uint8Array {
  return numberToBytesBE(value, SCALAR_LENGTH);
}

/** len(S) of §3.3: the byte length as an 8-byte little-endian integer. */
function lengthPrefixed(part: Uint8Array): Uint8Array {
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(part.length), true);
  return concatBytes(prefix, part);
}

/** L = w1·G, the half of the verifier record that replaces w1 (RFC 9383 §3.2). */
export function computeL(w1: Uint8Array): Uint8Array {
  return Point.BASE.multiply(parseScalar(w1, "w1")).toBytes(false);
}

/** shareP = X = x·G + w0·M. */
export function computeShareP(w0: Uint8Array, x: Uint8Array): Uint8Array {
  return maskedShare(parseScalar(x, "x"), parseScalar(w0, "w0"), M, "x");
}

/** shareV = Y = y·G + w0·N. */
export function computeShareV(w0: Uint8Array, y: Uint8Array): Uint8Array {
  return maskedShare(parseScalar(y, "y"), parseScalar(w0, "w0"), N, "y");
}

function maskedShare(ephemeral: bigint, w0: bigint, mask: Point, name: string): Uint8Array {
  const share = Point.BASE.multiply(ephemeral).add(mask.multiply(w0));
  // Only when ephemeral·G = −w0·mask: negligible for a random scalar, fatal for a chosen one.
  if (share.is0()) throw new ProtocolInputError(`${name} makes the share the identity`);
  return share.toBytes(false);
}

export interface SharedPoints {
  readonly Z: Uint8Array;
  readonly V: Uint8Array;
}

/** Prover side of §3.3: Z = h·x·(Y − w0·N), V = h·w1·(Y − w0·N), with h = 1. */
export function computeProverPoints(input: {
  w0: Uint8Array;
  w1: Uint8Array;
  x: Uint8Array;
  shareV: Uint8Array;
}): SharedPoints {
  const w0 = parseScalar(input.w0, "w0");
  const w1 = parseScalar(input.w1, "w1");
  const x = parseScalar(input.x, "x");
  const unmasked = parsePoint(input.shareV, "shareV").subtract(N.multiply(w0));
  // Y = w0·N would give Z = V = identity, known to anyone holding w0.
  if (unmasked.is0()) throw new ProtocolInputError("shareV unmasks to the identity");
  return { Z: unmasked.multiply(x).toBytes(false), V: unmasked.multiply(w1).toBytes(false) };
}

/** Verifier side of §3.3: Z = h·y·(X − w0·M), V = h·y·L, with h = 1. */
export function computeVerifierPoints(input: {
  w0: Uint8Array;
  L: Uint8Array;
  y: Uint8Array;
  shareP: Uint8Array;
}): SharedPoints {
  const w0 = parseScalar(input.w0, "w0");
  const y = parseScalar(input.y, "y");
  const L = parsePoint(input.L, "L");
  const unmasked = parsePoint(input.shareP, "shareP").subtract(M.multiply(w0));
  if (unmasked.is0()) throw new ProtocolInputError("shareP unmasks to the identity");
  return { Z: unmasked.multiply(y).toBytes(false), V: L.multiply(y).toBytes(false) };
}

export interface TranscriptInput {
  readonly context: Uint8Array;
  readonly idProver: Uint8Array;
  readonly idVerifier: Uint8Array;
  readonly shareP: Uint8Array;
  readonly shareV: Uint8Array;
  readonly Z: Uint8Array;
  readonly V: Uint8Array;
  readonly w0: Uint8Array;
}

/**
 * TT of §3.3: every field length-prefixed, Context first (we always include it,
 * the RFC only permits dropping it), M and N uncompressed, w0 as 32 bytes.
 */
export function transcript(input: TranscriptInput): Uint8Array {
  const parts = [
    assertBytes(input.context, "context"),
    assertBytes(input.idProver, "idProver"),
    assertBytes(input.idVerifier, "idVerifier"),
    M_BYTES,
    N_BYTES,
    assertBytes(input.shareP, "shareP"),
    assertBytes(input.shareV, "shareV"),
    assertBytes(input.Z, "Z"),
    assertBytes(input.V, "V"),
    assertBytes(input.w0, "w0"),
  ];
  return concatBytes(...parts.map(lengthPrefixed));
}

export interface KeySchedule {
  readonly K_main: Uint8Array;
  readonly K_confirmP: Uint8Array;
  readonly K_confirmV: Uint8Array;
  readonly K_shared: Uint8Array;
}

const CONFIRMATION_KEYS_INFO = utf8("ConfirmationKeys");
const SHARED_KEY_INFO = utf8("SharedKey");

/**
 * §3.4: K_main = Hash(TT); K_confirmP ‖ K_confirmV = KDF(nil, K_main,
 * "ConfirmationKeys") expanded to exactly 2·macKeyLength bytes and split in half
 * (so a CMAC suite takes the first 32 bytes, 16 each, not two halves of 64);
 * K_shared = KDF(nil, K_main, "SharedKey") of HashLen bytes.
 */
export function keySchedule(suite: Spake2PlusSuite, TT: Uint8Array): KeySchedule {
  assertSuite(suite);
  const K_main = suite.hash(assertBytes(TT, "TT"));
  const confirmation = hkdf(suite.hash, K_main, CONFIRMATION_KEYS_INFO, 2 * suite.macKeyLength);
  return {
    K_main,
    K_confirmP: confirmation.slice(0, suite.macKeyLength),
    K_confirmV: confirmation.slice(suite.macKeyLength),
    K_shared: hkdf(suite.hash, K_main, SHARED_KEY_INFO, suite.hash.outputLen),
  };
}

function wipe(...arrays: Uint8Array[]): void {
  for (const array of arrays) array.fill(0);
}

interface SessionIdentity {
  /** Binds the run to the application protocol; an empty array is allowed. */
  readonly context: Uint8Array;
  /** Empty when the application does not name the parties (RFC 9383 §3.3). */
  readonly idProver: Uint8Array;
  readonly idVerifier: Uint8Array;
}

/** Copies the session identity so a caller mutating its arrays mid-run cannot change the transcript. */
function copyIdentity(options: SessionIdentity): SessionIdentity {
  return {
    context: assertBytes(options.context, "context").slice(),
    idProver: assertBytes(options.idProver, "idProver").slice(),
    idVerifier: assertBytes(options.idVerifier, "idVerifier").slice(),
  };
}

function checkMac(value: Uint8Array, suite: Spake2PlusSuite, name: string): void {
  if (!(value instanceof Uint8Array) || value.length !== suite.macLength) {
    throw new ProtocolInputError(`${name} must be ${suite.macLength} bytes`);
  }
}

export interface ProverOptions extends SessionIdentity {
  readonly suite: Spake2PlusSuite;
  readonly w0: Uint8Array;
  readonly w1: Uint8Array;
  /** Fixed ephemeral scalar, for test vectors only; drawn from `random` otherwise. */
  readonly x?: Uint8Array;
  readonly random?: RandomSource;
}

export interface ProverResult {
  readonly confirmP: Uint8Array;
  readonly sharedKey: Uint8Array;
}

/** The device's side: send `shareP`, then `finish` once with the vehicle's answer. */
export interface Spake2PlusProver {
  readonly shareP: Uint8Array;
  /** Checks confirmV; throws VerificationError (and derives nothing) when it is wrong. */
  finish(shareV: Uint8Array, confirmV: Uint8Array): ProverResult;
}

export function createProver(options: ProverOptions): Spake2PlusProver {
  const suite = assertSuite(options.suite);
  const session = copyIdentity(options);
  const w0 = scalarBytes(parseScalar(options.w0, "w0"));
  const w1 = scalarBytes(parseScalar(options.w1, "w1"));
  let x: Uint8Array;
  let shareP: Uint8Array;
  if (options.x !== undefined) {
    x = scalarBytes(parseScalar(options.x, "x"));
    shareP = computeShareP(w0, x);
  } else {
    const random = options.random ?? systemRandom;
    for (;;) {
      x = scalarBytes(randomScalar(random));
      try {
        shareP = computeShareP(w0, x);
        break;
      } catch {
        // x·G = −w0·M: draw again (probability about 2^-256).
      }
    }
  }
  let used = false;
  return {
    shareP: shareP.slice(),
    finish(shareV: Uint8Array, confirmV: Uint8Array): ProverResult {
      if (used) throw new ProtocolInputError("prover: finish may be called only once per run");
      used = true;
      try {
        checkMac(confirmV, suite, "confirmV");
        const { Z, V } = computeProverPoints({ w0, w1, x, shareV });
        const keys = keySchedule(suite, transcript({ ...session, shareP, shareV, Z, V, w0 }));
        const expected = suite.mac(keys.K_confirmV, shareP);
        const ok = equalBytes(expected, confirmV);
        const confirmP = ok ? suite.mac(keys.K_confirmP, shareV) : undefined;
        wipe(Z, V, keys.K_main, keys.K_confirmP, keys.K_confirmV, expected);
        if (!confirmP) {
          wipe(keys.K_shared);
          throw new VerificationError("confirmV does not verify: wrong password or tampered run");
        }
        return { confirmP, sharedKey: keys.K_shared };
      } finally {
        wipe(x, w1);
      }
    },
  };
}

export interface VerifierOptions extends SessionIdentity {
  readonly suite: Spake2PlusSuite;
  readonly w0: Uint8Array;
  /** L = w1·G, 65-byte uncompressed. */
  readonly L: Uint8Array;
  /** Fixed ephemeral scalar, for test vectors only; drawn from `random` otherwise. */
  readonly y?: Uint8Array;
  readonly random?: RandomSource;
}

export interface VerifierResponse {
  readonly shareV: Uint8Array;
  readonly confirmV: Uint8Array;
}

/** The vehicle's side: `respond` once to the device's share, then `finish` once with its evidence. */
export interface Spake2PlusVerifier {
  respond(shareP: Uint8Array): VerifierResponse;
  /** Checks confirmP and returns K_shared; throws VerificationError (and keeps nothing) when it is wrong. */
  finish(confirmP: Uint8Array): Uint8Array;
}

export function createVerifier(options: VerifierOptions): Spake2PlusVerifier {
  const suite = assertSuite(options.suite);
  const session = copyIdentity(options);
  const w0 = scalarBytes(parseScalar(options.w0, "w0"));
  parsePoint(options.L, "L");
  const L = options.L.slice();
  const fixedY = options.y === undefined ? undefined : scalarBytes(parseScalar(options.y, "y"));
  const random = options.random ?? systemRandom;
  let state: "new" | "responded" | "done" = "new";
  let expectedConfirmP: Uint8Array | undefined;
  let sharedKey: Uint8Array | undefined;
  return {
    respond(shareP: Uint8Array): VerifierResponse {
      if (state !== "new") throw new ProtocolInputError("verifier: respond may be called only once per run");
      state = "done";
      // Validate the peer's share before spending a scalar multiplication on our own.
      parsePoint(shareP, "shareP");
      let y = fixedY ?? scalarBytes(randomScalar(random));
      let shareV: Uint8Array;
      for (;;) {
        try {
          shareV = computeShareV(w0, y);
          break;
        } catch (error) {
          if (fixedY) throw error;
          y = scalarBytes(randomScalar(random));
        }
      }
      const { Z, V } = computeVerifierPoints({ w0, L, y, shareP });
      const keys = keySchedule(suite, transcript({ ...session, shareP, shareV, Z, V, w0 }));
      const confirmV = suite.mac(keys.K_confirmV, shareP);
      expectedConfirmP = suite.mac(keys.K_confirmP, shareV);
      sharedKey = keys.K_shared;
      wipe(y, Z, V, keys.K_main, keys.K_confirmP, keys.K_confirmV);
      state = "responded";
      return { shareV, confirmV };
    },
    finish(confirmP: Uint8Array): Uint8Array {
      if (state !== "responded" || !expectedConfirmP || !sharedKey) {
        throw new ProtocolInputError("verifier: finish must follow respond, once per run");
      }
      state = "done";
      const expected = expectedConfirmP;
      const key = sharedKey;
      expectedConfirmP = undefined;
      sharedKey = undefined;
      try {
        checkMac(confirmP, suite, "confirmP");
      } catch (error) {
        wipe(expected, key);
        throw error;
      }
      const ok = equalBytes(expected, confirmP);
      wipe(expected);
      if (!ok) {
        wipe(key);
        throw new VerificationError("confirmP does not verify: wrong password or tampered run");
      }
      return key;
    },
  };
}
