// The service's logger: one JSON object per line, the level from LOG_LEVEL
// (or Lambda's stricter AWS_LAMBDA_LOG_LEVEL), WARN and above on stderr, and
// the invocation's fields on every line written inside it, never another
// invocation's, however their awaits interleave.
import { afterEach, describe, expect, it, vi } from "vitest";
import { withInvocationLogContext } from "../../src/service/http/invocation-log-context.js";
import { configuredLogLevel, Logger } from "../../src/service/logger.js";

afterEach(() => {
  vi.restoreAllMocks();
});

function capture(): {
  readonly out: () => Record<string, unknown>[];
  readonly err: () => Record<string, unknown>[];
} {
  const out = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
  const err = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  const lines = (spy: typeof out) =>
    spy.mock.calls.flatMap((call) =>
      String(call[0])
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    );
  return { out: () => lines(out), err: () => lines(err) };
}

describe("configuredLogLevel", () => {
  it("reads LOG_LEVEL in any case, defaults to INFO and names what it did not understand", () => {
    expect(configuredLogLevel({})).toEqual({ level: "INFO" });
    expect(configuredLogLevel({ LOG_LEVEL: "debug" })).toEqual({ level: "DEBUG" });
    expect(configuredLogLevel({ LOG_LEVEL: " Silent " })).toEqual({ level: "SILENT" });
    expect(configuredLogLevel({ LOG_LEVEL: "verbose" })).toEqual({ level: "INFO", unknown: "verbose" });
  });

  it("takes Lambda's AWS_LAMBDA_LOG_LEVEL where it is stricter, and only there", () => {
    expect(configuredLogLevel({ LOG_LEVEL: "DEBUG", AWS_LAMBDA_LOG_LEVEL: "WARN" })).toEqual({
      level: "WARN",
    });
    expect(configuredLogLevel({ LOG_LEVEL: "ERROR", AWS_LAMBDA_LOG_LEVEL: "DEBUG" })).toEqual({
      level: "ERROR",
    });
    expect(configuredLogLevel({ AWS_LAMBDA_LOG_LEVEL: "ERROR" })).toEqual({ level: "ERROR" });
  });
});

describe("Logger", () => {
  it("writes one JSON line per entry with level, message, timestamp, service and the attributes", () => {
    const logs = capture();
    new Logger("INFO").info("request served", { route: "GET /v1/keys/{keyId}", status: 200 });
    const [line] = logs.out();
    expect(line).toMatchObject({
      level: "INFO",
      message: "request served",
      service: "carkeys",
      route: "GET /v1/keys/{keyId}",
      status: 200,
    });
    expect(new Date(String(line?.timestamp)).toISOString()).toBe(line?.timestamp);
    expect(logs.err()).toEqual([]);
  });

  it("drops entries under its level and sends WARN and ERROR to stderr", () => {
    const logs = capture();
    const warnLevel = new Logger("WARN");
    warnLevel.debug("d");
    warnLevel.info("i");
    warnLevel.warn("w");
    warnLevel.error("e");
    expect(logs.out()).toEqual([]);
    expect(logs.err().map((line) => line.level)).toEqual(["WARN", "ERROR"]);
    const silent = new Logger("SILENT");
    silent.error("never");
    expect(logs.err()).toHaveLength(2);
  });

  it("still writes the entry when its attributes cannot be serialised", () => {
    const logs = capture();
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    new Logger("INFO").info("odd attributes", { cycle, big: 1n });
    expect(logs.out()).toEqual([expect.objectContaining({ level: "INFO", message: "odd attributes" })]);
  });
});

describe("withInvocationLogContext", () => {
  const context = (id: string) => ({ functionName: "carkeys-relay", awsRequestId: id }) as never;

  it("puts each invocation's request id, function name, cold start and trace on its own lines", async () => {
    const logs = capture();
    process.env._X_AMZN_TRACE_ID =
      "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
    const log = new Logger("INFO");
    let open = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const handler = withInvocationLogContext(async (event: { name: string; wait: boolean }) => {
      log.info("start", { name: event.name });
      if (event.wait) await gate;
      log.info("end", { name: event.name });
      return event.name;
    }, log);
    try {
      const first = handler({ name: "a", wait: true }, context("req-a"));
      const second = handler({ name: "b", wait: false }, context("req-b"));
      await second;
      open();
      await first;
    } finally {
      delete process.env._X_AMZN_TRACE_ID;
    }
    const lines = logs.out();
    expect(lines.map((line) => `${line.message}:${line.name}:${line.function_request_id}`)).toEqual([
      "start:a:req-a",
      "start:b:req-b",
      "end:b:req-b",
      "end:a:req-a",
    ]);
    for (const line of lines) {
      expect(line.function_name).toBe("carkeys-relay");
      expect(line.xray_trace_id).toBe("1-5759e988-bd862e3fe1be46a994272793");
    }
    // Only one invocation per process is the cold one (an earlier test file may have run one already).
    expect(
      lines.filter((line) => line.message === "start" && line.cold_start === true).length,
    ).toBeLessThanOrEqual(1);
    expect(lines.find((line) => line.name === "b")?.cold_start).toBe(false);
    log.info("outside");
    expect(logs.out().at(-1)).not.toHaveProperty("function_request_id");
  });
});
