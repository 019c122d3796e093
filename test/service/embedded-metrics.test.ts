// EMF lines as the CloudWatch "Embedded metric format specification" defines
// them: a root `_aws` with a millisecond Timestamp and one directive naming
// the namespace, the dimension set (which must name members of the root) and
// the metrics (whose values are members of the root); names EMF refuses are
// refused here, before a line CloudWatch would drop is written.
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  embeddedMetricLine,
  emitMetricCounts,
  METRICS_NAMESPACE,
  metricsDisabled,
} from "../../src/service/embedded-metrics.js";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("embeddedMetricLine", () => {
  it("writes a directive whose dimensions and metric are members of the line", () => {
    const line = JSON.parse(
      embeddedMetricLine({ name: "Registrations", dimensions: { Subject: "device" } }, 1_796_238_975_000),
    ) as Record<string, unknown> & {
      _aws: {
        Timestamp: number;
        CloudWatchMetrics: {
          Namespace: string;
          Dimensions: string[][];
          Metrics: { Name: string; Unit: string }[];
        }[];
      };
    };
    expect(line._aws.Timestamp).toBe(1_796_238_975_000);
    expect(line._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: METRICS_NAMESPACE,
        Dimensions: [["service", "Subject"]],
        Metrics: [{ Name: "Registrations", Unit: "Count" }],
      },
    ]);
    for (const dimension of line._aws.CloudWatchMetrics[0]!.Dimensions[0]!)
      expect(typeof line[dimension]).toBe("string");
    expect(line.Registrations).toBe(1);
    expect(line.service).toBe("carkeys");
  });

  it("carries a count's value", () => {
    const line = JSON.parse(
      embeddedMetricLine({ name: "Revocations", value: 7, dimensions: { By: "expiry" } }, 0),
    );
    expect(line.Revocations).toBe(7);
    expect(line.By).toBe("expiry");
  });

  it("refuses names and values EMF would not accept", () => {
    expect(() => embeddedMetricLine({ name: "" }, 0)).toThrow("not valid in EMF");
    expect(() => embeddedMetricLine({ name: "A:B" }, 0)).toThrow("not valid in EMF");
    expect(() => embeddedMetricLine({ name: "X", dimensions: { service: "other" } }, 0)).toThrow(
      "dimension name",
    );
    expect(() => embeddedMetricLine({ name: "X", dimensions: { Kind: "" } }, 0)).toThrow("1 to 1024");
    expect(() => embeddedMetricLine({ name: "X", value: Number.NaN }, 0)).toThrow("finite");
    const many = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`D${i}`, "v"]));
    expect(() => embeddedMetricLine({ name: "X", dimensions: many }, 0)).toThrow("dimensions");
  });
});

describe("emitMetricCounts", () => {
  it("writes one line per count to stdout, unless METRICS_DISABLED says not to", () => {
    const write = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    const before = process.env.METRICS_DISABLED;
    try {
      process.env.METRICS_DISABLED = "false";
      emitMetricCounts([{ name: "Shares" }, { name: "Pairings" }], () => 42);
      const text = write.mock.calls.map((call) => String(call[0])).join("");
      expect(
        text
          .split("\n")
          .filter(Boolean)
          .map((line) => Object.keys(JSON.parse(line)).at(-1)),
      ).toEqual(["Shares", "Pairings"]);
      write.mockClear();
      process.env.METRICS_DISABLED = "true";
      emitMetricCounts([{ name: "Shares" }]);
      expect(write).not.toHaveBeenCalled();
    } finally {
      if (before === undefined) delete process.env.METRICS_DISABLED;
      else process.env.METRICS_DISABLED = before;
    }
  });

  it("reads the switch case-insensitively", () => {
    expect(metricsDisabled({ METRICS_DISABLED: "TRUE" })).toBe(true);
    expect(metricsDisabled({ METRICS_DISABLED: "1" })).toBe(true);
    expect(metricsDisabled({ METRICS_DISABLED: "false" })).toBe(false);
    expect(metricsDisabled({})).toBe(false);
  });
});
