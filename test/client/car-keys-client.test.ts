// The whole cloud walk (enroll, pair, register, verify), scripted over real HTTP against the local stack
// (startLocalDeployment: the Lambda handlers behind the local server, DynamoDB
// Local in memory, software OEM roots), with the emulated SE and car: enroll
// an SE, enroll a vehicle and provision it, pair the owner with the car over
// APDUs with the returned pairing material, register the owner key, and
// verify its receipt against the Vehicle OEM root published at
// /v1/trust-anchors; then a friend key shared offline and registered with the
// owner's attestation. Also the refusals a client must see as typed errors
// (bad OEM token, untrusted factory attestation, replayed nonce, stale
// timestamp, wrong signer), and a type test that keeps the client's response
// types equal to the service's schemas.
import "../support/quiet-logs.js";
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import type * as Schemas from "../../src/api/issuance-schemas.js";
import {
  CarKeysClient,
  type DeviceEnrollmentRequest,
  type DeviceEnrollmentResponse,
  installVehicleEnrollment,
  type KeyRegistrationRequest,
  OemBackendClient,
  type PairingMaterial,
  type PairingResponse,
  type RegisteredKey,
  type TrustAnchorsResponse,
  type VehicleEnrollmentRequest,
  type VehicleEnrollmentResponse,
  type VehicleKeysResponse,
  verifyKeyReceipt,
} from "../../src/client/car-keys-client.js";
import { ClientError, ServiceProblemError, ServiceResponseError } from "../../src/client/errors.js";
import { deviceFetch } from "../../src/client/signed-fetch.js";
import { SecureElement } from "../../src/emulator/secure-element/secure-element.js";
import { tap } from "../../src/emulator/tap.js";
import { Vehicle } from "../../src/emulator/vehicle/vehicle.js";
import { fromHex, toHex } from "../../src/protocol/bytes.js";
import { parseCertificate, verifyCertificateChain } from "../../src/protocol/certificate-verifier.js";
import { createDevice, createVehicle, EmulatedOem, pairOwner } from "../support/emulated-pki.js";
import { startTestStack, type TestStack } from "./stack-fixtures.js";

let t: TestStack;
let client: CarKeysClient;
let oem: OemBackendClient;

beforeAll(async () => {
  t = await startTestStack();
  client = new CarKeysClient(t.stack.url);
  oem = new OemBackendClient(t.stack.url, t.stack.oemToken);
});

afterAll(async () => {
  await t?.stop();
});

async function problemOf(promise: Promise<unknown>): Promise<ServiceProblemError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ServiceProblemError);
  return error as ServiceProblemError;
}

/** A car enrolled through the API, its certificates and pairing verifier installed. */
async function enrolledVehicle(): Promise<{ car: Vehicle; password: string; vehicleId: string }> {
  const car = Vehicle.create();
  const { created, response } = await oem.enrollVehicle({
    vehicleId: car.vehicleIdentifier,
    vehiclePublicKey: car.publicKey,
  });
  expect(created).toBe(true);
  const { password } = installVehicleEnrollment(car, response);
  return { car, password, vehicleId: response.vehicleId };
}

async function pair(car: Vehicle, se: SecureElement, password: string): Promise<string> {
  se.enterPairingPassword(password);
  try {
    return (await car.pair((command) => se.transceive(command))).keyId;
  } finally {
    se.fieldLost();
  }
}

