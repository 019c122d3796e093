// P-256 operations the protocol needs, with the encodings it uses: 65-byte
// uncompressed points, 32-byte x coordinates for ECDH, raw r‖s ECDSA over
// SHA-256. Inputs are checked here so the SE and the vehicle never act on an
// invalid point or a malformed signature.
//
// The curve arithmetic runs in OpenSSL through node:crypto (assembler P-256,
// 10–50× faster than pure JS). The one step node:crypto does not offer,
// reducing a caller's random seed to a scalar (so an injected random source
// still decides every key), is a single BigInt reduction here.
// test/protocol/p256.test.ts checks this file against noble, a second
// implementation, and against NIST and RFC 6979 vectors.
import {
  createECDH,
  createHash,
  createPrivateKey,
  createPublicKey,
  ECDH,
  type KeyObject,
  sign,
  verify,
} from "node:crypto";
import { toHex } from "./bytes.js";
import { ProtocolInputError } from "./errors.js";
import { RecentlyUsedCache } from "./recently-used-cache.js";

export interface KeyPair {
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** Random bytes source; the SE injects its own so tests can account for every secret it draws. */
export type RandomSource = (length: number) => Uint8Array;

export const systemRandom: RandomSource = (length) => crypto.getRandomValues(new Uint8Array(length));

const CURVE = "prime256v1";

/** A plain Uint8Array copy: node:crypto's small Buffers are views into a shared pool. */
const asBytes = (buffer: Buffer): Uint8Array => new Uint8Array(buffer);

/** An OpenSSL ECDH context holding `privateKey`; throws a ProtocolInputError unless it is 32 bytes in [1, n-1]. */
function ecdhContext(privateKey: Uint8Array): ECDH {
  if (!(privateKey instanceof Uint8Array) || privateKey.length !== 32) {
    throw new ProtocolInputError("private key must be a 32-byte scalar");
  }
  const ecdh = createECDH(CURVE);
  try {
    ecdh.setPrivateKey(privateKey);
  } catch {
    throw new ProtocolInputError("private key is not a scalar in [1, n-1]");
  }
  return ecdh;
}

/** d·G by OpenSSL. */
function publicPointOf(privateKey: Uint8Array): Uint8Array {
  return asBytes(ecdhContext(privateKey).getPublicKey());
}

/** The order n of the P-256 base point (SEC 2 §2.4.2). */
const CURVE_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/**
 * (bytes mod (n−1)) + 1 as a 32-byte big-endian scalar in [1, n−1] (FIPS 186-5
 * A.2.1). The bias is below 2^-(8·(length − 32)): callers pass at least 40 bytes.
 */
export function nonZeroScalarFrom(bytes: Uint8Array): Uint8Array {
  const scalar = (BigInt(`0x${toHex(bytes) || "0"}`) % (CURVE_ORDER - 1n)) + 1n;
  return new Uint8Array(Buffer.from(scalar.toString(16).padStart(64, "0"), "hex"));
}

/** A scalar from a seed of at least 48 bytes: 16 bytes more than n leaves a bias below 2^-128. */
function scalarFromSeed(seed: Uint8Array): Uint8Array {
  if (!(seed instanceof Uint8Array) || seed.length < 48) {
    throw new ProtocolInputError("key generation needs at least 48 random bytes");
  }
  return nonZeroScalarFrom(seed);
}

export function generateKeyPair(random: RandomSource = systemRandom): KeyPair {
  const privateKey = scalarFromSeed(random(48));
  return { privateKey, publicKey: publicPointOf(privateKey) };
}

export function publicKeyOf(privateKey: Uint8Array): Uint8Array {
  return publicPointOf(privateKey);
}

/**
 * Points already found on the curve, by their hex form. One request checks the
 * same few keys several times (a request's signer, a certificate's subject, its
 * issuer), each check costs about a third of a signature verification, and the
 * answer for the same 65 bytes never changes. Only points that passed are
 * remembered; bounded, least recently used first out.
 */
const pointsOnCurve = new RecentlyUsedCache<true>(4096);

/** True when the 65 bytes of an uncompressed point satisfy the curve equation. */
function isOnCurve(point: Uint8Array): boolean {
  try {
    // OpenSSL decodes the point only if it satisfies the curve equation (SEC 1 §2.3.4).
    return pointsOnCurve.get(toHex(point), () => {
      ECDH.convertKey(point, CURVE);
      return true;
    });
  } catch {
    return false;
  }
}

/** Throws a ProtocolInputError naming `name` unless `point` is a valid uncompressed P-256 point. */
export function assertPublicKey(point: Uint8Array, name: string): Uint8Array {
  if (!(point instanceof Uint8Array) || point.length !== 65 || point[0] !== 0x04) {
    throw new ProtocolInputError(`${name} must be a 65-byte uncompressed P-256 point`);
  }
  if (!isOnCurve(point)) throw new ProtocolInputError(`${name} is not a point on P-256`);
  return point;
}

/**
 * The uncompressed form of a SEC 1 §2.3.4 point, compressed (02/03, 33 bytes)
 * or uncompressed (04, 65 bytes), as X.509 allows either; throws a
 * ProtocolInputError naming `name` for any other form (hybrid 06/07 and the
 * point at infinity included) or a point not on P-256.
 */
export function uncompressedPublicKey(point: Uint8Array, name: string): Uint8Array {
  const form =
    point instanceof Uint8Array &&
    ((point.length === 33 && (point[0] === 0x02 || point[0] === 0x03)) ||
      (point.length === 65 && point[0] === 0x04));
  if (!form) {
    throw new ProtocolInputError(`${name} must be a compressed or uncompressed P-256 point`);
  }
  if (point.length === 65) return new Uint8Array(assertPublicKey(point, name));
  try {
    return asBytes(ECDH.convertKey(point, CURVE, undefined, undefined, "uncompressed") as Buffer);
  } catch {
    throw new ProtocolInputError(`${name} is not a point on P-256`);
  }
}

export function isValidPublicKey(point: Uint8Array): boolean {
  try {
    assertPublicKey(point, "point");
    return true;
  } catch {
    return false;
  }
}

/** x(P): the 32-byte x coordinate of an uncompressed point. */
export function xCoordinate(point: Uint8Array): Uint8Array {
  if (point.length !== 65) throw new ProtocolInputError("point must be 65 bytes");
  return point.slice(1, 33);
}

/** Z = x(ECDH(own private, peer public)). */
export function ecdhX(privateKey: Uint8Array, peerPublic: Uint8Array): Uint8Array {
  if (!(peerPublic instanceof Uint8Array) || peerPublic.length !== 65 || peerPublic[0] !== 0x04) {
    throw new ProtocolInputError("peer public key must be a 65-byte uncompressed P-256 point");
  }
  const ecdh = ecdhContext(privateKey);
  try {
    // OpenSSL decodes the peer point only if it is on the curve (the check assertPublicKey makes) and
    // returns exactly the 32-byte x coordinate of the shared point (SEC 1 §3.3.1).
    return asBytes(ecdh.computeSecret(peerPublic));
  } catch {
    throw new ProtocolInputError("peer public key is not a point on P-256");
  }
}

/**
 * Keys loaded into OpenSSL, remembered per key so a hot path does not import
 * the same key again for every signature (an import costs more than the
 * signature). Held in this process's memory only; private KeyObjects are
 * never exported.
 */
const privateKeys = new RecentlyUsedCache<KeyObject>(256);
const publicKeys = new RecentlyUsedCache<KeyObject>(4096);

const b64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64url");

function signingKeyObject(privateKey: Uint8Array): KeyObject {
  return privateKeys.get(toHex(privateKey), () => {
    const publicKey = publicPointOf(privateKey);
    // JWK is the one import form that takes a bare scalar with its point (RFC 7518 §6.2.2).
    return createPrivateKey({
      key: {
        kty: "EC",
        crv: "P-256",
        d: b64url(privateKey),
        x: b64url(publicKey.subarray(1, 33)),
        y: b64url(publicKey.subarray(33)),
      },
      format: "jwk",
    });
  });
}

/**
 * The KeyObject of a public point, or undefined when the point is not on P-256 (the import checks it).
 * Imported as a JWK (RFC 7518 §6.2.1), not as a DER SubjectPublicKeyInfo: with OpenSSL 3.0 (Node 20)
 * an import and its first verification cost about 180 µs that way against 250 µs through the DER
 * decoders, and with OpenSSL 3.5 (Node 24; Node 22 ships the same) both cost the same, about 110 µs.
 */
function verifyingKeyObject(publicKey: Uint8Array): KeyObject | undefined {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 65 || publicKey[0] !== 0x04)
    return undefined;
  try {
    return publicKeys.get(toHex(publicKey), () =>
      createPublicKey({
        key: {
          kty: "EC",
          crv: "P-256",
          x: b64url(publicKey.subarray(1, 33)),
          y: b64url(publicKey.subarray(33)),
        },
        format: "jwk",
      }),
    );
  } catch {
    return undefined;
  }
}

