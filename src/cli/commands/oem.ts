// `carkey emulator oem …`: the automakers' side for offline runs — roots,
// the SE manufacturer, and signed lost-mode notices (the cloud service does
// the same with KMS-held keys).

import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { fromHex, toHex } from "../../protocol/bytes.js";
import { CliError } from "../errors.js";
import { action, printJson } from "../output.js";

export function registerOemCommands(emulator: Command): void {
  const oem = emulator
    .command("oem")
    .description("emulated Device OEM and Vehicle OEM roots, and the SE manufacturer");

  oem
    .command("init")
    .description("create Device OEM and Vehicle OEM roots (software keys) in DIR; prints the PEM paths")
    .requiredOption("--dir <dir>", "directory for the OEM's keys and certificates")
    .option("--name <name>", "the OEM's name (certificate O=)", "Emulated Motors")
    .action(
      action(async (options: { dir: string; name: string }) => {
        const { oemStatePath, refuseOverwrite, saveOem } = await import("../state-files.js");
        const { EmulatedOem } = await import("../../emulator/oem/emulated-oem.js");
        refuseOverwrite(oemStatePath(options.dir));
        printJson(saveOem(options.dir, await EmulatedOem.create(options.name)));
      }),
    );

  oem
    .command("notice")
    .description("sign a lost-mode notice for a device (and, with --vehicle-id, addressed to that vehicle)")
    .requiredOption("--dir <dir>", "the OEM directory")
    .requiredOption("--device <seId>", "the device's SE identifier (hex, 16 bytes)")
    .option("--suspend", "suspend the device's keys")
    .option("--resume", "resume the device's keys")
    .option("--vehicle-id <hex>", "address the notice to this vehicle (it suspends that device's keys there)")
    .option("--out <file>", "also write the notice JSON to this file")
    .action(
      action(
        async (options: {
          dir: string;
          device: string;
          suspend?: boolean;
          resume?: boolean;
          vehicleId?: string;
          out?: string;
        }) => {
          if (!options.suspend === !options.resume)
            throw new CliError("give exactly one of --suspend and --resume");
          const { loadOem, saveOem } = await import("../state-files.js");
          const authority = loadOem(options.dir);
          const notice = authority.notice(
            fromHex(options.device, "--device"),
            options.suspend ? "suspend" : "resume",
            options.vehicleId ? fromHex(options.vehicleId, "--vehicle-id") : undefined,
          );
          saveOem(options.dir, authority);
          const document = {
            notice: toHex(notice),
            device: options.device,
            action: options.suspend ? "suspend" : "resume",
            vehicleId: options.vehicleId ?? null,
          };
          if (options.out) writeFileSync(options.out, `${JSON.stringify(document, null, 2)}\n`);
          printJson(document);
        },
      ),
    );
}
