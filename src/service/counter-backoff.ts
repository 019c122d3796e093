// Retrying a write that lost a counter race. Revocations and notices take the
// next value of a per-vehicle or per-device counter in a conditional
// transaction; when several run at once on one vehicle, all but one lose each
// round and try again with fresh counters. Retrying at once makes the losers
// collide again, so a fixed number of immediate retries can be exhausted by a
// handful of parallel revocations. Instead each loser waits a random time in
// an exponentially growing window ("full jitter", as in the AWS Architecture
// Blog's "Exponential Backoff And Jitter"), which spreads the contenders out,
// and gives up only when a bounded deadline has passed, inside the Lambda's
// 10 s timeout. The first window is at least as long as one attempt took
// (read, sign, write): contenders spread over less than that collide again.

export interface CounterBackoffOptions {
  /** Give up once this much time has passed since the first attempt began; default 8 s. */
  readonly deadlineMs?: number;
  /** Smallest first window; it doubles after each lost race; default 10 ms. */
  readonly baseDelayMs?: number;
  /** Largest window; default 1 s. */
  readonly maxDelayMs?: number;
  /** Uniform in [0, 1); default Math.random (the jitter needs no secrecy). */
  readonly random?: () => number;
  /** Monotonic milliseconds; default performance.now. */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const DEFAULTS = { deadlineMs: 8_000, baseDelayMs: 10, maxDelayMs: 1_000 } as const;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One write's retries: create it when the first attempt begins, call `afterLostRace()` after each lost one. */
export class CounterBackoff {
  private readonly options: Required<CounterBackoffOptions>;
  private readonly started: number;
  private firstWindow: number | undefined;
  private lost = 0;

  constructor(options: CounterBackoffOptions = {}) {
    this.options = {
      ...DEFAULTS,
      random: Math.random,
      now: () => performance.now(),
      sleep,
      ...options,
    };
    this.started = this.options.now();
  }

  /** How many races this write has lost so far. */
  get lostRaces(): number {
    return this.lost;
  }

  /**
   * Waits a jittered delay after a lost race and answers whether to try again: false once the
   * deadline has passed (or would pass during the wait), so the caller stops within its bound.
   */
  async afterLostRace(): Promise<boolean> {
    const { baseDelayMs, maxDelayMs, deadlineMs, random, now } = this.options;
    const at = now();
    this.firstWindow ??= Math.max(baseDelayMs, at - this.started);
    const window = Math.min(maxDelayMs, this.firstWindow * 2 ** Math.min(this.lost, 30));
    this.lost++;
    const delay = Math.floor(random() * window);
    if (at + delay >= this.started + deadlineMs) return false;
    await this.options.sleep(delay);
    return true;
  }
}
