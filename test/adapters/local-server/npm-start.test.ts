// `npm start` as a developer runs it: a child process in its own process
// group (as a terminal's foreground job), PORT=0 so it picks a free port, a
// temporary data directory. It must print the URL, answer on it, and on
// Ctrl-C (SIGINT to the whole group, as a terminal sends it) stop cleanly with
// no DynamoDB Local JVM left behind. Without Java it must say, in one line,
// what to install, and exit 1.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const children: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(async () => {
  // A failed test must not leave its server (or its JVM) running: end the group we started, by its id.
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

function start(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string } {
  const child = spawn("npm", ["start", "--", ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  return { child, output: () => output };
}

function waitFor(
  output: () => string,
  pattern: RegExp,
  child: ChildProcess,
  ms: number,
): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + ms;
    const poll = () => {
      const match = pattern.exec(output());
      if (match) return resolve(match);
      if (child.exitCode !== null) return reject(new Error(`npm start exited early:\n${output()}`));
      if (Date.now() > deadline) return reject(new Error(`no ${pattern} within ${ms} ms:\n${output()}`));
      setTimeout(poll, 100);
    };
    poll();
  });
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
}

const execFileAsync = promisify(execFile);

/**
 * Processes whose command line holds `text` (ps, so nothing escapes the check by changing its parent).
 * Asynchronous: the test's event loop also reads the server's output.
 */
async function processesWith(text: string): Promise<string[]> {
  const { stdout } = await execFileAsync("ps", ["-eo", "pid,args"], { encoding: "utf8" });
  return stdout.split("\n").filter((line) => line.includes(text) && !line.includes("ps -eo"));
}

/** DynamoDB Local JVMs listening on `port`. */
async function javaOnPort(port: string): Promise<string[]> {
  return (await processesWith("DynamoDBLocal.jar")).filter((line) => line.includes(`-port ${port} `));
}

/** Bounds for a loaded machine (a JVM can take many seconds to exit there), not performance targets. */
const STOP_BOUND_MS = 120_000;

async function waitUntil(condition: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Bounds for a loaded machine (npm, tsx and a JVM start and stop), not performance targets.
describe("npm start", { timeout: 600_000 }, () => {
  it("prints the URL, answers, and stops with DynamoDB Local on Ctrl-C", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "carkeys-npm-start-"));
    dirs.push(dataDir);
    const { child, output } = start(["--in-memory", "--data-dir", dataDir, "--quiet"], { PORT: "0" });
    const [, url] = await waitFor(output, /listening on (http:\/\/127\.0\.0\.1:\d+)/, child, 90_000);
    const [, dynamoPort] = await waitFor(
      output,
      /DynamoDB Local at http:\/\/127\.0\.0\.1:(\d+)/,
      child,
      5_000,
    );
    expect(output()).toContain(`${url}/openapi.json`);
    // The banner names the token file, never the token: a bearer secret must not reach scrollback or CI logs.
    expect(output()).toMatch(/OEM token: +\S*oem-token \(new, mode 0600; read it from the file\)/);
    const token = (await readFile(join(dataDir, "oem-token"), "utf8")).trim();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(output()).not.toContain(token);
    expect(output()).not.toContain(token.slice(0, 8));
    expect(output()).toContain("in memory");

    const openapi = await fetch(`${url}/openapi.json`);
    expect(openapi.status).toBe(200);
    expect(((await openapi.json()) as { openapi: string }).openapi).toBe("3.1.0");
    const anchors = await fetch(`${url}/v1/trust-anchors`);
    expect(anchors.status).toBe(200);
    expect(await javaOnPort(dynamoPort!)).toHaveLength(1);

    process.kill(-child.pid!, "SIGINT");
    // npm itself dies of the SIGINT (as in a terminal); the server under it must exit 0.
    const { code, signal } = await exited(child);
    expect(code === 0 || signal === "SIGINT", `code ${code}, signal ${signal}`).toBe(true);
    await waitUntil(async () => (await processesWith(dataDir)).length === 0, STOP_BOUND_MS);
    expect(output()).toContain("stopping the server and DynamoDB Local");
    expect(output()).not.toMatch(/carkeys: /);
    expect(await javaOnPort(dynamoPort!)).toEqual([]);
    await expect(fetch(`${url}/openapi.json`)).rejects.toThrow();
  });

  // A process manager (or `kill <pid>`) signals npm alone, not its group: npm must hand the
  // signal on to the server, which stops itself and DynamoDB Local; nothing may outlive npm.
  it.each(["SIGTERM", "SIGINT"] as const)(
    "stops the server and DynamoDB Local on %s to npm alone",
    async (name) => {
      const dataDir = await mkdtemp(join(tmpdir(), "carkeys-npm-start-"));
      dirs.push(dataDir);
      const { child, output } = start(["--in-memory", "--data-dir", dataDir, "--quiet"], { PORT: "0" });
      const [, url] = await waitFor(output, /listening on (http:\/\/127\.0\.0\.1:\d+)/, child, 90_000);
      const [, dynamoPort] = await waitFor(
        output,
        /DynamoDB Local at http:\/\/127\.0\.0\.1:(\d+)/,
        child,
        5_000,
      );
      expect(await javaOnPort(dynamoPort!)).toHaveLength(1);

      process.kill(child.pid!, name);
      await exited(child);
      await waitUntil(async () => (await processesWith(dataDir)).length === 0, STOP_BOUND_MS);
      expect(output()).toContain(`${name}: stopping the server and DynamoDB Local`);
      expect(await javaOnPort(dynamoPort!)).toEqual([]);
      await expect(fetch(`${url}/openapi.json`)).rejects.toThrow();
    },
  );

  it("says in one line what to install when Java is missing, and exits 1", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "carkeys-npm-start-"));
    dirs.push(dataDir);
    const child = spawn(
      process.execPath,
      [
        join(ROOT, "node_modules/tsx/dist/cli.mjs"),
        "src/adapters/local-server/main.ts",
        "--data-dir",
        dataDir,
      ],
      {
        cwd: ROOT,
        env: { ...process.env, PORT: "0", JAVA_HOME: join(dataDir, "no-java-here") },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    children.push(child);
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    expect((await exited(child)).code).toBe(1);
    expect(stdout).toBe("");
    const lines = stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^carkeys: Java is not installed: .*Java 17.*openjdk-17-jre-headless/);
  });
});
