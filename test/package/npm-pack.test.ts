// The npm package as a user gets it: built (`npm run build`), packed
// (`npm pack`), installed from the tarball into an empty folder, and run from
// there: `carkey --help`, `carkey --version`, an emulator command, and the
// emulator library imported by its package name. Then the client package as
// an OEM backend uses it: examples/oem-backend.ts, copied into that folder,
// typechecks (strict) against the installed declarations, whose types come
// from the contract, and runs there against the local server. Last the
// webhook receiver an OEM backend runs, examples/webhook-receiver.ts, typechecked
// and run there the same way: the local server delivers real signed events to
// it, and the same deliveries tampered with, replayed or made stale are refused.
import "../support/quiet-logs.js";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { SoftSigner } from "../../src/adapters/kms/soft-signer.js";
import { startLocalDeployment } from "../../src/adapters/local-server/local-deployment.js";
import { CarKeysClient } from "../../src/client/car-keys-client.js";
import { OemLifecycleClient } from "../../src/client/lifecycle-client.js";
import { factoryAttesterFromFile } from "../../src/emulator/secure-element/factory-attester-file.js";
import { SecureElement } from "../../src/emulator/secure-element/secure-element.js";
import { signWebhook, WEBHOOK_HEADERS } from "../../src/protocol/webhook-signature.js";

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