describe("the cloud walk over HTTP: enroll an SE, enroll a vehicle, pair, register, verify the receipt", () => {
  it("runs end to end with typed answers and no handler error", async () => {
    // The public roots a device and a car need.
    const anchors = await client.getTrustAnchors();
    expect(parseCertificate(anchors.deviceOemRoot).profile).toBe("device-oem-root");
    expect(parseCertificate(anchors.vehicleOemRoot).profile).toBe("vehicle-oem-root");

    // 1. The owner's SE: factory attestation + instance CA key, signed by that key.
    const owner = t.newSecureElement();
    expect(owner.installedCertificates).toBeNull();
    const enrolled = await client.enrollSecureElement(owner);
    expect(enrolled.created).toBe(true);
    expect(enrolled.response.seId).toBe(owner.seId);
    expect(owner.installedCertificates).toEqual({
      instanceCaCertificate: enrolled.response.instanceCaCertificate,
      deviceOemRoot: enrolled.response.deviceOemRoot,
      vehicleOemRoot: anchors.vehicleOemRoot,
    });
    const instanceCa = verifyCertificateChain({
      leaf: enrolled.response.instanceCaCertificate,
      anchors: [anchors.deviceOemRoot],
      expectedLeafProfile: "instance-ca",
      at: new Date(),
    });
    expect(toHex(instanceCa.publicKey)).toBe(toHex(owner.instanceCaPublicKey));
    // A retry (a new signed request) gets the same certificate, 200 instead of 201.
    const again = await client.enrollSecureElement(owner);
    expect(again).toEqual({ created: false, response: enrolled.response });

    // 2. The vehicle, OEM side: certificate, trust anchors and pairing material, installed into the car.
    const car = Vehicle.create();
    const vehicle = await oem.enrollVehicle({
      vehicleId: car.vehicleIdentifier,
      vehiclePublicKey: car.publicKey,
    });
    expect(vehicle.created).toBe(true);
    expect(vehicle.response.trustAnchors).toEqual(anchors);
    expect(vehicle.response.pairing.password).toMatch(/^[0-9]{8}$/);
    const { password } = installVehicleEnrollment(car, vehicle.response);
    expect(car.vehicleCertificate).toBe(vehicle.response.vehicleCertificate);
    expect(car.pairingAttemptsLeft).toBeGreaterThan(0);

    // 3. Owner pairing over APDUs (SPAKE2+ with the service's verifier, then certificates).
    const ownerKeyId = await pair(car, owner, password);
    expect(owner.key(ownerKeyId)).toMatchObject({
      role: "owner",
      vehicleIdentifier: toHex(car.vehicleIdentifier),
    });
    expect(await tap(owner, car.doorHandle)).toMatchObject({ decision: "unlocked", keyId: ownerKeyId });

    // 4. Register the owner key, signed by its endpoint key; the receipt is signed by the Vehicle OEM root.
    const registered = await client.registerKey(owner, ownerKeyId);
    expect(registered.created).toBe(true);
    expect(registered.response).toMatchObject({
      keyId: ownerKeyId,
      vehicleId: toHex(car.vehicleIdentifier),
      role: "owner",
      endpointPublicKey: owner.key(ownerKeyId).endpointPublicKey,
    });
    // The certificate names the SE's instance CA: neither stored nor returned.
    expect(registered.response).not.toHaveProperty("endpointCertificate");
    const facts = verifyKeyReceipt(registered.response, anchors.vehicleOemRoot);
    expect(facts.role).toBe("owner");
    expect(toHex(facts.vehicleIdentifier)).toBe(toHex(car.vehicleIdentifier));
    expect(toHex(facts.endpointPublicKey)).toBe(owner.key(ownerKeyId).endpointPublicKey);
    expect(Math.abs(facts.registeredAt - Date.parse(registered.response.registeredAt))).toBeLessThan(1000);
    // Not signed by the Device OEM root, and not by an unrelated Vehicle OEM root.
    expect(() => verifyKeyReceipt(registered.response, anchors.deviceOemRoot)).toThrow();
    const stranger = await EmulatedOem.create();
    expect(() => verifyKeyReceipt(registered.response, stranger.trustAnchors.vehicleOemRoot)).toThrow();
    // A receipt that does not say what the record says is caught.
    expect(() =>
      verifyKeyReceipt({ ...registered.response, role: "friend" }, anchors.vehicleOemRoot),
    ).toThrow(ServiceResponseError);
    // A repeat returns the stored record and receipt (no second signature).
    const repeat = await client.registerKey(owner, ownerKeyId);
    expect(repeat).toEqual({ created: false, response: registered.response });

    // 5. What the OEM backend reads back.
    expect(await oem.getKey(ownerKeyId)).toEqual(registered.response);
    const listed = await oem.listVehicleKeys(toHex(car.vehicleIdentifier));
    expect(listed.keys.map((k) => k.keyId)).toContain(ownerKeyId);

    // 6. A friend: SE enrolled, key shared offline with the owner's attestation, then registered with it.
    const friend = t.newSecureElement();
    await client.enrollSecureElement(friend);
    const ownerKey = owner.key(ownerKeyId);
    const request = await friend.createFriendKey({
      vehicleIdentifier: fromHex(ownerKey.vehicleIdentifier),
      vehicleCertificate: ownerKey.vehicleCertificate!,
      profile: { kind: "drive", speedLimitKmh: 70 },
    });
    owner.authenticateUser();
    const attestation = owner.attestFriendKey(ownerKeyId, request, { kind: "drive", speedLimitKmh: 70 });
    friend.installKeyAttestation(request.keyId, attestation);
    const friendKey = await client.registerKey(friend, request.keyId, attestation);
    expect(friendKey.response).toMatchObject({
      keyId: request.keyId,
      role: "friend",
      profile: { kind: "drive", speedLimitKmh: 70 },
      attestationSerial: 1,
    });
    expect(friendKey.response).not.toHaveProperty("ownerKeyId");
    expect(verifyKeyReceipt(friendKey.response, anchors.vehicleOemRoot)).toMatchObject({
      role: "friend",
      attestationSerial: 1,
    });
    expect(await tap(friend, car.dashboard)).toMatchObject({ decision: "started", speedLimitKmh: 70 });

    // Once an owner key exists, new pairing material is still issued: it is how a new phone takes over
    // (the owner key it registers replaces this one; see test/e2e/cloud-story.test.ts).
    const migration = await oem.newPairing(toHex(car.vehicleIdentifier));
    expect(migration.pairing.password).toMatch(/^[0-9]{8}$/);

    expect(t.handlerErrors).toEqual([]);
  });
});

