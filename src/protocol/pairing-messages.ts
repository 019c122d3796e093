// Owner pairing over the framework applet (docs/protocol.md
// §9 "Owner pairing", after the public notes on CCC Release 3 pairing):
// SELECT, SPAKE2+ REQUEST / VERIFY in clear, then WRITE DATA (vehicle →
// device) and GET DATA (device → vehicle) under secure messaging keyed from
// the SPAKE2+ shared secret, long answers fetched with GET RESPONSE (61xx).

import type { CommandApdu } from "./apdu.js";
import { TlvMap, tlv } from "./ber-tlv.js";
import { concatBytes, expectLength, readUint, u16, u32, utf8 } from "./bytes.js";
import { CLA_PROPRIETARY, CLA_SECURE, FRAMEWORK_AID, INS } from "./constants.js";
import { ProtocolInputError, TlvError } from "./errors.js";
import { hkdfSha256 } from "./kdf.js";
import type { ScryptParams } from "./pairing-password.js";
import { INS_GET_RESPONSE } from "./response-chaining.js";
import type { SessionKeys } from "./secure-messaging.js";

export const SPAKE2PLUS_VERSION = Uint8Array.of(0x01, 0x00);
export const PAIRING_INS = {
  SPAKE2_REQUEST: 0x30,
  SPAKE2_VERIFY: 0x32,
  WRITE_DATA: 0xd4,
  GET_DATA: 0xca,
  GET_RESPONSE: INS_GET_RESPONSE,
} as const;
export const PairingState = { UNPAIRED: 0x00, PASSWORD_ENTERED: 0x02 } as const;

export const PAIRING_TAG = {
  SPAKE_VERSIONS: 0x5a,
  CHOSEN_SPAKE_VERSION: 0x5b,
  APPLET_VERSIONS: 0x5c,
  PAIRING_STATE: 0xd4,
  SCRYPT: 0x7f50,
  SALT: 0xc0,
  N: 0xc1,
  R: 0xc2,
  P: 0xc3,
  BRAND: 0xd6,
  SHARE_P: 0x50,
  SHARE_V: 0x52,
  VEHICLE_EVIDENCE: 0x57,
  DEVICE_EVIDENCE: 0x58,
  VEHICLE_ID: 0x4d,
  VEHICLE_CERTIFICATE: 0xda,
  ENDPOINT_CERTIFICATE: 0xdc,
  INSTANCE_CA_CERTIFICATE: 0xdd,
  /** WRITE DATA: the vehicle's signature over this session (src/protocol/vehicle-pairing-proof.ts). */
  VEHICLE_PROOF: 0x9e,
} as const;

/** P1 of WRITE DATA: the vehicle's data (identifier, certificate, proof), or its pairing confirmation. */
export const WRITE_DATA_P1 = { VEHICLE_DATA: 0x00, PAIRING_CONFIRMATION: 0x01 } as const;

/** Context string of the SPAKE2+ transcript: binds the negotiated versions and the brand. */
export function pairingContext(
  chosenVersion: Uint8Array,
  appletVersions: Uint8Array,
  brand: Uint8Array,
): Uint8Array {
  return concatBytes(
    utf8("CarKeys-OwnerPairing-v1"),
    tlv(PAIRING_TAG.CHOSEN_SPAKE_VERSION, chosenVersion),
    tlv(PAIRING_TAG.APPLET_VERSIONS, appletVersions),
    tlv(PAIRING_TAG.BRAND, brand),
  );
}

/** Kenc ‖ Kmac ‖ Krmac for the rest of the pairing session, from the SPAKE2+ shared key. */
export function pairingSessionKeys(sharedKey: Uint8Array): SessionKeys {
  const okm = hkdfSha256(sharedKey, utf8("CarKeys-Pairing-SecureMessaging-v1"), 48);
  return { kenc: okm.slice(0, 16), kmac: okm.slice(16, 32), krmac: okm.slice(32, 48) };
}

export function frameworkSelectCommand(): CommandApdu {
  return { cla: 0x00, ins: INS.SELECT, p1: 0x04, p2: 0x00, data: FRAMEWORK_AID, le: 0 };
}

