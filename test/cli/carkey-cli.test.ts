// Proves the real `carkey` CLI, run as child processes, carries the offline story end to end, serves the hex line protocol, has --help on every command, and reports errors as one line with exit code 1.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { saveDevice, saveVehicle } from "../../src/cli/state-files.js";
import { SecureElement } from "../../src/emulator/secure-element/secure-element.js";
import { Vehicle } from "../../src/emulator/vehicle/vehicle.js";
import { fromHex, toHex } from "../../src/protocol/bytes.js";
import { keyIdentifier } from "../../src/protocol/p256.js";
import { verifyTerminationAttestation } from "../../src/protocol/termination-attestation.js";
import { carkey, deviceCommand, mapLimit } from "../support/carkey-process.js";

// A bound for a loaded machine, not a performance target: each step spawns several CLI processes.
const SCENARIO_TIMEOUT = 600_000;

/** Runs a command that must succeed and print one JSON document. */
async function json<T = Record<string, unknown>>(args: string[]): Promise<T> {
  const run = await carkey(args);
  expect(run.stderr, args.join(" ")).toBe("");
  expect(run.code, args.join(" ")).toBe(0);
  return JSON.parse(run.stdout) as T;
}

interface TapOutput {
  decision: string;
  flow: string | null;
  keyId: string | null;
  reason: string;
}

function tapAt(carPath: string, phonePath: string, reader: "door" | "dashboard") {
  return json<TapOutput>([
    "emulator",
    "vehicle",
    "tap",
    "--state",
    carPath,
    "--reader",
    reader,
    "--device-cmd",
    deviceCommand(phonePath),
  ]);
}

const directories: string[] = [];
function workDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "carkey-cli-"));
  directories.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of directories.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A vehicle and a device with a key for it, each in its own state file, set up through the CLI. */
async function provision(dir: string, profile = "full") {
  const carPath = join(dir, "car.json");
  const phonePath = join(dir, "phone.json");
  const [car, phone] = await Promise.all([
    json<{ vehicleId: string; publicKey: string }>(["emulator", "vehicle", "init", "--state", carPath]),
    json<{ seId: string }>(["emulator", "device", "init", "--state", phonePath]),
  ]);
  expect(car.vehicleId).toMatch(/^[0-9a-f]{32}$/);
  expect(car.publicKey).toMatch(/^04[0-9a-f]{128}$/);
  expect(phone.seId).toMatch(/^[0-9a-f]{32}$/);
  const key = await json<{ keyId: string; endpointPublicKey: string }>([
    "emulator",
    "device",
    "add-key",
    "--state",
    phonePath,
    "--vehicle-public-key",
    car.publicKey,
    "--vehicle-id",
    car.vehicleId,
    "--profile",
    profile,
  ]);
  expect(key.endpointPublicKey).toMatch(/^04[0-9a-f]{128}$/);
  expect(key.keyId).toBe(toHex(keyIdentifier(fromHex(key.endpointPublicKey))));
  const enrolled = await json<{ keyId: string }>([
    "emulator",
    "vehicle",
    "add-key",
    "--state",
    carPath,
    "--endpoint-public-key",
    key.endpointPublicKey,
    "--profile",
    profile,
  ]);
  expect(enrolled.keyId).toBe(key.keyId);
  return { carPath, phonePath, car, key };
}

describe("carkey CLI scenarios", () => {
  it(
    "unlocks (standard), locks (fast), starts, deletes the key with an attestation, then refuses it",
    async () => {
      const { carPath, phonePath, car, key } = await provision(workDir());
      // The sealing key sits apart from the state, readable by its owner only.
      expect(statSync(`${phonePath}.sealing-key`).mode & 0o777).toBe(0o600);
      expect(readFileSync(phonePath, "utf8")).not.toContain(
        readFileSync(`${phonePath}.sealing-key`, "utf8").trim(),
      );

      expect(await tapAt(carPath, phonePath, "door")).toMatchObject({
        decision: "unlocked",
        flow: "standard",
        keyId: key.keyId,
      });
      // Both state files were saved after that transaction: the next one is fast.
      expect(await tapAt(carPath, phonePath, "door")).toMatchObject({
        decision: "locked",
        flow: "fast",
        keyId: key.keyId,
      });
      expect(await tapAt(carPath, phonePath, "dashboard")).toMatchObject({
        decision: "started",
        flow: "standard",
        keyId: key.keyId,
      });

      const deleted = await json<{ keyId: string; terminationAttestation: string }>([
        "emulator",
        "device",
        "delete-key",
        "--state",
        phonePath,
        "--key",
        key.keyId,
      ]);
      expect(deleted.keyId).toBe(key.keyId);
      const facts = verifyTerminationAttestation(
        fromHex(deleted.terminationAttestation),
        fromHex(key.endpointPublicKey),
      );
      expect(toHex(facts.vehicleIdentifier)).toBe(car.vehicleId);
      expect(toHex(facts.keyIdentifier)).toBe(key.keyId);

      const refused = await tapAt(carPath, phonePath, "door");
      expect(refused.decision).toBe("refused");
      expect(refused.reason).toContain("6A88");
    },
    SCENARIO_TIMEOUT,
  );

  it(
    "refuses an unlock-only key at the dashboard, and `device nfc` answers every line, bad ones with 6700, and goes on",
    async () => {
      const { carPath, phonePath } = await provision(workDir(), "unlock-only");
      expect(await tapAt(carPath, phonePath, "dashboard")).toMatchObject({
        decision: "refused",
        flow: "standard",
        reason: "unlock-only key cannot start the engine",
      });

      const select = "00A404000DA000000809434343444B41763100";
      const lines = [
        "zz",
        select,
        "123",
        "not hex at all",
        "",
        "80CA0000",
        `  ${select.toLowerCase()}  `,
        "00",
      ];
      const nfc = await carkey(["emulator", "device", "nfc", "--state", phonePath], `${lines.join("\n")}\n`);
      expect(nfc.code).toBe(0);
      // One answer per line, the blank one included, in order.
      expect(nfc.stdout.trim().split("\n")).toEqual([
        "6700",
        "5C04020001009000",
        "6700",
        "6700",
        "6700",
        "6D00",
        "5C04020001009000",
        "6700",
      ]);
      // Why each line the line layer refused got 6700; "00" is an APDU the SE itself refuses.
      expect(nfc.stderr.trimEnd().split("\n")).toEqual([
        'carkey: input line 1 is not hex: "z" (0x7A) at column 1; answered 6700',
        "carkey: input line 3 is odd length: 3 hex digits; answered 6700",
        'carkey: input line 4 is not hex: "n" (0x6E) at column 1; answered 6700',
        "carkey: input line 5 is blank; answered 6700",
      ]);
    },
    SCENARIO_TIMEOUT,
  );
});

