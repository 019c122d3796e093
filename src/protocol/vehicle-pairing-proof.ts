// The vehicle's proof in owner pairing (docs/protocol.md "Owner pairing",
// "Vehicle's proof"): in WRITE DATA the vehicle signs, with the private key
// of the vehicle certificate it presents, both SPAKE2+ shares of this session
// and its identifier. SPAKE2+ alone proves only that the other side knows the
// verifier for the password the phone's owner typed — and whoever sets up
// the session chooses that password. Any vehicle certificate chaining to the
// Vehicle OEM root is public (share invitations carry it), so without this
// signature anyone could play a car with a password of his own and have an
// honest SE certify an owner key. X is fresh from the device, Y from the car:
// a proof from another session never verifies.
//
// The signed bytes use the envelope of signed-statement.ts with usage
// "VPRF"; only the 64-byte signature travels (the device rebuilds the body
// from what it already holds), in TLV(9E) of WRITE DATA.
import { tlv } from "./ber-tlv.js";
import { expectLength } from "./bytes.js";
import { checkVehicleIdentifier } from "./certificate-profiles.js";
import { VerificationError } from "./errors.js";
import { verifyRaw } from "./p256.js";
import { statementBody } from "./signed-statement.js";

/** ASCII "VPRF". */
export const VEHICLE_PAIRING_PROOF_USAGE = Uint8Array.of(0x56, 0x50, 0x52, 0x46);
export const VEHICLE_PROOF_TAG = { VEHICLE_ID: 0x4d, SHARE_P: 0x50, SHARE_V: 0x52 } as const;

export interface VehiclePairingProofFacts {
  readonly vehicleIdentifier: Uint8Array;
  /** X, the device's SPAKE2+ share (65 bytes, uncompressed). */
  readonly shareP: Uint8Array;
  /** Y, the vehicle's SPAKE2+ share. */
  readonly shareV: Uint8Array;
}

/** The bytes the vehicle signs: TLV(70, TLV(93, "VPRF") ‖ TLV(4D, id) ‖ TLV(50, X) ‖ TLV(52, Y)). */
export function vehiclePairingProofBody(f: VehiclePairingProofFacts): Uint8Array {
  return statementBody(VEHICLE_PAIRING_PROOF_USAGE, [
    tlv(VEHICLE_PROOF_TAG.VEHICLE_ID, checkVehicleIdentifier(f.vehicleIdentifier, "vehicle identifier")),
    tlv(VEHICLE_PROOF_TAG.SHARE_P, expectLength(f.shareP, 65, "X")),
    tlv(VEHICLE_PROOF_TAG.SHARE_V, expectLength(f.shareV, 65, "Y")),
  ]);
}

/** Throws a VerificationError unless `signature` is the vehicle key's signature over this session. */
export function verifyVehiclePairingProof(
  signature: Uint8Array,
  facts: VehiclePairingProofFacts,
  vehiclePublicKey: Uint8Array,
): void {
  const body = vehiclePairingProofBody(facts);
  if (signature.length !== 64 || !verifyRaw(signature, body, vehiclePublicKey)) {
    throw new VerificationError(
      "the vehicle's pairing proof does not verify with the key of its certificate",
    );
  }
}
