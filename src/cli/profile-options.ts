// The access-profile options every command that grants a key shares (docs/protocol.md §7): kind,
// speed, validity window, sharing role and driving limits, parsed by accessProfileFromOptions.
import type { Command } from "commander";

export interface ProfileOptions {
  profile?: string;
  speedLimit?: string;
  validFrom?: string;
  validUntil?: string;
  shareRole?: string;
  powerLimit?: string;
  volumeLimit?: string;
  stabilityControlLocked?: boolean;
}

/** Adds the options after --profile (which each command declares itself, with its own default). */
export function withProfileOptions(command: Command): Command {
  return command
    .option("--speed-limit <kmh>", "speed limit of a drive profile")
    .option("--valid-from <iso8601>", "start of the validity window")
    .option("--valid-until <iso8601>", "end of the validity window")
    .option("--share-role <role>", "guest (default) | co-owner (may share further) | service (must expire)")
    .option("--power-limit <percent>", "acceleration and engine power, 10-100 % of full")
    .option("--volume-limit <percent>", "highest audio volume, 0-100 %")
    .option("--stability-control-locked", "the driver may not switch stability control off");
}
