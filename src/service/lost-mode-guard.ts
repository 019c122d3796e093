// Lost mode reaches the service too (README "Remote revocation, lifecycle
// notices, lost mode, migration"): a suspended
// device's keys sign no request that changes anything. On its own, so the
// request authenticator that applies it and the notices that set the mode
// depend on it, not on each other.
import { ForbiddenError } from "./errors.js";
import type { Store } from "./ports.js";

/** Refuses, saying what that refuses (`consequence`), when `seId` is in lost mode (suspended). */
export async function refuseIfSuspended(store: Store, seId: string, consequence: string): Promise<void> {
  if ((await store.getDeviceNoticeState(seId)).lostMode === "suspended") {
    throw new ForbiddenError(`secure element ${seId} is in lost mode (suspended): ${consequence}`);
  }
}
