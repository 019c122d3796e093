// `carkey demo --json` without --url runs the whole story against an in-process stack: its stdout must be
// one JSON object per step and nothing else. The handlers' business metrics (EMF lines, for CloudWatch in
// Lambda) are switched off there; the child gets an environment without the test suite's own
// METRICS_DISABLED, as a user's shell would.
import { execFile } from "node:child_process";
import { describe, expect, it } from "vitest";
import { DEMO_STEPS } from "../../src/cli/demo/demo-story.js";
import { BIN, ROOT } from "../support/carkey-process.js";

function demo(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.METRICS_DISABLED;
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [BIN, "demo", "--json"],
      { cwd: ROOT, env, maxBuffer: 64 * 1024 * 1024 },
      (_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
    );
  });
}

describe("carkey demo --json, in-process", () => {
  it("prints only JSON, one object per step, no metric lines", async () => {
    const run = await demo();
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.split("\n").filter((line) => line !== "");
    const parsed = lines.map((line) => {
      try {
        return JSON.parse(line) as { step?: string; _aws?: unknown };
      } catch {
        throw new Error(`not JSON on stdout: ${line.slice(0, 200)}`);
      }
    });
    expect(parsed.filter((p) => p._aws !== undefined)).toEqual([]);
    expect(parsed.map((p) => p.step)).toEqual([...DEMO_STEPS]);
  }, 600_000);
});
