// The OEM token `npm start` keeps in <data-dir>/oem-token, read by the CLI
// commands that call the local server as the OEM. Only the file is read here;
// each command decides first whether its target is the local server at all,
// so that the token never goes to another host.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CliError } from "./errors.js";

/** The token in `dataDir`, or "" when the file is absent (then the command signs with SigV4). */
export function readLocalOemToken(dataDir: string): string {
  const path = join(dataDir, "oem-token");
  if (!existsSync(path)) return "";
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    throw new CliError(`cannot read ${path}; pass --oem-token`);
  }
}
