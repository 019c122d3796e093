// Revocation: the owner's SE (or the automaker) orders a vehicle to drop a
// friend key (docs/protocol.md "Revocation"). Written into the owner's
// private mailbox, the car reads it at the owner's next tap; no network is
// involved. Signed by the owner's endpoint key for that vehicle.
import { tlv } from "./ber-tlv.js";
import { equalBytes, expectLength, readUint, uintBytes } from "./bytes.js";
import { VerificationError } from "./errors.js";
import { keyIdentifier } from "./p256.js";
import {
  parseSignedStatement,
  type SignedStatement,
  statementBody,
  verifyStatementSignature,
} from "./signed-statement.js";

/** ASCII "RVKE". */
export const REVOCATION_USAGE = Uint8Array.of(0x52, 0x56, 0x4b, 0x45);
const TAG_VEHICLE_ID = 0x4d;
const TAG_REVOKED_KEY_ID = 0x4e;
const TAG_SERIAL = 0xc2;
const TAG_ISSUED_AT = 0xc3;
const TAG_SIGNER_KEY_ID = 0xc4;

export interface RevocationFacts {
  readonly vehicleIdentifier: Uint8Array;
  readonly revokedKeyId: Uint8Array;
  /** Serial of the revoked key's attestation. */
  readonly attestationSerial: number;
  readonly issuedAt: number;
  readonly signerKeyId: Uint8Array;
}

export function revocationBody(f: RevocationFacts): Uint8Array {
  return statementBody(REVOCATION_USAGE, [
    tlv(TAG_VEHICLE_ID, f.vehicleIdentifier),
    tlv(TAG_REVOKED_KEY_ID, expectLength(f.revokedKeyId, 6, "revoked key id")),
    tlv(TAG_SERIAL, uintBytes(f.attestationSerial, 4)),
    tlv(TAG_ISSUED_AT, uintBytes(f.issuedAt, 8)),
    tlv(TAG_SIGNER_KEY_ID, expectLength(f.signerKeyId, 6, "signer key id")),
  ]);
}

export function parseRevocation(encoded: Uint8Array): { facts: RevocationFacts; statement: SignedStatement } {
  const statement = parseSignedStatement(encoded, REVOCATION_USAGE, "revocation");
  const f = statement.fields;
  return {
    statement,
    facts: {
      vehicleIdentifier: f.require(TAG_VEHICLE_ID, "vehicle identifier", [8, 32]),
      revokedKeyId: f.require(TAG_REVOKED_KEY_ID, "revoked key id", 6),
      attestationSerial: readUint(f.require(TAG_SERIAL, "serial", 4)),
      issuedAt: readUint(f.require(TAG_ISSUED_AT, "issue time", 8)),
      signerKeyId: f.require(TAG_SIGNER_KEY_ID, "signer key id", 6),
    },
  };
}

export function verifyRevocation(encoded: Uint8Array, signerPublicKey: Uint8Array): RevocationFacts {
  const { facts, statement } = parseRevocation(encoded);
  if (!equalBytes(keyIdentifier(signerPublicKey), facts.signerKeyId)) {
    throw new VerificationError("revocation: signed by another key");
  }
  verifyStatementSignature(statement, signerPublicKey, "revocation");
  return facts;
}
