// What one tap at a reader produced: the decision the car took and why. The
// CLI prints it as JSON; the vehicle's transaction log stores the same shape.

export type ReaderPosition = "door" | "dashboard";
export type Decision = "unlocked" | "locked" | "started" | "refused";
export type Flow = "standard" | "fast";

export interface TapResult {
  decision: Decision;
  flow: Flow | null;
  keyId: string | null;
  reason: string;
  reader: ReaderPosition;
  /** Set when a drive key started the engine: the car limits itself to this speed. */
  speedLimitKmh?: number;
  at: string;
}