describe("refusals reach the client as typed errors", () => {
  it("an OEM route with a wrong token: 401 problem+json", async () => {
    const wrong = new OemBackendClient(t.stack.url, "not-the-token-not-the-token");
    const error = await problemOf(
      wrong.enrollVehicle({ vehicleId: "00".repeat(16), vehiclePublicKey: "04" }),
    );
    expect(error.status).toBe(401);
    expect(error.title).toBeTruthy();
    expect(error.detail).toMatch(/OEM API token/);
  });

  it("an SE without a factory attestation is refused before any request", async () => {
    const { se } = SecureElement.create();
    await expect(client.enrollSecureElement(se)).rejects.toThrow(ClientError);
  });

  it("an SE attested by another manufacturer: 403, and nothing is installed", async () => {
    const stranger = await EmulatedOem.create();
    const { se } = SecureElement.create({ manufacturer: stranger.manufacturer });
    const error = await problemOf(client.enrollSecureElement(se));
    expect(error).toMatchObject({ status: 403, type: "urn:carkeys:problem:forbidden" });
    expect(se.installedCertificates).toBeNull();
  });

  it("a replayed nonce and a stale timestamp: 401", async () => {
    const se = t.newSecureElement();
    const body = {
      seId: se.seId,
      instanceCaPublicKey: toHex(se.instanceCaPublicKey),
      factoryAttestation: toHex(se.factoryAttestation!),
    };
    const fixedNonce = { randomBytes: (n: number) => new Uint8Array(n).fill(7) };
    const signer = `instance:${se.seId}` as const;
    const first = await deviceFetch(t.stack.url, se, signer, "POST", "/v1/devices", body, fixedNonce);
    expect(first.status).toBe(201);
    const replay = await problemOf(
      deviceFetch(t.stack.url, se, signer, "POST", "/v1/devices", body, fixedNonce),
    );
    expect(replay).toMatchObject({ status: 401, type: "urn:carkeys:problem:replay" });
    const stale = await problemOf(
      deviceFetch(t.stack.url, se, signer, "POST", "/v1/devices", body, {
        now: () => Date.now() - 10 * 60_000,
      }),
    );
    expect(stale).toMatchObject({ status: 401 });
    expect(stale.detail).toMatch(/carkey-timestamp/);
  });

  it("a request signed by another SE than the one it enrolls: 401", async () => {
    const victim = t.newSecureElement();
    const impostor = t.newSecureElement();
    const body = {
      seId: victim.seId,
      instanceCaPublicKey: toHex(victim.instanceCaPublicKey),
      factoryAttestation: toHex(victim.factoryAttestation!),
    };
    const error = await problemOf(
      deviceFetch(t.stack.url, impostor, `instance:${impostor.seId}`, "POST", "/v1/devices", body),
    );
    expect(error.status).toBe(401);
    expect(victim.installedCertificates).toBeNull();
  });

  it("a key whose chain leads to another Device OEM: 403, nothing recorded", async () => {
    // A device and car of another automaker, paired offline: a genuine chain, but not this service's root.
    const outsider = await EmulatedOem.create();
    const device = await createDevice(outsider);
    const car = await createVehicle(outsider);
    const { keyId } = await pairOwner(outsider, car, device.se);
    const error = await problemOf(client.registerKey(device.se, keyId));
    expect(error).toMatchObject({ status: 403, type: "urn:carkeys:problem:forbidden" });
    expect(error.detail).toMatch(/no Device OEM root this service trusts/);
    expect((await problemOf(oem.getKey(keyId))).status).toBe(404);
  });

  it("the same vehicle enrolled twice with another key: 409", async () => {
    const { vehicleId } = await enrolledVehicle();
    const error = await problemOf(
      oem.enrollVehicle({ vehicleId, vehiclePublicKey: Vehicle.create().publicKey }),
    );
    expect(error.status).toBe(409);
  });

  it("a malformed body: 400 with per-field errors", async () => {
    const se = t.newSecureElement();
    const error = await problemOf(
      deviceFetch(t.stack.url, se, `instance:${se.seId}`, "POST", "/v1/devices", { seId: se.seId }),
    );
    expect(error.status).toBe(400);
    expect(error.errors.map((e) => e.path)).toEqual(
      expect.arrayContaining(["body.instanceCaPublicKey", "body.factoryAttestation"]),
    );
  });
});

