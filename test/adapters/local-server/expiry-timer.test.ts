// The local server's schedule of the expiry sweep (src/adapters/local-server/expiry-timer.ts):
// runs again and again, never two at once (a run on demand waits for the timed one), a failure
// goes to onError, and stop() ends the runs after the one in progress.
import { describe, expect, it, vi } from "vitest";
import { startExpiryTimer } from "../../../src/adapters/local-server/expiry-timer.js";

/** A run that ends when the test says so, counting how many are in progress at once. */
function gatedRuns() {
  let running = 0;
  let most = 0;
  let started = 0;
  const gates: (() => void)[] = [];
  const run = async () => {
    started++;
    running++;
    most = Math.max(most, running);
    await new Promise<void>((resolve) => gates.push(resolve));
    running--;
    return started;
  };
  const openAll = () => {
    for (const open of gates.splice(0)) open();
  };
  return { run, openAll, stats: () => ({ started, running, most }) };
}

describe("the expiry timer", () => {
  it("runs periodically, one run at a time; a run on demand waits for the one in progress", async () => {
    const runs = gatedRuns();
    const onError = vi.fn();
    const timer = startExpiryTimer({ intervalMs: 5, run: runs.run, onError });
    await vi.waitFor(() => expect(runs.stats().started).toBe(1), { timeout: 30_000 });
    const onDemand = timer.runOnce();
    // Ticks come and go while the first run holds: none starts beside it.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(runs.stats()).toMatchObject({ started: 1, running: 1 });
    runs.openAll();
    await vi.waitFor(() => expect(runs.stats().started).toBeGreaterThanOrEqual(2), { timeout: 30_000 });
    const ender = setInterval(runs.openAll, 1);
    await onDemand;
    await vi.waitFor(() => expect(runs.stats().started).toBeGreaterThanOrEqual(4), { timeout: 30_000 });
    const stopping = timer.stop();
    await stopping;
    clearInterval(ender);
    runs.openAll();
    const after = runs.stats().started;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(runs.stats().started).toBe(after);
    expect(runs.stats().most).toBe(1);
    expect(onError).not.toHaveBeenCalled();
    await expect(timer.runOnce()).rejects.toThrow(/stopped/);
  });

  it("reports a failed timed run to onError and goes on; a failed run on demand rejects", async () => {
    let calls = 0;
    const onError = vi.fn();
    const timer = startExpiryTimer({
      intervalMs: 5,
      run: async () => {
        calls++;
        throw new Error(`run ${calls} failed`);
      },
      onError,
    });
    await vi.waitFor(() => expect(onError.mock.calls.length).toBeGreaterThanOrEqual(2), { timeout: 30_000 });
    expect((onError.mock.calls[0]![0] as Error).message).toMatch(/failed/);
    await expect(timer.runOnce()).rejects.toThrow(/failed/);
    await timer.stop();
  });

  it("without an interval runs only on demand", async () => {
    const run = vi.fn(async () => "report");
    const timer = startExpiryTimer({ intervalMs: 0, run, onError: vi.fn() });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(run).not.toHaveBeenCalled();
    expect(await timer.runOnce()).toBe("report");
    expect(run).toHaveBeenCalledTimes(1);
    await timer.stop();
  });
});
