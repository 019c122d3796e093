// Errors of the vehicle emulator. A tap never throws them to its caller: the
// car records a refused transaction in its log with the reason; they reach the
// caller of the car's management API (pairing, the dashboard, notices, lists).
import type { Flow, RefusalEvidence } from "./tap-result.js";

export class VehicleError extends Error {
  override name = "VehicleError";
}

/** A dashboard delete-key refused because no owner key was present (tapped) within the window. */
export class OwnerNotPresentError extends VehicleError {
  override name = "OwnerNotPresentError";
}

/** A step of a transaction failed for a reason the log should carry. */
export class ChannelError extends Error {
  override name = "ChannelError";
}

/** Owner pairing did not complete; nothing was stored. */
export class PairingRefusedError extends Error {
  override name = "PairingRefusedError";
  constructor(
    message: string,
    /** True when the failure is a password guess that counts against the attempt limit. */
    readonly countsAsAttempt = false,
  ) {
    super(message);
  }
}

/** A refused transaction, with the reason the transaction log records. */
export class TransactionRefusedError extends Error {
  override name = "TransactionRefusedError";
  constructor(
    reason: string,
    public keyId: string | null = null,
    public flow: Flow | null = null,
    public evidence?: RefusalEvidence,
    /** The status word that caused it, when a device answer did. */
    readonly sw?: number,
  ) {
    super(reason);
  }
}
