// Identifiers and constants of the NFC protocol (docs/transaction.md
// "Constants"), in one place so the device and the vehicle cannot disagree.
import { fromHex, utf8 } from "./bytes.js";

export const DIGITAL_KEY_AID = fromHex("A000000809434343444B417631");
export const FRAMEWORK_AID = fromHex("A000000809434343444B467631");

export const PROTOCOL_VERSION = fromHex("0200");
/**
 * The 5C value the device offers in SELECT, highest first. Both versions run
 * the same transaction; the chosen one enters the key derivation (TLV 5C), so
 * the two sides must agree on it. Each side accepts every version listed here.
 */
export const SUPPORTED_VERSIONS = fromHex("02000100");

export const INTERFACE_BYTE = 0x5e;
export const VEHICLE_USAGE = fromHex("415D9569");
export const DEVICE_USAGE = fromHex("4E887B4C");

export const CONTEXT_PERSISTENT = utf8("Persistent");
export const CONTEXT_VOLATILE = utf8("Volatile");
export const CONTEXT_VOLATILE_FAST = utf8("VolatileFast");

export const TRANSACTION_ID_LENGTH = 16;
export const MIN_VEHICLE_ID_LENGTH = 8;
export const MAX_VEHICLE_ID_LENGTH = 32;

export const FLAG_STANDARD = 0x00;
export const FLAG_FAST = 0x01;

export const TransactionCode = { UNLOCK: 0x01, LOCK: 0x02, ENGINE_START: 0x03 } as const;

export const CLA_PROPRIETARY = 0x80;
export const CLA_SECURE = 0x84;

export const INS = {
  SELECT: 0xa4,
  AUTH0: 0x80,
  AUTH1: 0x81,
  EXCHANGE: 0xc9,
  CONTROL_FLOW: 0x3c,
} as const;

export const TAG = {
  VERSIONS: 0x5c,
  VEHICLE_EPHEMERAL: 0x87,
  ENDPOINT_EPHEMERAL: 0x86,
  TRANSACTION_ID: 0x4c,
  VEHICLE_ID: 0x4d,
  KEY_ID: 0x4e,
  CRYPTOGRAM: 0x9d,
  SIGNATURE: 0x9e,
  USAGE: 0x93,
} as const;
