// Proves `carkey emulator share` and `carkey emulator revoke` on a device in lost mode fail with one line on stderr, exit code 1, and leave both state files as they were.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { saveDevice } from "../../src/cli/state-files.js";
import { fromHex } from "../../src/protocol/bytes.js";
import { createDevice, createVehicle, EmulatedOem, pairOwner, shareKey } from "../support/emulated-pki.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = join(ROOT, "bin", "carkey.js");

function carkey(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      // No per-process timeout: on a loaded machine a CLI start alone can pass a minute; the test's own bound holds.
      { cwd: ROOT },
      (_e, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
    );
  });
}

const dir = mkdtempSync(join(tmpdir(), "carkey-lost-mode-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("carkey share and revoke on a locked device", () => {
  it("refuse in one line and change no state file", async () => {
    const oem = await EmulatedOem.create();
    const car = await createVehicle(oem);
    const owner = await createDevice(oem);
    const alice = await createDevice(oem);
    const bob = await createDevice(oem);
    const { keyId: ownerKeyId } = await pairOwner(oem, car, owner.se);
    const aliceKey = await shareKey(owner.se, ownerKeyId, alice.se, { kind: "full" });
    owner.se.applyNotice(oem.notice(fromHex(owner.se.seId), "suspend"));
    const ownerPath = join(dir, "owner.json");
    const bobPath = join(dir, "bob.json");
    saveDevice(ownerPath, owner.se, owner.sealingKey);
    saveDevice(bobPath, bob.se, bob.sealingKey);
    const files = () => [readFileSync(ownerPath, "utf8"), readFileSync(bobPath, "utf8")];
    const before = files();

    const runs = [
      await carkey([
        "emulator",
        "share",
        "--owner-state",
        ownerPath,
        "--friend-state",
        bobPath,
        "--key",
        ownerKeyId,
        "--profile",
        "full",
      ]),
      await carkey(["emulator", "revoke", "--owner-state", ownerPath, "--key", aliceKey.keyId]),
    ];
    const expected = ["sign a key attestation", "sign a revocation"];
    runs.forEach((run, i) => {
      expect(run.code).toBe(1);
      expect(run.stdout).toBe("");
      expect(run.stderr).toBe(`carkey: the device is in lost mode (locked): it refuses to ${expected[i]}\n`);
    });
    expect(files()).toEqual(before);
  }, 600_000);
});
