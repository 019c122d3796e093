// A second, independent implementation of the transaction protocol's crypto
// (docs/transaction.md "Standard key derivation", "Fast key derivation", "Secure messaging"),
// built only on node:crypto (OpenSSL) and written from the text of
// docs/transaction.md, never from src/protocol. The vector generator and the tests use
// it to check the project code; it is itself checked against RFC 4493, NIST
// CAVS X9.63 and RFC 5869 vectors in the tests, so agreement means both agree
// with the specifications, not merely with each other.
import {
  createCipheriv,
  createDecipheriv,
  createECDH,
  createHash,
  createPrivateKey,
  createPublicKey,
  hkdfSync,
  sign,
  verify,
} from "node:crypto";

export const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
export const unhex = (h: string): Buffer => Buffer.from(h, "hex");
export const cat = (...parts: Uint8Array[]): Buffer => Buffer.concat(parts);

/** BER-TLV with a one-byte tag (the only kind the transaction messages use): short, 81 LL or 82 LLLL. */
export function refTlv(tag: number, value: Uint8Array): Buffer {
  const n = value.length;
  const length = n < 0x80 ? Buffer.of(n) : n <= 0xff ? Buffer.of(0x81, n) : Buffer.of(0x82, n >> 8, n & 0xff);
  return cat(Buffer.of(tag), length, value);
}

// --- KDFs -------------------------------------------------------------------

/** ANSI X9.63 KDF with SHA-256: SHA-256(Z ‖ counter32 ‖ sharedInfo) for counter = 1, 2, … */
export function refX963(z: Uint8Array, sharedInfo: Uint8Array, length: number): Buffer {
  const blocks: Buffer[] = [];
  for (let counter = 1; blocks.length * 32 < length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    blocks.push(createHash("sha256").update(z).update(c).update(sharedInfo).digest());
  }
  return cat(...blocks).subarray(0, length);
}

/** HKDF-SHA256 with no salt (RFC 5869: a zero-length salt acts as HashLen zeros). */
export function refHkdf(ikm: Uint8Array, info: Uint8Array, length: number): Buffer {
  return Buffer.from(hkdfSync("sha256", ikm, Buffer.alloc(0), info, length));
}

// --- P-256 ------------------------------------------------------------------

export function refPublicKey(privateKey: Uint8Array): Buffer {
  const ecdh = createECDH("prime256v1");
  ecdh.setPrivateKey(privateKey);
  return ecdh.getPublicKey(); // uncompressed, 65 bytes
}

/** Z = x(ECDH(own private, peer public)); OpenSSL returns exactly the x coordinate. */
export function refEcdhX(privateKey: Uint8Array, peerPublic: Uint8Array): Buffer {
  const ecdh = createECDH("prime256v1");
  ecdh.setPrivateKey(privateKey);
  return ecdh.computeSecret(peerPublic);
}

const b64u = (b: Uint8Array): string => Buffer.from(b).toString("base64url");

function jwk(privateKey: Uint8Array | undefined, publicKey: Uint8Array) {
  return {
    kty: "EC",
    crv: "P-256",
    x: b64u(publicKey.subarray(1, 33)),
    y: b64u(publicKey.subarray(33, 65)),
    ...(privateKey ? { d: b64u(privateKey) } : {}),
  };
}

/** ECDSA-P256-SHA256, raw r‖s (IEEE P1363), by OpenSSL; randomized k, so every call differs. */
export function refSign(privateKey: Uint8Array, message: Uint8Array): Buffer {
  const key = createPrivateKey({ key: jwk(privateKey, refPublicKey(privateKey)), format: "jwk" });
  return sign("sha256", message, { key, dsaEncoding: "ieee-p1363" });
}

export function refVerify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const key = createPublicKey({ key: jwk(undefined, publicKey), format: "jwk" });
  return verify("sha256", message, { key, dsaEncoding: "ieee-p1363" }, signature);
}

export function refKeyIdentifier(endpointPublicKey: Uint8Array): Buffer {
  return createHash("sha1").update(endpointPublicKey).digest().subarray(0, 6);
}

// --- AES, CMAC --------------------------------------------------------------

