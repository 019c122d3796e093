// The Lambda handlers end to end, invoked with API Gateway v2 events against
// DynamoDB Local and software root keys configured through the environment
// (as in Lambda): trust anchors, secure element enrollment, vehicle
// enrollment with pairing material, owner and friend key registration, and
// the OEM's reads. Every issued chain is checked with `openssl verify
// -x509_strict`; every answer with its zod response schema; the table is
// searched for the pairing password and verifier.
import "../support/quiet-logs.js";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handler as deviceEnrollment } from "../../functions/device-enrollment.js";
import { handler as keyTracking } from "../../functions/key-tracking.js";
import { handler as trustAnchors } from "../../functions/trust-anchors.js";
import { handler as vehicleEnrollment } from "../../functions/vehicle-enrollment.js";
import { ROUTE_TABLE } from "../../src/api/routes.js";
import { fromHex, toHex } from "../../src/protocol/bytes.js";
import { parseCertificate } from "../../src/protocol/certificate-verifier.js";
import { verifyKeyTrackingReceipt } from "../../src/protocol/key-tracking-receipt.js";
import { computePairingVerifier } from "../../src/protocol/pairing-password.js";
import {
  deviceEnrollmentEvent,
  keyRegistrationEvent,
  ownerRegistrationEvent,
  vehicleEnrollmentEvent,
} from "../support/api-requests.js";
import { apiEvent, invoke, type LambdaHarness, startLambdaHarness } from "../support/lambda-harness.js";
import { enrollNewDevice, enrollNewVehicle } from "../support/lambda-parties.js";
import { attestFriendKey, TestDevice, testVehicle } from "../support/test-device.js";

let harness: LambdaHarness;
let dir: string;

function openssl(args: string[]): string {
  return execFileSync("openssl", args, {
    cwd: dir,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  }).trim();
}

function pem(name: string, text: string): string {
  writeFileSync(join(dir, name), text);
  return name;
}

beforeAll(async () => {
  harness = await startLambdaHarness();
  dir = mkdtempSync(join(tmpdir(), "carkeys-issued-"));
});

