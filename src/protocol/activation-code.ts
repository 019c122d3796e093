// Activation codes (docs/protocol.md §26): the owner may require a one-time
// code before a shared key works. The owner's SE puts into the key
// attestation (tag CA) a MAC of the code under a key only the owner's SE and
// the car can derive — static ECDH between the owner's endpoint key and the
// vehicle key — bound to the friend's key identifier and the attestation's
// serial. The relay, the service and the friend's phone see that MAC but can
// test codes against it only at the car, which counts wrong attempts. The
// friend types the code; the wallet writes it into the enrollment package,
// which the car reads over secure messaging at the first tap.
import { concatBytes, equalBytes, expectLength, u32, utf8 } from "./bytes.js";
import { ProtocolInputError } from "./errors.js";
import { hkdfSha256, hmacSha256 } from "./kdf.js";
import { ecdhX, type RandomSource, systemRandom } from "./p256.js";

/** Decimal digits of a code: 10^8 codes against MAX_ACTIVATION_ATTEMPTS tries at the car. */
export const ACTIVATION_CODE_DIGITS = 8;
/** Wrong codes the car accepts per attestation before it refuses that share for good. */
export const MAX_ACTIVATION_ATTEMPTS = 5;
/** Length of the activation check (tag CA), HMAC-SHA-256. */
export const ACTIVATION_CHECK_LENGTH = 32;

const KEY_INFO = utf8("carkeys activation key v1");
const CHECK_LABEL = utf8("KACT");

export function checkActivationCode(code: string): string {
  if (typeof code !== "string" || !new RegExp(`^[0-9]{${ACTIVATION_CODE_DIGITS}}$`).test(code)) {
    throw new ProtocolInputError(`an activation code is ${ACTIVATION_CODE_DIGITS} decimal digits`);
  }
  return code;
}

/** A fresh code, uniform over all 10^8 values (rejection sampling on 32-bit draws). */
export function generateActivationCode(random: RandomSource = systemRandom): string {
  const range = 10 ** ACTIVATION_CODE_DIGITS;
  const limit = Math.floor(0x1_0000_0000 / range) * range;
  for (;;) {
    const b = random(4);
    const value = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
    if (value < limit) return String(value % range).padStart(ACTIVATION_CODE_DIGITS, "0");
  }
}

/**
 * The activation key of one owner key and one vehicle: HKDF-SHA-256 over the
 * x coordinate of ECDH(own private key, peer public key), salt the vehicle
 * identifier, info "carkeys activation key v1" ‖ the owner key identifier.
 * The owner's SE calls it with its endpoint private key and the vehicle's
 * public key, the car with its private key and the owner's endpoint key.
 */
export function activationKey(
  privateKey: Uint8Array,
  peerPublicKey: Uint8Array,
  vehicleIdentifier: Uint8Array,
  ownerKeyId: Uint8Array,
): Uint8Array {
  const shared = ecdhX(privateKey, peerPublicKey);
  return hkdfSha256(
    shared,
    concatBytes(KEY_INFO, expectLength(ownerKeyId, 6, "owner key id")),
    32,
    vehicleIdentifier,
  );
}

/** HMAC-SHA-256(key, "KACT" ‖ friend key id (6) ‖ serial (4) ‖ code as ASCII digits). */
export function activationCheck(
  key: Uint8Array,
  friendKeyId: Uint8Array,
  serial: number,
  code: string,
): Uint8Array {
  return hmacSha256(
    key,
    CHECK_LABEL,
    expectLength(friendKeyId, 6, "friend key id"),
    u32(serial),
    utf8(checkActivationCode(code)),
  );
}

/** Whether `code` is the one `check` was made for (constant time in the MAC). */
export function activationCodeMatches(
  key: Uint8Array,
  check: Uint8Array,
  friendKeyId: Uint8Array,
  serial: number,
  code: string,
): boolean {
  return equalBytes(activationCheck(key, friendKeyId, serial, code), check);
}
