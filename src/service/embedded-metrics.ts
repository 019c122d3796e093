// CloudWatch Embedded Metric Format (EMF): a metric is a JSON log line whose
// `_aws` member tells CloudWatch which of its fields are the metric's value
// and dimensions (specification: "Embedded metric format specification" in
// the Amazon CloudWatch User Guide). In Lambda the line goes to the function's
// log and CloudWatch extracts the metric; locally it is a line in the
// server's output. One line per metric, each with the dimension `service`
// beside its own, as in:
//
//   {"_aws":{"Timestamp":1796238975000,"CloudWatchMetrics":[{"Namespace":"CarKeys",
//    "Dimensions":[["service","Subject"]],"Metrics":[{"Name":"Registrations","Unit":"Count"}]}]},
//    "service":"carkeys","Subject":"device","Registrations":1}
//
// METRICS_DISABLED=true turns the lines off (the tests and `carkey demo` do);
// it is read on every emission, so a test can switch it.

export const METRICS_NAMESPACE = "CarKeys";
export const METRICS_SERVICE = "carkeys";

/** One count: a metric name, its value, and dimensions from closed sets (never an identifier). */
export interface MetricCount {
  readonly name: string;
  readonly value?: number;
  readonly dimensions?: Readonly<Record<string, string>>;
}

// EMF's limits: at most 30 dimensions, names and values non-empty, at most 1024 (names 255) characters.
const MAX_DIMENSIONS = 29;
const NAME = /^[^:\s][^:]{0,254}$/;

/** Whether `env` switches the lines off. */
export function metricsDisabled(env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  return /^(?:true|1|yes)$/i.test(env.METRICS_DISABLED?.trim() ?? "");
}

/** The EMF line of `count` at `timestampMs`; throws on a name or dimension EMF would refuse. */
export function embeddedMetricLine(count: MetricCount, timestampMs: number): string {
  const dimensions = Object.entries(count.dimensions ?? {});
  if (!NAME.test(count.name))
    throw new RangeError(`metric name ${JSON.stringify(count.name)} is not valid in EMF`);
  if (dimensions.length > MAX_DIMENSIONS)
    throw new RangeError(`metric ${count.name} has over ${MAX_DIMENSIONS} dimensions`);
  for (const [name, value] of dimensions) {
    if (!NAME.test(name) || name === "service" || name === count.name || name === "_aws")
      throw new RangeError(`dimension name ${JSON.stringify(name)} of ${count.name} is not valid`);
    if (value === "" || value.length > 1024)
      throw new RangeError(`dimension ${name} of ${count.name} must be 1 to 1024 characters`);
  }
  const value = count.value ?? 1;
  if (!Number.isFinite(value)) throw new RangeError(`metric ${count.name} needs a finite value`);
  return JSON.stringify({
    _aws: {
      Timestamp: timestampMs,
      CloudWatchMetrics: [
        {
          Namespace: METRICS_NAMESPACE,
          Dimensions: [["service", ...dimensions.map(([name]) => name)]],
          Metrics: [{ Name: count.name, Unit: "Count" }],
        },
      ],
    },
    service: METRICS_SERVICE,
    ...Object.fromEntries(dimensions),
    [count.name]: value,
  });
}

/** Writes one EMF line per count to stdout (unless switched off), in one write. */
export function emitMetricCounts(counts: readonly MetricCount[], now: () => number = Date.now): void {
  if (counts.length === 0 || metricsDisabled()) return;
  const timestamp = now();
  process.stdout.write(counts.map((count) => `${embeddedMetricLine(count, timestamp)}\n`).join(""));
}
