// AES modes the protocol uses, on node:crypto (OpenSSL, AES-NI where the CPU
// has it): one ECB block (ICVs, CMAC subkeys), CBC without padding (secure
// messaging pads itself, ISO/IEC 9797-1 method 2) and GCM with a 16-byte tag
// appended to the ciphertext (NIST SP 800-38D; the layout noble and WebCrypto
// use). Keys are 16, 24 or 32 bytes and select AES-128, -192 or -256.
import { createCipheriv, createDecipheriv, type KeyObject } from "node:crypto";
import { ProtocolInputError } from "./errors.js";

export const AES_BLOCK = 16;
const GCM_TAG_LENGTH = 16;

/** A raw AES key, or one already loaded as a node:crypto secret KeyObject (hot paths). */
export type AesKey = Uint8Array | KeyObject;

function bits(key: AesKey): 128 | 192 | 256 {
  const length = key instanceof Uint8Array ? key.length : key.symmetricKeySize;
  if (length === 16 || length === 24 || length === 32) return (length * 8) as 128 | 192 | 256;
  throw new ProtocolInputError("AES key must be 16, 24 or 32 bytes");
}

function blocks(data: Uint8Array): Uint8Array {
  if (data.length % AES_BLOCK !== 0) throw new ProtocolInputError("AES input must be whole 16-byte blocks");
  return data;
}

function run(cipher: { update(d: Uint8Array): Buffer; final(): Buffer }, data: Uint8Array): Uint8Array {
  const head = cipher.update(data);
  const tail = cipher.final();
  const out = new Uint8Array(head.length + tail.length);
  out.set(head);
  out.set(tail, head.length);
  return out;
}

/** AES-ECB over whole blocks, no padding; in this protocol always a single block. */
export function aesEcbEncrypt(key: AesKey, data: Uint8Array): Uint8Array {
  const cipher = createCipheriv(`aes-${bits(key)}-ecb`, key, null).setAutoPadding(false);
  return run(cipher, blocks(data));
}

export function aesCbcEncrypt(key: AesKey, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const cipher = createCipheriv(`aes-${bits(key)}-cbc`, key, iv).setAutoPadding(false);
  return run(cipher, blocks(data));
}

export function aesCbcDecrypt(key: AesKey, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const decipher = createDecipheriv(`aes-${bits(key)}-cbc`, key, iv).setAutoPadding(false);
  return run(decipher, blocks(data));
}

/** AES-GCM: ciphertext ‖ 16-byte tag. */
export function aesGcmEncrypt(
  key: AesKey,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad?: Uint8Array,
): Uint8Array {
  const cipher = createCipheriv(`aes-${bits(key)}-gcm`, key, nonce, { authTagLength: GCM_TAG_LENGTH });
  if (aad) cipher.setAAD(aad);
  const body = run(cipher, plaintext);
  const out = new Uint8Array(body.length + GCM_TAG_LENGTH);
  out.set(body);
  out.set(cipher.getAuthTag(), body.length);
  return out;
}

/** Opens ciphertext ‖ tag; throws if the tag does not verify (wrong key, nonce, AAD, or altered bytes). */
export function aesGcmDecrypt(
  key: AesKey,
  nonce: Uint8Array,
  sealed: Uint8Array,
  aad?: Uint8Array,
): Uint8Array {
  if (sealed.length < GCM_TAG_LENGTH) throw new ProtocolInputError("AES-GCM input is shorter than its tag");
  const decipher = createDecipheriv(`aes-${bits(key)}-gcm`, key, nonce, { authTagLength: GCM_TAG_LENGTH });
  if (aad) decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - GCM_TAG_LENGTH));
  return run(decipher, sealed.subarray(0, sealed.length - GCM_TAG_LENGTH));
}
