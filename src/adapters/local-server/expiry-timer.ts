// The local server's stand-in for the stack's hourly EventBridge rule: runs
// the expiry sweep (src/adapters/function-handlers/expiry-sweep.ts) every `intervalMs`, never two
// at once, on an unref'd timer so it keeps no process alive. The sweep is
// asynchronous I/O against DynamoDB Local, so requests are served while it
// runs. `runOnce` is the same run on demand (tests, `npm start` at start-up):
// it waits for a run in progress rather than starting a second beside it.
export interface ExpiryTimer<R> {
  /** One run now, after any run in progress. */
  runOnce(): Promise<R>;
  /** No more runs; resolves once a run in progress has ended. */
  stop(): Promise<void>;
}

export function startExpiryTimer<R>(options: {
  /** Milliseconds between runs; 0 or less: no timer, only runOnce. */
  readonly intervalMs: number;
  readonly run: () => Promise<R>;
  /** A timed run that failed (runOnce rejects instead). */
  readonly onError: (error: unknown) => void;
}): ExpiryTimer<R> {
  let current: Promise<R> | undefined;
  let stopped = false;
  const runOnce = async (): Promise<R> => {
    while (current) await current.catch(() => undefined);
    const run = options.run();
    current = run;
    try {
      return await run;
    } finally {
      current = undefined;
    }
  };
  const timer =
    options.intervalMs > 0
      ? setInterval(() => {
          // A run still going when the next is due: skip this tick rather than queue runs up.
          if (stopped || current) return;
          runOnce().catch(options.onError);
        }, options.intervalMs)
      : undefined;
  timer?.unref();
  return {
    runOnce: () => (stopped ? Promise.reject(new Error("the expiry timer is stopped")) : runOnce()),
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      await current?.catch(() => undefined);
    },
  };
}
