// The SE's sealed storage: private scalars leave the emulated secure element
// only encrypted under its sealing key (AES-256-GCM), as a real SE persists
// secrets wrapped by a hardware-unique key. The sealing key is held apart from
// the state (the CLI keeps it in a 0600 file beside the state file), so the
// state file alone reveals no private key.
import { aesGcmDecrypt, aesGcmEncrypt } from "../../protocol/aes.js";
import { utf8 } from "../../protocol/bytes.js";
import { type RandomSource, systemRandom } from "../../protocol/p256.js";
import { SecureElementError } from "./errors.js";

const NONCE_LENGTH = 12;
const AAD = utf8("carkeys-se-sealed-v1");

export function createSealingKey(random: RandomSource = systemRandom): Uint8Array {
  return random(32);
}

export function seal(
  sealingKey: Uint8Array,
  plaintext: Uint8Array,
  random: RandomSource = systemRandom,
): string {
  const nonce = random(NONCE_LENGTH);
  const sealed = aesGcmEncrypt(sealingKey, nonce, plaintext, AAD);
  const out = new Uint8Array(NONCE_LENGTH + sealed.length);
  out.set(nonce);
  out.set(sealed, NONCE_LENGTH);
  return Buffer.from(out).toString("base64");
}

export function unseal(sealingKey: Uint8Array, sealed: string): Uint8Array {
  const bytes = new Uint8Array(Buffer.from(sealed, "base64"));
  if (bytes.length < NONCE_LENGTH + 16) throw new SecureElementError("sealed storage is truncated");
  try {
    return aesGcmDecrypt(sealingKey, bytes.subarray(0, NONCE_LENGTH), bytes.subarray(NONCE_LENGTH), AAD);
  } catch {
    throw new SecureElementError(
      "sealed storage does not open with this sealing key (wrong key or tampered state)",
    );
  }
}
