// Runs README's cross-platform example through the carkey CLI processes: two device makers, an owner,
// a co-owner on the other maker's phone who shares further, and a guest whose driving limits the car
// applies and names in the tap result; then a co-owner share beyond its own profile is refused in one line.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = join(ROOT, "bin", "carkey.js");
const dir = mkdtempSync(join(tmpdir(), "carkey-sharing-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function carkey(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, ...args], { cwd: dir }, (_e, stdout, stderr) =>
      resolve({ code: child.exitCode, stdout, stderr }),
    );
  });
}

async function json<T = Record<string, unknown>>(...args: string[]): Promise<T> {
  const run = await carkey(args);
  expect(run.stderr, args.join(" ")).toBe("");
  expect(run.code, args.join(" ")).toBe(0);
  return JSON.parse(run.stdout) as T;
}

const NFC = `${process.execPath} ${BIN} emulator device nfc --state`;

describe("carkey: cross-platform sharing, a co-owner and driving limits", () => {
  it("runs README's example and refuses a co-owner share beyond its own profile", async () => {
    await json("emulator", "oem", "init", "--dir", "oem");
    await json("emulator", "oem", "init", "--dir", "maker-b", "--name", "Maker B");
    await json(
      "emulator",
      "vehicle",
      "init",
      "--state",
      "car2.json",
      "--oem",
      "oem",
      "--trust-oem",
      "maker-b",
    );
    await json(
      "emulator",
      "device",
      "init",
      "--state",
      "owner2.json",
      "--oem",
      "oem",
      "--trust-oem",
      "maker-b",
    );
    await json(
      "emulator",
      "device",
      "init",
      "--state",
      "coowner.json",
      "--oem",
      "maker-b",
      "--vehicle-oem",
      "oem",
      "--trust-oem",
      "oem",
    );
    await json(
      "emulator",
      "device",
      "init",
      "--state",
      "guest.json",
      "--oem",
      "oem",
      "--trust-oem",
      "maker-b",
    );
    const { password } = await json<{ password: string }>(
      "emulator",
      "pairing",
      "start",
      "--vehicle-state",
      "car2.json",
      "--oem",
      "oem",
      "--scrypt-n",
      "1024",
    );
    const { keyId: owner } = await json<{ keyId: string }>(
      "emulator",
      "pair",
      "--device-state",
      "owner2.json",
      "--vehicle-state",
      "car2.json",
      "--password",
      password,
    );
    const { friendKeyId: coOwner } = await json<{ friendKeyId: string }>(
      "emulator",
      "share",
      "--owner-state",
      "owner2.json",
      "--friend-state",
      "coowner.json",
      "--key",
      owner,
      "--profile",
      "full",
      "--share-role",
      "co-owner",
    );
    const shared = await json<{ friendKeyId: string; profile: Record<string, unknown> }>(
      "emulator",
      "share",
      "--owner-state",
      "coowner.json",
      "--friend-state",
      "guest.json",
      "--key",
      coOwner,
      "--profile",
      "drive",
      "--speed-limit",
      "80",
      "--power-limit",
      "60",
      "--volume-limit",
      "40",
      "--stability-control-locked",
    );
    expect(shared.profile).toMatchObject({ kind: "drive", speedLimitKmh: 80, powerLimitPercent: 60 });
    const unlock = await json<{ decision: string; reason: string }>(
      "emulator",
      "vehicle",
      "tap",
      "--state",
      "car2.json",
      "--reader",
      "door",
      "--device-cmd",
      `${NFC} guest.json`,
    );
    expect(unlock.decision).toBe("unlocked");
    expect(unlock.reason).toContain("enrolled from the owner's attestation");
    const start = await json<{ decision: string; reason: string; limits: unknown }>(
      "emulator",
      "vehicle",
      "tap",
      "--state",
      "car2.json",
      "--reader",
      "dashboard",
      "--device-cmd",
      `${NFC} guest.json`,
    );
    expect(start).toMatchObject({
      decision: "started",
      limits: {
        speedLimitKmh: 80,
        powerLimitPercent: 60,
        audioVolumeLimitPercent: 40,
        stabilityControlLocked: true,
      },
    });
    expect(start.reason).toMatch(
      /^friend key, drive, speed limited to 80 km\/h, power limited to 60%, audio volume limited to 40%, stability control locked on/,
    );

    // The guest's own key is a guest's: it shares nothing; and a co-owner shares only within its own profile.
    await json("emulator", "device", "init", "--state", "other.json", "--oem", "oem");
    const refused = await carkey([
      "emulator",
      "share",
      "--owner-state",
      "guest.json",
      "--friend-state",
      "other.json",
      "--key",
      shared.friendKeyId,
      "--profile",
      "unlock-only",
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^carkey: key \w+ is a guest key: only owner and co-owner keys share\n$/);
  });
});
