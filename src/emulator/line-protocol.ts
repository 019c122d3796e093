// The hex line protocol that lets any reader talk to an emulated device over
// standard input/output (docs/protocol.md §23): one command APDU in hex per
// input line, one response APDU (data ‖ SW1 SW2) in hex per output line.
// Both sides read through HexLineReader, so no line, however long, is ever
// held in memory whole.
// - `serveLineProtocol` is the device's side: every input line gets exactly
//   one answer line; a line that is not an APDU (blank, not hex, odd length,
//   too long) gets 6700 and the reason goes to `onRefusedLine`.
// - `spawnLineDevice` is the reader's side: it runs a device command as a
//   child process in its own process group, and any misbehaviour of that
//   device (a bad or unasked-for line, no answer, an early exit) fails the
//   pending command with a reason and kills the device's whole group. The
//   group is killed on every way out: close(), the reader process exiting,
//   or a SIGINT/SIGTERM/SIGHUP it receives.
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { once } from "node:events";
import type { Readable, Writable } from "node:stream";
import { toHex } from "../protocol/bytes.js";
import { SW } from "../protocol/status-words.js";
import { type HexLine, HexLineReader } from "./hex-line-reader.js";
import type { ApduChannel } from "./vehicle/apdu-channel.js";

const statusWord = (sw: number) => Uint8Array.of(sw >> 8, sw & 0xff);

export interface ServeOptions {
  /** Told about every input line answered 6700 because it is not an APDU. */
  onRefusedLine?: (line: number, reason: string) => void;
  /** Told when `transceive` throws (it should answer a status word instead); the line gets 6F00. */
  onError?: (line: number, error: unknown) => void;
}

/** Serves `transceive` on a line stream until the input ends; one answer line per input line. */
export async function serveLineProtocol(
  input: Readable,
  output: Writable,
  transceive: (command: Uint8Array) => Promise<Uint8Array>,
  options: ServeOptions = {},
): Promise<void> {
  const reader = new HexLineReader();
  let outputFailed = false;
  output.on("error", () => {
    // The reader went away; there is nobody left to answer.
    outputFailed = true;
  });
  const answer = async (event: HexLine) => {
    let response: Uint8Array;
    if (event.kind === "refused") {
      options.onRefusedLine?.(event.line, event.reason);
      response = statusWord(SW.WRONG_LENGTH);
    } else {
      try {
        response = await transceive(event.bytes);
      } catch (error) {
        options.onError?.(event.line, error);
        response = statusWord(SW.UNKNOWN);
      }
    }
    if (outputFailed) return;
    // Waiting for "drain" bounds what piles up when the reader stops reading our answers.
    if (!output.write(`${toHex(response).toUpperCase()}\n`)) {
      await Promise.race([once(output, "drain"), once(output, "close"), once(output, "error")]);
    }
  };
  for await (const chunk of input) {
    if (outputFailed) return;
    for (const event of reader.push(chunk as Buffer)) await answer(event);
  }
  for (const event of reader.end()) await answer(event);
}

export interface LineDevice {
  channel: ApduChannel;
  /** Ends the device's input, waits for it to exit (at most `exitGraceMs`), then kills what is left of it. */
  close(): Promise<void>;
  /** The device command's process id, which is also its process group id. */
  readonly pid: number | undefined;
}

export interface LineDeviceOptions {
  /** How long the first answer may take: the device command is starting up. Default 60 s. */
  firstAnswerTimeoutMs?: number;
  /** How long each later answer may take. Default 15 s. */
  answerTimeoutMs?: number;
  /** How long close() waits for the device to exit once its input ended. Default 5 s. */
  exitGraceMs?: number;
}

