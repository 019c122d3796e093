// Key attestation: the owner's SE vouches for a friend's endpoint key, with
// the access profile the owner chose (docs/protocol.md "Key attestation").
// Signed by the owner's endpoint key for that vehicle, so a car that trusts
// the owner can enroll the friend offline, taking the profile from here and
// never from anything the friend's device claims.
import {
  type AccessProfile,
  encodeAccessProfile,
  parseAccessProfile,
  TAG_PROFILE,
} from "./access-profile.js";
import { ACTIVATION_CHECK_LENGTH } from "./activation-code.js";
import { tlv } from "./ber-tlv.js";
import { equalBytes, expectLength, readUint, uintBytes } from "./bytes.js";
import { TlvError, VerificationError } from "./errors.js";
import { assertPublicKey, keyIdentifier } from "./p256.js";
import {
  parseSignedStatement,
  type SignedStatement,
  statementBody,
  verifyStatementSignature,
} from "./signed-statement.js";

/** ASCII "KATT". */
export const KEY_ATTESTATION_USAGE = Uint8Array.of(0x4b, 0x41, 0x54, 0x54);
export const TAG = {
  VEHICLE_ID: 0x4d,
  KEY_ID: 0x4e,
  ENDPOINT_PUBLIC: 0xc0,
  SERIAL: 0xc2,
  ISSUED_AT: 0xc3,
  SIGNER_KEY_ID: 0xc4,
  ACTIVATION_CHECK: 0xca,
  HOLDER: 0xcb,
} as const;

/** Tag CB: the attested key is on another device of the owner (a watch), not a friend's. */
const HOLDER_OWNER_DEVICE = 0x01;

export interface KeyAttestationFacts {
  readonly vehicleIdentifier: Uint8Array;
  /** The friend's endpoint public key. */
  readonly endpointPublicKey: Uint8Array;
  readonly profile: AccessProfile;
  /** Monotonic per owner key and vehicle; revocations name it. */
  readonly serial: number;
  /** Unix milliseconds. */
  readonly issuedAt: number;
  /** Key identifier of the owner key that signs. */
  readonly signerKeyId: Uint8Array;
  /**
   * Present when the owner requires an activation code (src/protocol/activation-code.ts): the MAC
   * of the code the car checks at the first tap. Absent: the attestation alone enrolls the key.
   */
  readonly activationCheck?: Uint8Array | undefined;
  /**
   * True when the key is on a second device of the owner (tag CB = 01, e.g. the paired watch): the
   * car treats it as an owner key with the owner's profile, outside the friend slots (docs/protocol.md §28).
   */
  readonly ownerDevice?: boolean | undefined;
}

export function keyAttestationBody(f: KeyAttestationFacts): Uint8Array {
  const endpoint = assertPublicKey(f.endpointPublicKey, "endpoint public key");
  return statementBody(KEY_ATTESTATION_USAGE, [
    tlv(TAG.VEHICLE_ID, f.vehicleIdentifier),
    tlv(TAG.ENDPOINT_PUBLIC, endpoint),
    tlv(TAG.KEY_ID, keyIdentifier(endpoint)),
    encodeAccessProfile(f.profile),
    tlv(TAG.SERIAL, uintBytes(f.serial, 4)),
    tlv(TAG.ISSUED_AT, uintBytes(f.issuedAt, 8)),
    tlv(TAG.SIGNER_KEY_ID, expectLength(f.signerKeyId, 6, "signer key id")),
    ...(f.activationCheck
      ? [
          tlv(
            TAG.ACTIVATION_CHECK,
            expectLength(f.activationCheck, ACTIVATION_CHECK_LENGTH, "activation check"),
          ),
        ]
      : []),
    ...(f.ownerDevice ? [tlv(TAG.HOLDER, Uint8Array.of(HOLDER_OWNER_DEVICE))] : []),
  ]);
}

/** Parses an attestation without verifying it (to find out who should have signed it). */
export function parseKeyAttestation(encoded: Uint8Array): {
  facts: KeyAttestationFacts;
  statement: SignedStatement;
} {
  const statement = parseSignedStatement(encoded, KEY_ATTESTATION_USAGE, "key attestation");
  const f = statement.fields;
  const endpointPublicKey = f.require(TAG.ENDPOINT_PUBLIC, "endpoint public key", 65);
  assertPublicKey(endpointPublicKey, "endpoint public key");
  if (!equalBytes(keyIdentifier(endpointPublicKey), f.require(TAG.KEY_ID, "key identifier", 6))) {
    throw new VerificationError("key attestation: key identifier does not match the endpoint key");
  }
  const facts: KeyAttestationFacts = {
    vehicleIdentifier: f.require(TAG.VEHICLE_ID, "vehicle identifier", [8, 32]),
    endpointPublicKey,
    profile: parseAccessProfile(f.require(TAG_PROFILE, "access profile")),
    serial: readUint(f.require(TAG.SERIAL, "serial", 4)),
    issuedAt: readUint(f.require(TAG.ISSUED_AT, "issue time", 8)),
    signerKeyId: f.require(TAG.SIGNER_KEY_ID, "signer key id", 6),
    ...(f.optional(TAG.ACTIVATION_CHECK)
      ? { activationCheck: f.require(TAG.ACTIVATION_CHECK, "activation check", ACTIVATION_CHECK_LENGTH) }
      : {}),
    ...(f.optional(TAG.HOLDER) ? { ownerDevice: holder(f.require(TAG.HOLDER, "holder", 1)) } : {}),
  };
  return { facts, statement };
}

function holder(value: Uint8Array): true {
  if (value[0] !== HOLDER_OWNER_DEVICE) throw new TlvError(`unknown key holder ${value[0]}`);
  return true;
}

/** Parses and verifies against the owner key the verifier trusts. */
export function verifyKeyAttestation(encoded: Uint8Array, ownerPublicKey: Uint8Array): KeyAttestationFacts {
  const { facts, statement } = parseKeyAttestation(encoded);
  if (!equalBytes(keyIdentifier(ownerPublicKey), facts.signerKeyId)) {
    throw new VerificationError("key attestation: signed by another owner key");
  }
  verifyStatementSignature(statement, ownerPublicKey, "key attestation");
  return facts;
}
