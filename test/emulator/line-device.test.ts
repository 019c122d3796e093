// Proves the reader's side of the hex line protocol, `spawnLineDevice`, kills
// the device command's whole process group on the exit paths a test can
// reach in-process: no answer in time, and close() on a device that ignores
// the end of its input and SIGTERM. (Misbehaving answers and signals are
// proven through `vehicle tap` in test/cli/line-protocol.test.ts.)
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { spawnLineDevice } from "../../src/emulator/line-protocol.js";
import { isRunning, misbehavingDeviceCommand, pidsIn } from "../support/carkey-process.js";

const directories: string[] = [];
afterEach(() => {
  for (const dir of directories.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function pidFile(): string {
  const dir = mkdtempSync(join(tmpdir(), "carkey-line-device-"));
  directories.push(dir);
  return join(dir, "pids");
}

async function startedSilentDevice(options: Parameters<typeof spawnLineDevice>[1]) {
  const pids = pidFile();
  const device = spawnLineDevice(misbehavingDeviceCommand("silent", pids), options);
  // Both the device and its helper are running before the test goes on.
  await vi.waitFor(() => expect(pidsIn(pids)).toHaveLength(2), { timeout: 60_000, interval: 50 });
  return { device, pids: pidsIn(pids) };
}

const allGone = (pids: number[]) =>
  vi.waitFor(() => expect(pids.filter(isRunning)).toEqual([]), { timeout: 30_000, interval: 50 });

describe("spawnLineDevice", () => {
  it("fails a command nobody answers with the reason and kills the device's group", async () => {
    const { device, pids } = await startedSilentDevice({ firstAnswerTimeoutMs: 200 });
    await expect(device.channel(Uint8Array.of(0x00, 0xa4, 0x04, 0x00))).rejects.toThrow(
      "no answer within 200 ms",
    );
    // Once broken, the channel stays broken: no command reaches a device that misbehaved.
    await expect(device.channel(Uint8Array.of(0x00, 0xa4, 0x04, 0x00))).rejects.toThrow(
      "no answer within 200 ms",
    );
    await allGone(pids);
    await device.close();
  });

  it("close() kills a device that outlives the end of its input", async () => {
    const listeners = process.listenerCount("SIGTERM");
    const { device, pids } = await startedSilentDevice({ exitGraceMs: 200 });
    expect(process.listenerCount("SIGTERM")).toBe(listeners + 1);
    await device.close();
    await allGone(pids);
    // Its signal and exit hooks are gone with it.
    expect(process.listenerCount("SIGTERM")).toBe(listeners);
  });
});