const EXIT_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** Starts `commandLine` (run by the shell) as a device speaking the line protocol. */
export function spawnLineDevice(commandLine: string, options: LineDeviceOptions = {}): LineDevice {
  const firstAnswerTimeoutMs = options.firstAnswerTimeoutMs ?? 60_000;
  const answerTimeoutMs = options.answerTimeoutMs ?? 15_000;
  const exitGraceMs = options.exitGraceMs ?? 5_000;
  // Its own process group, so killing it reaches the shell and everything the shell started.
  const child: ChildProcessWithoutNullStreams = spawn(commandLine, {
    shell: true,
    detached: true,
    stdio: ["pipe", "pipe", "pipe"],
  });
  const reader = new HexLineReader();
  let pending: { resolve: (bytes: Uint8Array) => void; reject: (error: Error) => void } | undefined;
  let broken: Error | undefined;
  let answered = 0;
  let stderr = "";
  let exited = false;

  const killGroup = () => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // ESRCH: the group is gone already.
    }
  };
  const onProcessExit = () => killGroup();
  const onSignal = (signal: NodeJS.Signals) => {
    killGroup();
    // Nobody else handles this signal: take its default course, as if this listener were not there.
    if (process.listenerCount(signal) === 1) {
      release();
      process.kill(process.pid, signal);
    }
  };
  process.once("exit", onProcessExit);
  for (const signal of EXIT_SIGNALS) process.on(signal, onSignal);
  const release = () => {
    process.off("exit", onProcessExit);
    for (const signal of EXIT_SIGNALS) process.off(signal, onSignal);
  };

  /** The device misbehaved or is gone: fail what waits, fail what comes, stop it. */
  const fail = (error: Error) => {
    if (!broken) broken = error;
    const waiting = pending;
    pending = undefined;
    waiting?.reject(broken);
    if (!exited) killGroup();
  };
  const lastStderrLine = () => {
    const text = stderr.trim();
    return text ? `: ${text.split("\n").pop()}` : "";
  };

  child.stderr.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-2000);
  });
  const accept = (events: HexLine[]) => {
    for (const event of events) {
      if (broken) return;
      if (event.kind === "refused") return fail(new Error(`answer line is ${event.reason}`));
      const waiting = pending;
      if (!waiting) return fail(new Error("device wrote more answer lines than it was sent commands"));
      pending = undefined;
      answered++;
      waiting.resolve(event.bytes);
    }
  };
  child.stdout.on("data", (chunk: Buffer) => {
    if (!broken) accept(reader.push(chunk));
  });
  child.stdout.on("end", () => {
    if (!broken) accept(reader.end());
  });
  let exitReason = "";
  child.on("exit", (code, signal) => {
    exited = true;
    exitReason = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    // Anything left in its group goes with it (and lets go of the pipes, so "close" follows).
    killGroup();
  });
  // After "exit" and after its output was read to the end: an answer written just before exiting counts.
  child.on("close", () => {
    release();
    fail(new Error(`device command ${exitReason}${lastStderrLine()}`));
  });
  // A device that dies mid-write is reported through "exit"; the pipe error itself is expected then.
  child.stdin.on("error", () => {});
  child.on("error", (error) => {
    release();
    fail(new Error(`device command failed to start (${error.message})`));
  });

  const channel: ApduChannel = (command) =>
    new Promise<Uint8Array>((resolve, reject) => {
      if (broken) return reject(broken);
      if (pending) return reject(new Error("a command is already waiting for its answer"));
      const timeoutMs = answered === 0 ? firstAnswerTimeoutMs : answerTimeoutMs;
      const timer = setTimeout(() => fail(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      pending = {
        resolve: (bytes) => {
          clearTimeout(timer);
          resolve(bytes);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      child.stdin.write(`${toHex(command).toUpperCase()}\n`);
    });

  const close = async () => {
    if (!broken) broken = new Error("the device was closed");
    if (!exited && child.pid !== undefined) {
      const gone = once(child, "exit");
      child.stdin.end();
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, exitGraceMs);
      });
      await Promise.race([gone, grace]);
      clearTimeout(timer);
      if (!exited) {
        killGroup();
        await gone;
      }
    }
    release();
  };
  return { channel, close, pid: child.pid };
}
