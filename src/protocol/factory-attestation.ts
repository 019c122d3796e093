// Factory attestation: the secure element's manufacturer vouches, at
// production, that an instance CA key was generated inside a genuine SE with
// this identifier (docs/protocol.md "Factory attestation"). The Device OEM
// certifies an instance CA only with this proof. The emulator plays the
// manufacturer with a software key the service is configured to trust.
import { tlv } from "./ber-tlv.js";
import { equalBytes, expectLength, readUint, uintBytes } from "./bytes.js";
import { deviceIdFromInstanceKey } from "./device-identity.js";
import { VerificationError } from "./errors.js";
import { assertPublicKey, signRaw } from "./p256.js";
import {
  encodeSignedStatement,
  parseSignedStatement,
  statementBody,
  verifyStatementSignature,
} from "./signed-statement.js";

/** ASCII "FACT". */
export const FACTORY_USAGE = Uint8Array.of(0x46, 0x41, 0x43, 0x54);
const TAG_DEVICE_ID = 0xc5;
const TAG_INSTANCE_PUBLIC = 0xc0;
const TAG_ISSUED_AT = 0xc3;

export interface FactoryAttestationFacts {
  /** The SE identifier (16 bytes). */
  readonly deviceId: Uint8Array;
  readonly instanceCaPublicKey: Uint8Array;
  readonly issuedAt: number;
}

export function factoryAttestationBody(f: FactoryAttestationFacts): Uint8Array {
  return statementBody(FACTORY_USAGE, [
    tlv(TAG_DEVICE_ID, expectLength(f.deviceId, 16, "device id")),
    tlv(TAG_INSTANCE_PUBLIC, assertPublicKey(f.instanceCaPublicKey, "instance CA public key")),
    tlv(TAG_ISSUED_AT, uintBytes(f.issuedAt, 8)),
  ]);
}

/**
 * The manufacturer's side, with a software key: what the emulators, the local
 * stack and the tests play. A real SE leaves its factory with this statement.
 */
export function signFactoryAttestation(
  manufacturerKey: Uint8Array,
  facts: FactoryAttestationFacts,
): Uint8Array {
  const body = factoryAttestationBody(facts);
  return encodeSignedStatement(body, signRaw(manufacturerKey, body));
}

export function verifyFactoryAttestation(
  encoded: Uint8Array,
  manufacturerPublicKey: Uint8Array,
): FactoryAttestationFacts {
  const statement = parseSignedStatement(encoded, FACTORY_USAGE, "factory attestation");
  const f = statement.fields;
  verifyStatementSignature(statement, manufacturerPublicKey, "factory attestation");
  const facts = {
    deviceId: f.require(TAG_DEVICE_ID, "device id", 16),
    instanceCaPublicKey: assertPublicKey(
      f.require(TAG_INSTANCE_PUBLIC, "instance CA public key", 65),
      "instance CA public key",
    ),
    issuedAt: readUint(f.require(TAG_ISSUED_AT, "issue time", 8)),
  };
  if (!equalBytes(facts.deviceId, deviceIdFromInstanceKey(facts.instanceCaPublicKey))) {
    throw new VerificationError("factory attestation: device id is not derived from the instance CA key");
  }
  return facts;
}