export function frameworkSelectResponse(appletVersions: Uint8Array, state: number): Uint8Array {
  return concatBytes(
    tlv(PAIRING_TAG.SPAKE_VERSIONS, SPAKE2PLUS_VERSION),
    tlv(PAIRING_TAG.APPLET_VERSIONS, appletVersions),
    tlv(PAIRING_TAG.PAIRING_STATE, Uint8Array.of(state)),
  );
}

export function parseFrameworkSelectResponse(data: Uint8Array) {
  const m = TlvMap.parse(data, "framework SELECT response");
  return {
    spakeVersions: m.require(PAIRING_TAG.SPAKE_VERSIONS, "SPAKE2+ versions", [2, 16]),
    appletVersions: m.require(PAIRING_TAG.APPLET_VERSIONS, "applet versions", [2, 16]),
    state: m.require(PAIRING_TAG.PAIRING_STATE, "pairing state", 1)[0]!,
  };
}

export interface Spake2RequestData {
  readonly chosenVersion: Uint8Array;
  readonly appletVersions: Uint8Array;
  readonly scrypt: ScryptParams;
  readonly brand: Uint8Array;
}

export function spake2RequestCommand(r: Spake2RequestData): CommandApdu {
  const scrypt = concatBytes(
    tlv(PAIRING_TAG.SALT, expectLength(r.scrypt.salt, 16, "salt")),
    tlv(PAIRING_TAG.N, u32(r.scrypt.N)),
    tlv(PAIRING_TAG.R, u16(r.scrypt.r)),
    tlv(PAIRING_TAG.P, u16(r.scrypt.p)),
  );
  if (r.brand.length < 1 || r.brand.length > 64) throw new ProtocolInputError("brand must be 1 to 64 bytes");
  const data = concatBytes(
    tlv(PAIRING_TAG.CHOSEN_SPAKE_VERSION, expectLength(r.chosenVersion, 2, "SPAKE2+ version")),
    tlv(PAIRING_TAG.APPLET_VERSIONS, r.appletVersions),
    tlv(PAIRING_TAG.SCRYPT, scrypt),
    tlv(PAIRING_TAG.BRAND, r.brand),
  );
  return { cla: CLA_PROPRIETARY, ins: PAIRING_INS.SPAKE2_REQUEST, p1: 0, p2: 0, data, le: 0 };
}

export function parseSpake2Request(command: CommandApdu): Spake2RequestData {
  const m = TlvMap.parse(command.data, "SPAKE2+ REQUEST");
  const s = TlvMap.parse(m.require(PAIRING_TAG.SCRYPT, "scrypt parameters"), "scrypt parameters");
  return {
    chosenVersion: m.require(PAIRING_TAG.CHOSEN_SPAKE_VERSION, "SPAKE2+ version", 2),
    appletVersions: m.require(PAIRING_TAG.APPLET_VERSIONS, "applet versions", [2, 16]),
    scrypt: {
      salt: s.require(PAIRING_TAG.SALT, "salt", 16),
      N: readUint(s.require(PAIRING_TAG.N, "N", 4)),
      r: readUint(s.require(PAIRING_TAG.R, "r", 2)),
      p: readUint(s.require(PAIRING_TAG.P, "p", 2)),
    },
    brand: m.require(PAIRING_TAG.BRAND, "brand", [1, 64]),
  };
}

export function spake2VerifyCommand(shareV: Uint8Array, vehicleEvidence: Uint8Array): CommandApdu {
  const data = concatBytes(
    tlv(PAIRING_TAG.SHARE_V, expectLength(shareV, 65, "Y")),
    tlv(PAIRING_TAG.VEHICLE_EVIDENCE, expectLength(vehicleEvidence, 16, "vehicle evidence")),
  );
  return { cla: CLA_PROPRIETARY, ins: PAIRING_INS.SPAKE2_VERIFY, p1: 0, p2: 0, data, le: 0 };
}

