// `npm run deploy:local`: the CDK stack, as synthesized for AWS, deployed to
// MiniStack (a local AWS emulator, installed into .tools/ by
// scripts/install-deploy-emulator.sh) on loopback. It starts MiniStack (or
// reuses the one it started before), synthesizes the app once with bundling,
// bootstraps and deploys that same cloud assembly, and prints the API's
// local URL and the OEM backend role. `npm run deploy:local -- --destroy`
// deletes the stack and stops MiniStack.
//
// The bootstrap is given the assembly (`--app <dir>`), not the app of
// cdk.json: `cdk bootstrap` with the app re-synthesizes it into cdk.out
// without bundling, and a later deploy of that output would upload the whole
// project once per function.
//
// Everything lives under the state directory (default .data/ministack):
// MiniStack's pid and log, the assembly, the stack outputs, and the emulated
// SE manufacturer's key (keys/se-manufacturer.json), whose public key the
// stack is deployed to trust, and an emulated second phone maker
// (keys/device-maker-b-*), whose Device OEM root certificate the stack is
// synthesized to trust (carkeys:trustedDeviceOemRoots), so
// `carkey demo --data-dir <state dir>` finds both.
//
// Options: --destroy, --json (one JSON object on stdout at the end),
// --port N (default 4566 or CARKEYS_MINISTACK_PORT), --state-dir DIR,
// --region R (default eu-west-2).
// The emulated second phone maker's certificates use @peculiar/x509, whose
// dependency injection needs the decorator metadata polyfill loaded first.
import "reflect-metadata";
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { SoftSigner } from "../src/adapters/kms/soft-signer.js";
import { openEmulatedDeviceMaker } from "../src/adapters/local-server/emulated-device-maker.js";
import { toHex } from "../src/protocol/bytes.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const TOOLS = join(ROOT, ".tools");
const MINISTACK_BIN = join(TOOLS, "ministack", "bin", "ministack");
/** MiniStack's account for its default credentials (access key `test`). */
const ACCOUNT = "000000000000";
const STACK_NAME = "CarKeys";

interface Options {
  destroy: boolean;
  json: boolean;
  port: number;
  stateDir: string;
  region: string;
  portGiven: boolean;
}

function parseOptions(argv: readonly string[]): Options {
  const options: Options = {
    destroy: false,
    json: false,
    port: Number(process.env.CARKEYS_MINISTACK_PORT ?? 4566),
    stateDir: join(ROOT, ".data", "ministack"),
    region: "eu-west-2",
    portGiven: process.env.CARKEYS_MINISTACK_PORT !== undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === "--destroy") options.destroy = true;
    else if (arg === "--json") options.json = true;
    else if (arg === "--port") {
      options.port = Number(value());
      options.portGiven = true;
    } else if (arg === "--state-dir") options.stateDir = resolve(value());
    else if (arg === "--region") options.region = value();
    else
      throw new Error(`unknown option ${arg} (known: --destroy --json --port N --state-dir DIR --region R)`);
  }
  if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) {
    throw new Error(`--port must be a TCP port, got ${options.port}`);
  }
  return options;
}

/** Progress goes to stderr, so `--json` leaves stdout to the one result object. */
function say(line: string): void {
  process.stderr.write(`deploy:local: ${line}\n`);
}

/** Runs a command to completion (asynchronously), its output on our stderr; rejects on a non-zero exit. */
function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ["ignore", process.stderr, process.stderr] });
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      if (code === 0) resolvePromise();
      else reject(new Error(`${command} ${args.join(" ")} failed (${signal ?? `exit ${code}`})`));
    });
  });
}

/** The environment for the CDK CLI talking to MiniStack: its credentials and endpoint, never the user's AWS ones. */
function emulatorEnv(options: Options): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) {
    if (name.startsWith("AWS_")) delete env[name];
  }
  return {
    ...env,
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_REGION: options.region,
    AWS_DEFAULT_REGION: options.region,
    AWS_ENDPOINT_URL: `http://127.0.0.1:${options.port}`,
    AWS_EC2_METADATA_DISABLED: "true",
    CDK_DISABLE_CLI_TELEMETRY: "1",
    CDK_DISABLE_VERSION_CHECK: "1",
  };
}

