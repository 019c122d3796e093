// The local stack with its OEM roots in a KMS emulator (local-kms) instead of
// software keys: `awskms:alias/…` signer URIs and AWS_ENDPOINT_URL_KMS, as a
// developer sets them for `npm start`. The stack creates the keys behind the
// aliases in the emulator, the roots are self-signed by KMS, and a vehicle
// certificate issued through the local server verifies with OpenSSL. Skipped
// with a note where local-kms is not installed (CI installs it).
import "../../support/quiet-logs.js";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type LocalDeployment,
  startLocalDeployment,
} from "../../../src/adapters/local-server/local-deployment.js";
import { toHex } from "../../../src/protocol/bytes.js";
import { generateKeyPair } from "../../../src/protocol/p256.js";
import { type KmsEmulator, startKmsEmulator } from "../../support/kms-emulator.js";
import { tool } from "../../support/run-tool.js";

let kms: KmsEmulator | undefined;
let stack: LocalDeployment | undefined;
let dataDir: string;

beforeAll(async () => {
  kms = await startKmsEmulator();
  if (!kms) return;
  dataDir = await mkdtemp(join(tmpdir(), "carkeys-stack-kms-"));
  // What a developer exports before `npm start`; this test file runs in its own worker process.
  process.env.AWS_ENDPOINT_URL_KMS = kms.endpoint;
  process.env.AWS_REGION = kms.region;
  stack = await startLocalDeployment({
    port: 0,
    inMemory: true,
    dataDir,
    deviceOemSignerUri: "awskms:alias/carkeys-test/device-oem-root",
    vehicleOemSignerUri: "awskms:alias/carkeys-test/vehicle-oem-root",
  });
});

afterAll(async () => {
  await stack?.stop();
  await kms?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe("the local stack with KMS-held roots", () => {
  it("issues from roots that KMS signed", async (context) => {
    if (!stack) return context.skip("local-kms is not installed");
    expect(stack.signerUris.deviceOemRoot).toBe("awskms:alias/carkeys-test/device-oem-root");
    // The roots are in KMS: no root key file. Beside the emulated SE manufacturer's key, the only
    // software secret is the local device-pseudonym HMAC key (in AWS a KMS HMAC key; README "Security model").
    // The emulated second phone maker's files (device-maker-b-*) are its own test fixture, not the service's.
    expect(
      (await readdir(stack.keysDir)).filter((name) => !name.startsWith("device-maker-b-")).sort(),
    ).toEqual(["device-pseudonym.key", "se-manufacturer.json"]);

    const anchors = (await (await fetch(`${stack.url}/v1/trust-anchors`)).json()) as {
      vehicleOemRoot: string;
    };
    const vehicleId = toHex(crypto.getRandomValues(new Uint8Array(8)));
    const response = await fetch(`${stack.url}/v1/vehicles`, {
      method: "POST",
      headers: { authorization: `Bearer ${stack.oemToken}`, "content-type": "application/json" },
      body: JSON.stringify({ vehicleId, vehiclePublicKey: toHex(generateKeyPair().publicKey) }),
    });
    expect(response.status).toBe(201);
    const { vehicleCertificate, trustAnchors } = (await response.json()) as {
      vehicleCertificate: string;
      trustAnchors: { vehicleOemRoot: string };
    };
    expect(trustAnchors.vehicleOemRoot).toBe(anchors.vehicleOemRoot);
    const root = join(dataDir, "root.pem");
    const leaf = join(dataDir, "leaf.pem");
    await writeFile(root, trustAnchors.vehicleOemRoot);
    await writeFile(leaf, vehicleCertificate);
    expect(await tool("openssl", ["verify", "-x509_strict", "-CAfile", root, leaf])).toContain(": OK");
  });
});
