// P-256 operations the protocol needs, with the encodings it uses: 65-byte
// uncompressed points, 32-byte x coordinates for ECDH, raw r‖s ECDSA over
// SHA-256. Inputs are checked here so the SE and the vehicle never act on an
// invalid point or a malformed signature.
import { p256 } from "@noble/curves/nist.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { ProtocolInputError } from "./errors.js";

export interface KeyPair {
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** Random bytes source; the SE injects its own so tests can account for every secret it draws. */
export type RandomSource = (length: number) => Uint8Array;

export const systemRandom: RandomSource = (length) => crypto.getRandomValues(new Uint8Array(length));

export function generateKeyPair(random: RandomSource = systemRandom): KeyPair {
  // 48 bytes of seed reduced mod n (FIPS 186-5 A.2.1) avoids bias.
  const privateKey = p256.utils.randomSecretKey(random(48));
  return { privateKey, publicKey: p256.getPublicKey(privateKey, false) };
}

export function publicKeyOf(privateKey: Uint8Array): Uint8Array {
  return p256.getPublicKey(privateKey, false);
}

/** Throws a ProtocolInputError naming `name` unless `point` is a valid uncompressed P-256 point. */
export function assertPublicKey(point: Uint8Array, name: string): Uint8Array {
  if (!(point instanceof Uint8Array) || point.length !== 65 || point[0] !== 0x04) {
    throw new ProtocolInputError(`${name} must be a 65-byte uncompressed P-256 point`);
  }
  try {
    p256.Point.fromBytes(point).assertValidity();
  } catch {
    throw new ProtocolInputError(`${name} is not a point on P-256`);
  }
  return point;
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
  assertPublicKey(peerPublic, "peer public key");
  return p256.getSharedSecret(privateKey, peerPublic, true).slice(1);
}

/** ECDSA-P256-SHA256 over `message`, raw r‖s. */
export function signRaw(privateKey: Uint8Array, message: Uint8Array): Uint8Array {
  return p256.sign(message, privateKey);
}

/** ECDSA-P256 over an already computed SHA-256 digest, raw r‖s. */
export function signDigestRaw(privateKey: Uint8Array, digest: Uint8Array): Uint8Array {
  if (digest.length !== 32) throw new ProtocolInputError("digest must be 32 bytes");
  return p256.sign(digest, privateKey, { prehash: false });
}

/** Verifies raw r‖s over SHA-256(message); accepts high-S (signatures from other implementations). */
export function verifyRaw(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64 || !isValidPublicKey(publicKey)) return false;
  try {
    return p256.verify(signature, message, publicKey, { lowS: false });
  } catch {
    return false;
  }
}

export function sha256Digest(message: Uint8Array): Uint8Array {
  return sha256(message);
}

/** Key identifier of an endpoint (tag 4E): the first 6 bytes of SHA-1 over its uncompressed public key. */
export function keyIdentifier(endpointPublicKey: Uint8Array): Uint8Array {
  assertPublicKey(endpointPublicKey, "endpoint public key");
  return sha1(endpointPublicKey).slice(0, 6);
}
