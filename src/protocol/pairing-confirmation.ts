// Pairing confirmation (docs/protocol.md "Pairing confirmation"): at the end
// of owner pairing the vehicle signs, with its vehicle key, that it paired
// this owner endpoint key under this pairing material. The device keeps it
// with the new owner key and carries it to the automaker's service, which
// verifies it with the vehicle public key on record from vehicle enrollment
// and spends exactly the pairing record it names. Only the car knows whether
// the owner standing beside it typed the right password, so only the car's
// signature may make a key the cloud's owner.
import { tlv } from "./ber-tlv.js";
import { equalBytes, expectLength, readUint, uintBytes } from "./bytes.js";
import { checkVehicleIdentifier } from "./certificate-profiles.js";
import { MAX_VEHICLE_ID_LENGTH, MIN_VEHICLE_ID_LENGTH } from "./constants.js";
import { VerificationError } from "./errors.js";
import { assertPublicKey } from "./p256.js";
import {
  encodeSignedStatement,
  parseSignedStatement,
  statementBody,
  verifyStatementSignature,
} from "./signed-statement.js";

/** ASCII "PCNF". */
export const PAIRING_CONFIRMATION_USAGE = Uint8Array.of(0x50, 0x43, 0x4e, 0x46);
export const PAIRING_CONFIRMATION_TAG = {
  VEHICLE_ID: 0x4d,
  ENDPOINT_PUBLIC: 0xc0,
  CONFIRMED_AT: 0xc1,
  PAIRING_ID: 0xc9,
} as const;
/** The automaker's pairing id: 8 bytes (src/service/pairing-material.ts draws them at random). */
export const PAIRING_ID_LENGTH = 8;

export interface PairingConfirmationFacts {
  readonly pairingId: Uint8Array;
  readonly vehicleIdentifier: Uint8Array;
  /** The new owner key's endpoint public key, uncompressed. */
  readonly endpointPublicKey: Uint8Array;
  /** By the vehicle's clock, Unix milliseconds. */
  readonly confirmedAt: number;
}

/** The bytes the vehicle signs (ECDSA-P256-SHA256). */
export function pairingConfirmationBody(f: PairingConfirmationFacts): Uint8Array {
  const T = PAIRING_CONFIRMATION_TAG;
  return statementBody(PAIRING_CONFIRMATION_USAGE, [
    tlv(T.PAIRING_ID, expectLength(f.pairingId, PAIRING_ID_LENGTH, "pairing id")),
    tlv(T.VEHICLE_ID, checkVehicleIdentifier(f.vehicleIdentifier, "vehicle identifier")),
    tlv(T.ENDPOINT_PUBLIC, assertPublicKey(f.endpointPublicKey, "endpoint public key")),
    tlv(T.CONFIRMED_AT, uintBytes(f.confirmedAt, 8)),
  ]);
}

export function encodePairingConfirmation(body: Uint8Array, signature: Uint8Array): Uint8Array {
  return encodeSignedStatement(body, signature);
}

/** Parses and verifies a pairing confirmation with the vehicle's public key; returns what it says. */
export function verifyPairingConfirmation(
  encoded: Uint8Array,
  vehiclePublicKey: Uint8Array,
): PairingConfirmationFacts {
  const statement = parseSignedStatement(encoded, PAIRING_CONFIRMATION_USAGE, "pairing confirmation");
  const f = statement.fields;
  const T = PAIRING_CONFIRMATION_TAG;
  const facts: PairingConfirmationFacts = {
    pairingId: f.require(T.PAIRING_ID, "pairing id", PAIRING_ID_LENGTH),
    vehicleIdentifier: f.require(T.VEHICLE_ID, "vehicle identifier", [
      MIN_VEHICLE_ID_LENGTH,
      MAX_VEHICLE_ID_LENGTH,
    ]),
    endpointPublicKey: assertPublicKey(f.require(T.ENDPOINT_PUBLIC, "endpoint public key", 65), "endpoint"),
    confirmedAt: readUint(f.require(T.CONFIRMED_AT, "confirmation time", 8)),
  };
  verifyStatementSignature(statement, vehiclePublicKey, "pairing confirmation");
  return facts;
}

/** Checks that a verified confirmation names this vehicle and this endpoint key. */
export function checkPairingConfirmationFor(
  facts: PairingConfirmationFacts,
  vehicleIdentifier: Uint8Array,
  endpointPublicKey: Uint8Array,
): void {
  if (!equalBytes(facts.vehicleIdentifier, vehicleIdentifier)) {
    throw new VerificationError("the pairing confirmation is for another vehicle");
  }
  if (!equalBytes(facts.endpointPublicKey, endpointPublicKey)) {
    throw new VerificationError("the pairing confirmation is for another endpoint key");
  }
}
