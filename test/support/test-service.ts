// The cloud domain wired to in-process fakes (MemoryStore, counting software
// root signers, a settable clock) plus the steps every domain test repeats:
// enroll a device, enroll a vehicle, register an owner key. The handlers'
// tests (test/functions) use the real adapters instead.
import { toHex } from "../../src/protocol/bytes.js";
import { type CarKeysService, createCarKeysService } from "../../src/service/car-keys-service.js";
import type { DeviceRequest } from "../../src/service/device-request-auth.js";
import type { Clock, OemRootProfile } from "../../src/service/ports.js";
import type { KeyView, VehicleEnrollmentResponse } from "../../src/service/schemas.js";
import { MemoryStore } from "./memory-store.js";
import { type SoftDigestSigner, softDigestSigner } from "./soft-digest-signer.js";
import {
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
  readonly signers: Readonly<Record<OemRootProfile, SoftDigestSigner>>;
}

export function testService(): TestService {
  const store = new MemoryStore();
  const clock = new SettableClock();
  const manufacturer = testManufacturer();
  const signers = { "device-oem-root": softDigestSigner(), "vehicle-oem-root": softDigestSigner() };
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
  return { service, store, clock, manufacturer, signers };
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
  const outcome = await t.service.vehicles.enroll(
    { vehicleId: vehicle.idHex, vehiclePublicKey: toHex(vehicle.keyPair.publicKey) },
    "arn:aws:iam::123456789012:user/oem",
  );
  return { ...vehicle, response: outcome.response };
}

export async function registerKey(
  t: TestService,
  device: TestDevice,
  endpoint: TestEndpoint,
  keyAttestation?: Uint8Array,
): Promise<{ created: boolean; response: KeyView }> {
  const { body, request } = deviceRequest(
    "POST",
    "/v1/keys",
    {
      endpointCertificate: endpoint.certificatePem,
      instanceCaCertificate: device.instanceCaCertificatePem,
      ...(keyAttestation ? { keyAttestation: toHex(keyAttestation) } : {}),
    },
    (o) => endpoint.sign(o),
  );
  return t.service.keys.register(body, request);
}