/** Typechecks `files` in the consumer's folder (strict) against the installed package's declarations. */
async function typecheckInApp(files: readonly string[]): Promise<void> {
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
      files,
    }),
  );
  const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
  await run(process.execPath, [tsc, "-p", "tsconfig.json"], {
    cwd: app,
    maxBuffer: 16 * 1024 * 1024,
  }).catch((error: { stdout?: string }) => {
    throw new Error(`${files.join(", ")} do not typecheck against the package:\n${error.stdout ?? ""}`);
  });
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
    await typecheckInApp(["oem-backend.ts", "contract-types.ts"]);

    const webhookPort = await freePort();
    const stack = await startLocalDeployment({
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
  it("carkeys/client: the webhook receiver example accepts the service's real deliveries and refuses altered ones", async () => {
    expect(app, "the package was installed by the test before").not.toBe("");
    await copyFile(join(ROOT, "examples", "webhook-receiver.ts"), join(app, "webhook-receiver.ts"));
    await typecheckInApp(["webhook-receiver.ts"]);

    // Between the service and the example: forwards each delivery unchanged and keeps what was sent and answered.
    const receiverPort = await freePort();
    const deliveries: { headers: Record<string, string>; body: Buffer; status: number }[] = [];
    const tap = createHttpServer(async (req, res) => {
      const body = await readAll(req);
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter((e): e is [string, string] => typeof e[1] === "string"),
      );
      const status = await post(receiverPort, headers, body);
      deliveries.push({ headers, body, status });
      res.writeHead(status).end();
    });
    await new Promise<void>((resolve) => tap.listen(0, "127.0.0.1", resolve));
    const tapPort = (tap.address() as { port: number }).port;

    const stack = await startLocalDeployment({
      port: 0,
      inMemory: true,
      dataDir: join(workdir, "data-webhooks"),
      webhookUrl: `http://127.0.0.1:${tapPort}/carkeys-events`,
    });
    let receiver: ChildProcess | undefined;
    const lines: Record<string, unknown>[] = [];
    try {
      // tsx comes with the package (a dependency), so the example runs in the consumer's folder as written.
      receiver = spawn(process.execPath, ["--import", "tsx", "webhook-receiver.ts"], {
        cwd: app,
        env: {
          ...process.env,
          CARKEYS_URL: stack.url,
          WEBHOOK_PORT: String(receiverPort),
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      receiver.stderr!.on("data", (chunk: Buffer) => {
        stderr += chunk.toString("utf8");
      });
      let partial = "";
      receiver.stdout!.on("data", (chunk: Buffer) => {
        partial += chunk.toString("utf8");
        const complete = partial.split("\n");
        partial = complete.pop()!;
        for (const line of complete) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      });
      await until(
        () => lines.some((l) => l.listening),
        () => `the receiver did not start: ${stderr}`,
      );
      expect(lines[0]).toMatchObject({ listening: `http://127.0.0.1:${receiverPort}/carkeys-events` });

      // Real events: a device the Device OEM puts in lost mode (its keys suspended).
      const { attester } = factoryAttesterFromFile(join(stack.keysDir, "se-manufacturer.json"));
      const { se } = SecureElement.create({ manufacturer: attester });
      await new CarKeysClient(stack.url).enrollSecureElement(se);
      await new OemLifecycleClient(stack.url, stack.oemToken).setLostMode(se.seId, "suspend");
      await until(
        () => deliveries.some((d) => JSON.parse(d.body.toString("utf8")).type === "device.suspended"),
        () => `no device.suspended delivery; deliveries: ${deliveries.length}`,
      );
      expect(deliveries.map((d) => d.status)).toEqual(deliveries.map(() => 204));
      const real = deliveries.find((d) => JSON.parse(d.body.toString("utf8")).type === "device.suspended")!;
      expect(lines).toContainEqual(
        expect.objectContaining({
          delivery: "accepted",
          id: real.headers[WEBHOOK_HEADERS.id],
          type: "device.suspended",
          seId: se.seId,
        }),
      );

      // The same delivery again, within the window: refused by its id.
      expect(await post(receiverPort, real.headers, real.body)).toBe(401);
      // Its body altered (another device), the service's headers kept: the signature fails.
      const tampered = Buffer.from(real.body.toString("utf8").replace(se.seId, "0".repeat(se.seId.length)));
      expect(tampered.equals(real.body)).toBe(false);
      expect(
        await post(receiverPort, { ...real.headers, [WEBHOOK_HEADERS.id]: randomUUID() }, real.body),
      ).toBe(401);
      expect(await post(receiverPort, real.headers, tampered)).toBe(401);
      // Without the signature headers.
      expect(await post(receiverPort, { "content-type": "application/json" }, real.body)).toBe(401);
      // Signed by the service's own key, but an hour old: refused by its timestamp. And the same
      // signature made now passes, so it is the age that was refused, not the signer.
      const serviceKey = await SoftSigner.open(stack.keysDir, "webhook-signing");
      const now = Math.floor(Date.now() / 1000);
      const stale = await signWebhook(serviceKey, real.body, randomUUID(), now - 3600);
      expect(await post(receiverPort, { ...stale, "content-type": "application/json" }, real.body)).toBe(401);
      const fresh = await signWebhook(serviceKey, real.body, randomUUID(), now);
      expect(await post(receiverPort, { ...fresh, "content-type": "application/json" }, real.body)).toBe(204);

      // The receiver logs each verdict as it answers: wait for the last one's line too, not only the refusals
      // (the fresh delivery's 204 can arrive before its "accepted" line is read from the receiver's stdout).
      await until(
        () =>
          lines.filter((l) => l.delivery === "refused").length >= 5 &&
          lines.some((l) => l.delivery === "accepted" && l.id === fresh[WEBHOOK_HEADERS.id]),
        () => `the receiver logged ${JSON.stringify(lines)}`,
      );
      expect(lines.filter((l) => l.delivery === "refused").map((l) => l.reason)).toEqual([
        "replayed",
        "bad-signature",
        "bad-signature",
        "missing-header",
        "stale-timestamp",
      ]);
      expect(lines.filter((l) => l.delivery === "accepted").map((l) => l.id)).toEqual([
        ...deliveries.map((d) => d.headers[WEBHOOK_HEADERS.id]),
        fresh[WEBHOOK_HEADERS.id],
      ]);
    } finally {
      receiver?.kill("SIGTERM");
      await stack.stop();
      await new Promise((resolve) => tap.close(resolve));
    }
  }, 600_000);
});

function readAll(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => resolve(Buffer.concat(chunks)));
    stream.on("error", reject);
  });
}

/** POSTs a delivery to the receiver on `port` as the service does; the status it answered. */
function post(port: number, headers: Record<string, string>, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const { "content-length": _length, host: _host, ...kept } = headers;
    const req = httpRequest(
      { host: "127.0.0.1", port, method: "POST", path: "/carkeys-events", headers: kept },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** Waits for `condition` (generously: the machine may be loaded), failing with `why()` after 60 s. */
async function until(condition: () => boolean, why: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(why());
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
