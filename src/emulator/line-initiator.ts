// The hex line protocol with the roles reversed, for readers we did not write
// (docs/protocol.md §22; lines are read as §23 describes): the *reader* is the process. It writes one command
// APDU in hex per line on its standard output and reads the answer (data ‖
// SW1 SW2, hex) as one line on its standard input before sending the next;
// the field session ends when it exits. Anything it writes on standard error
// is its own report. `initiatorChannel` is the reader's side (our vehicle as
// such a process); `runInitiator` is the card's side: it starts the reader
// command and answers each command through `transceive`.
import { spawn } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { toHex } from "../protocol/bytes.js";
import { SW } from "../protocol/status-words.js";
import { type HexLine, HexLineReader } from "./hex-line-reader.js";
import type { ApduChannel } from "./vehicle/apdu-channel.js";

/**
 * The reader's channel over its own stdout (commands) and stdin (answers).
 * Answers are read with the bounded line reader: a bad answer line (blank,
 * not hex, odd length, too long) or a line no command asked for fails the
 * waiting command and every later one.
 */
export function initiatorChannel(input: Readable, output: Writable): { channel: ApduChannel; close(): void } {
  const reader = new HexLineReader();
  let pending: { resolve: (bytes: Uint8Array) => void; reject: (error: Error) => void } | undefined;
  let broken: Error | undefined;
  const fail = (error: Error) => {
    broken ??= error;
    const waiting = pending;
    pending = undefined;
    waiting?.reject(broken);
  };
  const accept = (events: HexLine[]) => {
    for (const event of events) {
      if (broken) return;
      if (event.kind === "refused") return fail(new Error(`the card's answer line is ${event.reason}`));
      const waiting = pending;
      if (!waiting) return fail(new Error("the card wrote more answer lines than it was sent commands"));
      pending = undefined;
      waiting.resolve(event.bytes);
    }
  };
  const onData = (chunk: Buffer) => accept(reader.push(chunk));
  const onEnd = () => {
    accept(reader.end());
    fail(new Error("field lost (the card's side closed)"));
  };
  input.on("data", onData);
  input.once("end", onEnd);
  const channel: ApduChannel = (command) =>
    new Promise<Uint8Array>((resolve, reject) => {
      if (broken) return reject(broken);
      if (pending) return reject(new Error("a command is already waiting for its answer"));
      pending = { resolve, reject };
      output.write(`${toHex(command).toUpperCase()}\n`);
    });
  return {
    channel,
    close: () => {
      input.off("data", onData);
      input.off("end", onEnd);
      // A paused stdin lets the process exit once the transaction is over.
      input.pause();
    },
  };
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
    // Commands are answered strictly in order, one at a time, as a card would; every line gets
    // exactly one answer, a line that is not an APDU 6700 (docs/protocol.md §23).
    let chain = Promise.resolve();
    const reader = new HexLineReader();
    const answer = (event: HexLine) => {
      chain = chain.then(async () => {
        let response: Uint8Array;
        if (event.kind === "apdu") {
          response = await transceive(event.bytes);
        } else {
          problem ??= `the reader wrote line ${event.line}, which is ${event.reason}`;
          response = Uint8Array.of(SW.WRONG_LENGTH >> 8, SW.WRONG_LENGTH & 0xff);
        }
        if (child.stdin.writable) child.stdin.write(`${toHex(response).toUpperCase()}\n`);
      });
    };
    child.stdout.on("data", (chunk: Buffer) => {
      for (const event of reader.push(chunk)) answer(event);
    });
    child.stdout.on("end", () => {
      for (const event of reader.end()) answer(event);
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