/** ECDSA-P256-SHA256 over `message`, raw r‖s (IEEE P1363), with a fresh random k from OpenSSL. */
export function signRaw(privateKey: Uint8Array, message: Uint8Array): Uint8Array {
  return asBytes(sign("sha256", message, { key: signingKeyObject(privateKey), dsaEncoding: "ieee-p1363" }));
}

/** Verifies raw r‖s over SHA-256(message); accepts high-S (signatures from other implementations). */
export function verifyRaw(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (!(signature instanceof Uint8Array) || signature.length !== 64) return false;
  const key = verifyingKeyObject(publicKey);
  if (!key) return false;
  try {
    // OpenSSL refuses r or s outside [1, n-1] and does not ask for low S.
    return verify("sha256", message, { key, dsaEncoding: "ieee-p1363" }, signature);
  } catch {
    return false;
  }
}

export function sha256Digest(message: Uint8Array): Uint8Array {
  return asBytes(createHash("sha256").update(message).digest());
}

/** Key identifier of an endpoint (tag 4E): the first 6 bytes of SHA-1 over its uncompressed public key. */
export function keyIdentifier(endpointPublicKey: Uint8Array): Uint8Array {
  assertPublicKey(endpointPublicKey, "endpoint public key");
  return asBytes(createHash("sha1").update(endpointPublicKey).digest()).slice(0, 6);
}