async function healthy(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/_ministack/health`, {
      signal: AbortSignal.timeout(2000),
    });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

/** The pid in `pidFile` if that process is alive and is MiniStack. */
function runningMiniStack(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, "utf8").trim());
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return cmdline.includes("ministack") ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The Node major the stack's functions run on (`nodejs24.x` → 24), read from the synthesized template. */
async function templateNodeMajor(assembly: string): Promise<number> {
  const template = JSON.parse(await readFile(join(assembly, `${STACK_NAME}.template.json`), "utf8")) as {
    Resources: Record<string, { Type: string; Properties?: { Runtime?: string } }>;
  };
  const runtimes = new Set(
    Object.values(template.Resources)
      .filter((r) => r.Type === "AWS::Lambda::Function")
      .map((r) => r.Properties?.Runtime ?? ""),
  );
  const majors = [...runtimes].map((r) => /^nodejs(\d+)\.x$/.exec(r)?.[1]);
  if (majors.length !== 1 || majors[0] === undefined) {
    throw new Error(`expected one nodejsNN.x runtime in the template, found ${[...runtimes].join(", ")}`);
  }
  return Number(majors[0]);
}

async function startMiniStack(options: Options, nodeMajor: number): Promise<number> {
  const pidFile = join(options.stateDir, "ministack.pid");
  const existing = runningMiniStack(pidFile);
  if (existing !== undefined && (await healthy(options.port))) {
    say(`MiniStack already running (pid ${existing}) on 127.0.0.1:${options.port}`);
    return existing;
  }
  if (await healthy(options.port)) {
    throw new Error(
      `something else answers on 127.0.0.1:${options.port}; pick another port with --port or CARKEYS_MINISTACK_PORT`,
    );
  }
  const nodeBin = join(TOOLS, `node-${nodeMajor}`, "bin");
  if (!existsSync(join(nodeBin, "node"))) {
    throw new Error(
      `${relative(ROOT, nodeBin)}/node is missing: scripts/install-deploy-emulator.sh installs it`,
    );
  }
  const logFile = join(options.stateDir, "ministack.log");
  const log = openSync(logFile, "a");
  // Detached, in its own process group, so it outlives this script (the
  // deployment is there to be used) and --destroy can stop the whole group.
  const child = spawn(MINISTACK_BIN, [], {
    cwd: options.stateDir,
    detached: true,
    stdio: ["ignore", log, log],
    env: {
      ...emulatorEnv(options),
      // MiniStack runs every Lambda as a local `node` process: the one of the stack's runtime.
      PATH: `${nodeBin}:${process.env.PATH ?? ""}`,
      GATEWAY_PORT: String(options.port),
      BIND_HOST: "127.0.0.1",
      MINISTACK_REGION: options.region,
      MINISTACK_ACCOUNT_ID: ACCOUNT,
    },
  });
  closeSync(log);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${MINISTACK_BIN}`);
  child.unref();
  await writeFile(pidFile, `${pid}\n`);
  await writeFile(join(options.stateDir, "ministack.port"), `${options.port}\n`);
  let exited = false;
  child.once("exit", () => {
    exited = true;
  });
  // Readiness, not a timing guess: poll its health endpoint until it answers or it exits.
  for (let attempt = 0; attempt < 120; attempt++) {
    if (exited) break;
    if (await healthy(options.port)) {
      say(`MiniStack started (pid ${pid}) on 127.0.0.1:${options.port}, Lambdas on Node ${nodeMajor}`);
      return pid;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`MiniStack did not come up on 127.0.0.1:${options.port}; see ${logFile}`);
}

async function stopMiniStack(options: Options): Promise<void> {
  const pidFile = join(options.stateDir, "ministack.pid");
  const pid = runningMiniStack(pidFile);
  if (pid !== undefined) {
    try {
      process.kill(-pid, "SIGTERM");
    } catch {
      process.kill(pid, "SIGTERM");
    }
    for (let attempt = 0; attempt < 40 && runningMiniStack(pidFile) !== undefined; attempt++) {
      await new Promise((r) => setTimeout(r, 250));
    }
    if (runningMiniStack(pidFile) !== undefined) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    say(`MiniStack stopped (pid ${pid})`);
  }
  await rm(pidFile, { force: true });
}

