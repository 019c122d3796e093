// What one tap at a reader produced: the decision the car took and why. The
// CLI prints it as JSON; the vehicle's transaction log stores the same shape.
import type { DrivingLimits } from "../../protocol/access-profile.js";

export type ReaderPosition = "door" | "dashboard";
export type Decision = "unlocked" | "locked" | "started" | "refused";
export type Flow = "standard" | "fast";

/** For a refused transaction: the step that failed, its APDUs in hex, and what the car expected instead. */
export interface RefusalEvidence {
  step: string;
  /** The command APDU of that step, hex; empty when the car refused before sending one. */
  command: string;
  /** The device's answer, hex (data ‖ SW1 SW2); empty when none came. */
  answer: string;
  expected: string;
}

export interface TapResult {
  decision: Decision;
  flow: Flow | null;
  keyId: string | null;
  reason: string;
  reader: ReaderPosition;
  /** Set when a drive key started the engine: the car limits itself to this speed. */
  speedLimitKmh?: number;
  /** Set when a key with driving limits started the engine: every limit the car applies for this drive. */
  limits?: DrivingLimits;
  /** Mailbox work the car could not do in this transaction, each with why; it is retried later. */
  skipped?: string[];
  /** Set on refusals the device's answers caused. */
  failure?: RefusalEvidence;
  at: string;
}
