// The `carkey` command: emulators of the phone's secure element and of the
// vehicle, and (with the cloud service) the demo. Each subcommand prints
// JSON for scripts; errors are one line on stderr and exit code 1. The
// command tree imports only commander and light helpers; each command loads
// its implementation (emulators, certificates, the service) in its action.
import "./quiet-service-logs.js";
import { Command } from "commander";
import { registerConformanceCommand } from "./commands/conformance.js";
import { registerDemoCommand } from "./commands/demo.js";
import { registerDeviceCommands } from "./commands/device.js";
import { registerFlowCommands } from "./commands/flows.js";
import { registerOemCommands } from "./commands/oem.js";
import { registerOemOperationCommands } from "./commands/oem-operations.js";
import { registerVehicleCommands } from "./commands/vehicle.js";
import { packageVersion } from "./package-version.js";

export function buildProgram(): Command {
  const program = new Command("carkey")
    .description("Car Keys: digital car key emulators and tools")
    .version(packageVersion(), "-V, --version", "print the version")
    // The usage hint rides on the error's own line: errors are one line (commander would add a second).
    .configureOutput({
      outputError: (text, write) => {
        const message = text
          .replace(/^error: /, "")
          .trim()
          .replace(/\s*\n\s*/g, " ");
        write(`carkey: ${message} (add --help for usage)\n`);
      },
    });
  const emulator = program
    .command("emulator")
    .description("emulated secure elements and vehicles, talking APDUs");
  registerOemCommands(emulator);
  registerDeviceCommands(emulator);
  registerVehicleCommands(emulator);
  registerFlowCommands(emulator);
  registerConformanceCommand(emulator);
  registerDemoCommand(program);
  registerOemOperationCommands(program);
  return program;
}

await buildProgram().parseAsync(process.argv);
