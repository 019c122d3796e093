// Runs a command-line tool (openssl, python3, ps) from a test as an
// asynchronous child process. Tests that also run a server in their own
// process must never use execFileSync/spawnSync: while the event loop is
// blocked the server answers nothing, its keep-alive timers fire late all at
// once, and clients in the same process then reuse connections the server is
// closing (ECONNRESET) — a suite that passes alone and fails under load.
import { execFile } from "node:child_process";

export interface ToolRun {
  /** Exit code; null when the tool could not start or was killed. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** Set when the tool could not be started (e.g. ENOENT). */
  startError?: NodeJS.ErrnoException;
}

export function runTool(
  file: string,
  args: readonly string[],
  options: { cwd?: string } = {},
): Promise<ToolRun> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd: options.cwd, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const failure = error as (NodeJS.ErrnoException & { code?: unknown }) | null;
        if (failure && typeof failure.code === "string") {
          resolve({ code: null, stdout, stderr, startError: failure });
          return;
        }
        resolve({ code: failure ? ((failure.code as number | undefined) ?? null) : 0, stdout, stderr });
      },
    );
  });
}

/** Like execFileSync without blocking: the tool's stdout, or an error carrying its stderr. */
export async function tool(
  file: string,
  args: readonly string[],
  options: { cwd?: string } = {},
): Promise<string> {
  const run = await runTool(file, args, options);
  if (run.startError) throw run.startError;
  if (run.code !== 0) {
    throw new Error(`${file} ${args.join(" ")} exited with ${run.code}: ${run.stderr.trim()}`);
  }
  return run.stdout;
}
