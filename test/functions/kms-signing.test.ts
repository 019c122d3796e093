// The handlers with both OEM roots in KMS (AwsKmsSigner against local-kms,
// the emulator scripts/install-test-servers.sh installs) and the store on
// DynamoDB Local: every certificate and receipt costs exactly one KMS Sign,
// counted on the wire; each key's public key is fetched once; repeats cost
// none; and OpenSSL accepts what KMS signed (`openssl verify -x509_strict`).
// Skipped with a visible reason when the emulator is missing and CI is unset.
import "../support/quiet-logs.js";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KMSClient } from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoDbStore } from "../../src/adapters/dynamodb/dynamodb-store.js";
import { AwsKmsSigner } from "../../src/adapters/kms/aws-kms-signer.js";
import { provisionSigningKey } from "../../src/adapters/kms/kms-key-provisioner.js";
import { createCarKeysService } from "../../src/service/car-keys-service.js";
import {
  deviceEnrollmentEvent,
  ownerRegistrationEvent,
  vehicleEnrollmentEvent,
} from "../support/api-requests.js";
import { startTestTable, type TestTable } from "../support/dynamodb-table.js";
import {
  isKmsEmulatorInstalled,
  KMS_EMULATOR_MISSING,
  type KmsEmulator,
  startKmsEmulator,
} from "../support/kms-emulator.js";
import { apiEvent, invoke } from "../support/lambda-harness.js";
import { tool } from "../support/run-tool.js";
import { type ServiceHandlers, serviceHandlers } from "../support/service-handlers.js";
import { TestDevice, testManufacturer, testVehicle } from "../support/test-device.js";
import { testMacKey } from "../support/test-mac-key.js";

let h: ServiceHandlers;

const skip = !isKmsEmulatorInstalled() && !process.env.CI;
if (skip) console.warn(`skipping the KMS-backed handler test: ${KMS_EMULATOR_MISSING}`);

describe.skipIf(skip)(`handlers with the OEM roots in KMS${skip ? ` (${KMS_EMULATOR_MISSING})` : ""}`, () => {
  let kms: KmsEmulator;
  let table: TestTable;
  let client: KMSClient;
  let dir: string;
  const calls = new Map<string, number>();
  const manufacturer = testManufacturer();
  const count = (operation: string) => calls.get(`TrentService.${operation}`) ?? 0;

  // Asynchronous: KMS and DynamoDB clients in this process hold keep-alive connections.
  const openssl = async (args: string[]) => (await tool("openssl", args, { cwd: dir })).trim();
  const pem = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return name;
  };

  beforeAll(async () => {
    const started = await startKmsEmulator();
    if (!started) throw new Error(KMS_EMULATOR_MISSING);
    kms = started;
    table = await startTestTable();
    dir = mkdtempSync(join(tmpdir(), "carkeys-kms-issued-"));
    client = new KMSClient({
      endpoint: kms.endpoint,
      region: kms.region,
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
    const deviceKey = await provisionSigningKey(client, "alias/carkeys-device-oem-root");
    const vehicleKey = await provisionSigningKey(client, "alias/carkeys-vehicle-oem-root");
    // Counted on the wire, after the SDK decided on retries: what KMS bills.
    client.middlewareStack.add(
      (next) => async (args) => {
        const target =
          (args.request as { headers?: Record<string, string> }).headers?.["x-amz-target"] ?? "?";
        calls.set(target, (calls.get(target) ?? 0) + 1);
        return next(args);
      },
      { step: "deserialize", name: "countKmsCalls" },
    );
    const signers = {
      "device-oem-root": new AwsKmsSigner({ keyId: deviceKey, client }),
      "vehicle-oem-root": new AwsKmsSigner({ keyId: vehicleKey, client }),
    };
    h = serviceHandlers(
      createCarKeysService({
        store: new DynamoDbStore({ tableName: table.tableName, client: table.documentClient }),
        signer: { root: (profile) => signers[profile] },
        devicePseudonymKey: testMacKey(),
        manufacturerPublicKey: manufacturer.keyPair.publicKey,
        deviceOem: { organization: "KMS Device OEM" },
        vehicleOem: { organization: "KMS Vehicle OEM" },
        scryptCost: { N: 1024, r: 8, p: 1 },
      }),
    );
  });

  afterAll(async () => {
    client?.destroy();
    await table?.stop();
    await kms?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("signs each root once, on first use, and fetches each public key once", async () => {
    const answer = await invoke(h.trustAnchors, apiEvent("GET /v1/trust-anchors"));
    expect(answer.status).toBe(200);
    expect(count("Sign")).toBe(2);
    expect(count("GetPublicKey")).toBe(2);
    await invoke(h.trustAnchors, apiEvent("GET /v1/trust-anchors"));
    expect(count("Sign")).toBe(2);
    const root = pem("device-root.pem", answer.json.deviceOemRoot);
    expect(await openssl(["verify", "-x509_strict", "-CAfile", root, root])).toBe(`${root}: OK`);
  });

  it("issues an instance CA, a vehicle certificate and a receipt with one Sign each; OpenSSL verifies the chains", async () => {
    const anchors = (await invoke(h.trustAnchors, apiEvent("GET /v1/trust-anchors"))).json;
    let signs = count("Sign");

    const device = new TestDevice(manufacturer);
    const enrolled = await invoke(h.deviceEnrollment, deviceEnrollmentEvent(device));
    expect(enrolled.status).toBe(201);
    expect(count("Sign")).toBe(++signs);
    device.instanceCaCertificatePem = enrolled.json.instanceCaCertificate;
    expect((await invoke(h.deviceEnrollment, deviceEnrollmentEvent(device))).status).toBe(200);
    expect(count("Sign")).toBe(signs);

    const vehicle = testVehicle();
    const car = await invoke(h.vehicleEnrollment, vehicleEnrollmentEvent(vehicle));
    expect(car.status).toBe(201);
    expect(count("Sign")).toBe(++signs);

    const owner = await device.newEndpoint(vehicle.id, "owner");
    const key = await invoke(
      h.keyTracking,
      ownerRegistrationEvent(device, owner, vehicle, car.json.pairing.pairingId),
    );
    expect(key.status).toBe(201);
    expect(count("Sign")).toBe(++signs);
    expect(
      (
        await invoke(
          h.keyTracking,
          ownerRegistrationEvent(device, owner, vehicle, car.json.pairing.pairingId),
        )
      ).status,
    ).toBe(200);
    expect(count("Sign")).toBe(signs);
    expect(count("GetPublicKey")).toBe(2);

    expect(
      await openssl([
        "verify",
        "-x509_strict",
        "-CAfile",
        pem("device-root.pem", anchors.deviceOemRoot),
        "-untrusted",
        pem("instance.pem", enrolled.json.instanceCaCertificate),
        pem("endpoint.pem", owner.certificatePem),
      ]),
    ).toBe("endpoint.pem: OK");
    expect(
      await openssl([
        "verify",
        "-x509_strict",
        "-CAfile",
        pem("vehicle-root.pem", anchors.vehicleOemRoot),
        pem("vehicle.pem", car.json.vehicleCertificate),
      ]),
    ).toBe("vehicle.pem: OK");
  });
});
