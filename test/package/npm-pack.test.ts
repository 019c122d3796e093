// The npm package as a user gets it: built (`npm run build`), packed
// (`npm pack`), installed from the tarball into an empty folder, and run from
// there: `carkey --help`, `carkey --version`, an emulator command, and the
// emulator library imported by its package name.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
let workdir = "";

afterAll(async () => {
  if (workdir) await rm(workdir, { recursive: true, force: true });
});

describe("the npm package", () => {
  it("installs from its tarball into an empty folder, and its carkey and library work there", async () => {
    workdir = await mkdtemp(join(tmpdir(), "carkeys-pack-"));
    const npmOptions = { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 };
    // The build happens here, so a fresh clone's `npm test` needs no step before it.
    await run("npm", ["run", "--silent", "build"], npmOptions);
    const { stdout: packed } = await run(
      "npm",
      ["pack", "--silent", "--json", "--pack-destination", workdir],
      npmOptions,
    );
    const [entry] = JSON.parse(packed) as { filename: string; files: { path: string }[] }[];
    const shipped = entry!.files.map((f) => f.path);
    expect(shipped).toContain("bin/carkey.js");
    expect(shipped).toContain("dist/src/cli/main.js");
    expect(shipped).toContain("dist/src/emulator/index.d.ts");
    expect(shipped.filter((p) => p.endsWith(".ts") && !p.endsWith(".d.ts"))).toEqual([]);

    const app = join(workdir, "app");
    await mkdir(app);
    await writeFile(
      join(app, "package.json"),
      JSON.stringify({ name: "pack-check", private: true, type: "module" }),
    );
    await run(
      "npm",
      [
        "install",
        "--no-audit",
        "--no-fund",
        "--prefer-offline",
        "--omit=dev",
        join(workdir, entry!.filename),
      ],
      { cwd: app, maxBuffer: 16 * 1024 * 1024 },
    );
    const carkey = join(app, "node_modules", ".bin", "carkey");
    const inApp = { cwd: app };

    const help = await run(carkey, ["--help"], inApp);
    expect(help.stdout).toMatch(/^Usage: carkey/);
    expect(help.stdout).toContain("emulator");
    const version = await run(carkey, ["--version"], inApp);
    const { version: expected } = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as {
      version: string;
    };
    expect(version.stdout.trim()).toBe(expected);

    const init = await run(carkey, ["emulator", "vehicle", "init", "--state", "car.json"], inApp);
    const car = JSON.parse(init.stdout) as { vehicleId: string; publicKey: string };
    expect(car.vehicleId).toMatch(/^[0-9a-f]{32}$/);
    expect(car.publicKey).toMatch(/^04[0-9a-f]{128}$/);
    expect(JSON.parse(await readFile(join(app, "car.json"), "utf8"))).toBeTruthy();

    const script = [
      'import { SecureElement, Vehicle, tap } from "carkeys/emulator";',
      'import { CarKeysClient } from "carkeys/client";',
      "const { se } = SecureElement.create();",
      "const car = Vehicle.create();",
      "const key = se.provisionKey({ vehicleIdentifier: car.vehicleIdentifier, vehiclePublicKey: car.publicKey });",
      'car.enrollKey({ endpointPublicKey: Buffer.from(key.endpointPublicKey, "hex"), profile: { kind: "drive", speedLimitKmh: 80 } });',
      "const result = await tap(se, car.doorHandle);",
      "console.log(JSON.stringify({ decision: result.decision, client: typeof CarKeysClient }));",
    ].join("\n");
    const library = await run(process.execPath, ["--input-type=module", "-e", script], inApp);
    expect(JSON.parse(library.stdout)).toEqual({ decision: "unlocked", client: "function" });
  }, 600_000);
});
