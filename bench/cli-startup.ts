// `carkey` start-up: the time from spawning a CLI process to its exit, beside
// the floor of a bare `node -e 0` spawned the same way in the same run
// (interleaved, so machine load hits all alike). `carkey --help` is measured
// from source (bin/carkey.js in a checkout: tsx) and compiled (dist/, what an
// installed package runs; built first when missing or older than a source).
// The target is a compiled start-up within 3× the floor. Then one
// `vehicle tap` at the door against a device given as a command — two
// compiled CLI processes talking the line protocol — from spawn to exit.
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { PROJECT_ROOT } from "../infra/lib/bundling-options.js";
import { emit, formatMs, printTable, type Sample } from "./measure.js";

const RUNS = 9;
const TAP_RUNS = 5;
const TARGET_RATIO = 3;
const COMPILED_CLI = join(PROJECT_ROOT, "dist", "src", "cli", "main.js");
const run = promisify(execFile);

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

/** Newest modification time of the files under `dir` (0 when it does not exist). */
function newestMtime(dir: string): number {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/** `npm run build` unless dist/ holds a compiled CLI newer than every source it is built from. */
async function ensureBuilt(): Promise<void> {
  const sources = Math.max(
    newestMtime(join(PROJECT_ROOT, "src")),
    newestMtime(join(PROJECT_ROOT, "functions")),
    statSync(join(PROJECT_ROOT, "tsconfig.build.json")).mtimeMs,
  );
  if (existsSync(COMPILED_CLI) && statSync(COMPILED_CLI).mtimeMs >= sources) return;
  process.stderr.write("cli-startup: dist/ is missing or stale; running npm run build\n");
  await run("npm", ["run", "build"], { cwd: PROJECT_ROOT });
}

async function cli(...args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(process.execPath, [COMPILED_CLI, ...args], { cwd: PROJECT_ROOT });
  return JSON.parse(stdout) as Record<string, unknown>;
}

function row(s: Sample, floorMs: number): Record<string, string> {
  const ratio = s.medianMs / floorMs;
  return {
    command: s.name,
    "median ms": formatMs(s.medianMs),
    "max ms": formatMs(s.p99Ms),
    "× floor": ratio.toFixed(1),
    [`within ${TARGET_RATIO}×`]: ratio <= TARGET_RATIO ? "yes" : "no",
  };
}

async function benchHelp(): Promise<number> {
  const commands: Record<string, string[]> = {
    "node -e 0 (floor)": ["-e", "0"],
    "carkey --help (source, tsx)": [join(PROJECT_ROOT, "bin", "carkey.js"), "--help"],
    "carkey --help (compiled, dist/)": [COMPILED_CLI, "--help"],
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
    emit(`cli-startup ${name}`, s, floor.medianMs);
    return row(s, floor.medianMs);
  });
  printTable(`CLI start-up: spawn to exit, median of ${RUNS} interleaved runs beside a bare node`, rows);
  return floor.medianMs;
}

/** A vehicle and a device holding a key for it, made with the compiled CLI in a fresh directory. */
async function tapFixture(dir: string): Promise<{ car: string; phone: string }> {
  const car = join(dir, "car.json");
  const phone = join(dir, "phone.json");
  const vehicle = await cli("emulator", "vehicle", "init", "--state", car);
  await cli("emulator", "device", "init", "--state", phone);
  const key = await cli(
    "emulator",
    "device",
    "add-key",
    "--state",
    phone,
    "--vehicle-public-key",
    String(vehicle.publicKey),
    "--vehicle-id",
    String(vehicle.vehicleId),
  );
  await cli(
    "emulator",
    "vehicle",
    "add-key",
    "--state",
    car,
    "--endpoint-public-key",
    String(key.endpointPublicKey),
  );
  return { car, phone };
}

async function benchTap(floorMs: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "carkey-bench-tap-"));
  try {
    const { car, phone } = await tapFixture(dir);
    const tap = [
      COMPILED_CLI,
      ...["emulator", "vehicle", "tap", "--state", car, "--reader", "door"],
      ...["--device-cmd", `"${process.execPath}" "${COMPILED_CLI}" emulator device nfc --state "${phone}"`],
    ];
    // The first tap runs the standard flow and leaves a fast-flow key; the rest are fast taps.
    const first = await timeProcess(tap);
    const times: number[] = [];
    for (let i = 0; i < TAP_RUNS; i++) times.push(await timeProcess(tap));
    const rows = [
      { name: "vehicle tap, first (standard flow)", medianMs: first, p99Ms: first, runs: 1 },
      sample("vehicle tap (fast flow)", times),
    ].map((s) => {
      emit(`cli-startup ${s.name}`, s, floorMs);
      return {
        command: s.name,
        "median ms": formatMs(s.medianMs),
        "max ms": formatMs(s.p99Ms),
        "× floor": (s.medianMs / floorMs).toFixed(1),
      };
    });
    printTable(
      "vehicle tap --device-cmd through the compiled CLI: two processes (vehicle and device), spawn to exit",
      rows,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchCliStartup(): Promise<void> {
  await ensureBuilt();
  const floorMs = await benchHelp();
  await benchTap(floorMs);
}
