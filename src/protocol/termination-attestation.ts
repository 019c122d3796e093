// Termination attestation: proof, signed by a key's own endpoint key at the
// moment the SE deletes it, that the key is gone (docs/protocol.md
// "Termination attestation"). The car or the cloud verifies it against the
// endpoint public key it already holds; the attestation's copy of that key
// only has to match.
import { tlv } from "./ber-tlv.js";
import { equalBytes, expectLength, readUint, uintBytes } from "./bytes.js";
import { VerificationError } from "./errors.js";
import { keyIdentifier } from "./p256.js";
import {
  encodeSignedStatement,
  parseSignedStatement,
  statementBody,
  verifyStatementSignature,
} from "./signed-statement.js";

/** ASCII "TERM". */
export const TERMINATION_USAGE = Uint8Array.of(0x54, 0x45, 0x52, 0x4d);
const TAG_KEY_ID = 0x4e;
const TAG_VEHICLE_ID = 0x4d;
const TAG_ENDPOINT_PUBLIC = 0xc0;
const TAG_TERMINATED_AT = 0xc1;

export interface TerminationFacts {
  readonly keyIdentifier: Uint8Array;
  readonly vehicleIdentifier: Uint8Array;
  readonly endpointPublicKey: Uint8Array;
  /** Unix milliseconds. */
  readonly terminatedAt: number;
}

export function terminationBody(f: TerminationFacts): Uint8Array {
  return statementBody(TERMINATION_USAGE, [
    tlv(TAG_KEY_ID, expectLength(f.keyIdentifier, 6, "key identifier")),
    tlv(TAG_VEHICLE_ID, f.vehicleIdentifier),
    tlv(TAG_ENDPOINT_PUBLIC, expectLength(f.endpointPublicKey, 65, "endpoint public key")),
    tlv(TAG_TERMINATED_AT, uintBytes(f.terminatedAt, 8)),
  ]);
}

export function encodeTerminationAttestation(body: Uint8Array, signature: Uint8Array): Uint8Array {
  return encodeSignedStatement(body, signature);
}

/**
 * Parses and verifies a termination attestation. With `expectedEndpointPublicKey`
 * (what the verifier has on record) the embedded key must match it.
 */
export function verifyTerminationAttestation(
  encoded: Uint8Array,
  expectedEndpointPublicKey?: Uint8Array,
): TerminationFacts {
  const statement = parseSignedStatement(encoded, TERMINATION_USAGE, "termination attestation");
  const f = statement.fields;
  const facts: TerminationFacts = {
    keyIdentifier: f.require(TAG_KEY_ID, "key identifier", 6),
    vehicleIdentifier: f.require(TAG_VEHICLE_ID, "vehicle identifier", [8, 32]),
    endpointPublicKey: f.require(TAG_ENDPOINT_PUBLIC, "endpoint public key", 65),
    terminatedAt: readUint(f.require(TAG_TERMINATED_AT, "termination time", 8)),
  };
  if (expectedEndpointPublicKey && !equalBytes(expectedEndpointPublicKey, facts.endpointPublicKey)) {
    throw new VerificationError("termination attestation is for another endpoint key");
  }
  if (!equalBytes(keyIdentifier(facts.endpointPublicKey), facts.keyIdentifier)) {
    throw new VerificationError("termination attestation key identifier does not match its key");
  }
  verifyStatementSignature(statement, facts.endpointPublicKey, "termination attestation");
  return facts;
}
