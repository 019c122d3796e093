// The hex line protocol that lets any reader talk to an emulated device over
// standard input/output: one command APDU in hex per input line, one response
// APDU (data ‖ SW1 SW2) in hex per output line. A bad line gets a status word
// on its own line (6700 for bad hex), never a crash. `spawnLineDevice` is the
// reader's side: it runs such a device as a child process.
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { fromHex, toHex } from "../protocol/bytes.js";
import { SW } from "../protocol/status-words.js";
import type { ApduChannel } from "./vehicle/apdu-channel.js";

const MAX_LINE_HEX = 2 * (5 + 0xffff + 3);

export function parseHexLine(line: string): Uint8Array | undefined {
  const compact = line.replace(/\s+/g, "");
  if (compact.length === 0 || compact.length > MAX_LINE_HEX) return undefined;
  try {
    return fromHex(compact);
  } catch {
    return undefined;
  }
}

/** Serves `transceive` on a line stream until the input ends. */
export async function serveLineProtocol(
  input: Readable,
  output: Writable,
  transceive: (command: Uint8Array) => Promise<Uint8Array>,
): Promise<void> {
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    if (line.trim() === "") continue;
    const command = parseHexLine(line);
    const response = command
      ? await transceive(command)
      : Uint8Array.of(SW.WRONG_LENGTH >> 8, SW.WRONG_LENGTH & 0xff);
    output.write(`${toHex(response).toUpperCase()}\n`);
  }
}

export interface LineDevice {
  channel: ApduChannel;
  close(): Promise<void>;
}

/** Starts `commandLine` (run by the shell) as a device speaking the line protocol. */
export function spawnLineDevice(commandLine: string, options: { timeoutMs?: number } = {}): LineDevice {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const child: ChildProcessWithoutNullStreams = spawn(commandLine, {
    shell: true,
    stdio: ["pipe", "pipe", "pipe"],
  });
  const lines = createInterface({ input: child.stdout });
  const waiting: Array<{ resolve: (line: string) => void; reject: (error: Error) => void }> = [];
  const queued: string[] = [];
  let stderr = "";
  let exited: Error | undefined;
  child.stderr.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  lines.on("line", (line) => {
    const next = waiting.shift();
    if (next) next.resolve(line);
    else queued.push(line);
  });
  const onEnd = (reason: string) => {
    exited = new Error(`${reason}${stderr.trim() ? `: ${stderr.trim().split("\n").pop()}` : ""}`);
    for (const w of waiting.splice(0)) w.reject(exited);
  };
  child.on("exit", (code) => onEnd(`device command exited with code ${code}`));
  // A device that dies mid-write is reported through "exit"; the pipe error itself is expected then.
  child.stdin.on("error", () => {});
  child.on("error", (error) => onEnd(`device command failed to start (${error.message})`));

  const channel: ApduChannel = (command) =>
    new Promise<Uint8Array>((resolve, reject) => {
      const queuedLine = queued.shift();
      const accept = (line: string) => {
        const bytes = parseHexLine(line);
        if (bytes) resolve(bytes);
        else reject(new Error("device answered a line that is not hex"));
      };
      if (queuedLine !== undefined) return accept(queuedLine);
      if (exited) return reject(exited);
      const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      waiting.push({
        resolve: (line) => {
          clearTimeout(timer);
          accept(line);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      child.stdin.write(`${toHex(command).toUpperCase()}\n`);
    });

  const close = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.stdin.end();
      setTimeout(() => child.kill("SIGTERM"), 5_000).unref();
    });
  return { channel, close };
}
