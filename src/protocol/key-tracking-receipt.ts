// Key tracking receipt: the cloud service's signed acknowledgement that it
// has recorded a car key (owner or friend) for a vehicle. Signed by the
// Vehicle OEM root through the service's Signer port, in the one statement
// envelope of signed-statement.ts with usage "RCPT", so a device can show a
// vehicle or a workshop that the key is known to the automaker, offline, with
// the root the car already holds. The role is the one the endpoint
// certificate carries; for a friend the serial of the owner's attestation is
// included, since revocations name that serial.
import { tlv } from "./ber-tlv.js";
import { equalBytes, expectLength, readUint, uintBytes } from "./bytes.js";
import { checkVehicleIdentifier, KEY_ROLES, type KeyRole } from "./certificate-profiles.js";
import { MAX_VEHICLE_ID_LENGTH, MIN_VEHICLE_ID_LENGTH } from "./constants.js";
import { ProtocolInputError, TlvError, VerificationError } from "./errors.js";
import { assertPublicKey, keyIdentifier } from "./p256.js";
import {
  encodeSignedStatement,
  parseSignedStatement,
  type SignedStatement,
  statementBody,
  verifyStatementSignature,
} from "./signed-statement.js";

/** ASCII "RCPT". */
export const KEY_TRACKING_RECEIPT_USAGE = Uint8Array.of(0x52, 0x43, 0x50, 0x54);
export const RECEIPT_TAG = {
  VEHICLE_ID: 0x4d,
  KEY_ID: 0x4e,
  ENDPOINT_PUBLIC: 0xc0,
  ATTESTATION_SERIAL: 0xc2,
  REGISTERED_AT: 0xc3,
  SIGNER_KEY_ID: 0xc4,
  ROLE: 0xc8,
} as const;

export interface KeyTrackingReceiptFacts {
  readonly vehicleIdentifier: Uint8Array;
  readonly endpointPublicKey: Uint8Array;
  readonly role: KeyRole;
  /** Friend keys: the serial of the owner's key attestation; absent for owner keys. */
  readonly attestationSerial?: number;
  /** Unix milliseconds. */
  readonly registeredAt: number;
  /** Key identifier (tag 4E form) of the root that signs: lets a holder of several roots pick one. */
  readonly signerKeyId: Uint8Array;
}

/** The bytes the Vehicle OEM root signs (ECDSA-P256 over their SHA-256). */
export function keyTrackingReceiptBody(f: KeyTrackingReceiptFacts): Uint8Array {
  const endpoint = assertPublicKey(f.endpointPublicKey, "endpoint public key");
  const role = KEY_ROLES.indexOf(f.role);
  if (role < 0) throw new ProtocolInputError(`role must be one of ${KEY_ROLES.join(", ")}`);
  if ((f.role === "friend") !== (f.attestationSerial !== undefined)) {
    throw new ProtocolInputError(
      "attestationSerial is required for a friend key and refused for an owner key",
    );
  }
  return statementBody(KEY_TRACKING_RECEIPT_USAGE, [
    tlv(RECEIPT_TAG.VEHICLE_ID, checkVehicleIdentifier(f.vehicleIdentifier, "vehicle identifier")),
    tlv(RECEIPT_TAG.KEY_ID, keyIdentifier(endpoint)),
    tlv(RECEIPT_TAG.ENDPOINT_PUBLIC, endpoint),
    tlv(RECEIPT_TAG.ROLE, Uint8Array.of(role)),
    ...(f.attestationSerial === undefined
      ? []
      : [tlv(RECEIPT_TAG.ATTESTATION_SERIAL, uintBytes(f.attestationSerial, 4))]),
    tlv(RECEIPT_TAG.REGISTERED_AT, uintBytes(f.registeredAt, 8)),
    tlv(RECEIPT_TAG.SIGNER_KEY_ID, expectLength(f.signerKeyId, 6, "signer key id")),
  ]);
}

export function encodeKeyTrackingReceipt(body: Uint8Array, signature: Uint8Array): Uint8Array {
  return encodeSignedStatement(body, signature);
}

/** Parses a receipt without verifying its signature (to learn which root should have signed it). */
export function parseKeyTrackingReceipt(encoded: Uint8Array): {
  facts: KeyTrackingReceiptFacts;
  statement: SignedStatement;
} {
  const statement = parseSignedStatement(encoded, KEY_TRACKING_RECEIPT_USAGE, "key tracking receipt");
  const f = statement.fields;
  const endpointPublicKey = f.require(RECEIPT_TAG.ENDPOINT_PUBLIC, "endpoint public key", 65);
  assertPublicKey(endpointPublicKey, "endpoint public key");
  if (!equalBytes(keyIdentifier(endpointPublicKey), f.require(RECEIPT_TAG.KEY_ID, "key identifier", 6))) {
    throw new VerificationError("key tracking receipt: key identifier does not match the endpoint key");
  }
  const role = KEY_ROLES[f.require(RECEIPT_TAG.ROLE, "role", 1)[0]!];
  if (!role) throw new TlvError("key tracking receipt: unknown role");
  const serial = f.optional(RECEIPT_TAG.ATTESTATION_SERIAL);
  if ((role === "friend") !== (serial !== undefined)) {
    throw new TlvError("key tracking receipt: an attestation serial belongs to friend keys only");
  }
  const facts: KeyTrackingReceiptFacts = {
    vehicleIdentifier: f.require(RECEIPT_TAG.VEHICLE_ID, "vehicle identifier", [
      MIN_VEHICLE_ID_LENGTH,
      MAX_VEHICLE_ID_LENGTH,
    ]),
    endpointPublicKey,
    role,
    ...(serial === undefined ? {} : { attestationSerial: readUint(expectSerial(serial)) }),
    registeredAt: readUint(f.require(RECEIPT_TAG.REGISTERED_AT, "registration time", 8)),
    signerKeyId: f.require(RECEIPT_TAG.SIGNER_KEY_ID, "signer key id", 6),
  };
  return { facts, statement };
}

function expectSerial(serial: Uint8Array): Uint8Array {
  if (serial.length !== 4) throw new TlvError("key tracking receipt: attestation serial must be 4 bytes");
  return serial;
}

/** Parses and verifies a receipt against the Vehicle OEM root key the verifier trusts. */
export function verifyKeyTrackingReceipt(
  encoded: Uint8Array,
  vehicleOemRootPublicKey: Uint8Array,
): KeyTrackingReceiptFacts {
  const { facts, statement } = parseKeyTrackingReceipt(encoded);
  if (!equalBytes(keyIdentifier(vehicleOemRootPublicKey), facts.signerKeyId)) {
    throw new VerificationError("key tracking receipt: signed by another root key");
  }
  verifyStatementSignature(statement, vehicleOemRootPublicKey, "key tracking receipt");
  return facts;
}
