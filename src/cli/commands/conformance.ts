// `carkey emulator conformance …`: the conformance kit for devices and
// readers we did not write. One JSON line per case ({case, ok, detail}); the
// exit code is 1 when any case failed. Both sides work on in-memory copies:
// the state files given are read, never written.
import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import type { CaseResult } from "../../emulator/conformance/device-cases.js";
import { spawnLineDevice } from "../../emulator/line-protocol.js";
import { CliError } from "../errors.js";
import { action } from "../output.js";

export function registerConformanceCommand(emulator: Command): void {
  emulator
    .command("conformance")
    .description(
      "run fixed conformance cases: our vehicle against a device command, or our device against a reader command",
    )
    .option("--device-cmd <command>", "a device speaking the line protocol (as `device nfc` does)")
    .option("--vehicle-state <file>", "with --device-cmd: a vehicle state that trusts the device's key")
    .option(
      "--reader-cmd <command>",
      "a reader speaking the line protocol as the initiator; {intent} and {case} are replaced per case",
    )
    .option(
      "--device-state <file>",
      "with --reader-cmd: a device state holding a key for the reader's vehicle",
    )
    .option("--key <keyId>", "with --reader-cmd: which key of the device (default: its only key)")
    .option("--trace <file>", "with --device-cmd: every command and answer of every case, one JSON line each")
    .action(
      action(
        async (options: {
          deviceCmd?: string;
          vehicleState?: string;
          readerCmd?: string;
          deviceState?: string;
          key?: string;
          trace?: string;
        }) => {
          if (!!options.deviceCmd === !!options.readerCmd) {
            throw new CliError("give exactly one of --device-cmd and --reader-cmd");
          }
          const print = (result: CaseResult) => process.stdout.write(`${JSON.stringify(result)}\n`);
          let results: CaseResult[];
          if (options.deviceCmd) {
            if (!options.vehicleState) throw new CliError("--device-cmd needs --vehicle-state");
            const { loadVehicle } = await import("../state-files.js");
            const { runDeviceConformance } = await import("../../emulator/conformance/device-cases.js");
            const state = loadVehicle(options.vehicleState).exportState();
            const trace: string[] = [];
            const device = spawnLineDevice(options.deviceCmd);
            try {
              results = await runDeviceConformance(state, device.channel, {
                onCase: print,
                trace: (entry) => trace.push(JSON.stringify(entry)),
              });
            } finally {
              await device.close();
              if (options.trace) writeFileSync(options.trace, trace.length ? `${trace.join("\n")}\n` : "");
            }
          } else {
            if (!options.deviceState) throw new CliError("--reader-cmd needs --device-state");
            const { loadDevice } = await import("../state-files.js");
            const { runReaderConformance } = await import("../../emulator/conformance/reader-cases.js");
            const se = loadDevice(options.deviceState);
            const keys = se.listKeys();
            const keyId = options.key ?? (keys.length === 1 ? keys[0]!.keyId : undefined);
            if (!keyId) throw new CliError("the device holds several keys: name one with --key");
            se.key(keyId);
            results = await runReaderConformance(se, keyId, options.readerCmd!, { onCase: print });
          }
          if (results.some((r) => !r.ok)) process.exitCode = 1;
        },
      ),
    );
}
