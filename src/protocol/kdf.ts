// Key derivation functions of the transaction protocol: ANSI X9.63 KDF with
// SHA-256 (SEC 1 §3.6.1) and HKDF-SHA256 (RFC 5869). noble's implementations:
// pure JS, identical on every runtime, cross-checked against node:crypto in
// test/protocol/kdf.test.ts.
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { concatBytes, u32 } from "./bytes.js";
import { ProtocolInputError } from "./errors.js";

/** X9.63-KDF-SHA256(Z, sharedInfo) of `length` bytes: SHA-256(Z ‖ counter ‖ sharedInfo) blocks. */
export function x963Kdf(z: Uint8Array, sharedInfo: Uint8Array, length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 1 || length > 32 * 255)
    throw new ProtocolInputError("length out of range");
  const blocks: Uint8Array[] = [];
  for (let counter = 1; counter * 32 < length + 32; counter++) {
    blocks.push(sha256(concatBytes(z, u32(counter), sharedInfo)));
  }
  return concatBytes(...blocks).slice(0, length);
}

/** HKDF-SHA256 with no salt (RFC 5869: a zero-filled salt of hash length). */
export function hkdfSha256(ikm: Uint8Array, info: Uint8Array, length: number, salt?: Uint8Array): Uint8Array {
  if (!Number.isInteger(length) || length < 1 || length > 255 * 32)
    throw new ProtocolInputError("length out of range");
  return hkdf(sha256, ikm, salt, info, length);
}
