// AES-CMAC (RFC 4493 for AES-128; NIST SP 800-38B for every AES key size).
// node:crypto has no CMAC, so it is built here on OpenSSL's AES: subkeys from
// one ECB block, then CBC-MAC with a zero IV over the message whose last block
// is masked by K1 (complete) or padded and masked by K2. A CMAC object keeps
// its key loaded and its subkeys computed, for keys that MAC many messages.
import { createSecretKey, type KeyObject } from "node:crypto";
import { AES_BLOCK, aesCbcEncrypt, aesEcbEncrypt } from "./aes.js";
import { ProtocolInputError } from "./errors.js";

/** Doubling in GF(2^128) with R = 0x87 (RFC 4493 §2.3, SP 800-38B §6.1). */
function double(block: Uint8Array): Uint8Array {
  const out = new Uint8Array(AES_BLOCK);
  for (let i = 0; i < AES_BLOCK; i++) {
    out[i] = ((block[i]! << 1) | (i < AES_BLOCK - 1 ? block[i + 1]! >> 7 : 0)) & 0xff;
  }
  if (block[0]! & 0x80) out[AES_BLOCK - 1]! ^= 0x87;
  return out;
}

const ZERO_BLOCK = new Uint8Array(AES_BLOCK);

export class AesCmac {
  readonly #key: KeyObject;
  readonly #k1: Uint8Array;
  readonly #k2: Uint8Array;

  constructor(key: Uint8Array) {
    if (!(key instanceof Uint8Array) || ![16, 24, 32].includes(key.length)) {
      throw new ProtocolInputError("AES-CMAC key must be 16, 24 or 32 bytes");
    }
    this.#key = createSecretKey(key);
    this.#k1 = double(aesEcbEncrypt(this.#key, ZERO_BLOCK));
    this.#k2 = double(this.#k1);
  }

  /** The full 16-byte tag T of RFC 4493 §2.4. */
  mac(message: Uint8Array): Uint8Array {
    const complete = message.length > 0 && message.length % AES_BLOCK === 0;
    const length = complete ? message.length : (Math.floor(message.length / AES_BLOCK) + 1) * AES_BLOCK;
    const body = new Uint8Array(length);
    body.set(message);
    if (!complete) body[message.length] = 0x80;
    const mask = complete ? this.#k1 : this.#k2;
    const last = length - AES_BLOCK;
    for (let i = 0; i < AES_BLOCK; i++) body[last + i]! ^= mask[i]!;
    return aesCbcEncrypt(this.#key, ZERO_BLOCK, body).slice(last);
  }
}

/** AES-CMAC with the key first, for one-off MACs. */
export function aesCmac(key: Uint8Array, message: Uint8Array): Uint8Array {
  return new AesCmac(key).mac(message);
}
