// `carkey --help` start-up: the time from spawning `node bin/carkey.js --help`
// to its exit, beside the floor of a bare `node -e 0` spawned the same way in
// the same run (interleaved, so machine load hits both alike). The issue's
// target is a start-up within 3× the floor.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { PROJECT_ROOT } from "../infra/lib/bundling-options.js";
import { emit, formatMs, printTable, type Sample } from "./measure.js";

const RUNS = 9;
const TARGET_RATIO = 3;

/** Milliseconds from spawn to exit of one `node …args` (its output discarded); rejects on a non-zero exit. */
function timeProcess(args: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, stdio: "ignore" });
    child.once("error", reject);
    child.once("exit", (code) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (code === 0) resolve(ms);
      else reject(new Error(`node ${args.join(" ")} exited ${code}`));
    });
  });
}

function sample(name: string, times: number[]): Sample {
  const sorted = [...times].sort((a, b) => a - b);
  return {
    name,
    medianMs: sorted[Math.floor(sorted.length / 2)]!,
    p99Ms: sorted[sorted.length - 1]!,
    runs: sorted.length,
  };
}

export async function benchCliStartup(): Promise<void> {
  const commands: Record<string, string[]> = {
    "node -e 0 (floor)": ["-e", "0"],
    "carkey --help": [join(PROJECT_ROOT, "bin", "carkey.js"), "--help"],
  };
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
  // One warm-up round (file system caches), then interleaved rounds.
  for (const args of Object.values(commands)) await timeProcess(args);
  for (let round = 0; round < RUNS; round++) {
    for (const [name, args] of Object.entries(commands)) times[name]!.push(await timeProcess(args));
  }
  const floor = sample("node -e 0", times["node -e 0 (floor)"]!);
  const rows = Object.keys(commands).map((name) => {
    const s = sample(name, times[name]!);
    const ratio = s.medianMs / floor.medianMs;
    emit(`cli-startup ${name}`, s, floor.medianMs);
    return {
      command: name,
      "median ms": formatMs(s.medianMs),
      "max ms": formatMs(s.p99Ms),
      "× floor": ratio.toFixed(1),
      [`within ${TARGET_RATIO}×`]: ratio <= TARGET_RATIO ? "yes" : "no",
    };
  });
  printTable(`CLI start-up: spawn to exit, median of ${RUNS} interleaved runs beside a bare node`, rows);
}
