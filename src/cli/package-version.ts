// The package's version for `carkey --version`: read from the nearest
// package.json named carkeys above this file, which is the repository's in a
// checkout (src/cli/) and the installed package's under dist/src/cli/.
import { existsSync, readFileSync } from "node:fs";

export function packageVersion(): string {
  let dir = new URL("./", import.meta.url);
  for (let depth = 0; depth < 6; depth++) {
    const file = new URL("package.json", dir);
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "carkeys" && pkg.version) return pkg.version;
    }
    dir = new URL("../", dir);
  }
  return "unknown";
}