export function parseSpake2Verify(command: CommandApdu): { shareV: Uint8Array; vehicleEvidence: Uint8Array } {
  const m = TlvMap.parse(command.data, "SPAKE2+ VERIFY");
  return {
    shareV: m.require(PAIRING_TAG.SHARE_V, "Y", 65),
    vehicleEvidence: m.require(PAIRING_TAG.VEHICLE_EVIDENCE, "vehicle evidence", 16),
  };
}

export function writeDataCommand(protectedData: Uint8Array): CommandApdu {
  return {
    cla: CLA_SECURE,
    ins: PAIRING_INS.WRITE_DATA,
    p1: WRITE_DATA_P1.VEHICLE_DATA,
    p2: 0,
    data: protectedData,
    le: 0,
  };
}

/** WRITE DATA with P1 01: the protected plaintext is the pairing confirmation statement itself. */
export function writeConfirmationCommand(protectedData: Uint8Array): CommandApdu {
  return {
    cla: CLA_SECURE,
    ins: PAIRING_INS.WRITE_DATA,
    p1: WRITE_DATA_P1.PAIRING_CONFIRMATION,
    p2: 0,
    data: protectedData,
    le: 0,
  };
}

export function getDataCommand(protectedData: Uint8Array): CommandApdu {
  return { cla: CLA_SECURE, ins: PAIRING_INS.GET_DATA, p1: 0, p2: 0, data: protectedData, le: 0 };
}

/** GET RESPONSE for the rest of a chained answer (src/protocol/response-chaining.ts). */
export { getResponseCommand } from "./response-chaining.js";

/** What the vehicle tells the device in WRITE DATA: who it is, and its signature over this session. */
export function vehicleDataPlaintext(
  vehicleIdentifier: Uint8Array,
  vehicleCertificate: Uint8Array,
  vehicleProof: Uint8Array,
): Uint8Array {
  return concatBytes(
    tlv(PAIRING_TAG.VEHICLE_ID, vehicleIdentifier),
    tlv(PAIRING_TAG.VEHICLE_CERTIFICATE, vehicleCertificate),
    tlv(PAIRING_TAG.VEHICLE_PROOF, expectLength(vehicleProof, 64, "vehicle proof")),
  );
}

export function parseVehicleData(plaintext: Uint8Array): {
  vehicleIdentifier: Uint8Array;
  vehicleCertificate: Uint8Array;
  vehicleProof: Uint8Array;
} {
  const m = TlvMap.parse(plaintext, "WRITE DATA");
  return {
    vehicleIdentifier: m.require(PAIRING_TAG.VEHICLE_ID, "vehicle identifier", [8, 32]),
    vehicleCertificate: m.require(PAIRING_TAG.VEHICLE_CERTIFICATE, "vehicle certificate", [1, 4096]),
    vehicleProof: m.require(PAIRING_TAG.VEHICLE_PROOF, "vehicle proof", 64),
  };
}

/** What the device answers to GET DATA: its new endpoint certificate and its instance CA certificate. */
export function deviceDataPlaintext(
  endpointCertificate: Uint8Array,
  instanceCaCertificate: Uint8Array,
): Uint8Array {
  return concatBytes(
    tlv(PAIRING_TAG.ENDPOINT_CERTIFICATE, endpointCertificate),
    tlv(PAIRING_TAG.INSTANCE_CA_CERTIFICATE, instanceCaCertificate),
  );
}

export function parseDeviceData(plaintext: Uint8Array): {
  endpointCertificate: Uint8Array;
  instanceCaCertificate: Uint8Array;
} {
  const m = TlvMap.parse(plaintext, "GET DATA");
  return {
    endpointCertificate: m.require(PAIRING_TAG.ENDPOINT_CERTIFICATE, "endpoint certificate", [1, 4096]),
    instanceCaCertificate: m.require(
      PAIRING_TAG.INSTANCE_CA_CERTIFICATE,
      "instance CA certificate",
      [1, 4096],
    ),
  };
}

export function checkChosenVersion(version: Uint8Array): void {
  if (version.length !== 2 || version[0] !== SPAKE2PLUS_VERSION[0] || version[1] !== SPAKE2PLUS_VERSION[1]) {
    throw new TlvError("unsupported SPAKE2+ version");
  }
}
