// The whole cloud story end to end against the local server (the same
// handlers as Lambda, DynamoDB Local): pair, share two keys through the relay
// while the car is offline, friend unlocks, owner revokes remotely, the
// friend's device syncs and terminates the key, the car syncs and drops it,
// lost mode suspends then resumes, the owner migrates to a new phone and the
// friend's key still works. Run once through the library and once through
// `carkey demo --json --url` as a child process.
import "../support/quiet-logs.js";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type LocalDeployment,
  startLocalDeployment,
} from "../../src/adapters/local-server/local-deployment.js";
import { DEMO_STEPS, type DemoStep, runDemoStory } from "../../src/cli/demo/demo-story.js";
import { otherDeviceMakerIn } from "../../src/cli/demo/other-device-maker.js";
import { factoryAttesterFromFile } from "../../src/emulator/secure-element/factory-attester-file.js";

const run = promisify(execFile);

// A bound for a loaded machine (the demo runs a CLI process and dozens of requests), not a performance target.
describe("the cloud story against the local server", { timeout: 600_000 }, () => {
  let stack: LocalDeployment;
  let dataDir: string;
  const handlerErrors: unknown[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "carkeys-e2e-"));
    stack = await startLocalDeployment({
      port: 0,
      inMemory: true,
      dataDir,
      onHandlerError: (error) => handlerErrors.push(error),
    });
  });

  afterAll(async () => {
    await stack?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("runs every step with the expected outcome, through the library", async () => {
    const { attester } = factoryAttesterFromFile(join(stack.keysDir, "se-manufacturer.json"));
    const steps: DemoStep[] = [];
    const ok = await runDemoStory(
      {
        url: stack.url,
        oemToken: stack.oemToken,
        manufacturer: attester,
        otherDeviceMaker: (await otherDeviceMakerIn(stack.keysDir))!,
      },
      (s) => steps.push(s),
    );
    expect(steps.filter((s) => !s.ok)).toEqual([]);
    expect(ok).toBe(true);
    expect(steps.map((s) => s.step)).toEqual([...DEMO_STEPS]);
    const decisions = Object.fromEntries(steps.map((s) => [s.step, s.decision]));
    expect(decisions).toMatchObject({
      "owner-unlock": "unlocked",
      "owner-start": "started",
      "friend-unlock": "unlocked",
      "friend-start-refused": "refused",
      revoke: "terminated",
      "friend-refused-after-revoke": "refused",
      "owner-refused-while-lost": "refused",
      "owner-unlock-after-resume": "unlocked",
      "migrate-owner": "migrated",
      "friend-unlock-after-migration": "unlocked",
      "friend-slot-limit-refused": "refused",
      "activation-code-required": "refused",
      "activation-code-accepted": "locked",
      "watch-key-unlock": "unlocked",
      "car-lists-keys": "listed",
      "car-delete-key": "deleted",
      "deleted-key-refused": "refused",
      "expired-key-refused": "refused",
    });
    // The other phone maker's friend is registered with the service, which trusts that maker's root.
    expect(steps.find((s) => s.step === "share-cross-platform")?.detail).toMatch(
      /certified by "O=Emulated Device Maker B.*a Device OEM the service trusts\) and registered with the service/,
    );
    expect(steps.find((s) => s.step === "friend-slot-limit-refused")?.detail).toMatch(
      /service 409 urn:carkeys:problem:friend-slots-full, car: enrollment: friend key slots full/,
    );
    expect(steps.find((s) => s.step === "expired-key-refused")?.detail).toMatch(
      /the service records it expired/,
    );
    expect(steps.find((s) => s.step === "friend-start-refused")?.detail).toContain("unlock-only");
    expect(steps.find((s) => s.step === "owner-refused-while-lost")?.detail).toContain("6283");
    expect(handlerErrors).toEqual([]);
  });

  it("prints one JSON object per step from `carkey demo --json --url`", async () => {
    const { stdout } = await run(
      process.execPath,
      [
        "bin/carkey.js",
        "demo",
        "--json",
        "--url",
        stack.url,
        "--data-dir",
        dataDir,
        "--oem-token",
        stack.oemToken,
      ],
      { cwd: process.cwd(), timeout: 540_000 },
    );
    const lines = stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as DemoStep);
    expect(lines.map((l) => l.step)).toEqual([...DEMO_STEPS]);
    for (const line of lines) {
      expect(Object.keys(line).sort()).toEqual(["decision", "detail", "ok", "step"]);
      expect(line.ok, `${line.step}: ${line.detail}`).toBe(true);
    }
  });
});
