// Proves both sides of the hex line protocol hold at their edges, through the
// real CLI processes: `device nfc` answers every line exactly once (blank,
// too long, not hex, odd length, CR LF, lone CR), survives a line longer than
// V8's longest string fed in chunks, and passes the largest legal extended
// APDU through; `vehicle tap` turns every kind of device misbehaviour into a
// refused, logged decision and leaves none of the device's processes running,
// also when it is itself stopped by a signal.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { loadVehicle, saveDevice, saveVehicle } from "../../src/cli/state-files.js";
import { MAX_LINE_HEX_DIGITS } from "../../src/emulator/hex-line-reader.js";
import { SecureElement } from "../../src/emulator/secure-element/secure-element.js";
import { Vehicle } from "../../src/emulator/vehicle/vehicle.js";
import { encodeCommand } from "../../src/protocol/apdu.js";
import { fromHex, toHex } from "../../src/protocol/bytes.js";
import {
  carkey,
  deviceCommand,
  finished,
  isRunning,
  mapLimit,
  misbehavingDeviceCommand,
  pidsIn,
  spawnCarkey,
} from "../support/carkey-process.js";

// A bound for a loaded machine, not a performance target.
const TIMEOUT = 600_000;
const SELECT = "00A404000DA000000809434343444B41763100";
const SELECT_ANSWER = "5C04020001009000";

const directories: string[] = [];
function workDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "carkey-lines-"));
  directories.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of directories.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A car and a phone with a key for it, written by the library (no process spawns). */
function provision(dir: string) {
  const phonePath = join(dir, "phone.json");
  const carPath = join(dir, "car.json");
  const { se, sealingKey } = SecureElement.create();
  const car = Vehicle.create();
  const key = se.provisionKey({ vehicleIdentifier: car.vehicleIdentifier, vehiclePublicKey: car.publicKey });
  car.enrollKey({ endpointPublicKey: fromHex(key.endpointPublicKey) });
  saveDevice(phonePath, se, sealingKey);
  saveVehicle(carPath, car);
  return { phonePath, carPath, keyId: key.keyId };
}

/** Waits (boundedly, for a loaded machine) until none of these processes runs. */
async function expectAllGone(pids: number[]): Promise<void> {
  await vi.waitFor(() => expect(pids.filter(isRunning)).toEqual([]), { timeout: 30_000, interval: 100 });
}

describe("`device nfc` reads with a bounded buffer and answers every line", () => {
  it(
    "answers blank, CR LF, lone-CR, not-hex and odd lines with one line each and says why on stderr",
    async () => {
      const { phonePath } = provision(workDir());
      const input = [
        "", // blank
        `${SELECT}\r`, // CR LF ends a line
        " \t ", // only spaces and tabs: blank
        `${SELECT.slice(0, 10)}\r${SELECT.slice(10)}`, // a lone CR is data
        "0G",
        "ABC",
        `  ${SELECT.toLowerCase()}  `,
      ].join("\n");
      // The last line has no newline: it is a line too.
      const run = await carkey(["emulator", "device", "nfc", "--state", phonePath], `${input}\n80CA0000`);
      expect(run.code).toBe(0);
      expect(run.stdout.split("\n")).toEqual([
        "6700",
        SELECT_ANSWER,
        "6700",
        "6700",
        "6700",
        "6700",
        SELECT_ANSWER,
        "6D00",
        "",
      ]);
      expect(run.stderr.trimEnd().split("\n")).toEqual([
        "carkey: input line 1 is blank; answered 6700",
        "carkey: input line 3 is blank; answered 6700",
        "carkey: input line 4 is not hex: carriage return (0x0D) not followed by a line feed at column 11; answered 6700",
        'carkey: input line 5 is not hex: "G" (0x47) at column 2; answered 6700',
        "carkey: input line 6 is odd length: 3 hex digits; answered 6700",
      ]);
    },
    TIMEOUT,
  );

  it(
    "passes the largest legal extended APDU to the SE and refuses one digit pair more as too long",
    async () => {
      const { phonePath } = provision(workDir());
      const largest = toHex(
        encodeCommand({ cla: 0x80, ins: 0xca, p1: 0, p2: 0, data: new Uint8Array(0xffff), le: 0x10000 }),
      );
      expect(largest.length).toBe(MAX_LINE_HEX_DIGITS);
      const run = await carkey(
        ["emulator", "device", "nfc", "--state", phonePath],
        `${largest}\n${largest}00\n${SELECT}\n`,
      );
      expect(run.code).toBe(0);
      const answers = run.stdout.trimEnd().split("\n");
      expect(answers).toHaveLength(3);
      expect(answers.slice(1)).toEqual(["6700", SELECT_ANSWER]);
      // Only the second line was refused by the line layer; the SE answered the first itself.
      expect(run.stderr).toBe(
        `carkey: input line 2 is too long: more than ${MAX_LINE_HEX_DIGITS} hex digits; answered 6700\n`,
      );
    },
    TIMEOUT,
  );

  it(
    "survives a line longer than V8's longest string, streamed in chunks, and serves the next line",
    async () => {
      const { phonePath } = provision(workDir());
      const device = spawnCarkey(["emulator", "device", "nfc", "--state", phonePath]);
      const done = finished(device);
      // V8's string limit is 2^29 - 24 characters on 64-bit; one chunk more is beyond it.
      const chunk = Buffer.alloc(1 << 20, "A".charCodeAt(0));
      const chunks = 2 ** 29 / chunk.length + 1;
      for (let i = 0; i < chunks; i++) {
        if (!device.stdin.write(chunk)) {
          await new Promise<void>((resolve) => device.stdin.once("drain", () => resolve()));
        }
      }
      device.stdin.end(`\n${SELECT}\n`);
      const run = await done;
      expect(run.code).toBe(0);
      expect(run.stdout).toBe(`6700\n${SELECT_ANSWER}\n`);
      expect(run.stderr).toBe(
        `carkey: input line 1 is too long: more than ${MAX_LINE_HEX_DIGITS} hex digits; answered 6700\n`,
      );
    },
    TIMEOUT,
  );
});

