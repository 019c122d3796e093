// Codecs for the data fields of SELECT, AUTH0, AUTH1, EXCHANGE and CONTROL
// FLOW (docs/transaction.md "The commands"). Builders check what they are given; parsers
// check lengths and mandatory tags, so the SE and the vehicle only ever see
// well-formed values.

import type { CommandApdu } from "./apdu.js";
import { TlvMap, tlv } from "./ber-tlv.js";
import { concatBytes, expectLength } from "./bytes.js";
import {
  CLA_PROPRIETARY,
  CLA_SECURE,
  DIGITAL_KEY_AID,
  INS,
  MAX_VEHICLE_ID_LENGTH,
  MIN_VEHICLE_ID_LENGTH,
  TAG,
  TRANSACTION_ID_LENGTH,
} from "./constants.js";
import { ProtocolInputError, TlvError } from "./errors.js";
import { assertPublicKey } from "./p256.js";

export function selectCommand(aid: Uint8Array = DIGITAL_KEY_AID): CommandApdu {
  return { cla: 0x00, ins: INS.SELECT, p1: 0x04, p2: 0x00, data: aid, le: 0 };
}

export function parseSelectResponse(data: Uint8Array): { versions: Uint8Array } {
  const versions = TlvMap.parse(data, "SELECT response").require(TAG.VERSIONS, "versions", [2, 32]);
  if (versions.length % 2 !== 0) throw new TlvError("versions must be a list of 2-byte versions");
  return { versions };
}

export interface Auth0Command {
  readonly fast: boolean;
  readonly transactionCode: number;
  readonly version: Uint8Array;
  readonly vehicleEphemeralPublic: Uint8Array;
  readonly transactionId: Uint8Array;
  readonly vehicleIdentifier: Uint8Array;
}

export function checkVehicleIdentifier(id: Uint8Array, name = "vehicle identifier"): Uint8Array {
  if (!(id instanceof Uint8Array) || id.length < MIN_VEHICLE_ID_LENGTH || id.length > MAX_VEHICLE_ID_LENGTH) {
    throw new ProtocolInputError(
      `${name} must be ${MIN_VEHICLE_ID_LENGTH} to ${MAX_VEHICLE_ID_LENGTH} bytes`,
    );
  }
  return id;
}

export function auth0Command(a: Auth0Command): CommandApdu {
  const data = concatBytes(
    tlv(TAG.VERSIONS, expectLength(a.version, 2, "version")),
    tlv(TAG.VEHICLE_EPHEMERAL, assertPublicKey(a.vehicleEphemeralPublic, "vehicle ephemeral public key")),
    tlv(TAG.TRANSACTION_ID, expectLength(a.transactionId, TRANSACTION_ID_LENGTH, "transaction id")),
    tlv(TAG.VEHICLE_ID, checkVehicleIdentifier(a.vehicleIdentifier)),
  );
  return {
    cla: CLA_PROPRIETARY,
    ins: INS.AUTH0,
    p1: a.fast ? 0x01 : 0x00,
    p2: a.transactionCode,
    data,
    le: 0,
  };
}

export function parseAuth0(command: CommandApdu): Auth0Command {
  if (command.p1 > 0x01) throw new ProtocolInputError("AUTH0 P1 must be 00 (standard) or 01 (fast)");
  const m = TlvMap.parse(command.data, "AUTH0");
  const vehicleEphemeralPublic = m.require(TAG.VEHICLE_EPHEMERAL, "vehicle ephemeral public key", 65);
  assertPublicKey(vehicleEphemeralPublic, "vehicle ephemeral public key");
  return {
    fast: command.p1 === 0x01,
    transactionCode: command.p2,
    version: m.require(TAG.VERSIONS, "version", 2),
    vehicleEphemeralPublic,
    transactionId: m.require(TAG.TRANSACTION_ID, "transaction id", TRANSACTION_ID_LENGTH),
    vehicleIdentifier: m.require(TAG.VEHICLE_ID, "vehicle identifier", [
      MIN_VEHICLE_ID_LENGTH,
      MAX_VEHICLE_ID_LENGTH,
    ]),
  };
}

export interface Auth0Response {
  readonly endpointEphemeralPublic: Uint8Array;
  readonly cryptogram?: Uint8Array | undefined;
}

export function auth0Response(r: Auth0Response): Uint8Array {
  return concatBytes(
    tlv(TAG.ENDPOINT_EPHEMERAL, assertPublicKey(r.endpointEphemeralPublic, "endpoint ephemeral public key")),
    r.cryptogram ? tlv(TAG.CRYPTOGRAM, expectLength(r.cryptogram, 16, "cryptogram")) : new Uint8Array(0),
  );
}

export function parseAuth0Response(data: Uint8Array): Auth0Response {
  const m = TlvMap.parse(data, "AUTH0 response");
  const endpointEphemeralPublic = m.require(TAG.ENDPOINT_EPHEMERAL, "endpoint ephemeral public key", 65);
  assertPublicKey(endpointEphemeralPublic, "endpoint ephemeral public key");
  const cryptogram = m.has(TAG.CRYPTOGRAM) ? m.require(TAG.CRYPTOGRAM, "cryptogram", 16) : undefined;
  return { endpointEphemeralPublic, cryptogram };
}

export function auth1Command(vehicleSignature: Uint8Array): CommandApdu {
  return {
    cla: CLA_PROPRIETARY,
    ins: INS.AUTH1,
    p1: 0x00,
    p2: 0x00,
    data: tlv(TAG.SIGNATURE, expectLength(vehicleSignature, 64, "vehicle signature")),
    le: 0,
  };
}

export function parseAuth1(command: CommandApdu): { vehicleSignature: Uint8Array } {
  return {
    vehicleSignature: TlvMap.parse(command.data, "AUTH1").require(TAG.SIGNATURE, "vehicle signature", 64),
  };
}

export interface Auth1ResponsePlaintext {
  readonly keyIdentifier: Uint8Array;
  readonly endpointSignature: Uint8Array;
}

export function auth1ResponsePlaintext(r: Auth1ResponsePlaintext): Uint8Array {
  return concatBytes(
    tlv(TAG.KEY_ID, expectLength(r.keyIdentifier, 6, "key identifier")),
    tlv(TAG.SIGNATURE, expectLength(r.endpointSignature, 64, "endpoint signature")),
  );
}

export function parseAuth1ResponsePlaintext(plaintext: Uint8Array): Auth1ResponsePlaintext {
  // Further TLVs may follow (docs/transaction.md, AUTH1); only 4E and 9E are read here.
  const m = TlvMap.parse(plaintext, "AUTH1 response");
  return {
    keyIdentifier: m.require(TAG.KEY_ID, "key identifier", 6),
    endpointSignature: m.require(TAG.SIGNATURE, "endpoint signature", 64),
  };
}

export function exchangeCommand(protectedData: Uint8Array): CommandApdu {
  return { cla: CLA_SECURE, ins: INS.EXCHANGE, p1: 0x00, p2: 0x00, data: protectedData, le: 0 };
}

/** CONTROL FLOW 01 00: the transaction ended and both sides may commit. */
export function endTransactionCommand(): CommandApdu {
  return { cla: CLA_PROPRIETARY, ins: INS.CONTROL_FLOW, p1: 0x01, p2: 0x00, data: new Uint8Array(0) };
}
