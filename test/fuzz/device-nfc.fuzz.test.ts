// Fuzz stage, the device as a process: one `carkey emulator device nfc`
// process gets bursts of random APDUs, mutated APDUs of real transactions
// (often after a valid SELECT and AUTH0, so the deeper steps see them) and
// lines that are not APDUs at all (not hex, odd, blank, lone CR, too long).
// After every burst a real vehicle runs a normal transaction through the very
// same process, which must succeed. Throughout, every line gets exactly one
// answer line that is a response APDU, the process never dies, and stderr
// holds nothing but the one-line reasons for refused lines.
import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { saveDevice } from "../../src/cli/state-files.js";
import { type HexLine, HexLineReader, MAX_LINE_HEX_DIGITS } from "../../src/emulator/hex-line-reader.js";
import type { ApduChannel } from "../../src/emulator/vehicle/apdu-channel.js";
import { toHex } from "../../src/protocol/bytes.js";
import { finished, type Run, spawnCarkey } from "../support/carkey-process.js";
import { FUZZ_SEED, FUZZ_TIMEOUT, mutated, pairedCarAndPhone, recordTransactions } from "./fuzz-support.js";

const BURSTS = 100;
const LINES_PER_BURST = 100;

/** Talks to a line-protocol process one line at a time, reading its answers with the bounded reader. */
class LineSession {
  private readonly reader = new HexLineReader();
  private readonly answers: HexLine[] = [];
  private waiting: { resolve: (answer: HexLine) => void; reject: (error: Error) => void } | undefined;
  private exited: Error | undefined;
  lines = 0;

  constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.on("data", (chunk: Buffer) => {
      for (const answer of this.reader.push(chunk)) {
        const waiting = this.waiting;
        this.waiting = undefined;
        if (waiting) waiting.resolve(answer);
        else this.answers.push(answer);
      }
    });
    child.once("exit", (code) => {
      this.exited = new Error(`device nfc exited (${code}) before answering`);
      this.waiting?.reject(this.exited);
    });
  }

  /** Sends one line (without its newline) and resolves with the answer line. */
  send(line: string): Promise<HexLine> {
    this.lines++;
    const answer = new Promise<HexLine>((resolve, reject) => {
      const queued = this.answers.shift();
      if (queued) return resolve(queued);
      if (this.exited) return reject(this.exited);
      this.waiting = { resolve, reject };
    });
    this.child.stdin.write(`${line}\n`);
    return answer;
  }

  /** An APDU channel over this session, for a real vehicle. */
  readonly channel: ApduChannel = async (command) => {
    const answer = await this.send(toHex(command).toUpperCase());
    if (answer.kind !== "apdu") throw new Error(`answer line is ${answer.reason}`);
    return answer.bytes;
  };
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "carkey-fuzz-nfc-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("fuzz: `device nfc` as a process", () => {
  it(
    `answers ${BURSTS} × ${LINES_PER_BURST} hostile lines one by one, and completes a normal transaction after each burst`,
    async () => {
      const recorded = await recordTransactions();
      const { se, sealingKey, car } = pairedCarAndPhone();
      const phonePath = join(dir, "phone.json");
      saveDevice(phonePath, se, sealingKey);
      const select = recorded.commands[0]!;
      const auth0 = recorded.commands[1]!;

      const line: fc.Arbitrary<string[]> = fc.oneof(
        // Random bytes as a command APDU.
        fc.uint8Array({ maxLength: 300 }).map((b) => [toHex(b)]),
        // A real command, mutated, alone or after a good SELECT (and AUTH0), so later steps parse it.
        fc
          .tuple(fc.constantFrom(...recorded.commands).chain(mutated), fc.integer({ min: 0, max: 2 }))
          .map(([b, prefix]) => [...[select, auth0].slice(0, prefix).map(toHex), toHex(b)]),
        // A real command with a random instruction byte or class.
        fc
          .tuple(fc.constantFrom(...recorded.commands), fc.integer({ min: 0, max: 255 }), fc.boolean())
          .map(([b, value, cla]) => {
            const out = b.slice();
            out[cla ? 0 : 1] = value;
            return [toHex(out)];
          }),
        // Lines that are not APDUs.
        fc
          .string({ unit: fc.constantFrom(..."0123456789ABCDEFabcdef \tG\r\u00e9z"), maxLength: 60 })
          .map((t) => [t]),
        fc.constantFrom<string[]>(
          [""],
          [" "],
          ["\r"],
          ["0"],
          ["A".repeat(MAX_LINE_HEX_DIGITS + 2)],
          ["AB\rCD"],
        ),
      );
      const bursts = fc.sample(fc.array(line, { minLength: LINES_PER_BURST, maxLength: LINES_PER_BURST }), {
        seed: FUZZ_SEED,
        numRuns: BURSTS,
      });

      const child = spawnCarkey(["emulator", "device", "nfc", "--state", phonePath]);
      const done: Promise<Run> = finished(child);
      const session = new LineSession(child);
      let transactions = 0;
      for (const burst of bursts) {
        for (const group of burst) {
          for (const text of group) {
            const answer = await session.send(text);
            // A response APDU: at least SW1 SW2, whatever the line was.
            expect(answer.kind, JSON.stringify(text.slice(0, 80))).toBe("apdu");
            if (answer.kind === "apdu") expect(answer.bytes.length).toBeGreaterThanOrEqual(2);
          }
        }
        const result = await car.tap("door", session.channel);
        expect(result.decision, result.reason).not.toBe("refused");
        transactions++;
      }
      child.stdin.end();
      const run = await done;
      expect(run.code).toBe(0);
      for (const errorLine of run.stderr.trimEnd().split("\n").filter(Boolean)) {
        expect(errorLine).toMatch(/^carkey: input line \d+ is [^\n]+; answered 6700$/);
      }
      process.stdout.write(`fuzz device nfc: ${session.lines} lines, ${transactions} normal transactions\n`);
    },
    FUZZ_TIMEOUT,
  );
});
