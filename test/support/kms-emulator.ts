// Starts local-kms (built into .tools/ by scripts/install-test-servers.sh) for
// the KMS adapter tests: a real server that creates ECC_NIST_P256 keys and
// signs digests, so the adapter is tested against the wire protocol, not a mock.
// Our build of it binds 127.0.0.1 on a port it picks and prints, so there is no
// port race, and exits when its stdin pipe closes, so even a killed test
// worker leaves no emulator behind. Keys live in a temporary LevelDB removed
// on stop(). Absent locally it is skipped with a note; under CI it must be there.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export interface KmsEmulator {
  /** e.g. http://127.0.0.1:40123 */
  readonly endpoint: string;
  /** The region the emulator writes into key ARNs; use it for the client too. */
  readonly region: string;
  stop(): Promise<void>;
}

export const KMS_EMULATOR_REGION = "eu-west-2";

export const kmsEmulatorBinary: string = fileURLToPath(
  new URL("../../.tools/bin/local-kms", import.meta.url),
);

export const KMS_EMULATOR_MISSING = "local-kms is not installed: run scripts/install-test-servers.sh";

export function isKmsEmulatorInstalled(): boolean {
  return existsSync(kmsEmulatorBinary);
}

export async function startKmsEmulator(): Promise<KmsEmulator | undefined> {
  if (!isKmsEmulatorInstalled()) {
    if (process.env.CI) throw new Error(`${KMS_EMULATOR_MISSING} (CI must run the KMS tests)`);
    console.warn(`note: ${KMS_EMULATOR_MISSING}; KMS tests are skipped`);
    return undefined;
  }
  const dataDir = await mkdtemp(join(tmpdir(), "carkeys-kms-"));
  const child = spawn(
    kmsEmulatorBinary,
    [
      "-addr",
      "127.0.0.1:0",
      "-data",
      join(dataDir, "db"),
      "-region",
      KMS_EMULATOR_REGION,
      "-exit-on-stdin-eof",
    ],
    { stdio: ["pipe", "pipe", "pipe"] },
  );
  // local-kms logs every request on stderr; keep only the end for error messages.
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-2048);
  });
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.stdin?.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    const endpoint = await announcedEndpoint(child, () => stderr);
    return { endpoint, region: KMS_EMULATOR_REGION, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The emulator prints its URL once its listener is bound, which is when it can serve. */
function announcedEndpoint(child: ChildProcess, stderr: () => string): Promise<string> {
  return new Promise((resolve, reject) => {
    let stdout = "";
    const timer = setTimeout(
      () => reject(new Error(`local-kms did not start within 10 s: ${stderr()}`)),
      10_000,
    );
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`local-kms exited with code ${code} before it was ready: ${stderr()}`));
    });
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
  });
}
