// The hex line protocol with the roles reversed, for readers we did not write
// (docs/protocol.md §20): the *reader* is the process. It writes one command
// APDU in hex per line on its standard output and reads the answer (data ‖
// SW1 SW2, hex) as one line on its standard input before sending the next;
// the field session ends when it exits. Anything it writes on standard error
// is its own report. `initiatorChannel` is the reader's side (our vehicle as
// such a process); `runInitiator` is the card's side: it starts the reader
// command and answers each command through `transceive`.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { toHex } from "../protocol/bytes.js";
import { SW } from "../protocol/status-words.js";
import { parseHexLine } from "./line-protocol.js";
import type { ApduChannel } from "./vehicle/apdu-channel.js";

/** The reader's channel over its own stdout (commands) and stdin (answers). */
export function initiatorChannel(input: Readable, output: Writable): { channel: ApduChannel; close(): void } {
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  const queued: string[] = [];
  const waiting: Array<{ resolve: (line: string) => void; reject: (error: Error) => void }> = [];
  let ended = false;
  lines.on("line", (line) => {
    if (line.trim() === "") return;
    const next = waiting.shift();
    if (next) next.resolve(line);
    else queued.push(line);
  });
  lines.on("close", () => {
    ended = true;
    for (const w of waiting.splice(0)) w.reject(new Error("field lost (the card's side closed)"));
  });
  const channel: ApduChannel = (command) =>
    new Promise<Uint8Array>((resolve, reject) => {
      output.write(`${toHex(command).toUpperCase()}\n`);
      const accept = (line: string) => {
        const bytes = parseHexLine(line);
        if (bytes) resolve(bytes);
        else reject(new Error("the card answered a line that is not hex"));
      };
      const queuedLine = queued.shift();
      if (queuedLine !== undefined) return accept(queuedLine);
      if (ended) return reject(new Error("field lost (the card's side closed)"));
      waiting.push({ resolve: accept, reject });
    });
  return { channel, close: () => lines.close() };
}

export interface InitiatorRun {
  /** The reader's exit code (null when killed). */
  code: number | null;
  /** The last lines of its standard error: its own report. */
  stderr: string;
  /** Set when the reader misbehaved on the wire (a line that is not hex, no exit in time). */
  problem?: string;
}

/**
 * Starts `commandLine` (run by the shell) as a reader and answers its
 * commands until it exits. A line that is not hex is answered 6700 and
 * reported. The reader is stopped after `timeoutMs`.
 */
export function runInitiator(
  commandLine: string,
  transceive: (command: Uint8Array) => Promise<Uint8Array>,
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<InitiatorRun> {
  return new Promise((resolve) => {
    const child = spawn(commandLine, {
      shell: true,
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, ...options.env },
    });
    let stderr = "";
    let problem: string | undefined;
    child.stderr.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    child.stdin.on("error", () => {});
    const timer = setTimeout(() => {
      problem = `no exit within ${options.timeoutMs ?? 60_000} ms`;
      child.kill("SIGTERM");
    }, options.timeoutMs ?? 60_000);
    // Commands are answered strictly in order, one at a time, as a card would.
    let chain = Promise.resolve();
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      if (line.trim() === "") return;
      chain = chain.then(async () => {
        const command = parseHexLine(line);
        let answer: Uint8Array;
        if (command) {
          answer = await transceive(command);
        } else {
          problem ??= `the reader wrote a line that is not hex: ${line.slice(0, 40)}`;
          answer = Uint8Array.of(SW.WRONG_LENGTH >> 8, SW.WRONG_LENGTH & 0xff);
        }
        if (child.stdin.writable) child.stdin.write(`${toHex(answer).toUpperCase()}\n`);
      });
    });
    child.on("error", (error) => {
      problem ??= `the reader command failed to start (${error.message})`;
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      void chain.then(() => resolve({ code, stderr: stderr.trim(), ...(problem ? { problem } : {}) }));
    });
  });
}