describe("the client's types are the service's schemas", () => {
  it("are inferred from the contract in src/api", () => {
    expectTypeOf<TrustAnchorsResponse>().toEqualTypeOf<Schemas.TrustAnchors>();
    expectTypeOf<DeviceEnrollmentRequest>().toEqualTypeOf<Schemas.DeviceEnrollmentRequest>();
    expectTypeOf<DeviceEnrollmentResponse>().toEqualTypeOf<Schemas.DeviceEnrollmentResponse>();
    expectTypeOf<PairingMaterial>().toEqualTypeOf<Schemas.PairingMaterial>();
    expectTypeOf<VehicleEnrollmentRequest>().toEqualTypeOf<Schemas.VehicleEnrollmentRequest>();
    expectTypeOf<VehicleEnrollmentResponse>().toEqualTypeOf<Schemas.VehicleEnrollmentResponse>();
    expectTypeOf<PairingResponse>().toEqualTypeOf<Schemas.PairingResponse>();
    expectTypeOf<KeyRegistrationRequest>().toEqualTypeOf<Schemas.KeyRegistrationRequest>();
    expectTypeOf<RegisteredKey>().toEqualTypeOf<Schemas.RegisteredKey>();
    expectTypeOf<VehicleKeysResponse>().toEqualTypeOf<Schemas.VehicleKeysResponse>();
  });
});
