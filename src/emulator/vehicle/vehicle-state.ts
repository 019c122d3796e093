// The vehicle emulator's persistent state: its identity, the endpoints it
// trusts with their profiles and per-endpoint secrets (persistent key,
// immobilizer token), the door lock, and the transaction log. It stands for
// the car's ECU and HSM storage; the CLI keeps it in one JSON file.
import type { AccessProfile } from "../../protocol/access-profile.js";
import type { TapResult } from "./tap-result.js";

export const VEHICLE_STATE_FORMAT = "carkeys-vehicle/1";

export interface EnrolledEndpoint {
  keyId: string;
  endpointPublicKey: string;
  profile: AccessProfile;
  role: "owner" | "friend";
  enrolledAt: string;
  /** Kpersistent after the last completed standard transaction. */
  persistentKey?: string;
  /** The immobilizer token provisioned into the key's confidential mailbox. */
  immobilizerToken?: string;
}

export interface VehicleState {
  format: typeof VEHICLE_STATE_FORMAT;
  vehicleIdentifier: string;
  publicKey: string;
  /** The vehicle's long-term private key (in a real car: its HSM). */
  privateKey: string;
  doorsLocked: boolean;
  endpoints: EnrolledEndpoint[];
  log: TapResult[];
}
