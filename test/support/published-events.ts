// The events the service publishes while a test's call runs: the function
// tests' service (startLambdaHarness's environment) publishes through
// LogNotifier, whose publish is watched here and still runs, so the log lines
// stay as they are.
import { vi } from "vitest";
import { LogNotifier } from "../../src/adapters/events/log-notifier.js";
import type { ServiceEvent } from "../../src/service/ports.js";

export async function publishedDuring<T>(
  fn: () => Promise<T>,
): Promise<{ result: T; events: ServiceEvent[] }> {
  const events: ServiceEvent[] = [];
  const publish = LogNotifier.prototype.publish;
  const spy = vi.spyOn(LogNotifier.prototype, "publish").mockImplementation(async function (
    this: LogNotifier,
    event: ServiceEvent,
  ) {
    events.push(event);
    return publish.call(this, event);
  });
  try {
    return { result: await fn(), events };
  } finally {
    spy.mockRestore();
  }
}
