// Lost-mode notices: the Device OEM suspends or resumes the car keys of one
// device (docs/protocol.md "Lifecycle notices"). A device-directed notice
// locks or unlocks the SE applet; a vehicle-directed one (bound to one
// vehicle identifier) makes the car suspend or resume that device's keys.
// Counters are monotonic per device: a notice not newer than the last one
// applied is refused, so an old resume cannot undo a newer suspension.
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

export type NoticeAction = "suspend" | "resume";
const ACTION_CODES: Record<NoticeAction, number> = { suspend: 0x01, resume: 0x02 };

export interface LifecycleNotice {
  /** The secure element's identifier (16 bytes). */
  readonly deviceId: Uint8Array;
  readonly action: NoticeAction;
  readonly counter: number;
  readonly issuedAt: number;
  /** Present on vehicle-directed notices only. */
  readonly vehicleIdentifier?: Uint8Array | undefined;
}

export function noticeBody(n: LifecycleNotice): Uint8Array {
  return statementBody(NOTICE_USAGE, [
    tlv(TAG_DEVICE_ID, expectLength(n.deviceId, 16, "device id")),
    tlv(TAG_ACTION, Uint8Array.of(ACTION_CODES[n.action])),
    tlv(TAG_COUNTER, uintBytes(n.counter, 8)),
    tlv(TAG_ISSUED_AT, uintBytes(n.issuedAt, 8)),
    n.vehicleIdentifier ? tlv(TAG_VEHICLE_ID, n.vehicleIdentifier) : concatBytes(),
  ]);
}

/** Parses a notice and verifies it against the Device OEM key the verifier trusts. */
export function verifyNotice(encoded: Uint8Array, deviceOemPublicKey: Uint8Array): LifecycleNotice {
  const statement = parseSignedStatement(encoded, NOTICE_USAGE, "notice");
  const f = statement.fields;
  const code = f.require(TAG_ACTION, "action", 1)[0];
  const action = (Object.keys(ACTION_CODES) as NoticeAction[]).find((a) => ACTION_CODES[a] === code);
  if (!action) throw new TlvError(`notice: unknown action ${code}`);
  verifyStatementSignature(statement, deviceOemPublicKey, "notice");
  return {
    deviceId: f.require(TAG_DEVICE_ID, "device id", 16),
    action,
    counter: readUint(f.require(TAG_COUNTER, "counter", 8)),
    issuedAt: readUint(f.require(TAG_ISSUED_AT, "issue time", 8)),
    vehicleIdentifier: f.has(TAG_VEHICLE_ID)
      ? f.require(TAG_VEHICLE_ID, "vehicle identifier", [8, 32])
      : undefined,
  };
}