afterAll(async () => {
  await harness?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const enrollDevice = (): Promise<TestDevice> => enrollNewDevice(harness.manufacturer);

async function enrollVehicle() {
  const { vehicle, enrollment } = await enrollNewVehicle();
  return { ...vehicle, answer: enrollment };
}

describe("GET /v1/trust-anchors", () => {
  it("answers both roots, self-signed, which OpenSSL accepts as anchors", async () => {
    const answer = await invoke(trustAnchors, apiEvent("GET /v1/trust-anchors"));
    expect(answer.status).toBe(200);
    expect(answer.headers["content-type"]).toBe("application/json");
    ROUTE_TABLE["GET /v1/trust-anchors"].response.content.schema.parse(answer.json);
    expect(parseCertificate(answer.json.deviceOemRoot).profile).toBe("device-oem-root");
    expect(parseCertificate(answer.json.vehicleOemRoot).profile).toBe("vehicle-oem-root");
    const root = pem("device-root.pem", answer.json.deviceOemRoot);
    expect(openssl(["verify", "-x509_strict", "-CAfile", root, root])).toBe(`${root}: OK`);
    const again = await invoke(trustAnchors, apiEvent("GET /v1/trust-anchors"));
    expect(again.json).toEqual(answer.json);
  });
});

describe("POST /v1/devices", () => {
  it("certifies the instance CA (201), OpenSSL verifies it under the Device OEM root, a retry gets 200", async () => {
    const device = new TestDevice(harness.manufacturer);
    const answer = await invoke(deviceEnrollment, deviceEnrollmentEvent(device));
    expect(answer.status).toBe(201);
    ROUTE_TABLE["POST /v1/devices"].response.content.schema.parse(answer.json);
    expect(answer.json.seId).toBe(device.seId);
    const out = openssl([
      "verify",
      "-x509_strict",
      "-CAfile",
      pem("device-root.pem", answer.json.deviceOemRoot),
      pem("instance.pem", answer.json.instanceCaCertificate),
    ]);
    expect(out).toBe("instance.pem: OK");
    const retry = await invoke(deviceEnrollment, deviceEnrollmentEvent(device));
    expect(retry.status).toBe(200);
    expect(retry.json).toEqual(answer.json);
  });

  it("accepts a base64-encoded body (API Gateway encodes bodies it does not treat as text)", async () => {
    const device = new TestDevice(harness.manufacturer);
    const answer = await invoke(deviceEnrollment, deviceEnrollmentEvent(device, undefined, { base64: true }));
    expect(answer.status).toBe(201);
  });
});

describe("POST /v1/vehicles and /pairing", () => {
  it("certifies the vehicle (201), OpenSSL verifies it, and the pairing material is consistent", async () => {
    const vehicle = await enrollVehicle();
    const body = vehicle.answer;
    ROUTE_TABLE["POST /v1/vehicles"].response.content.schema.parse(body);
    const out = openssl([
      "verify",
      "-x509_strict",
      "-CAfile",
      pem("vehicle-root.pem", body.trustAnchors.vehicleOemRoot),
      pem("vehicle.pem", body.vehicleCertificate),
    ]);
    expect(out).toBe("vehicle.pem: OK");
    const v = body.pairing.verifier;
    expect({ N: v.N, r: v.r, p: v.p }).toEqual({ N: 32768, r: 8, p: 1 });
    const recomputed = computePairingVerifier(body.pairing.password, {
      salt: fromHex(v.salt),
      N: v.N,
      r: v.r,
      p: v.p,
    });
    expect(toHex(recomputed.w0)).toBe(v.w0);
    expect(toHex(recomputed.L)).toBe(v.L);
  });

  it("keeps no copy of the password or the verifier in the table", async () => {
    const vehicle = await enrollVehicle();
    const fresh = await invoke(
      vehicleEnrollment,
      apiEvent("POST /v1/vehicles/{vehicleId}/pairing", { iam: true, params: { vehicleId: vehicle.idHex } }),
    );
    expect(fresh.status).toBe(201);
    ROUTE_TABLE["POST /v1/vehicles/{vehicleId}/pairing"].response.content.schema.parse(fresh.json);
    const table = JSON.stringify(await harness.table.scan());
    for (const pairing of [vehicle.answer.pairing, fresh.json.pairing]) {
      expect(table).not.toContain(pairing.password);
      expect(table).not.toContain(pairing.verifier.w0);
      expect(table).not.toContain(pairing.verifier.L);
      expect(table).not.toContain(pairing.verifier.salt);
    }
    expect(table).toContain(fresh.json.pairing.pairingId);
  });

  it("answers a repeat with 200, the same certificate and new pairing material", async () => {
    const vehicle = await enrollVehicle();
    const repeat = await invoke(vehicleEnrollment, vehicleEnrollmentEvent(vehicle));
    expect(repeat.status).toBe(200);
    expect(repeat.json.vehicleCertificate).toBe(vehicle.answer.vehicleCertificate);
    expect(repeat.json.pairing.password).toMatch(/^[0-9]{8}$/);
  });

  it("takes a pairing validity", async () => {
    const vehicle = testVehicle();
    const answer = await invoke(
      vehicleEnrollment,
      vehicleEnrollmentEvent(vehicle, { pairingValidityHours: 1 }),
    );
    expect(Date.parse(answer.json.pairing.expiresAt) - Date.now()).toBeLessThanOrEqual(3600_000);
  });
});

describe("POST /v1/keys and the OEM's reads", () => {
  it("registers the owner key; OpenSSL verifies its chain; the receipt verifies with the Vehicle OEM root", async () => {
    const device = await enrollDevice();
    const vehicle = await enrollVehicle();
    const owner = await device.newEndpoint(vehicle.id, "owner");
    const answer = await invoke(
      keyTracking,
      ownerRegistrationEvent(device, owner, vehicle, vehicle.answer.pairing.pairingId),
    );
    expect(answer.status).toBe(201);
    ROUTE_TABLE["POST /v1/keys"].response.content.schema.parse(answer.json);
    expect(answer.json).toMatchObject({ keyId: owner.keyId, vehicleId: vehicle.idHex, role: "owner" });
    const anchors = (await invoke(trustAnchors, apiEvent("GET /v1/trust-anchors"))).json;
    const out = openssl([
      "verify",
      "-x509_strict",
      "-CAfile",
      pem("device-root.pem", anchors.deviceOemRoot),
      "-untrusted",
      pem("instance.pem", device.instanceCaCertificatePem!),
      pem("endpoint.pem", owner.certificatePem),
    ]);
    expect(out).toBe("endpoint.pem: OK");
    const vehicleRootKey = parseCertificate(anchors.vehicleOemRoot).subjectPublicKey;
    const receipt = verifyKeyTrackingReceipt(fromHex(answer.json.receipt), vehicleRootKey);
    expect(toHex(receipt.endpointPublicKey)).toBe(toHex(owner.keyPair.publicKey));

    const retry = await invoke(
      keyTracking,
      ownerRegistrationEvent(device, owner, vehicle, vehicle.answer.pairing.pairingId),
    );
    expect(retry.status).toBe(200);
    expect(retry.json).toEqual(answer.json);

    const one = await invoke(
      keyTracking,
      apiEvent("GET /v1/keys/{keyId}", { iam: true, params: { keyId: owner.keyId } }),
    );
    expect(one.status).toBe(200);
    expect(one.json).toEqual(answer.json);
  });

  it("registers a friend key with the owner's attestation and lists both keys", async () => {
    const ownerPhone = await enrollDevice();
    const friendPhone = await enrollDevice();
    const vehicle = await enrollVehicle();
    const owner = await ownerPhone.newEndpoint(vehicle.id, "owner");
    expect(
      (
        await invoke(
          keyTracking,
          ownerRegistrationEvent(ownerPhone, owner, vehicle, vehicle.answer.pairing.pairingId),
        )
      ).status,
    ).toBe(201);
    const friend = await friendPhone.newEndpoint(vehicle.id, "friend");
    const attestation = attestFriendKey(owner, friend, vehicle.id, { kind: "unlock-only" }, 2);
    const answer = await invoke(keyTracking, keyRegistrationEvent(friendPhone, friend, attestation));
    expect(answer.status).toBe(201);
    expect(answer.json).toMatchObject({
      role: "friend",
      profile: { kind: "unlock-only" },
      attestationSerial: 2,
    });
    const list = await invoke(
      keyTracking,
      apiEvent("GET /v1/vehicles/{vehicleId}/keys", { iam: true, params: { vehicleId: vehicle.idHex } }),
    );
    expect(list.status).toBe(200);
    ROUTE_TABLE["GET /v1/vehicles/{vehicleId}/keys"].response.content.schema.parse(list.json);
    expect(list.json.keys.map((k: { keyId: string }) => k.keyId).sort()).toEqual(
      [owner.keyId, friend.keyId].sort(),
    );
  });
});
