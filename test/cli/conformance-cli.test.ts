// Proves the conformance kit through the real CLI, as child processes: our vehicle against our device
// (`conformance --device-cmd`), a reader command driving our device (`conformance --reader-cmd`), both with
// every case passing; a broken device fails with exit code 1; `vehicle tap --trace` records every APDU.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { saveDevice, saveVehicle } from "../../src/cli/state-files.js";
import { SecureElement } from "../../src/emulator/secure-element/secure-element.js";
import { Vehicle } from "../../src/emulator/vehicle/vehicle.js";
import { fromHex } from "../../src/protocol/bytes.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = join(ROOT, "bin", "carkey.js");
// Bounds for a loaded machine (every case starts CLI processes), not performance targets.
const TIMEOUT = 600_000;

function carkey(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: ROOT, timeout: 540_000 },
      (_e, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
    );
  });
}

const quote = (parts: string[]) => parts.map((p) => JSON.stringify(p)).join(" ");

const dir = mkdtempSync(join(tmpdir(), "carkey-conformance-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A car and a phone that trust each other, saved where the CLI reads them. */
function provision(name: string) {
  const carPath = join(dir, `${name}-car.json`);
  const phonePath = join(dir, `${name}-phone.json`);
  const car = Vehicle.create();
  const { se, sealingKey } = SecureElement.create();
  const key = se.provisionKey({ vehicleIdentifier: car.vehicleIdentifier, vehiclePublicKey: car.publicKey });
  car.enrollKey({ endpointPublicKey: fromHex(key.endpointPublicKey) });
  saveVehicle(carPath, car);
  saveDevice(phonePath, se, sealingKey);
  return { carPath, phonePath };
}

function cases(stdout: string) {
  return stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as { case: string; ok: boolean; detail: string });
}

describe("carkey emulator conformance", () => {
  it(
    "--device-cmd: our vehicle against our device, every case passing, with a trace of every APDU",
    async () => {
      const { carPath, phonePath } = provision("device");
      const before = readFileSync(carPath, "utf8");
      const tracePath = join(dir, "device-trace.jsonl");
      const run = await carkey([
        "emulator",
        "conformance",
        "--vehicle-state",
        carPath,
        "--device-cmd",
        quote([process.execPath, BIN, "emulator", "device", "nfc", "--state", phonePath]),
        "--trace",
        tracePath,
      ]);
      expect(run.stderr).toBe("");
      const results = cases(run.stdout);
      expect(results.map((r) => r.case)).toEqual([
        "standard-door-unlock",
        "fast-door-lock",
        "engine-start",
        "wrong-reader-key",
        "no-mailbox-support",
        "control-flow-01-00",
        "control-flow-01-01",
        "control-flow-01-80",
        "control-flow-00-05",
      ]);
      for (const r of results) expect(r, r.case).toMatchObject({ ok: true });
      expect(run.code).toBe(0);
      expect(results.find((r) => r.case === "wrong-reader-key")!.detail).toContain("got 6300");
      expect(results.find((r) => r.case === "control-flow-00-05")!.detail).toContain("answered 6400");
      expect(results.find((r) => r.case === "no-mailbox-support")!.detail).toContain("no mailbox support");
      // The vehicle state is only read.
      expect(readFileSync(carPath, "utf8")).toBe(before);
      const trace = readFileSync(tracePath, "utf8")
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as { case: string; step: string; command: string; answer: string });
      expect(trace.slice(0, 5).map((t) => t.step)).toEqual([
        "SELECT",
        "AUTH0",
        "AUTH1",
        "EXCHANGE",
        "CONTROL FLOW",
      ]);
      expect(trace[0]).toMatchObject({
        case: "standard-door-unlock",
        command: "00a404000da000000809434343444b41763100",
      });
      expect(
        trace.some((t) => t.case === "control-flow-00-05" && t.command === "803c0005" && t.answer === "6400"),
      ).toBe(true);
    },
    TIMEOUT,
  );

  it(
    "--reader-cmd: our vehicle as a line-protocol initiator driving our device, every case passing",
    async () => {
      const { carPath, phonePath } = provision("reader");
      const devicesBefore = readFileSync(phonePath, "utf8");
      const run = await carkey([
        "emulator",
        "conformance",
        "--device-state",
        phonePath,
        "--reader-cmd",
        `${quote([process.execPath, BIN, "emulator", "vehicle", "reader", "--state", carPath])} --intent {intent}`,
      ]);
      expect(run.stderr).toBe("");
      const results = cases(run.stdout);
      expect(results.map((r) => r.case)).toEqual([
        "standard-door-unlock",
        "fast-door-lock",
        "engine-start",
        "wrong-reader-key",
        "no-mailbox-support",
        "control-flow",
      ]);
      for (const r of results) expect(r, r.case).toMatchObject({ ok: true });
      expect(run.code).toBe(0);
      expect(results.find((r) => r.case === "fast-door-lock")!.detail).not.toContain("AUTH1");
      expect(results.find((r) => r.case === "wrong-reader-key")!.detail).toContain("AUTH1→6300");
      expect(readFileSync(phonePath, "utf8")).toBe(devicesBefore);
    },
    TIMEOUT,
  );

  it(
    "exits 1 when a device fails the cases, and `vehicle tap --trace` prints the failing step and records the APDUs",
    async () => {
      const { carPath } = provision("broken");
      // A "device" that answers 6D00 to everything, SELECT included (a plain node process: quick to start).
      const broken = quote([
        process.execPath,
        "-e",
        "require('readline').createInterface({input:process.stdin}).on('line',()=>process.stdout.write('6D00\\n'))",
      ]);
      const run = await carkey([
        "emulator",
        "conformance",
        "--vehicle-state",
        carPath,
        "--device-cmd",
        broken,
      ]);
      expect(run.code).toBe(1);
      const results = cases(run.stdout);
      expect(results[0]).toMatchObject({ case: "standard-door-unlock", ok: false });
      expect(results[0]!.detail).toContain(
        "failed at SELECT: sent 00a404000da000000809434343444b41763100, got 6d00",
      );

      const tracePath = join(dir, "tap-trace.jsonl");
      const tap = await carkey([
        "emulator",
        "vehicle",
        "tap",
        "--state",
        carPath,
        "--reader",
        "door",
        "--device-cmd",
        broken,
        "--trace",
        tracePath,
      ]);
      expect(tap.code).toBe(0);
      const result = JSON.parse(tap.stdout);
      expect(result).toMatchObject({
        decision: "refused",
        reason: "SELECT: device answered 6D00 (instruction not supported)",
        failure: {
          step: "SELECT",
          command: "00a404000da000000809434343444b41763100",
          answer: "6d00",
          expected: "status 9000 and TLV(5C, versions)",
        },
      });
      expect(JSON.parse(readFileSync(tracePath, "utf8").trim())).toEqual({
        step: "SELECT",
        command: "00a404000da000000809434343444b41763100",
        answer: "6d00",
      });
    },
    TIMEOUT,
  );
});