/**
 * A private key held in memory for as long as its owner lives: the scalar and,
 * from its first signature on, its own OpenSSL KeyObject, so signing never
 * re-imports the key or looks it up by its hex form. The scalar sits in an
 * ECMAScript private field (JSON.stringify and Object.values show nothing of
 * it); it leaves only through exportScalar, for sealed storage and for
 * derivations that need the scalar itself.
 */
export class P256PrivateKey {
  readonly #scalar: Uint8Array;
  #keyObject: KeyObject | undefined;
  readonly publicKey: Uint8Array;

  private constructor(scalar: Uint8Array, publicKey: Uint8Array) {
    this.#scalar = scalar;
    this.publicKey = publicKey;
  }

  /** Throws a ProtocolInputError unless `scalar` is 32 bytes in [1, n-1]. */
  static fromScalar(scalar: Uint8Array): P256PrivateKey {
    return new P256PrivateKey(new Uint8Array(scalar), publicPointOf(scalar));
  }

  static generate(random: RandomSource = systemRandom): P256PrivateKey {
    const pair = generateKeyPair(random);
    return new P256PrivateKey(pair.privateKey, pair.publicKey);
  }

  /** ECDSA-P256-SHA256 over `message`, raw r‖s, as signRaw. */
  sign(message: Uint8Array): Uint8Array {
    this.#keyObject ??= createPrivateKey({
      key: {
        kty: "EC",
        crv: "P-256",
        d: b64url(this.#scalar),
        x: b64url(this.publicKey.subarray(1, 33)),
        y: b64url(this.publicKey.subarray(33)),
      },
      format: "jwk",
    });
    return asBytes(sign("sha256", message, { key: this.#keyObject, dsaEncoding: "ieee-p1363" }));
  }

  exportScalar(): Uint8Array {
    return new Uint8Array(this.#scalar);
  }
}
