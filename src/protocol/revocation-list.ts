// The vehicle revocation list (docs/protocol.md §18): what the cloud
// service has recorded as revoked for one vehicle, numbered by a per-vehicle
// monotonic sequence and signed by the Vehicle OEM root, which every car
// holds from its certificate installation. The car fetches it through the
// OEM's telematics whenever it is online; the owner's private-mailbox path
// (revocation.ts) keeps working when it never is. One signed statement, usage
// "RVLS", in the envelope of signed-statement.ts:
//   4D vehicle id ‖ C6 after (8) ‖ C7 latest sequence (8) ‖ C3 issued at (8, ms)
//   ‖ C4 signer key id (6) ‖ A0 entries = (A1 entry)*
//   entry A1 = C9 sequence (8) ‖ 4E key id (6) ‖ [C2 attestation serial (4)] ‖ C3 revoked at (8, ms)
// The entries sit in one A0 container: a statement's top-level tags are unique.
// `after` is the cursor the list starts from (entries have sequences above it,
// ascending, the last equal to `latest`), so a car can tell a list it has
// already applied (latest not above its own) from one with a gap (after
// above its own). The serial is absent for owner keys, which have no attestation.
import { parseTlvs, TlvMap, tlv } from "./ber-tlv.js";
import { concatBytes, equalBytes, expectLength, readUint, uintBytes } from "./bytes.js";
import { checkVehicleIdentifier } from "./certificate-profiles.js";
import { MAX_VEHICLE_ID_LENGTH, MIN_VEHICLE_ID_LENGTH } from "./constants.js";
import { ProtocolInputError, TlvError, VerificationError } from "./errors.js";
import { keyIdentifier } from "./p256.js";
import {
  encodeSignedStatement,
  parseSignedStatement,
  statementBody,
  verifyStatementSignature,
} from "./signed-statement.js";

/** ASCII "RVLS". */
export const REVOCATION_LIST_USAGE = Uint8Array.of(0x52, 0x56, 0x4c, 0x53);
export const REVOCATION_LIST_TAG = {
  VEHICLE_ID: 0x4d,
  AFTER: 0xc6,
  LATEST: 0xc7,
  ISSUED_AT: 0xc3,
  SIGNER_KEY_ID: 0xc4,
  ENTRIES: 0xa0,
  ENTRY: 0xa1,
  SEQUENCE: 0xc9,
  KEY_ID: 0x4e,
  ATTESTATION_SERIAL: 0xc2,
  REVOKED_AT: 0xc3,
} as const;
const T = REVOCATION_LIST_TAG;

export interface RevocationListEntry {
  readonly sequence: number;
  readonly keyId: Uint8Array;
  /** Friend keys: the serial of the owner's attestation that was revoked. */
  readonly attestationSerial?: number;
  /** Unix milliseconds. */
  readonly revokedAt: number;
}

export interface RevocationList {
  readonly vehicleIdentifier: Uint8Array;
  readonly after: number;
  readonly latestSequence: number;
  /** Unix milliseconds. */
  readonly issuedAt: number;
  /** Key identifier of the Vehicle OEM root that signs. */
  readonly signerKeyId: Uint8Array;
  readonly entries: readonly RevocationListEntry[];
}

function checkOrder(
  after: number,
  latest: number,
  entries: readonly RevocationListEntry[],
  fail: (m: string) => never,
) {
  let previous = after;
  for (const entry of entries) {
    if (!Number.isSafeInteger(entry.sequence) || entry.sequence <= previous) {
      fail("revocation list: entry sequences must rise above `after`");
    }
    previous = entry.sequence;
  }
  if (latest !== previous)
    fail("revocation list: latest sequence must be the last entry's (or `after` when empty)");
}

/** The bytes the Vehicle OEM root signs (ECDSA-P256 over their SHA-256). */
export function revocationListBody(list: RevocationList): Uint8Array {
  checkOrder(list.after, list.latestSequence, list.entries, (m) => {
    throw new ProtocolInputError(m);
  });
  return statementBody(REVOCATION_LIST_USAGE, [
    tlv(T.VEHICLE_ID, checkVehicleIdentifier(list.vehicleIdentifier, "vehicle identifier")),
    tlv(T.AFTER, uintBytes(list.after, 8)),
    tlv(T.LATEST, uintBytes(list.latestSequence, 8)),
    tlv(T.ISSUED_AT, uintBytes(list.issuedAt, 8)),
    tlv(T.SIGNER_KEY_ID, expectLength(list.signerKeyId, 6, "signer key id")),
    tlv(
      T.ENTRIES,
      concatBytes(
        ...list.entries.map((e) =>
          tlv(
            T.ENTRY,
            concatBytes(
              tlv(T.SEQUENCE, uintBytes(e.sequence, 8)),
              tlv(T.KEY_ID, expectLength(e.keyId, 6, "entry key id")),
              e.attestationSerial === undefined
                ? concatBytes()
                : tlv(T.ATTESTATION_SERIAL, uintBytes(e.attestationSerial, 4)),
              tlv(T.REVOKED_AT, uintBytes(e.revokedAt, 8)),
            ),
          ),
        ),
      ),
    ),
  ]);
}

export function encodeRevocationList(body: Uint8Array, signature: Uint8Array): Uint8Array {
  return encodeSignedStatement(body, signature);
}

/** Parses a list and verifies it against the Vehicle OEM root key the verifier trusts. */
export function verifyRevocationList(
  encoded: Uint8Array,
  vehicleOemRootPublicKey: Uint8Array,
): RevocationList {
  const statement = parseSignedStatement(encoded, REVOCATION_LIST_USAGE, "revocation list");
  const f = statement.fields;
  const entries = parseTlvs(f.require(T.ENTRIES, "entries")).map((t) => {
    if (t.tag !== T.ENTRY) throw new TlvError("revocation list: the entries container holds only A1 entries");
    const e = TlvMap.parse(t.value, "revocation list entry");
    const serial = e.optional(T.ATTESTATION_SERIAL);
    if (serial !== undefined && serial.length !== 4) {
      throw new TlvError("revocation list entry: attestation serial must be 4 bytes");
    }
    return {
      sequence: readUint(e.require(T.SEQUENCE, "sequence", 8)),
      keyId: e.require(T.KEY_ID, "key id", 6),
      ...(serial === undefined ? {} : { attestationSerial: readUint(serial) }),
      revokedAt: readUint(e.require(T.REVOKED_AT, "revocation time", 8)),
    };
  });
  const list: RevocationList = {
    vehicleIdentifier: f.require(T.VEHICLE_ID, "vehicle identifier", [
      MIN_VEHICLE_ID_LENGTH,
      MAX_VEHICLE_ID_LENGTH,
    ]),
    after: readUint(f.require(T.AFTER, "after", 8)),
    latestSequence: readUint(f.require(T.LATEST, "latest sequence", 8)),
    issuedAt: readUint(f.require(T.ISSUED_AT, "issue time", 8)),
    signerKeyId: f.require(T.SIGNER_KEY_ID, "signer key id", 6),
    entries,
  };
  checkOrder(list.after, list.latestSequence, entries, (m) => {
    throw new TlvError(m);
  });
  if (!equalBytes(keyIdentifier(vehicleOemRootPublicKey), list.signerKeyId)) {
    throw new VerificationError("revocation list: signed by another root key");
  }
  verifyStatementSignature(statement, vehicleOemRootPublicKey, "revocation list");
  return list;
}
