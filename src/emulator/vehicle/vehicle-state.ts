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
  /** The SE the key lives on (from its instance CA key), when enrolled through a certificate chain. */
  deviceId?: string;
  /** For shared keys: the owner key that attested it, and the attestation's serial. */
  attestedBy?: string;
  attestationSerial?: number;
  /**
   * For a key a co-owner shared: the co-owner keys of its chain, nearest the owner first. Revoking
   * any of them drops this key too.
   */
  sharedVia?: string[];
  /** Lost mode: a Device OEM notice suspended this device's keys. */
  suspended?: boolean;
  /** Kpersistent after the last completed standard transaction. */
  persistentKey?: string;
  /** The immobilizer token provisioned into the key's confidential mailbox. */
  immobilizerToken?: string;
  /** The last transaction this key authenticated in and the car kept (ISO time); local only. */
  lastUsedAt?: string;
  /**
   * A key on a second device of the owner (the watch), attested by this owner key: role owner, the
   * owner's profile, outside the friend slots; it goes when that owner key goes.
   */
  ownerDeviceOf?: string;
  /** The owner required an activation code for this share and the car checked it at the first tap. */
  activatedWithCode?: boolean;
  /**
   * Transient, never stored: the attestation's activation check (hex) and the code the enrollment
   * package carried, for the car to check once the key has proved itself in AUTH1.
   */
  pendingActivation?: { check: string; code: string | null };
}

/** What the automaker provisioned for owner pairing: the SPAKE2+ verifier, never the password. */
export interface StoredPairingVerifier {
  w0: string;
  L: string;
  salt: string;
  N: number;
  r: number;
  p: number;
  /** The automaker's id of this pairing material (8 bytes, hex), signed into the pairing confirmation. Absent in older states. */
  pairingId?: string;
}

export interface RevokedKey {
  keyId: string;
  /** Serial of the attestation that was revoked, when known. */
  attestationSerial: number | null;
  attestedBy: string | null;
  revokedAt: string;
  /**
   * `expired`: the profile's validity ended (the car drops the key by its own clock); `deleted`:
   * the dashboard's delete-key, authorized by an owner key present.
   */
  reason:
    | "owner-revocation"
    | "terminated"
    | "removed"
    | "revocation-list"
    | "expired"
    | "deleted"
    | "sharer-revoked";
}

export interface VehicleState {
  format: typeof VEHICLE_STATE_FORMAT;
  vehicleIdentifier: string;
  publicKey: string;
  /** The vehicle's long-term private key (in a real car: its HSM). */
  privateKey: string;
  brand: string;
  /** Issued by the Vehicle OEM root; sent to devices at pairing and in share invitations. */
  vehicleCertificate: string | null;
  /** The Vehicle OEM root from installCertificates: verifies revocation lists. Absent in older states. */
  vehicleOemRoot?: string;
  /** Highest revocation-list sequence applied (src/protocol/revocation-list.ts); absent until the first. */
  revocationListSequence?: number;
  /** The Device OEM roots whose devices this car accepts keys from. */
  deviceOemRoots: string[];
  pairing: { verifier: StoredPairingVerifier | null; failedAttempts: number };
  /** Public keys of every owner key since the last "remove all keys", newest last (attestations stay valid across migration). */
  ownerKeys: string[];
  /**
   * When each former owner key was replaced by a migration (public key hex → ISO time): its
   * attestations from before still enroll friends, any it signs afterwards are refused.
   */
  ownerKeysReplacedAt?: Record<string, string>;
  /**
   * The device (SE id) each paired owner key lives on (public key hex → device id), kept after the
   * key is replaced or revoked, so attestations from a device in lost mode are refused. Absent in
   * older states, where the enrolled owner endpoint's deviceId is used instead.
   */
  ownerKeyDevices?: Record<string, string>;
  /**
   * Keys that stopped for good. For an owner key, `revokedAt` is also the time after which its
   * key attestations are refused (the revocation list's time when it came from one).
   */
  revoked: RevokedKey[];
  /** Highest lifecycle-notice counter applied, per device id. */
  noticeCounters: Record<string, number>;
  /**
   * Devices whose last applied notice was a suspension: their keys are refused,
   * including keys the car enrolls or pairs after the notice. Absent in states
   * written before lost mode existed.
   */
  suspendedDevices?: string[];
  doorsLocked: boolean;
  /**
   * How many keys shared by an owner (enrolled from a key attestation) the car holds at most;
   * absent in older states, where DEFAULT_FRIEND_KEY_SLOTS applies.
   */
  friendKeySlots?: number;
  /** The last owner key that authenticated at a reader and when: authorizes one dashboard delete-key. */
  ownerPresence?: { keyId: string; at: string };
  /**
   * Keys deleted at the dashboard that the automaker has not been told of yet: the car's telematics
   * reports each when it is online (src/client/lifecycle-client.ts syncVehicle), then drops it here.
   */
  pendingDeletions?: { keyId: string; deletedAt: string }[];
  /** Wrong activation codes per share ("<signer key id>:<serial>"); at MAX_ACTIVATION_ATTEMPTS the share is refused. */
  activationAttempts?: Record<string, number>;
  /** Shares ("<signer key id>:<serial>") whose one-time activation code enrolled a key: never again. */
  activationsUsed?: string[];
  endpoints: EnrolledEndpoint[];
  log: TapResult[];
}
