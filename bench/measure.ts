// Timing helpers for `npm run bench`: medians and percentiles of repeated
// runs after a warm-up. Figures are printed beside a floor measured in the
// same run, so they read as ratios that survive a slower or busier machine.

export interface Sample {
  name: string;
  medianMs: number;
  p99Ms: number;
  runs: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

/** An operation to time: its name in the tables and the call. */
export interface Operation {
  readonly name: string;
  readonly run: () => unknown;
}

/**
 * Times several operations in alternation: each round runs every one once, in the order given, so what
 * drifts during a run (DynamoDB Local's JVM compiling, its tables growing, a neighbour's load on a shared
 * CPU) falls on a route and on the bare requests of its floor alike, instead of on whichever was measured
 * first. `warmup` rounds run before the timed ones.
 */
export async function measureAlternating(
  operations: readonly Operation[],
  runs: number,
  warmup = Math.ceil(runs / 10),
): Promise<Sample[]> {
  for (let i = 0; i < warmup; i++) for (const operation of operations) await operation.run();
  const times = operations.map(() => [] as number[]);
  for (let i = 0; i < runs; i++) {
    for (const [k, operation] of operations.entries()) {
      const start = process.hrtime.bigint();
      await operation.run();
      times[k]!.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
  }
  return operations.map((operation, k) => {
    const sorted = times[k]!.sort((a, b) => a - b);
    return { name: operation.name, medianMs: percentile(sorted, 50), p99Ms: percentile(sorted, 99), runs };
  });
}

/** Times one operation: `warmup` runs, then `runs` timed ones. */
export async function measure(
  name: string,
  runs: number,
  fn: () => unknown,
  warmup = Math.ceil(runs / 10),
): Promise<Sample> {
  const [sample] = await measureAlternating([{ name, run: fn }], runs, warmup);
  return sample!;
}

export function formatMs(ms: number): string {
  return ms >= 10 ? ms.toFixed(1) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3);
}

/** `npm run bench -- --json`: one JSON object per line instead of the human tables. */
export const jsonOutput = process.argv.includes("--json");

export function printTable(title: string, rows: ReadonlyArray<Record<string, string | number>>): void {
  if (jsonOutput) {
    for (const row of rows) console.log(JSON.stringify({ table: title, ...row }));
    return;
  }
  console.log(`\n## ${title}`);
  console.table(rows);
}

const round = (ms: number) => Number(ms.toFixed(4));

/** A named figure for --json: median, floor and their ratio (plus any extra fields). */
export function emit(
  name: string,
  sample: Sample,
  floorMs: number,
  extra: Record<string, number | string> = {},
): void {
  if (!jsonOutput) return;
  const record = {
    name,
    median_ms: round(sample.medianMs),
    p99_ms: round(sample.p99Ms),
    floor_ms: round(floorMs),
    ratio: Number((sample.medianMs / floorMs).toFixed(3)),
    ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, typeof v === "number" ? round(v) : v])),
  };
  console.log(JSON.stringify(record));
}

/** Any other named record for --json. */
export function emitRecord(record: Record<string, number | string>): void {
  if (jsonOutput) console.log(JSON.stringify(record));
}
