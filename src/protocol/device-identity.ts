// A secure element's identifier is derived from its instance CA public key
// (the first 16 bytes of SHA-256 over the 65-byte point), so anyone holding
// a verified certificate chain knows which device a key lives on without
// trusting a name: lost-mode notices address devices by this identifier.
import { assertPublicKey, sha256Digest } from "./p256.js";

export const DEVICE_ID_LENGTH = 16;

export function deviceIdFromInstanceKey(instanceCaPublicKey: Uint8Array): Uint8Array {
  return sha256Digest(assertPublicKey(instanceCaPublicKey, "instance CA public key")).slice(
    0,
    DEVICE_ID_LENGTH,
  );
}
