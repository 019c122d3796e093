// The `carkey` command: emulators of the phone's secure element and of the
// vehicle, and (with the cloud service) the demo. Each subcommand prints
// JSON for scripts; errors are one line on stderr and exit code 1.
import "reflect-metadata";
import { Command } from "commander";
import { registerDeviceCommands } from "./commands/device.js";
import { registerVehicleCommands } from "./commands/vehicle.js";

export function buildProgram(): Command {
  const program = new Command("carkey")
    .description("Car Keys: digital car key emulators and tools")
    .showHelpAfterError("(add --help for usage)")
    .configureOutput({
      outputError: (text, write) => write(`carkey: ${text.replace(/^error: /, "").trim()}\n`),
    });
  const emulator = program
    .command("emulator")
    .description("emulated secure elements and vehicles, talking APDUs");
  registerDeviceCommands(emulator);
  registerVehicleCommands(emulator);
  return program;
}

await buildProgram().parseAsync(process.argv);
