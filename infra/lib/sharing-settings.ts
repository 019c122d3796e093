// The CDK context of key sharing (cdk.json or `-c key=value`), read into
// CarKeysStack props: carkeys:friendKeySlots and
// carkeys:trustedDeviceOemRoots. The stack checks the values themselves
// (range, each certificate); this only turns context into them, so a wrong
// value fails the synth with the setting's name.
import { readFileSync } from "node:fs";

/** carkeys:friendKeySlots: a decimal integer (a number in cdk.json, a string from `-c`). */
export function friendKeySlotsSetting(value: unknown): number | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const text = String(value).trim();
  if (!/^\d+$/.test(text)) {
    throw new Error(`carkeys:friendKeySlots must be an integer from 1 to 100, not ${JSON.stringify(value)}`);
  }
  return Number(text);
}

/**
 * carkeys:trustedDeviceOemRoots: PEM certificates inline, or the path of a PEM file (relative to the
 * working directory), or in cdk.json a list of either. Returns one PEM bundle.
 */
export function trustedDeviceOemRootsSetting(value: unknown): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const entries = Array.isArray(value) ? value : [value];
  return entries
    .map((entry) => {
      const text = String(entry);
      if (text.includes("-----BEGIN")) return text;
      try {
        return readFileSync(text, "utf8");
      } catch (error) {
        throw new Error(`carkeys:trustedDeviceOemRoots: cannot read ${text}: ${(error as Error).message}`);
      }
    })
    .join("\n");
}