export function refAesEcbBlock(key: Uint8Array, block: Uint8Array): Buffer {
  const c = createCipheriv("aes-128-ecb", key, null);
  c.setAutoPadding(false);
  return cat(c.update(block), c.final());
}

export function refAesCbc(key: Uint8Array, iv: Uint8Array, data: Uint8Array, decrypt = false): Buffer {
  const c = decrypt ? createDecipheriv("aes-128-cbc", key, iv) : createCipheriv("aes-128-cbc", key, iv);
  c.setAutoPadding(false);
  return cat(c.update(data), c.final());
}

/** Doubling in GF(2^128) as RFC 4493 §2.3 generates K1 and K2. */
function dbl(block: Buffer): Buffer {
  const out = Buffer.alloc(16);
  for (let i = 0; i < 16; i++) out[i] = ((block[i]! << 1) | (i < 15 ? block[i + 1]! >> 7 : 0)) & 0xff;
  if (block[0]! & 0x80) out[15]! ^= 0x87;
  return out;
}

/** AES-128-CMAC (RFC 4493 §2.4): CBC-MAC with zero IV, last block masked by K1 (complete) or K2 (padded). */
export function refCmac(key: Uint8Array, message: Uint8Array): Buffer {
  const k1 = dbl(refAesEcbBlock(key, Buffer.alloc(16)));
  const k2 = dbl(k1);
  const complete = message.length > 0 && message.length % 16 === 0;
  const body = complete ? Buffer.from(message) : refPadM2(message);
  const last = body.subarray(body.length - 16);
  const mask = complete ? k1 : k2;
  for (let i = 0; i < 16; i++) last[i]! ^= mask[i]!;
  const cbc = refAesCbc(key, Buffer.alloc(16), body);
  return cbc.subarray(cbc.length - 16);
}

/** ISO/IEC 9797-1 method 2: 80 then 00s up to a multiple of 16 (always adds at least one byte). */
export function refPadM2(data: Uint8Array): Buffer {
  const padded = Buffer.alloc((Math.floor(data.length / 16) + 1) * 16);
  padded.set(data);
  padded[data.length] = 0x80;
  return padded;
}

// --- Secure messaging -------------------------------------------------------

export interface RefKeys {
  kenc: Uint8Array;
  kmac: Uint8Array;
  krmac: Uint8Array;
}

/** ICV = AES-ECB(Kenc, PCB ‖ counter mod 256); PCB is 15 zero bytes for commands, 80 00…00 for responses. */
export function refIcv(kenc: Uint8Array, counter: number, response: boolean): Buffer {
  const block = Buffer.alloc(16);
  if (response) block[0] = 0x80;
  block[15] = counter % 256;
  return refAesEcbBlock(kenc, block);
}

export function refEncrypt(
  kenc: Uint8Array,
  counter: number,
  response: boolean,
  plaintext: Uint8Array,
): Buffer {
  if (plaintext.length === 0) return Buffer.alloc(0);
  return refAesCbc(kenc, refIcv(kenc, counter, response), refPadM2(plaintext));
}

/**
 * Protects one message. Returns the protected data field and the full 16-byte
 * MAC (which becomes the chaining value after a command).
 */
export function refProtect(
  keys: RefKeys,
  counter: number,
  chaining: Uint8Array,
  response: boolean,
  plaintext: Uint8Array,
): { protectedData: Buffer; fullMac: Buffer } {
  const ciphertext = refEncrypt(keys.kenc, counter, response, plaintext);
  const fullMac = refCmac(response ? keys.krmac : keys.kmac, cat(chaining, ciphertext));
  return { protectedData: cat(ciphertext, fullMac.subarray(0, 8)), fullMac };
}

/** The two-party state machine of docs/transaction.md written out plainly: chaining moves on commands, the counter on responses. */
export class RefSession {
  counter = 0;
  chaining: Buffer = Buffer.alloc(16);
  constructor(readonly keys: RefKeys) {}

  command(plaintext: Uint8Array): Buffer {
    const { protectedData, fullMac } = refProtect(this.keys, this.counter, this.chaining, false, plaintext);
    this.chaining = fullMac;
    return protectedData;
  }

  response(plaintext: Uint8Array): Buffer {
    const { protectedData } = refProtect(this.keys, this.counter, this.chaining, true, plaintext);
    this.counter++;
    return protectedData;
  }
}
