// `carkey emulator vehicle …`: an emulated car with a door-handle reader and
// a dashboard reader, tapping devices that speak the hex line protocol.
import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { initiatorChannel } from "../../emulator/line-initiator.js";
import { spawnLineDevice } from "../../emulator/line-protocol.js";
import type { Intent, TraceEntry } from "../../emulator/vehicle/reader-transaction.js";
import { accessProfileFromOptions } from "../../protocol/access-profile.js";
import { fromHex, toHex } from "../../protocol/bytes.js";
import { CliError } from "../errors.js";
import { action, printJson } from "../output.js";
import { type ProfileOptions, withProfileOptions } from "../profile-options.js";

export function registerVehicleCommands(emulator: Command): void {
  const vehicle = emulator
    .command("vehicle")
    .description("an emulated vehicle with door and dashboard readers");

  vehicle
    .command("init")
    .description("create an emulated vehicle; prints its identifier and public key")
    .requiredOption("--state <file>", "vehicle state file to create")
    .option("--oem <dir>", "certify it by this OEM's Vehicle OEM root and trust its Device OEM root")
    .option("--friend-slots <n>", "how many keys shared by an owner the car holds at once (default 5)")
    .option(
      "--trust-oem <dir>",
      "also accept keys from devices of this OEM's Device OEM root (cross-platform; repeatable)",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .action(
      action(async (options: { state: string; oem?: string; friendSlots?: string; trustOem: string[] }) => {
        const { loadOem, refuseOverwrite, saveVehicle } = await import("../state-files.js");
        const { Vehicle } = await import("../../emulator/vehicle/vehicle.js");
        const slots = options.friendSlots === undefined ? undefined : Number(options.friendSlots);
        if (slots !== undefined && !(/^\d+$/.test(options.friendSlots!) && slots <= 15)) {
          throw new CliError("--friend-slots must be an integer from 0 to 15");
        }
        refuseOverwrite(options.state);
        const authority = options.oem ? loadOem(options.oem) : undefined;
        if (!authority && options.trustOem.length > 0) throw new CliError("--trust-oem needs --oem");
        const car = Vehicle.create({
          ...(authority ? { brand: authority.name } : {}),
          ...(slots === undefined ? {} : { friendKeySlots: slots }),
        });
        if (authority) {
          car.installCertificates({
            vehicleCertificate: await authority.certifyVehicle(car.vehicleIdentifier, car.publicKey),
            vehicleOemRoot: authority.trustAnchors.vehicleOemRoot,
            deviceOemRoots: [
              authority.trustAnchors.deviceOemRoot,
              ...options.trustOem.map((dir) => loadOem(dir).trustAnchors.deviceOemRoot),
            ],
          });
        }
        saveVehicle(options.state, car);
        printJson({
          vehicleId: toHex(car.vehicleIdentifier),
          publicKey: toHex(car.publicKey),
          friendKeySlots: car.friendKeySlots,
          state: options.state,
        });
      }),
    );

  withProfileOptions(
    vehicle
      .command("add-key")
      .description(
        "trust an endpoint key directly (a workshop shortcut; pairing and sharing do this over NFC)",
      )
      .requiredOption("--state <file>", "vehicle state file")
      .requiredOption("--endpoint-public-key <hex>", "the key's endpoint public key, 65 bytes uncompressed")
      .option("--profile <name>", "full | unlock-only | drive", "full")
      .option("--role <role>", "owner | friend", "owner"),
  ).action(
    action(
      async (
        options: ProfileOptions & {
          state: string;
          endpointPublicKey: string;
          role: string;
        },
      ) => {
        const { loadVehicle, saveVehicle } = await import("../state-files.js");
        if (options.role !== "owner" && options.role !== "friend")
          throw new CliError("--role must be owner or friend");
        const car = loadVehicle(options.state);
        const profile = accessProfileFromOptions(options);
        const keyId = car.enrollKey({
          endpointPublicKey: fromHex(options.endpointPublicKey, "--endpoint-public-key"),
          profile,
          role: options.role,
        });
        saveVehicle(options.state, car);
        printJson({ keyId, profile, role: options.role });
      },
    ),
  );

  vehicle
    .command("lost-mode")
    .description(
      "apply a signed lost-mode notice addressed to this vehicle: suspend or resume one device's keys",
    )
    .requiredOption("--state <file>", "vehicle state file")
    .requiredOption("--notice <file>", "notice file (as `oem notice --out` writes it, or bare hex)")
    .action(
      action(async (options: { state: string; notice: string }) => {
        const { loadVehicle, readHexDocument, saveVehicle } = await import("../state-files.js");
        const car = loadVehicle(options.state);
        const applied = car.applyNotice(readHexDocument(options.notice, "notice"));
        saveVehicle(options.state, car);
        printJson(applied);
      }),
    );

  vehicle
    .command("remove-all-keys")
    .description("the dashboard's \"remove all keys\": every key, the owner's included, stops working")
    .requiredOption("--state <file>", "vehicle state file")
    .action(
      action(async (options: { state: string }) => {
        const { loadVehicle, saveVehicle } = await import("../state-files.js");
        const car = loadVehicle(options.state);
        const removed = car.removeAllKeys();
        saveVehicle(options.state, car);
        printJson({ removed });
      }),
    );

  vehicle
    .command("accept-termination")
    .description("drop a key whose device deleted it, given its termination attestation (hex)")
    .requiredOption("--state <file>", "vehicle state file")
    .requiredOption("--attestation <hex>", "the termination attestation `device delete-key` printed")
    .action(
      action(async (options: { state: string; attestation: string }) => {
        const { loadVehicle, saveVehicle } = await import("../state-files.js");
        const car = loadVehicle(options.state);
        const keyId = car.acceptTermination(fromHex(options.attestation, "--attestation"));
        saveVehicle(options.state, car);
        printJson({ removed: keyId });
      }),
    );

  vehicle
    .command("keys")
    .description(
      "the dashboard's key list: every key with role, profile, limits, expiry and last use (local only); drops expired keys",
    )
    .requiredOption("--state <file>", "vehicle state file")
    .action(
      action(async (options: { state: string }) => {
        const { loadVehicle, saveVehicle } = await import("../state-files.js");
        const car = loadVehicle(options.state);
        const list = car.keyList();
        if (list.expired.length > 0) saveVehicle(options.state, car);
        printJson({ friendKeySlots: car.friendKeySlots, ...list });
      }),
    );

  vehicle
    .command("delete-key")
    .description(
      "the dashboard's delete-key: needs an owner key present (an owner tap within the last 60 s); the automaker is told when the car is online",
    )
    .requiredOption("--state <file>", "vehicle state file")
    .requiredOption("--key <keyId>", "the key to delete (12 hex digits, as `vehicle keys` lists it)")
    .action(
      action(async (options: { state: string; key: string }) => {
        const { loadVehicle, saveVehicle } = await import("../state-files.js");
        const car = loadVehicle(options.state);
        // Without an owner key present this throws OwnerNotPresentError: one line on stderr, exit 1.
        const deleted = car.deleteKey(options.key);
        saveVehicle(options.state, car);
        printJson({ deleted: deleted.keyId, role: deleted.role, authorizedBy: deleted.authorizedBy });
      }),
    );

  vehicle
    .command("log")
    .description("print the transaction log: every decision and its reason")
    .requiredOption("--state <file>", "vehicle state file")
    .action(
      action(async (options: { state: string }) => {
        const { loadVehicle } = await import("../state-files.js");
        printJson({ log: loadVehicle(options.state).transactionLog });
      }),
    );

  vehicle
    .command("tap")
    .description("run one transaction at a reader against a device given as a line-protocol command")
    .requiredOption("--state <file>", "vehicle state file")
    .requiredOption("--reader <position>", "door | dashboard")
    .requiredOption(
      "--device-cmd <command>",
      'the device, e.g. "npx carkey emulator device nfc --state phone.json"',
    )
    .option("--action <intent>", "at the door: unlock | lock (default: toggle)")
    .option(
      "--trace <file>",
      "write every command and answer (hex) with its step to this file, one JSON line each",
    )
    .action(
      action(
        async (options: {
          state: string;
          reader: string;
          deviceCmd: string;
          action?: string;
          trace?: string;
        }) => {
          if (options.reader !== "door" && options.reader !== "dashboard") {
            throw new CliError("--reader must be door or dashboard");
          }
          if (options.action !== undefined && options.action !== "unlock" && options.action !== "lock") {
            throw new CliError("--action must be unlock or lock");
          }
          if (options.action !== undefined && options.reader !== "door") {
            throw new CliError("--action applies to the door reader only");
          }
          // The device starts first, so its process starts up on another core while this one loads
          // the vehicle emulator; a state file that fails to load closes it again, with no trace written.
          const device = spawnLineDevice(options.deviceCmd);
          const trace: TraceEntry[] = [];
          let loaded = false;
          try {
            const { loadVehicle, saveVehicle } = await import("../state-files.js");
            const car = loadVehicle(options.state);
            loaded = true;
            const result = await car.tap(
              options.reader,
              device.channel,
              options.action as Intent | undefined,
              {
                trace: (entry) => trace.push(entry),
              },
            );
            saveVehicle(options.state, car);
            // A refused transaction carries `failure`: the step, its command and answer, and what was expected.
            printJson(result);
          } finally {
            await device.close();
            if (options.trace && loaded) writeTrace(options.trace, trace);
          }
        },
      ),
    );

  vehicle
    .command("reader")
    .description(
      "act as the reader of one transaction on stdout/stdin: one command APDU in hex per line out, its answer in hex per line in; prints the decision on stderr",
    )
    .requiredOption("--state <file>", "vehicle state file (saved after the transaction)")
    .requiredOption("--intent <intent>", "unlock | lock (door reader) or start (dashboard reader)")
    .action(
      action(async (options: { state: string; intent: string }) => {
        const { loadVehicle, saveVehicle } = await import("../state-files.js");
        if (options.intent !== "unlock" && options.intent !== "lock" && options.intent !== "start") {
          throw new CliError("--intent must be unlock, lock or start");
        }
        const car = loadVehicle(options.state);
        const link = initiatorChannel(process.stdin, process.stdout);
        try {
          const position = options.intent === "start" ? "dashboard" : "door";
          const intent = options.intent === "start" ? undefined : options.intent;
          const result = await car.tap(position, link.channel, intent);
          saveVehicle(options.state, car);
          // stdout carries the APDUs: the decision goes to stderr, one JSON line.
          process.stderr.write(`${JSON.stringify(result)}\n`);
        } finally {
          link.close();
        }
      }),
    );
}

function writeTrace(path: string, entries: readonly TraceEntry[]): void {
  writeFileSync(path, entries.map((e) => JSON.stringify(e)).join("\n") + (entries.length ? "\n" : ""));
}
