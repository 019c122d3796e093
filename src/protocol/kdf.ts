// Key derivation functions of the transaction protocol: ANSI X9.63 KDF with
// SHA-256 (SEC 1 §3.6.1), HMAC-SHA256 (RFC 2104) and HKDF-SHA256 (RFC 5869),
// all on node:crypto (OpenSSL). test/protocol/kdf.test.ts checks them against
// the NIST CAVS and RFC 5869 vectors and against noble's implementations.
import { createHash, createHmac, hkdfSync } from "node:crypto";
import { u32 } from "./bytes.js";
import { ProtocolInputError } from "./errors.js";

const HASH_LENGTH = 32;
/** node:crypto's hkdfSync refuses a longer info; longer ones take the HMAC path below. */
const HKDF_SYNC_MAX_INFO = 1024;

/** X9.63-KDF-SHA256(Z, sharedInfo) of `length` bytes: SHA-256(Z ‖ counter ‖ sharedInfo) blocks. */
export function x963Kdf(z: Uint8Array, sharedInfo: Uint8Array, length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 1 || length > HASH_LENGTH * 255)
    throw new ProtocolInputError("length out of range");
  const out = new Uint8Array(Math.ceil(length / HASH_LENGTH) * HASH_LENGTH);
  for (let counter = 1; (counter - 1) * HASH_LENGTH < length; counter++) {
    out.set(
      createHash("sha256").update(z).update(u32(counter)).update(sharedInfo).digest(),
      (counter - 1) * HASH_LENGTH,
    );
  }
  return out.slice(0, length);
}

/** HMAC-SHA256(key, the parts concatenated). */
export function hmacSha256(key: Uint8Array, ...message: readonly Uint8Array[]): Uint8Array {
  const mac = createHmac("sha256", key);
  for (const part of message) mac.update(part);
  return new Uint8Array(mac.digest());
}

/** HKDF-Extract (RFC 5869 §2.2): PRK = HMAC(salt, IKM); an absent salt is HashLen zeros. */
export function hkdfExtractSha256(ikm: Uint8Array, salt?: Uint8Array): Uint8Array {
  return hmacSha256(salt && salt.length > 0 ? salt : new Uint8Array(HASH_LENGTH), ikm);
}

/** HKDF-Expand (RFC 5869 §2.3): T(i) = HMAC(PRK, T(i−1) ‖ info ‖ i). */
export function hkdfExpandSha256(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  checkHkdfLength(length);
  const out = new Uint8Array(Math.ceil(length / HASH_LENGTH) * HASH_LENGTH);
  let previous: Uint8Array = new Uint8Array(0);
  for (let i = 1; (i - 1) * HASH_LENGTH < length; i++) {
    previous = hmacSha256(prk, previous, info, Uint8Array.of(i));
    out.set(previous, (i - 1) * HASH_LENGTH);
  }
  return out.slice(0, length);
}

function checkHkdfLength(length: number): void {
  if (!Number.isInteger(length) || length < 1 || length > 255 * HASH_LENGTH)
    throw new ProtocolInputError("length out of range");
}

/** HKDF-SHA256 with no salt (RFC 5869: a zero-filled salt of hash length). */
export function hkdfSha256(ikm: Uint8Array, info: Uint8Array, length: number, salt?: Uint8Array): Uint8Array {
  checkHkdfLength(length);
  if (info.length > HKDF_SYNC_MAX_INFO) return hkdfExpandSha256(hkdfExtractSha256(ikm, salt), info, length);
  return new Uint8Array(hkdfSync("sha256", ikm, salt ?? new Uint8Array(0), info, length));
}
