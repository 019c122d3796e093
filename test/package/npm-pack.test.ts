// The npm package as a user gets it: built (`npm run build`), packed
// (`npm pack`), installed from the tarball into an empty folder, and run from
// there: `carkey --help`, `carkey --version`, an emulator command, and the
// emulator library imported by its package name. Then the client package as
// an OEM backend uses it: examples/oem-backend.ts, copied into that folder,
// typechecks (strict) against the installed declarations, whose types come
// from the contract, and runs there against the local server.
import "../support/quiet-logs.js";
import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { startCarKeyStack } from "../../src/adapters/local-server/car-key-stack.js";

// As `npm start` does: the SDK's notice about Node 22 says nothing about this test.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
let workdir = "";
let app = "";

afterAll(async () => {
  if (workdir) await rm(workdir, { recursive: true, force: true });
});

/** A port free on loopback now (the example's webhook receiver listens on it; the server is told first). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

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

    app = join(workdir, "app");
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

  it("carkeys/client: the OEM backend example typechecks against the installed types and runs", async () => {
    expect(app, "the package was installed by the test before").not.toBe("");
    await copyFile(join(ROOT, "examples", "oem-backend.ts"), join(app, "oem-backend.ts"));
    // The contract's types reach a consumer: a route's enum, not `any`, and a value outside it is an error.
    await writeFile(
      join(app, "contract-types.ts"),
      [
        'import type { RegisteredKey, RevocationListResponse, WebhookSigningKey } from "carkeys/client";',
        "type IsAny<T> = 0 extends 1 & T ? true : false;",
        'export const roleIsTyped: IsAny<RegisteredKey["role"]> = false;',
        'export const role: RegisteredKey["role"] = "friend";',
        "// @ts-expect-error: the contract knows no such role",
        'export const wrong: RegisteredKey["role"] = "guest";',
        'export const sequence: RevocationListResponse["latestSequence"] = 0;',
        'export const alg: WebhookSigningKey["jwk"]["alg"] = "ES256";',
      ].join("\n"),
    );
    await writeFile(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2023",
          lib: ["ES2023", "DOM"],
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          noEmit: true,
          // The installed declarations are read for the example's types either way; checking every
          // dependency's .d.ts (the AWS SDK's) would only cost minutes.
          skipLibCheck: true,
          types: ["node"],
          typeRoots: [join(ROOT, "node_modules", "@types")],
        },
        files: ["oem-backend.ts", "contract-types.ts"],
      }),
    );
    const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
    await run(process.execPath, [tsc, "-p", "tsconfig.json"], {
      cwd: app,
      maxBuffer: 16 * 1024 * 1024,
    }).catch((error: { stdout?: string }) => {
      throw new Error(`the example does not typecheck against the package:\n${error.stdout ?? ""}`);
    });

    const webhookPort = await freePort();
    const stack = await startCarKeyStack({
      port: 0,
      inMemory: true,
      dataDir: join(workdir, "data"),
      webhookUrl: `http://127.0.0.1:${webhookPort}/carkeys-events`,
    });
    let stdout: string;
    try {
      // tsx comes with the package (a dependency), so the example runs in the consumer's folder as written.
      ({ stdout } = await run(process.execPath, ["--import", "tsx", "oem-backend.ts"], {
        cwd: app,
        env: {
          ...process.env,
          CARKEYS_URL: stack.url,
          OEM_API_TOKEN: stack.oemToken,
          CARKEYS_DATA_DIR: stack.dataDir,
          WEBHOOK_PORT: String(webhookPort),
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
        },
      }));
    } finally {
      await stack.stop();
    }
    const steps = stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const byName = Object.fromEntries(steps.map((s) => [s.step, s]));
    expect(steps.map((s) => s.step)).toEqual([
      "webhook-receiver",
      "vehicle-enrolled",
      "key-tracked",
      "key-revoked",
      "revocation-list",
      "webhook-verified",
    ]);
    const keyId = byName["key-tracked"]!.keyId;
    expect(byName["key-tracked"]).toMatchObject({
      role: "owner",
      state: "active",
      receiptRole: "owner",
      keys: 1,
    });
    expect(byName["key-revoked"]).toMatchObject({ keyId, state: "revoked", reason: "oem", sequence: 1 });
    expect(byName["revocation-list"]).toMatchObject({ latestSequence: 1, entries: [keyId], verified: true });
    expect(byName["webhook-verified"]).toMatchObject({ type: "key.revoked", keyId, reason: "oem" });
  }, 600_000);
});
