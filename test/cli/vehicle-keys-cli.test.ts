// Proves, through the real `carkey` CLI with no network anywhere, that the
// car lists its keys locally with role, profile, limits, expiry and last use,
// refuses a delete-key without an owner key present, deletes one after an
// owner tap and refuses it afterwards, and refuses an expired key at once.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { carkey, deviceCommand } from "../support/carkey-process.js";

// A bound for a loaded machine, not a performance target: each step spawns CLI processes.
const SCENARIO_TIMEOUT = 600_000;

async function json<T = Record<string, unknown>>(args: string[]): Promise<T> {
  const run = await carkey(args);
  expect(run.stderr, args.join(" ")).toBe("");
  expect(run.code, args.join(" ")).toBe(0);
  return JSON.parse(run.stdout) as T;
}

interface KeyListOutput {
  friendKeySlots: number;
  expired: string[];
  keys: {
    keyId: string;
    role: string;
    origin: string;
    profile: string;
    limits: Record<string, unknown>;
    expiresAt: string | null;
    lastUsedAt: string | null;
  }[];
}

const directories: string[] = [];
afterEach(() => {
  for (const dir of directories.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A car and two phones with workshop keys: the owner's (full) and a friend's with the given profile options. */
async function provision(friendOptions: string[]) {
  const dir = mkdtempSync(join(tmpdir(), "carkey-keys-"));
  directories.push(dir);
  const carPath = join(dir, "car.json");
  const ownerPath = join(dir, "owner.json");
  const friendPath = join(dir, "friend.json");
  const [car] = await Promise.all([
    json<{ vehicleId: string; publicKey: string; friendKeySlots: number }>([
      "emulator",
      "vehicle",
      "init",
      "--state",
      carPath,
      "--friend-slots",
      "3",
    ]),
    json(["emulator", "device", "init", "--state", ownerPath]),
    json(["emulator", "device", "init", "--state", friendPath]),
  ]);
  expect(car.friendKeySlots).toBe(3);
  const keys: Record<string, string> = {};
  for (const [name, path, role, options] of [
    ["owner", ownerPath, "owner", []],
    ["friend", friendPath, "friend", friendOptions],
  ] as const) {
    const key = await json<{ keyId: string; endpointPublicKey: string }>([
      "emulator",
      "device",
      "add-key",
      "--state",
      path,
      "--vehicle-public-key",
      car.publicKey,
      "--vehicle-id",
      car.vehicleId,
      ...options,
    ]);
    await json([
      "emulator",
      "vehicle",
      "add-key",
      "--state",
      carPath,
      "--endpoint-public-key",
      key.endpointPublicKey,
      "--role",
      role,
      ...options,
    ]);
    keys[name] = key.keyId;
  }
  const tap = (phone: string, action: "unlock" | "lock") =>
    json<{ decision: string; keyId: string | null; reason: string }>([
      "emulator",
      "vehicle",
      "tap",
      "--state",
      carPath,
      "--reader",
      "door",
      "--action",
      action,
      "--device-cmd",
      deviceCommand(phone),
    ]);
  return { carPath, ownerPath, friendPath, keys: keys as { owner: string; friend: string }, tap };
}

describe("carkey emulator vehicle keys / delete-key", () => {
  it(
    "lists keys locally; refuses a delete without an owner key present; deletes after an owner tap",
    async () => {
      const until = "2099-01-01T00:00:00.000Z";
      const w = await provision(["--profile", "drive", "--speed-limit", "70", "--valid-until", until]);
      expect((await w.tap(w.friendPath, "unlock")).decision).toBe("unlocked");
      const list = await json<KeyListOutput>(["emulator", "vehicle", "keys", "--state", w.carPath]);
      expect(list.friendKeySlots).toBe(3);
      expect(list.expired).toEqual([]);
      expect(list.keys).toMatchObject([
        {
          keyId: w.keys.owner,
          role: "owner",
          origin: "workshop",
          profile: "full",
          expiresAt: null,
          lastUsedAt: null,
        },
        {
          keyId: w.keys.friend,
          role: "friend",
          profile: "drive",
          limits: { speedLimitKmh: 70 },
          expiresAt: until,
          lastUsedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        },
      ]);

      const refused = await carkey([
        "emulator",
        "vehicle",
        "delete-key",
        "--state",
        w.carPath,
        "--key",
        w.keys.friend,
      ]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^carkey: deleting a key needs an owner key present/);
      expect((await w.tap(w.friendPath, "lock")).decision).toBe("locked");

      expect((await w.tap(w.ownerPath, "unlock")).decision).toBe("unlocked");
      expect(
        await json(["emulator", "vehicle", "delete-key", "--state", w.carPath, "--key", w.keys.friend]),
      ).toEqual({ deleted: w.keys.friend, role: "friend", authorizedBy: w.keys.owner });
      const after = await w.tap(w.friendPath, "lock");
      expect(after).toMatchObject({ decision: "refused", keyId: w.keys.friend });
      const listed = await json<KeyListOutput>(["emulator", "vehicle", "keys", "--state", w.carPath]);
      expect(listed.keys.map((k) => k.keyId)).toEqual([w.keys.owner]);
    },
    SCENARIO_TIMEOUT,
  );

  it(
    "refuses a key past its end at once, with no network, and drops it from the car",
    async () => {
      const w = await provision([
        "--valid-from",
        "2020-01-01T00:00:00Z",
        "--valid-until",
        "2021-01-01T00:00:00Z",
      ]);
      expect(await w.tap(w.friendPath, "unlock")).toMatchObject({
        decision: "refused",
        keyId: w.keys.friend,
        reason: "key expired at 2021-01-01T00:00:00.000Z; removed from this vehicle",
      });
      const list = await json<KeyListOutput>(["emulator", "vehicle", "keys", "--state", w.carPath]);
      expect(list.keys.map((k) => k.keyId)).toEqual([w.keys.owner]);
      expect((await w.tap(w.friendPath, "unlock")).decision).toBe("refused");
    },
    SCENARIO_TIMEOUT,
  );
});
