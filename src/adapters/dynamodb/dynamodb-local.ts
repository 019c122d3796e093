// Starts AWS's DynamoDB Local (the jar shipped in the npm package
// amplify-dynamodb-simulator) for `npm start` and the tests, so both use the
// real DynamoDB semantics (conditions, transactions) rather than a mock.
// DynamoDB Local 1.25.1 has no bind-address flag (its Jetty connector listens
// on every interface); we talk to it on 127.0.0.1 only and pick the port
// ourselves. It always runs with -sharedDb, so clients with any dummy
// credentials or region see the same tables, and -disableTelemetry, since the
// machine must make no calls out. Children are killed on stop(), on process
// exit and on a terminating signal, so no JVM outlives its parent.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { DynamoDbLocalError } from "./errors.js";

export interface DynamoDbLocalOptions {
  /** TCP port; 0 or absent picks a free one. */
  port?: number;
  /** Directory for the database file; absent runs in memory. */
  dataDir?: string;
  /** How long to wait for the first answer; default 60 s (a cold JVM takes 2–4 s, far more on a loaded machine). */
  startTimeoutMs?: number;
}

export interface DynamoDbLocal {
  /** e.g. http://127.0.0.1:43211 */
  readonly endpoint: string;
  readonly port: number;
  /** Stops the server and resolves once the process has exited and its port is free. */
  stop(): Promise<void>;
}

const JAVA_MISSING =
  "Java is not installed: DynamoDB Local needs Java 17 (install it with `apt install openjdk-17-jre-headless`)";

/** Directory holding DynamoDBLocal.jar and DynamoDBLocal_lib/. */
export function dynamoDbLocalDir(): string {
  const pkg = createRequire(import.meta.url).resolve("amplify-dynamodb-simulator/package.json");
  return join(dirname(pkg), "emulator");
}

export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const requested = options.port ?? 0;
  if (!Number.isInteger(requested) || requested < 0 || requested > 65535) {
    throw new DynamoDbLocalError("port must be an integer from 0 to 65535");
  }
  const dataDir = options.dataDir === undefined ? undefined : resolve(options.dataDir);
  if (dataDir !== undefined) await mkdir(dataDir, { recursive: true });
  // A port we picked can be taken between the probe and the JVM's bind: retry then.
  const attempts = requested === 0 ? 3 : 1;
  for (let attempt = 1; ; attempt++) {
    const port = await bindablePort(requested);
    try {
      return await launch(port, dataDir, options.startTimeoutMs ?? 60_000);
    } catch (error) {
      if (!(error instanceof PortInUseError) || attempt >= attempts) throw error;
    }
  }
}

class PortInUseError extends DynamoDbLocalError {}

async function launch(port: number, dataDir: string | undefined, timeoutMs: number): Promise<DynamoDbLocal> {
  const dir = dynamoDbLocalDir();
  const java = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, "bin", "java") : "java";
  const storage = dataDir === undefined ? ["-inMemory"] : ["-dbPath", dataDir];
  const args = [
    `-Djava.library.path=${join(dir, "DynamoDBLocal_lib")}`,
    "-jar",
    join(dir, "DynamoDBLocal.jar"),
    "-port",
    String(port),
    ...storage,
    "-sharedDb",
    "-disableTelemetry",
  ];
  // It writes dynamodb-local-metadata.json into its working directory: keep that out of node_modules.
  const scratch = dataDir === undefined ? await mkdtemp(join(tmpdir(), "carkeys-ddb-")) : undefined;
  const child = spawn(java, args, { cwd: dataDir ?? scratch, stdio: ["ignore", "pipe", "pipe"] });
  // On a failed bind DynamoDB Local prints the exception but keeps running: end it ourselves.
  let bindFailed = false;
  const output = tail(child, (text) => {
    if (!bindFailed && /Failed to bind|BindException/.test(text)) {
      bindFailed = true;
      child.kill("SIGKILL");
    }
  });
  const exited = new Promise<void>((resolveExit) => child.once("close", () => resolveExit()));
  track(child);

  const failed = new Promise<never>((_, reject) => {
    child.once("error", (error: NodeJS.ErrnoException) => {
      reject(
        error.code === "ENOENT"
          ? new DynamoDbLocalError(JAVA_MISSING, { cause: error })
          : new DynamoDbLocalError(`could not start DynamoDB Local: ${error.message}`, { cause: error }),
      );
    });
    child.once("exit", (code, signal) => {
      const text = output();
      const message = `DynamoDB Local exited before it was ready (${signal ?? `code ${code}`}): ${lastLine(text)}`;
      reject(
        bindFailed ? new PortInUseError(`port ${port} is already in use`) : new DynamoDbLocalError(message),
      );
    });
  });
  failed.catch(() => {});

  const endpoint = `http://127.0.0.1:${port}`;
  const running = () => child.exitCode === null && child.signalCode === null;
  const stop = async (): Promise<void> => {
    if (running()) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
    untrack(child);
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  };
  try {
    await Promise.race([waitUntilAnswering(endpoint, timeoutMs, running), failed]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, port, stop };
}

/** Polls ListTables: the JVM accepts connections a little before it can serve requests. */
async function waitUntilAnswering(
  endpoint: string,
  timeoutMs: number,
  running: () => boolean,
): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    maxAttempts: 1,
  });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }), { abortSignal: AbortSignal.timeout(2_000) });
        return;
      } catch (error) {
        // The exit handler reports why; polling a dead port would only hold the event loop.
        if (!running()) return;
        if (Date.now() > deadline) {
          throw new DynamoDbLocalError(
            `DynamoDB Local did not answer at ${endpoint} within ${timeoutMs} ms`,
            {
              cause: error,
            },
          );
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    client.destroy();
  }
}

/**
 * A port free on every interface (the JVM binds the wildcard address), checked
 * before spawning: otherwise our readiness probe could be answered by whatever
 * already listens there, and the JVM, failing to bind, would not even exit.
 */
function bindablePort(port: number): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => {
      reject(
        error.code === "EADDRINUSE"
          ? new DynamoDbLocalError(`port ${port} is already in use`, { cause: error })
          : error,
      );
    });
    server.listen(port, "0.0.0.0", () => {
      const address = server.address();
      const bound = typeof address === "object" && address ? address.port : port;
      server.close(() => resolvePort(bound));
    });
  });
}

/** Keeps the last few KB of the child's output for error messages; the pipes must be drained anyway. */
function tail(child: ChildProcess, onText: (text: string) => void): () => string {
  let text = "";
  const keep = (chunk: Buffer) => {
    text = (text + chunk.toString("utf8")).slice(-4096);
    onText(text);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  return () => text;
}

/** The line that says what went wrong: Java stack traces end in "... N more", not in the reason. */
function lastLine(text: string): string {
  const lines = text
    .trim()
    .split("\n")
    .map((line) => line.trim());
  return lines.findLast((line) => /Exception|Error/.test(line)) || lines.at(-1) || "no output";
}

const live = new Set<ChildProcess>();
let hooked = false;

function track(child: ChildProcess): void {
  live.add(child);
  if (hooked) return;
  hooked = true;
  process.on("exit", killAll);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = () => {
      killAll();
      // Alone on this signal, we must not swallow it: restore the default and re-raise.
      if (process.listenerCount(signal) === 1) {
        process.off(signal, onSignal);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, onSignal);
  }
}

function untrack(child: ChildProcess): void {
  live.delete(child);
}

function killAll(): void {
  for (const child of live) child.kill("SIGKILL");
  live.clear();
}
