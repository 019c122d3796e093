// The owner-pairing password and its SPAKE2+ scalars (docs/transaction.md
// "Owner pairing"; CCC public notes §1): z = scrypt(password, salt, N, r, p, 80),
// z0 ‖ z1 = z, w0 = (z0 mod (n−1)) + 1, w1 = (z1 mod (n−1)) + 1. This replaces
// RFC 9383 §3.2's "w = ws mod p" registration: the +1 keeps both scalars
// non-zero, 40-byte halves keep the reduction bias below 2^-64, and no
// identities are hashed in, so the automaker can compute the record before it
// knows which device will pair.
//
// scrypt and L = w1·G run in OpenSSL through node:crypto (its scrypt is about
// 1.6× noble's at the default cost). The emulators derive synchronously; the
// service derives in the background (libuv's thread pool), so a vehicle
// enrollment does not hold the event loop of a process that serves others for
// the tenth of a second scrypt takes. The tests cross-check both against
// @noble/hashes scrypt and noble's point arithmetic, independent implementations.
//
// The vehicle, not the device, chooses the scrypt cost, so the limits below are
// what stops a hostile vehicle from making the device burn gigabytes or minutes.
import { scrypt, scryptSync } from "node:crypto";
import { utf8 } from "./bytes.js";
import { DEFAULT_SCRYPT_COST } from "./default-scrypt-cost.js";
import { ProtocolInputError } from "./errors.js";
import { nonZeroScalarFrom, publicKeyOf, type RandomSource, systemRandom } from "./p256.js";

/** The scrypt inputs the vehicle sends in SPAKE2+ REQUEST (tag 7F50: C0 salt, C1 N, C2 r, C3 p). */
export interface ScryptParams {
  readonly salt: Uint8Array;
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

export type ScryptCost = Omit<ScryptParams, "salt">;

/** The record the automaker provisions into the vehicle: no password, no w1. */
export interface PairingVerifier extends ScryptParams {
  readonly w0: Uint8Array;
  /** w1·G, 65-byte uncompressed. */
  readonly L: Uint8Array;
}

export interface PasswordScalars {
  readonly w0: Uint8Array;
  readonly w1: Uint8Array;
}

export { DEFAULT_SCRYPT_COST } from "./default-scrypt-cost.js";

/**
 * Bounds on what a vehicle may ask for. Memory is 128·N·r bytes; work is
 * proportional to N·r·p. The caps admit the default with a wide margin while
 * refusing, e.g., N = 2^20 with r = 8 (1 GiB).
 */
export const SCRYPT_LIMITS = Object.freeze({
  saltLength: 16,
  minN: 2,
  maxN: 2 ** 20,
  maxR: 32,
  maxP: 16,
  maxMemoryBytes: 256 * 1024 * 1024,
  maxWork: 2 ** 24,
});

export const PAIRING_PASSWORD_DIGITS = 8;
const PASSWORD_PATTERN = /^[0-9]{8}$/;
const HALF_LENGTH = 40;

/** Whether `value` is a pairing password: exactly 8 ASCII decimal digits. */
export function isPairingPassword(value: unknown): value is string {
  return typeof value === "string" && PASSWORD_PATTERN.test(value);
}

function boundedInteger(value: unknown, min: number, max: number, name: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new ProtocolInputError(`${name} must be an integer in [${min}, ${max}]`);
  }
  return value;
}

/** Checks scrypt parameters against RFC 7914 §2 and SCRYPT_LIMITS; returns a copy. */
export function validateScryptParams(params: ScryptParams): ScryptParams {
  if (typeof params !== "object" || params === null) throw new ProtocolInputError("params must be an object");
  const { salt } = params;
  if (!(salt instanceof Uint8Array) || salt.length !== SCRYPT_LIMITS.saltLength) {
    throw new ProtocolInputError(`params.salt must be ${SCRYPT_LIMITS.saltLength} bytes`);
  }
  const N = boundedInteger(params.N, SCRYPT_LIMITS.minN, SCRYPT_LIMITS.maxN, "params.N");
  if ((N & (N - 1)) !== 0) throw new ProtocolInputError("params.N must be a power of two");
  const r = boundedInteger(params.r, 1, SCRYPT_LIMITS.maxR, "params.r");
  const p = boundedInteger(params.p, 1, SCRYPT_LIMITS.maxP, "params.p");
  if (128 * N * r > SCRYPT_LIMITS.maxMemoryBytes) {
    throw new ProtocolInputError(
      `params.N and params.r need ${128 * N * r} bytes, over ${SCRYPT_LIMITS.maxMemoryBytes}`,
    );
  }
  if (N * r * p > SCRYPT_LIMITS.maxWork) {
    throw new ProtocolInputError(`params.N·r·p is ${N * r * p}, over ${SCRYPT_LIMITS.maxWork}`);
  }
  return { salt: salt.slice(), N, r, p };
}

