// What the Digital Key applet may ask of the secure element that hosts it.
// Private keys stay behind this interface: the applet can have something
// signed or agreed, never read a scalar.
import type { AccessProfile } from "../../protocol/access-profile.js";
import type { MailboxId } from "../../protocol/mailbox-operations.js";

export interface KeyView {
  readonly keyId: Uint8Array;
  readonly endpointPublicKey: Uint8Array;
  readonly vehicleIdentifier: Uint8Array;
  readonly vehiclePublicKey: Uint8Array;
  readonly profile: AccessProfile;
  readonly express: boolean;
}

/** How the last committed transaction of a key ended: its flow and CONTROL FLOW's P2 (the vehicle's code). */
export interface TransactionEnding {
  readonly flow: "standard" | "fast";
  readonly controlFlowP2: number;
}

/** Why no key may answer right now, or undefined when `key` may. */
export type AnswerRefusal = "locked" | "user-auth-required" | "power-reserve";

export interface KeyVault {
  findKeyForVehicle(vehicleIdentifier: Uint8Array): KeyView | undefined;
  refusalFor(key: KeyView): AnswerRefusal | undefined;
  signWithEndpoint(keyId: Uint8Array, message: Uint8Array): Uint8Array;
  persistentKey(keyId: Uint8Array): Uint8Array | undefined;
  readMailbox(keyId: Uint8Array, mailbox: MailboxId): Uint8Array;
  /** Applies a completed transaction atomically: new persistent key, mailbox images, how it ended. */
  commitTransaction(
    keyId: Uint8Array,
    update: {
      persistent?: Uint8Array;
      mailboxes: ReadonlyMap<MailboxId, Uint8Array>;
      ending: TransactionEnding;
    },
  ): void;
  randomBytes(length: number): Uint8Array;
}
