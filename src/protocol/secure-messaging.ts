// Secure messaging (docs/transaction.md "Secure messaging"): AES-CBC with an ICV
// derived from the message counter, ISO/IEC 9797-1 method 2 padding, and
// AES-CMAC over (chaining value ‖ ciphertext) truncated to 8 bytes. One class
// serves both ends; each side calls the pair of methods for its role. A MAC or
// padding failure throws and poisons the session: nothing more is accepted.
// AES and CMAC run on node:crypto (aes.ts, aes-cmac.ts), with the session's
// keys loaded once when the session starts.
import { createSecretKey, type KeyObject } from "node:crypto";
import { aesCbcDecrypt, aesCbcEncrypt, aesEcbEncrypt } from "./aes.js";
import { AesCmac } from "./aes-cmac.js";
import { concatBytes, equalBytes } from "./bytes.js";
import { ProtocolInputError, SecureMessagingError } from "./errors.js";

export interface SessionKeys {
  readonly kenc: Uint8Array;
  readonly kmac: Uint8Array;
  readonly krmac: Uint8Array;
}

export { aesCmac } from "./aes-cmac.js";

const MAC_LENGTH = 8;
const BLOCK = 16;

export function padIso9797M2(data: Uint8Array): Uint8Array {
  const length = (Math.floor(data.length / BLOCK) + 1) * BLOCK;
  const out = new Uint8Array(length);
  out.set(data);
  out[data.length] = 0x80;
  return out;
}

export function unpadIso9797M2(data: Uint8Array): Uint8Array {
  let i = data.length - 1;
  while (i >= 0 && data[i] === 0x00) i--;
  if (i < 0 || data[i] !== 0x80 || data.length - i > BLOCK) throw new SecureMessagingError("bad padding");
  return data.subarray(0, i);
}

export class SecureMessagingSession {
  private counter = 0;
  private chaining: Uint8Array = new Uint8Array(BLOCK);
  private broken = false;

  private readonly kenc: KeyObject;
  private readonly kmac: AesCmac;
  private readonly krmac: AesCmac;

  constructor(keys: SessionKeys) {
    for (const name of ["kenc", "kmac", "krmac"] as const) {
      const key = keys[name];
      if (!(key instanceof Uint8Array) || key.length !== 16)
        throw new ProtocolInputError(`${name} must be 16 bytes`);
    }
    // Only the three session keys are kept: callers often pass a wider key schedule.
    this.kenc = createSecretKey(keys.kenc);
    this.kmac = new AesCmac(keys.kmac);
    this.krmac = new AesCmac(keys.krmac);
  }

  get messageCounter(): number {
    return this.counter;
  }

  // --- vehicle (reader) side ---
  protectCommand(plaintext: Uint8Array): Uint8Array {
    this.assertUsable();
    const ciphertext = this.encrypt(plaintext, 0x00);
    const mac = this.kmac.mac(concatBytes(this.chaining, ciphertext));
    this.chaining = mac;
    return concatBytes(ciphertext, mac.subarray(0, MAC_LENGTH));
  }

  unprotectResponse(data: Uint8Array): Uint8Array {
    this.assertUsable();
    const ciphertext = this.checkMac(data, this.krmac);
    const plaintext = this.decrypt(ciphertext, 0x80);
    this.counter++;
    return plaintext;
  }

  // --- device (card) side ---
  unprotectCommand(data: Uint8Array): Uint8Array {
    this.assertUsable();
    const ciphertext = this.checkMac(data, this.kmac);
    this.chaining = this.kmac.mac(concatBytes(this.chaining, ciphertext));
    return this.decrypt(ciphertext, 0x00);
  }

  protectResponse(plaintext: Uint8Array): Uint8Array {
    this.assertUsable();
    const ciphertext = this.encrypt(plaintext, 0x80);
    const mac = this.krmac.mac(concatBytes(this.chaining, ciphertext));
    this.counter++;
    return concatBytes(ciphertext, mac.subarray(0, MAC_LENGTH));
  }

  private assertUsable(): void {
    if (this.broken) throw new SecureMessagingError("session ended after a secure messaging failure");
  }

  private icv(pcb: number): Uint8Array {
    const block = new Uint8Array(BLOCK);
    block[0] = pcb;
    block[15] = this.counter & 0xff;
    return aesEcbEncrypt(this.kenc, block);
  }

  private encrypt(plaintext: Uint8Array, pcb: number): Uint8Array {
    if (plaintext.length === 0) return new Uint8Array(0);
    return aesCbcEncrypt(this.kenc, this.icv(pcb), padIso9797M2(plaintext));
  }

  private decrypt(ciphertext: Uint8Array, pcb: number): Uint8Array {
    if (ciphertext.length === 0) return new Uint8Array(0);
    if (ciphertext.length % BLOCK !== 0) return this.fail("ciphertext is not a whole number of blocks");
    const padded = aesCbcDecrypt(this.kenc, this.icv(pcb), ciphertext);
    try {
      return unpadIso9797M2(padded);
    } catch (error) {
      this.broken = true;
      throw error;
    }
  }

  private checkMac(data: Uint8Array, macKey: AesCmac): Uint8Array {
    if (data.length < MAC_LENGTH) return this.fail("protected message shorter than its MAC");
    const ciphertext = data.subarray(0, data.length - MAC_LENGTH);
    const expected = macKey.mac(concatBytes(this.chaining, ciphertext)).subarray(0, MAC_LENGTH);
    if (!equalBytes(expected, data.subarray(data.length - MAC_LENGTH)))
      return this.fail("MAC does not verify");
    return ciphertext;
  }

  private fail(reason: string): never {
    this.broken = true;
    throw new SecureMessagingError(reason);
  }
}