/** Fresh parameters for a new pairing password: a random 16-byte salt and the given cost. */
export function createScryptParams(
  cost: ScryptCost = DEFAULT_SCRYPT_COST,
  random: RandomSource = systemRandom,
): ScryptParams {
  return validateScryptParams({ salt: random(SCRYPT_LIMITS.saltLength), N: cost.N, r: cost.r, p: cost.p });
}

/** (z mod (n−1)) + 1 as a 32-byte big-endian scalar in [1, n−1]. */
export function reduceToNonZeroScalar(z: Uint8Array): Uint8Array {
  if (!(z instanceof Uint8Array) || z.length !== HALF_LENGTH) {
    throw new ProtocolInputError(`z must be ${HALF_LENGTH} bytes`);
  }
  return nonZeroScalarFrom(z);
}

/** The checked scrypt inputs for `password`: the password's bytes, and OpenSSL's options with a memory cap the limits already bound. */
function scryptInputs(password: string, params: ScryptParams) {
  if (!isPairingPassword(password)) {
    throw new ProtocolInputError(`password must be ${PAIRING_PASSWORD_DIGITS} decimal digits`);
  }
  const checked = validateScryptParams(params);
  // OpenSSL needs 128·(N + 2)·r + 128·r·p bytes; the cap is the limit's, with room for the small terms.
  const options = {
    N: checked.N,
    r: checked.r,
    p: checked.p,
    maxmem: SCRYPT_LIMITS.maxMemoryBytes + 2 ** 20,
  };
  return { secret: utf8(password), checked, options };
}

/** z0 ‖ z1 = z → w0, w1; z is wiped. */
function scalarsOf(z: Uint8Array): PasswordScalars {
  const w0 = reduceToNonZeroScalar(z.subarray(0, HALF_LENGTH));
  const w1 = reduceToNonZeroScalar(z.subarray(HALF_LENGTH));
  z.fill(0);
  return { w0, w1 };
}

/** w0 and w1 from the pairing password, as both the device and the automaker compute them. */
export function derivePasswordScalars(password: string, params: ScryptParams): PasswordScalars {
  const { secret, checked, options } = scryptInputs(password, params);
  return scalarsOf(scryptSync(secret, checked.salt, 2 * HALF_LENGTH, options));
}

/** derivePasswordScalars off the event loop, in libuv's thread pool. */
export async function derivePasswordScalarsInBackground(
  password: string,
  params: ScryptParams,
): Promise<PasswordScalars> {
  const { secret, checked, options } = scryptInputs(password, params);
  return new Promise((resolve, reject) => {
    scrypt(secret, checked.salt, 2 * HALF_LENGTH, options, (error, z) =>
      error ? reject(error) : resolve(scalarsOf(z)),
    );
  });
}

function verifierOf({ w0, w1 }: PasswordScalars, checked: ScryptParams): PairingVerifier {
  const L = publicKeyOf(w1);
  w1.fill(0);
  return { w0, L, salt: checked.salt, N: checked.N, r: checked.r, p: checked.p };
}

/** The vehicle's record for a password: w0 and L = w1·G, with the scrypt inputs it will send. */
export function computePairingVerifier(password: string, params: ScryptParams): PairingVerifier {
  const checked = validateScryptParams(params);
  return verifierOf(derivePasswordScalars(password, checked), checked);
}

/** computePairingVerifier with scrypt in the background (derivePasswordScalarsInBackground). */
export async function computePairingVerifierInBackground(
  password: string,
  params: ScryptParams,
): Promise<PairingVerifier> {
  const checked = validateScryptParams(params);
  return verifierOf(await derivePasswordScalarsInBackground(password, checked), checked);
}

// The largest multiple of 10^8 below 2^32: values at or above it are redrawn so
// every password is equally likely.
const PASSWORD_SPACE = 10 ** PAIRING_PASSWORD_DIGITS;
const UNBIASED_LIMIT = Math.floor(2 ** 32 / PASSWORD_SPACE) * PASSWORD_SPACE;

/** A one-time pairing password: 8 decimal digits, uniform, from a CSPRNG by rejection sampling. */
export function generatePairingPassword(random: RandomSource = systemRandom): string {
  for (;;) {
    const bytes = random(4);
    if (!(bytes instanceof Uint8Array) || bytes.length !== 4) {
      throw new ProtocolInputError("random must return the requested number of bytes");
    }
    const value = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
    if (value < UNBIASED_LIMIT) {
      return (value % PASSWORD_SPACE).toString().padStart(PAIRING_PASSWORD_DIGITS, "0");
    }
  }
}
