// Status words the device answers with (ISO/IEC 7816-4 §5.6 where one fits).
// The emulators and docs/protocol.md share this table so a reader can tell a
// refusal's cause from its status word alone.

export const SW = {
  OK: 0x9000,
  /** Lost mode: the applet is locked and no key answers. */
  APPLET_LOCKED: 0x6283,
  /** Execution error, non-volatile memory unchanged: CONTROL FLOW reported a failed transaction, nothing kept. */
  NOTHING_COMMITTED: 0x6400,
  WRONG_LENGTH: 0x6700,
  /** Express mode is off for this key and no fresh user authentication was given. */
  USER_AUTH_REQUIRED: 0x6982,
  /** Pairing is blocked after too many failed attempts. */
  AUTH_BLOCKED: 0x6983,
  /** Command out of sequence, or the device is off and the key cannot answer on power reserve. */
  CONDITIONS_NOT_SATISFIED: 0x6985,
  /** Secure messaging: bad MAC or padding; the session ends. */
  SM_DATA_INCORRECT: 0x6988,
  /** Malformed data field (TLV, point, length). */
  WRONG_DATA: 0x6a80,
  FUNCTION_NOT_SUPPORTED: 0x6a81,
  APPLET_NOT_FOUND: 0x6a82,
  /** Mailbox write does not fit. */
  NOT_ENOUGH_MEMORY: 0x6a84,
  WRONG_P1P2: 0x6a86,
  /** No key for this vehicle (never provisioned, or deleted). */
  KEY_NOT_FOUND: 0x6a88,
  INS_NOT_SUPPORTED: 0x6d00,
  CLA_NOT_SUPPORTED: 0x6e00,
  /** A vehicle signature that does not verify. */
  VERIFICATION_FAILED: 0x6300,
  UNKNOWN: 0x6f00,
} as const;

export type StatusWord = (typeof SW)[keyof typeof SW];

const DESCRIPTIONS: Record<number, string> = {
  [SW.OK]: "success",
  [SW.APPLET_LOCKED]: "applet locked (lost mode)",
  [SW.NOTHING_COMMITTED]: "execution error, nothing committed",
  [SW.WRONG_LENGTH]: "wrong length",
  [SW.USER_AUTH_REQUIRED]: "user authentication required (express mode off)",
  [SW.AUTH_BLOCKED]: "pairing blocked",
  [SW.CONDITIONS_NOT_SATISFIED]: "conditions not satisfied (sequence or power state)",
  [SW.SM_DATA_INCORRECT]: "secure messaging data incorrect",
  [SW.WRONG_DATA]: "wrong data",
  [SW.FUNCTION_NOT_SUPPORTED]: "function not supported",
  [SW.APPLET_NOT_FOUND]: "applet not found",
  [SW.NOT_ENOUGH_MEMORY]: "not enough memory",
  [SW.WRONG_P1P2]: "wrong P1/P2",
  [SW.KEY_NOT_FOUND]: "no key for this vehicle",
  [SW.INS_NOT_SUPPORTED]: "instruction not supported",
  [SW.CLA_NOT_SUPPORTED]: "class not supported",
  [SW.VERIFICATION_FAILED]: "verification failed",
  [SW.UNKNOWN]: "unknown error",
};

export function describeStatus(sw: number): string {
  return DESCRIPTIONS[sw] ?? "unrecognised status";
}
