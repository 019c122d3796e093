// Key schedule and signed payloads of the standard and fast transactions
// (docs/transaction.md "The commands", "Standard key derivation", "Fast key
// derivation"). Both emulators
// call these same functions, so a derivation bug cannot hide as agreement
// between two copies; test/protocol/transaction-keys.test.ts checks them
// against an independent node:crypto implementation.
import { tlv } from "./ber-tlv.js";
import { concatBytes, expectLength } from "./bytes.js";
import {
  CONTEXT_PERSISTENT,
  CONTEXT_VOLATILE,
  CONTEXT_VOLATILE_FAST,
  DEVICE_USAGE,
  INTERFACE_BYTE,
  TAG,
  TRANSACTION_ID_LENGTH,
  VEHICLE_USAGE,
} from "./constants.js";
import { hkdfExtractSha256, hkdfSha256, hmacSha256, x963Kdf } from "./kdf.js";
import type { SessionKeys } from "./secure-messaging.js";

/** What both sides know about one transaction once AUTH0 has been answered. */
export interface TransactionContext {
  readonly vehicleIdentifier: Uint8Array;
  /** x(vehicle ephemeral), 32 bytes. */
  readonly vehicleEphemeralX: Uint8Array;
  /** x(endpoint ephemeral), 32 bytes. */
  readonly endpointEphemeralX: Uint8Array;
  readonly transactionId: Uint8Array;
  /** AUTH0's P1 ‖ P2. */
  readonly flags: Uint8Array;
  /** The version the vehicle chose (2 bytes). */
  readonly version: Uint8Array;
  /** The device's whole 5C value. */
  readonly versions: Uint8Array;
}

function checkContext(c: TransactionContext): void {
  expectLength(c.vehicleEphemeralX, 32, "vehicleEphemeralX");
  expectLength(c.endpointEphemeralX, 32, "endpointEphemeralX");
  expectLength(c.transactionId, TRANSACTION_ID_LENGTH, "transactionId");
  expectLength(c.flags, 2, "flags");
  expectLength(c.version, 2, "version");
}

/** The bytes each side signs in a standard transaction; `usage` tells the two signatures apart. */
export function authenticationPayload(c: TransactionContext, usage: "vehicle" | "device"): Uint8Array {
  checkContext(c);
  return concatBytes(
    tlv(TAG.VEHICLE_ID, c.vehicleIdentifier),
    tlv(TAG.ENDPOINT_EPHEMERAL, c.endpointEphemeralX),
    tlv(TAG.VEHICLE_EPHEMERAL, c.vehicleEphemeralX),
    tlv(TAG.TRANSACTION_ID, c.transactionId),
    tlv(TAG.USAGE, usage === "vehicle" ? VEHICLE_USAGE : DEVICE_USAGE),
  );
}

/** Kdh = X9.63-KDF-SHA256(Z, sharedinfo = transaction id), 32 bytes. */
export function deriveKdh(sharedX: Uint8Array, transactionId: Uint8Array): Uint8Array {
  expectLength(sharedX, 32, "shared secret");
  return x963Kdf(sharedX, expectLength(transactionId, TRANSACTION_ID_LENGTH, "transactionId"), 32);
}

export function standardInfo(c: TransactionContext, context: Uint8Array): Uint8Array {
  checkContext(c);
  return concatBytes(
    c.vehicleEphemeralX,
    c.endpointEphemeralX,
    c.transactionId,
    Uint8Array.of(INTERFACE_BYTE),
    c.flags,
    context,
    tlv(TAG.VERSIONS, c.version),
    tlv(TAG.VERSIONS, c.versions),
  );
}

export interface StandardKeys extends SessionKeys {
  readonly persistent: Uint8Array;
}

export function deriveStandardKeys(kdh: Uint8Array, c: TransactionContext): StandardKeys {
  const persistent = hkdfSha256(kdh, standardInfo(c, CONTEXT_PERSISTENT), 32);
  const volatile = hkdfSha256(kdh, standardInfo(c, CONTEXT_VOLATILE), 48);
  return {
    persistent,
    kenc: volatile.slice(0, 16),
    kmac: volatile.slice(16, 32),
    krmac: volatile.slice(32, 48),
  };
}

export interface FastKeys extends SessionKeys {
  readonly cryptogram: Uint8Array;
}

/** The part of infoFast fixed for one vehicle and one endpoint: a reader can compute it ahead. */
export function fastInfoPrefix(
  vehicleIdentifier: Uint8Array,
  vehicleLongTermX: Uint8Array,
  endpointLongTermX: Uint8Array,
): Uint8Array {
  return concatBytes(
    expectLength(vehicleLongTermX, 32, "vehicleLongTermX"),
    CONTEXT_VOLATILE_FAST,
    vehicleIdentifier,
    expectLength(endpointLongTermX, 32, "endpointLongTermX"),
    Uint8Array.of(INTERFACE_BYTE),
  );
}

/** The part of infoFast that changes with every transaction (and is the same for every endpoint). */
export function fastInfoSuffix(c: TransactionContext): Uint8Array {
  checkContext(c);
  return concatBytes(
    tlv(TAG.VERSIONS, c.versions),
    tlv(TAG.VERSIONS, c.version),
    c.vehicleEphemeralX,
    c.transactionId,
    c.flags,
    c.endpointEphemeralX,
  );
}

export function fastInfo(
  c: TransactionContext,
  vehicleLongTermX: Uint8Array,
  endpointLongTermX: Uint8Array,
): Uint8Array {
  checkContext(c);
  return concatBytes(
    fastInfoPrefix(c.vehicleIdentifier, vehicleLongTermX, endpointLongTermX),
    fastInfoSuffix(c),
  );
}

/**
 * HKDF-Extract of Kpersistent with no salt (RFC 5869 §2.2): it depends on the
 * key alone, so a vehicle trying a cryptogram against many keys keeps it.
 */
export function fastPseudorandomKey(persistent: Uint8Array): Uint8Array {
  return hkdfExtractSha256(expectLength(persistent, 32, "persistent key"));
}

/**
 * The cryptogram alone: the first 16 bytes of HKDF-Expand's T(1) =
 * HMAC(PRK, infoFast ‖ 01) (RFC 5869 §2.3), one HMAC instead of the four
 * blocks deriveFastKeys computes. Equal to deriveFastKeys(...).cryptogram.
 */
export function fastCryptogram(prk: Uint8Array, infoPrefix: Uint8Array, infoSuffix: Uint8Array): Uint8Array {
  return hmacSha256(expectLength(prk, 32, "PRK"), infoPrefix, infoSuffix, Uint8Array.of(1)).slice(0, 16);
}

export function deriveFastKeys(
  persistent: Uint8Array,
  c: TransactionContext,
  vehicleLongTermX: Uint8Array,
  endpointLongTermX: Uint8Array,
): FastKeys {
  const okm = hkdfSha256(
    expectLength(persistent, 32, "persistent key"),
    fastInfo(c, vehicleLongTermX, endpointLongTermX),
    64,
  );
  return {
    cryptogram: okm.slice(0, 16),
    kenc: okm.slice(16, 32),
    kmac: okm.slice(32, 48),
    krmac: okm.slice(48, 64),
  };
}
