// The real `carkey` CLI as child processes, for tests of what integrators see:
// exit codes, stdout, stderr, and which processes are left running. Always
// asynchronous, so a test never blocks its own process's event loop.
import { type ChildProcessWithoutNullStreams, execFile, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const BIN = join(ROOT, "bin", "carkey.js");
export const MISBEHAVING_DEVICE = fileURLToPath(new URL("./misbehaving-device.mjs", import.meta.url));

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `carkey args…` with `input` on stdin (and `env` instead of this process's); resolves when it exits. */
export function carkey(args: string[], input = "", env?: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: ROOT, maxBuffer: 64 * 1024 * 1024, ...(env ? { env } : {}) },
      (_error, stdout, stderr) => resolve({ code: child.exitCode, signal: child.signalCode, stdout, stderr }),
    );
    child.stdin?.end(input);
  });
}

/** Starts `carkey args…` with piped stdio, for tests that stream input or send signals. */
export function spawnCarkey(args: string[]): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
}

/** Collects a child's output and resolves with it once the child has exited and its pipes closed. */
export function finished(child: ChildProcessWithoutNullStreams): Promise<Run> {
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  return new Promise((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
}

/** A shell command line that runs `carkey emulator device nfc` on a state file. */
export function deviceCommand(statePath: string): string {
  return shellLine([process.execPath, BIN, "emulator", "device", "nfc", "--state", statePath]);
}

/** A shell command line that runs the misbehaving device fixture in `mode`. */
export function misbehavingDeviceCommand(mode: string, pidFile: string): string {
  return shellLine([process.execPath, MISBEHAVING_DEVICE, mode, pidFile]);
}

function shellLine(parts: string[]): string {
  return parts.map((part) => `'${part.replaceAll("'", `'\\''`)}'`).join(" ");
}

/** The pids a misbehaving device wrote to its pid file. */
export function pidsIn(pidFile: string): number[] {
  if (!existsSync(pidFile)) return [];
  return readFileSync(pidFile, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => Number(line));
}

/** Whether a process with this pid is still running (a zombie counts as gone). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return existsSync(`/proc/${pid}`);
  }
}

/**
 * `run` over `items`, at most `limit` at a time, results in order: enough
 * parallelism to hide process start-up, not so much that a loaded machine
 * starves every one of them.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, run: (item: T) => Promise<R>) {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await run(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