describe("`vehicle tap` against a misbehaving device", () => {
  const cases: Array<{ mode: string; reason: string }> = [
    { mode: "flood", reason: `answer line is too long: more than ${MAX_LINE_HEX_DIGITS} hex digits` },
    { mode: "over-limit", reason: `answer line is too long: more than ${MAX_LINE_HEX_DIGITS} hex digits` },
    { mode: "not-hex", reason: 'answer line is not hex: "h" (0x68) at column 1' },
    { mode: "odd", reason: "answer line is odd length: 3 hex digits" },
    { mode: "blank", reason: "answer line is blank" },
    { mode: "unasked", reason: "device wrote more answer lines than it was sent commands" },
    { mode: "exit", reason: "device command exited with code 3: the device broke down" },
  ];

  it(
    "refuses with the reason, logs it, exits 0 with one JSON document, and leaves no device process",
    async () => {
      const dir = workDir();
      const runs = await mapLimit(cases, 3, async ({ mode }) => {
        const { carPath } = provision(workDir());
        const pidFile = join(dir, `${mode}.pids`);
        const run = await carkey([
          "emulator",
          "vehicle",
          "tap",
          "--state",
          carPath,
          "--reader",
          "door",
          "--device-cmd",
          misbehavingDeviceCommand(mode, pidFile),
        ]);
        return { run, carPath, pidFile };
      });
      for (const [i, { run, carPath, pidFile }] of runs.entries()) {
        const { mode, reason } = cases[i]!;
        expect(run.stderr, mode).toBe("");
        expect(run.code, mode).toBe(0);
        const result = JSON.parse(run.stdout) as { decision: string; reason: string };
        expect(result.decision, mode).toBe("refused");
        expect(result.reason, mode).toContain(reason);
        const log = loadVehicle(carPath).transactionLog;
        expect(log.at(-1), mode).toMatchObject({ decision: "refused", reason: result.reason });
        expect(pidsIn(pidFile).length, mode).toBeGreaterThan(0);
        await expectAllGone(pidsIn(pidFile));
      }
    },
    TIMEOUT,
  );

  it(
    "reads a 70,000-character answer as an APDU (the transaction then refuses its content)",
    async () => {
      const dir = workDir();
      const { carPath } = provision(dir);
      const pidFile = join(dir, "pids");
      const run = await carkey([
        "emulator",
        "vehicle",
        "tap",
        "--state",
        carPath,
        "--reader",
        "door",
        "--device-cmd",
        misbehavingDeviceCommand("long-answer", pidFile),
      ]);
      expect(run.stderr).toBe("");
      const result = JSON.parse(run.stdout) as { decision: string; reason: string };
      expect(result.decision).toBe("refused");
      expect(result.reason).not.toMatch(/answer line|not hex|too long/);
      await expectAllGone(pidsIn(pidFile));
    },
    TIMEOUT,
  );

  it(
    "kills a device that ignores the end of its input and SIGTERM when the tap itself is stopped",
    async () => {
      const dir = workDir();
      const { carPath } = provision(dir);
      const pidFile = join(dir, "pids");
      const tap = spawnCarkey([
        "emulator",
        "vehicle",
        "tap",
        "--state",
        carPath,
        "--reader",
        "door",
        "--device-cmd",
        misbehavingDeviceCommand("silent", pidFile),
      ]);
      const done = finished(tap);
      // The device and its helper are up (and the tap is waiting for an answer).
      await vi.waitFor(() => expect(pidsIn(pidFile)).toHaveLength(2), { timeout: 60_000, interval: 100 });
      tap.kill("SIGTERM");
      const run = await done;
      expect(run.signal).toBe("SIGTERM");
      await expectAllGone(pidsIn(pidFile));
    },
    TIMEOUT,
  );

  it(
    "still completes a normal transaction with `device nfc` and leaves no process behind",
    async () => {
      const dir = workDir();
      const { carPath, phonePath, keyId } = provision(dir);
      const run = await carkey([
        "emulator",
        "vehicle",
        "tap",
        "--state",
        carPath,
        "--reader",
        "door",
        "--device-cmd",
        deviceCommand(phonePath),
      ]);
      expect(run.stderr).toBe("");
      expect(JSON.parse(run.stdout)).toMatchObject({ decision: "unlocked", flow: "standard", keyId });
    },
    TIMEOUT,
  );
});