describe("carkey CLI help and errors", () => {
  it(
    "prints --help for every command",
    async () => {
      const seen: string[] = [];
      let level: string[][] = [[]];
      while (level.length > 0) {
        const runs = await mapLimit(level, 4, (path) => carkey([...path, "--help"]));
        const next: string[][] = [];
        runs.forEach((run, i) => {
          const path = level[i]!;
          seen.push(path.join(" "));
          expect(run.code, path.join(" ")).toBe(0);
          expect(run.stderr, path.join(" ")).toBe("");
          expect(run.stdout).toContain(`Usage: ${["carkey", ...path].join(" ")} `);
          const commands = run.stdout.split(/\n\s*Commands:\n/)[1];
          for (const line of commands?.split("\n") ?? []) {
            const name = /^ {2}([a-z][\w-]*)/.exec(line)?.[1];
            if (name && name !== "help") next.push([...path, name]);
          }
        });
        level = next;
      }
      const expected = [
        "emulator device init",
        "emulator device add-key",
        "emulator device nfc",
        "emulator device delete-key",
        "emulator vehicle init",
        "emulator vehicle add-key",
        "emulator vehicle tap",
      ];
      expect(seen).toEqual(expect.arrayContaining(expected));
    },
    SCENARIO_TIMEOUT,
  );

  it(
    "reports each error as one line on stderr and exit code 1",
    async () => {
      const dir = workDir();
      // State files written by the library itself, to spare process spawns.
      const phonePath = join(dir, "phone.json");
      const carPath = join(dir, "car.json");
      const { se, sealingKey } = SecureElement.create();
      saveDevice(phonePath, se, sealingKey);
      const car = Vehicle.create();
      saveVehicle(carPath, car);
      const notJson = join(dir, "broken.json");
      writeFileSync(notJson, "{ not json");
      const missing = join(dir, "missing.json");
      const vehicleId = toHex(car.vehicleIdentifier);

      const cases: Array<{ args: string[]; message: string | RegExp }> = [
        {
          args: ["emulator", "device", "keys", "--state", missing],
          message: `device state ${missing} does not exist`,
        },
        {
          args: ["emulator", "vehicle", "log", "--state", missing],
          message: `vehicle state ${missing} does not exist`,
        },
        { args: ["emulator", "vehicle", "keys", "--state", notJson], message: "is not valid JSON" },
        {
          args: [
            "emulator",
            "device",
            "add-key",
            "--state",
            phonePath,
            "--vehicle-public-key",
            "ZZ",
            "--vehicle-id",
            vehicleId,
          ],
          message: "--vehicle-public-key must be an even-length hexadecimal string",
        },
        {
          args: ["emulator", "vehicle", "add-key", "--state", carPath, "--endpoint-public-key", "0411"],
          message: "endpoint public key must be a 65-byte uncompressed P-256 point",
        },
        {
          args: [
            "emulator",
            "vehicle",
            "tap",
            "--state",
            carPath,
            "--reader",
            "trunk",
            "--device-cmd",
            "true",
          ],
          message: "--reader must be door or dashboard",
        },
        { args: ["emulator", "device", "init"], message: /required option '--state <file>' not specified/ },
        { args: ["emulator", "frobnicate"], message: /unknown command 'frobnicate'/ },
        { args: ["emulator", "devic"], message: /unknown command 'devic' \(Did you mean device\?\)/ },
      ];
      const runs = await mapLimit(cases, 4, (c) => carkey(c.args));
      runs.forEach((run, i) => {
        const { args, message } = cases[i]!;
        const what = args.join(" ");
        expect(run.code, what).toBe(1);
        expect(run.stdout, what).toBe("");
        const lines = run.stderr.trimEnd().split("\n");
        expect(lines, what).toHaveLength(1);
        expect(lines[0], what).toMatch(/^carkey: /);
        if (typeof message === "string") expect(lines[0], what).toContain(message);
        else expect(lines[0], what).toMatch(message);
      });
    },
    SCENARIO_TIMEOUT,
  );
});
