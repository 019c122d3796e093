// The cloud domain wired to in-process fakes (MemoryStore, counting software
// root signers, a settable clock) plus the steps every domain test repeats:
// enroll a device, enroll a vehicle, register an owner key. The handlers'
// tests (test/functions) use the real adapters instead. The test service
// remembers the key of every vehicle it enrolled, so registerKey can play the
// car's part of owner pairing: sign a pairing confirmation for the vehicle's
// current pairing material.
import { randomBytes } from "node:crypto";
import type { RegisteredKey, VehicleEnrollmentResponse } from "../../src/api/issuance-schemas.js";
import { toHex } from "../../src/protocol/bytes.js";
import { generateKeyPair, type KeyPair } from "../../src/protocol/p256.js";
import { type CarKeysService, createCarKeysService } from "../../src/service/car-keys-service.js";
import type { DeviceRequest } from "../../src/service/device-request-auth.js";
import type { Clock, OemRootProfile } from "../../src/service/ports.js";
import { MemoryStore } from "./memory-store.js";
import { type SoftMessageSigner, softMessageSigner } from "./soft-message-signer.js";
import {
  confirmPairing,
  TestDevice,
  type TestEndpoint,
  type TestManufacturer,
  testManufacturer,
  testVehicle,
} from "./test-device.js";
import { testMacKey } from "./test-mac-key.js";

/** Cheap scrypt for tests: the cost is the protocol's business, tested in test/protocol. */
export const TEST_SCRYPT_COST = { N: 1024, r: 8, p: 1 } as const;

export class SettableClock implements Clock {
  constructor(public time = Date.now()) {}
  now(): Date {
    return new Date(this.time);
  }
}

export interface TestService {
  readonly service: CarKeysService;
  readonly store: MemoryStore;
  readonly clock: SettableClock;
  readonly manufacturer: TestManufacturer;
  readonly signers: Readonly<Record<OemRootProfile, SoftMessageSigner>>;
  /** The key pair of each vehicle enrollVehicle enrolled, by vehicle id (hex): the car's own key. */
  readonly vehicleKeys: Map<string, KeyPair>;
}

export function testService(): TestService {
  const store = new MemoryStore();
  const clock = new SettableClock();
  const manufacturer = testManufacturer();
  const signers = { "device-oem-root": softMessageSigner(), "vehicle-oem-root": softMessageSigner() };
  const service = createCarKeysService({
    store,
    clock,
    signer: { root: (profile) => signers[profile] },
    devicePseudonymKey: testMacKey(),
    manufacturerPublicKey: manufacturer.keyPair.publicKey,
    deviceOem: { organization: "Test Device OEM" },
    vehicleOem: { organization: "Test Vehicle OEM", country: "DE" },
    scryptCost: TEST_SCRYPT_COST,
  });
  return { service, store, clock, manufacturer, signers, vehicleKeys: new Map() };
}

/** A DeviceRequest as the handler builds it, with a JSON body signed by `sign`. */
export function deviceRequest(
  method: string,
  path: string,
  body: unknown,
  sign: (options: { method: string; path: string; body: string }) => Record<string, string>,
): { body: never; request: DeviceRequest } {
  const text = JSON.stringify(body);
  return {
    body: body as never,
    request: {
      method,
      path,
      body: new TextEncoder().encode(text),
      headers: { "content-type": "application/json", ...sign({ method, path, body: text }) },
    },
  };
}

export async function enrollDevice(t: TestService): Promise<TestDevice> {
  const device = new TestDevice(t.manufacturer);
  const { body, request } = deviceRequest("POST", "/v1/devices", device.enrollmentBody(), (o) =>
    device.signAsInstance(o),
  );
  const outcome = await t.service.secureElements.enroll(body, request);
  device.instanceCaCertificatePem = outcome.response.instanceCaCertificate;
  return device;
}

export async function enrollVehicle(
  t: TestService,
): Promise<ReturnType<typeof testVehicle> & { response: VehicleEnrollmentResponse }> {
  const vehicle = testVehicle();
  t.vehicleKeys.set(vehicle.idHex, vehicle.keyPair);
  const outcome = await t.service.vehicles.enroll(
    { vehicleId: vehicle.idHex, vehiclePublicKey: toHex(vehicle.keyPair.publicKey) },
    "arn:aws:iam::123456789012:user/oem",
  );
  return { ...vehicle, response: outcome.response };
}

/**
 * The car's pairing confirmation of an owner endpoint, as if it had just
 * paired under the vehicle's current pairing material: signed by the key
 * enrollVehicle remembered (a stranger's key and a random pairing id for a
 * vehicle it does not know, so that the service's other checks are reached).
 */
export async function carConfirmation(t: TestService, endpoint: TestEndpoint): Promise<Uint8Array> {
  const vehicleId = toHex(endpoint.vehicleId);
  const pairing = await t.store.getPairing(vehicleId);
  return confirmPairing(t.vehicleKeys.get(vehicleId) ?? generateKeyPair(), {
    pairingId: pairing?.pairingId ?? toHex(randomBytes(8)),
    vehicleId: endpoint.vehicleId,
    endpoint,
    confirmedAt: t.clock.time,
  });
}

/**
 * POST /v1/keys for `endpoint`. An owner endpoint carries the car's pairing
 * confirmation (carConfirmation) unless `options.pairingConfirmation` says
 * otherwise (`null`: none).
 */
export async function registerKey(
  t: TestService,
  device: TestDevice,
  endpoint: TestEndpoint,
  keyAttestation?: Uint8Array,
  options: { pairingConfirmation?: Uint8Array | null } = {},
): Promise<{ created: boolean; response: RegisteredKey }> {
  const confirmation =
    options.pairingConfirmation !== undefined
      ? options.pairingConfirmation
      : endpoint.role === "owner"
        ? await carConfirmation(t, endpoint)
        : null;
  const { body, request } = deviceRequest(
    "POST",
    "/v1/keys",
    {
      endpointCertificate: endpoint.certificatePem,
      instanceCaCertificate: device.instanceCaCertificatePem,
      ...(keyAttestation ? { keyAttestation: toHex(keyAttestation) } : {}),
      ...(confirmation ? { pairingConfirmation: toHex(confirmation) } : {}),
    },
    (o) => endpoint.sign(o),
  );
  return t.service.keys.register(body, request);
}