async function deploy(options: Options): Promise<void> {
  await mkdir(options.stateDir, { recursive: true });
  await run("bash", [join(ROOT, "scripts", "install-deploy-emulator.sh")]);
  const assembly = join(options.stateDir, "cdk.out");
  const env = emulatorEnv(options);
  const cdk = join(ROOT, "node_modules", ".bin", "cdk");
  const started = Date.now();
  // One synth, with bundling (esbuild): this assembly is what bootstrap and deploy use.
  say("synthesizing the stack (esbuild bundles every function)");
  // The relay's share links must name the API as MiniStack serves it, not its AWS endpoint.
  const linkBase = `http://{apiId}.execute-api.localhost:${options.port}`;
  // A second, emulated phone maker whose Device OEM root the stack trusts as a configured anchor, as a
  // deployment is given a real maker's root certificate: `carkey demo` registers one of its phones.
  const keysDir = join(options.stateDir, "keys");
  const deviceMaker = await openEmulatedDeviceMaker(keysDir);
  await run(
    cdk,
    [
      "synth",
      "--quiet",
      "--no-notices",
      "--output",
      assembly,
      "-c",
      `carkeys:relayLinkBaseUrl=${linkBase}`,
      "-c",
      `carkeys:trustedDeviceOemRoots=${deviceMaker.rootFile}`,
    ],
    env,
  );
  const synthSeconds = (Date.now() - started) / 1000;
  const nodeMajor = await templateNodeMajor(assembly);
  await startMiniStack(options, nodeMajor);

  const deployStarted = Date.now();
  say(`bootstrapping aws://${ACCOUNT}/${options.region}`);
  await run(
    cdk,
    ["bootstrap", "--app", assembly, "--no-notices", "--quiet", `aws://${ACCOUNT}/${options.region}`],
    env,
  );
  const manufacturer = await SoftSigner.open(keysDir, "se-manufacturer");
  const manufacturerPublicKey = toHex(await manufacturer.publicKey());
  const outputsFile = join(options.stateDir, "outputs.json");
  say("deploying");
  await run(
    cdk,
    [
      "deploy",
      "--app",
      assembly,
      "--no-notices",
      "--require-approval",
      "never",
      "--parameters",
      `SeManufacturerPublicKey=${manufacturerPublicKey}`,
      "--outputs-file",
      outputsFile,
      STACK_NAME,
    ],
    env,
  );
  const deploySeconds = (Date.now() - deployStarted) / 1000;
  const outputs = (JSON.parse(await readFile(outputsFile, "utf8")) as Record<string, Record<string, string>>)[
    STACK_NAME
  ];
  if (!outputs?.ApiUrl || !outputs.OemBackendRoleArn || !outputs.ExpirySweepFunctionName) {
    throw new Error(`${outputsFile} lacks ApiUrl, OemBackendRoleArn or ExpirySweepFunctionName`);
  }
  // In AWS: https://{apiId}.execute-api.{region}.amazonaws.com/. MiniStack serves the
  // same API on its own port under the host name {apiId}.execute-api.localhost.
  const apiId = new URL(outputs.ApiUrl).hostname.split(".")[0];
  const url = `http://${apiId}.execute-api.localhost:${options.port}/`;
  const manufacturerKey = join(keysDir, "se-manufacturer.json");
  const result = {
    url,
    awsApiUrl: outputs.ApiUrl,
    oemBackendRoleArn: outputs.OemBackendRoleArn,
    // The stack's output: what `carkey oem sweep-expired --function` invokes.
    expirySweepFunction: outputs.ExpirySweepFunctionName,
    region: options.region,
    endpoint: `http://127.0.0.1:${options.port}`,
    manufacturerKey,
    trustedDeviceOemRoot: deviceMaker.rootFile,
    stateDir: options.stateDir,
    lambdaNode: nodeMajor,
    synthSeconds,
    deploySeconds,
  };
  const shownDir = relative(process.cwd(), options.stateDir) || ".";
  process.stderr.write(
    [
      "",
      `Car Keys deployed to MiniStack in ${deploySeconds.toFixed(1)} s (synth ${synthSeconds.toFixed(1)} s)`,
      `  API URL:  ${url}`,
      `  OEM role: ${outputs.OemBackendRoleArn}`,
      `  SE maker: ${relative(process.cwd(), manufacturerKey)} (emulated; the stack trusts its public key)`,
      `  2nd phone maker: ${relative(process.cwd(), deviceMaker.rootFile)} (emulated; the stack trusts its Device OEM root)`,
      "Try it (OEM routes are signed with SigV4 using MiniStack's credentials):",
      `  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=${options.region} \\`,
      `    npx carkey demo --url ${url} --data-dir ${shownDir}`,
      "Run the expiry sweep now (the Lambda Invoke API, signed the same way):",
      `  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=${options.region} \\`,
      `    npx carkey oem sweep-expired --function ${outputs.ExpirySweepFunctionName} --endpoint http://127.0.0.1:${options.port} --data-dir ${shownDir}`,
      "Remove it: npm run deploy:local -- --destroy",
      "",
    ].join("\n"),
  );
  if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
}

async function destroy(given: Options): Promise<void> {
  // The port the deployment's MiniStack was started on, unless told otherwise.
  const portFile = join(given.stateDir, "ministack.port");
  const options =
    existsSync(portFile) && !given.portGiven
      ? { ...given, port: Number(readFileSync(portFile, "utf8").trim()) }
      : given;
  const assembly = join(options.stateDir, "cdk.out");
  const pid = runningMiniStack(join(options.stateDir, "ministack.pid"));
  if (pid !== undefined && existsSync(assembly) && (await healthy(options.port))) {
    say("deleting the stack");
    const cdk = join(ROOT, "node_modules", ".bin", "cdk");
    await run(
      cdk,
      ["destroy", "--app", assembly, "--no-notices", "--force", STACK_NAME],
      emulatorEnv(options),
    );
  }
  // MiniStack keeps its state in memory: stopping it removes what is left (the bootstrap, retained keys and table).
  await stopMiniStack(options);
  await rm(options.stateDir, { recursive: true, force: true });
  say(`removed ${relative(process.cwd(), options.stateDir) || options.stateDir}`);
}

try {
  const options = parseOptions(process.argv.slice(2));
  await (options.destroy ? destroy(options) : deploy(options));
} catch (error) {
  process.stderr.write(`deploy:local: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
