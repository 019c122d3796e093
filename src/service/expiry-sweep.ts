// The service's expiry sweep: time-boxed keys (an attested profile with a
// valid until, docs/protocol.md §7) stop at the car and on the SE by their own
// clocks, but the service only learns of it from the SE's termination, which
// a phone of another maker, a phone that is off for good or one that was
// wiped never posts. So the service stops them itself: a scheduled run
// (functions/expiry-sweep.ts, hourly in the stack; the local server runs it
// too) lists the active keys whose end has passed from the sparse key-ends
// index (a Query per bucket, never a Scan: src/adapters/dynamodb/table-design.ts)
// and revokes each as the OEM would, reason `expired`
// (KeyRevocation.revokeExpired): the key's state, a revocation-list entry for
// the car and a terminate-key notice for the SE, in one conditional
// transaction, and the events. A revoked key leaves the index, so a second
// run finds nothing, two concurrent runs revoke each key once (the loser's
// conditional write fails and it reads the key settled), and a run cut short
// leaves the rest for the next. Work per run is bounded by the caller's
// `shouldStop` (the Lambda's remaining time), checked before each page and
// each key; one key that fails is logged and counted and the run goes on.
import type { KeyRevocation } from "./key-revocation.js";
import { logger } from "./logger.js";
import type { Clock, Store } from "./ports.js";

/** Keys per Query page: small enough that a page is done well within one run's margin. */
export const EXPIRY_SWEEP_PAGE_SIZE = 25;

export interface ExpirySweepOptions {
  readonly store: Store;
  readonly clock: Clock;
  readonly revocations: Pick<KeyRevocation, "revokeExpired">;
}

export interface ExpirySweepLimits {
  /** Keys per page of the index (default EXPIRY_SWEEP_PAGE_SIZE). */
  readonly pageSize?: number;
  /** Asked before each page and each key: true ends the run there (the next run continues). */
  readonly shouldStop?: () => boolean;
}

/** What one run did; numbers only, no key ids (they would name people's keys in a log). */
export interface ExpirySweepReport {
  /** Keys the index listed as ended. */
  readonly examined: number;
  /** Revoked by this run. */
  readonly revoked: number;
  /** Revoked, terminated or expired already (another run, a revocation, the SE's termination). */
  readonly settled: number;
  /** Listed, but not past the end by this service's clock (the index is eventually consistent). */
  readonly notEnded: number;
  /** Failed (logged); left in the index for the next run. */
  readonly failed: number;
  /** False when `shouldStop` ended the run before the index was through. */
  readonly complete: boolean;
}

export class ExpirySweep {
  private readonly options: ExpirySweepOptions;

  constructor(options: ExpirySweepOptions) {
    this.options = options;
  }

  /** One run over every key whose end passed before the run started. */
  async run(limits: ExpirySweepLimits = {}): Promise<ExpirySweepReport> {
    const { store, clock, revocations } = this.options;
    const pageSize = limits.pageSize ?? EXPIRY_SWEEP_PAGE_SIZE;
    if (!Number.isInteger(pageSize) || pageSize < 1)
      throw new RangeError("pageSize must be a positive integer");
    const shouldStop = limits.shouldStop ?? (() => false);
    // One instant for the whole run: keys ending while it runs wait for the next, so the listing is stable.
    const endedBy = clock.now();
    const counts = { examined: 0, revoked: 0, settled: 0, notEnded: 0, failed: 0 };
    let cursor: string | undefined;
    do {
      if (shouldStop()) return { ...counts, complete: false };
      const page = await store.listEndedKeys(endedBy, pageSize, cursor);
      for (const key of page.keys) {
        if (shouldStop()) return { ...counts, complete: false };
        counts.examined++;
        try {
          const outcome = await revocations.revokeExpired(key);
          if (outcome === "revoked") counts.revoked++;
          else if (outcome === "settled") counts.settled++;
          else counts.notEnded++;
        } catch (error) {
          // One key's failure (a counter race lost too often, a throttled call) must not stop the others.
          counts.failed++;
          logger.warn("expiry sweep: a key was not revoked; the next run tries again", {
            errorName: (error as Error).name,
            errorMessage: (error as Error).message,
          });
        }
      }
      cursor = page.next;
    } while (cursor !== undefined);
    return { ...counts, complete: true };
  }
}
