// The parties most function tests begin with, enrolled through the functions'
// own handlers (functions/*.ts, built from the environment that
// startLambdaHarness sets): an enrolled device, an enrolled vehicle, and a
// vehicle whose owner key is registered. Each step asserts the status the
// route answers, so a test that builds on them fails at the step that broke.

import type { APIGatewayProxyHandlerV2 } from "aws-lambda";
import { expect } from "vitest";
import { handler as deviceEnrollment } from "../../functions/device-enrollment.js";
import { handler as keyTracking } from "../../functions/key-tracking.js";
import { handler as vehicleEnrollment } from "../../functions/vehicle-enrollment.js";
import { deviceEnrollmentEvent, ownerRegistrationEvent, vehicleEnrollmentEvent } from "./api-requests.js";
import { type InvokeResult, invoke } from "./lambda-harness.js";
import { TestDevice, type TestEndpoint, type TestManufacturer, testVehicle } from "./test-device.js";

/** The handlers the parties are enrolled through; a test that spies on its own service passes its own. */
export interface EnrollmentHandlers {
  readonly deviceEnrollment: APIGatewayProxyHandlerV2;
  readonly vehicleEnrollment: APIGatewayProxyHandlerV2;
  readonly keyTracking: APIGatewayProxyHandlerV2;
}

const FROM_ENVIRONMENT: EnrollmentHandlers = { deviceEnrollment, vehicleEnrollment, keyTracking };

/** A device of `manufacturer` whose instance CA the service certified (POST /v1/devices, 201). */
export async function enrollNewDevice(
  manufacturer: TestManufacturer,
  handlers: EnrollmentHandlers = FROM_ENVIRONMENT,
): Promise<TestDevice> {
  const device = new TestDevice(manufacturer);
  const enrolled = await invoke(handlers.deviceEnrollment, deviceEnrollmentEvent(device));
  expect(enrolled.status, JSON.stringify(enrolled.json)).toBe(201);
  device.instanceCaCertificatePem = enrolled.json.instanceCaCertificate;
  return device;
}

export type TestVehicle = ReturnType<typeof testVehicle>;

/** A new vehicle the OEM enrolled (POST /v1/vehicles, 201), with the answer and its pairing id. */
export async function enrollNewVehicle(handlers: EnrollmentHandlers = FROM_ENVIRONMENT): Promise<{
  readonly vehicle: TestVehicle;
  readonly enrollment: InvokeResult["json"];
  readonly pairingId: string;
}> {
  const vehicle = testVehicle();
  const enrolled = await invoke(handlers.vehicleEnrollment, vehicleEnrollmentEvent(vehicle));
  expect(enrolled.status, JSON.stringify(enrolled.json)).toBe(201);
  return { vehicle, enrollment: enrolled.json, pairingId: enrolled.json.pairing.pairingId as string };
}

/** An enrolled vehicle whose owner key, on `ownerDevice`, is registered (POST /v1/keys, 201). */
export async function vehicleOwnedBy(
  ownerDevice: TestDevice,
  handlers: EnrollmentHandlers = FROM_ENVIRONMENT,
): Promise<{
  readonly vehicle: TestVehicle;
  readonly owner: TestEndpoint;
  readonly enrollment: InvokeResult["json"];
  readonly registered: InvokeResult;
}> {
  const { vehicle, enrollment, pairingId } = await enrollNewVehicle(handlers);
  const owner = await ownerDevice.newEndpoint(vehicle.id, "owner");
  const registered = await invoke(
    keyTracking,
    ownerRegistrationEvent(ownerDevice, owner, vehicle, pairingId),
  );
  expect(registered.status, JSON.stringify(registered.json)).toBe(201);
  return { vehicle, owner, enrollment, registered };
}
