// Lost-mode notices: the Device OEM suspends or resumes the car keys of one
// device (docs/protocol.md "Lifecycle notices"). A device-directed notice
// locks or unlocks the SE applet; a vehicle-directed one (bound to one
// vehicle identifier) makes the car suspend or resume that device's keys.
// Counters are monotonic per device: a notice not newer than the last one
// applied is refused, so an old resume cannot undo a newer suspension.
// A "terminate-key" notice (action 03, sent when a key is revoked remotely) is
// device-directed and names one key (tag 4E): the SE deletes it and answers
// with the key's termination attestation. It shares the device's counter.
import { tlv } from "./ber-tlv.js";
import { concatBytes, expectLength, readUint, uintBytes } from "./bytes.js";
import { TlvError } from "./errors.js";
import { parseSignedStatement, statementBody, verifyStatementSignature } from "./signed-statement.js";

/** ASCII "NTCE". */
export const NOTICE_USAGE = Uint8Array.of(0x4e, 0x54, 0x43, 0x45);
const TAG_DEVICE_ID = 0xc5;
const TAG_ACTION = 0xc6;
const TAG_COUNTER = 0xc7;
const TAG_ISSUED_AT = 0xc3;
const TAG_VEHICLE_ID = 0x4d;
const TAG_KEY_ID = 0x4e;

export type NoticeAction = "suspend" | "resume" | "terminate-key";
const ACTION_CODES: Record<NoticeAction, number> = { suspend: 0x01, resume: 0x02, "terminate-key": 0x03 };

export interface LifecycleNotice {
  /** The secure element's identifier (16 bytes). */
  readonly deviceId: Uint8Array;
  readonly action: NoticeAction;
  readonly counter: number;
  readonly issuedAt: number;
  /** Present on vehicle-directed notices only. */
  readonly vehicleIdentifier?: Uint8Array | undefined;
  /** "terminate-key" only: the key (tag 4E, 6 bytes) the SE must delete. */
  readonly keyIdentifier?: Uint8Array | undefined;
}

function checkKeyField(
  action: NoticeAction,
  keyId: Uint8Array | undefined,
  vehicleId: Uint8Array | undefined,
) {
  if ((action === "terminate-key") !== (keyId !== undefined)) {
    throw new TlvError("notice: a key identifier belongs to terminate-key notices, and they need one");
  }
  if (action === "terminate-key" && vehicleId !== undefined) {
    throw new TlvError("notice: a terminate-key notice is device-directed (no vehicle identifier)");
  }
}

export function noticeBody(n: LifecycleNotice): Uint8Array {
  checkKeyField(n.action, n.keyIdentifier, n.vehicleIdentifier);
  return statementBody(NOTICE_USAGE, [
    tlv(TAG_DEVICE_ID, expectLength(n.deviceId, 16, "device id")),
    tlv(TAG_ACTION, Uint8Array.of(ACTION_CODES[n.action])),
    tlv(TAG_COUNTER, uintBytes(n.counter, 8)),
    tlv(TAG_ISSUED_AT, uintBytes(n.issuedAt, 8)),
    n.vehicleIdentifier ? tlv(TAG_VEHICLE_ID, n.vehicleIdentifier) : concatBytes(),
    n.keyIdentifier ? tlv(TAG_KEY_ID, expectLength(n.keyIdentifier, 6, "key identifier")) : concatBytes(),
  ]);
}

/** Parses a notice and verifies it against the Device OEM key the verifier trusts. */
export function verifyNotice(encoded: Uint8Array, deviceOemPublicKey: Uint8Array): LifecycleNotice {
  const statement = parseSignedStatement(encoded, NOTICE_USAGE, "notice");
  const f = statement.fields;
  const code = f.require(TAG_ACTION, "action", 1)[0];
  const action = (Object.keys(ACTION_CODES) as NoticeAction[]).find((a) => ACTION_CODES[a] === code);
  if (!action) throw new TlvError(`notice: unknown action ${code}`);
  const vehicleIdentifier = f.has(TAG_VEHICLE_ID)
    ? f.require(TAG_VEHICLE_ID, "vehicle identifier", [8, 32])
    : undefined;
  const keyIdentifier = f.has(TAG_KEY_ID) ? f.require(TAG_KEY_ID, "key identifier", 6) : undefined;
  checkKeyField(action, keyIdentifier, vehicleIdentifier);
  verifyStatementSignature(statement, deviceOemPublicKey, "notice");
  return {
    deviceId: f.require(TAG_DEVICE_ID, "device id", 16),
    action,
    counter: readUint(f.require(TAG_COUNTER, "counter", 8)),
    issuedAt: readUint(f.require(TAG_ISSUED_AT, "issue time", 8)),
    vehicleIdentifier,
    ...(keyIdentifier ? { keyIdentifier } : {}),
  };
}
