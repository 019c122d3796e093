// Event notifications from a partner server (`POST /v1/events`) through the
// Lambda handler against DynamoDB Local: a lost or found device runs lost
// mode, a termination request revokes the key, each through the same
// service call as the OEM routes, and a repeat changes nothing. With mutual
// TLS required, a request without API Gateway's verified client certificate
// is refused, and the certificate's subject is the recorded sender.
import "../support/quiet-logs.js";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handler as deviceEnrollment } from "../../functions/device-enrollment.js";
import { handler as keyTracking } from "../../functions/key-tracking.js";
import { handler as notices } from "../../functions/notices.js";
import {
  handler as partnerEvents,
  makeHandler as partnerEventsHandler,
} from "../../functions/partner-events.js";
import { handler as vehicleEnrollment } from "../../functions/vehicle-enrollment.js";
import { serviceDependenciesFromEnvironment } from "../../src/adapters/service-assembly.js";
import {
  deviceEnrollmentEvent,
  keyRegistrationEvent,
  vehicleEnrollmentEvent,
} from "../support/api-requests.js";
import { apiEvent, invoke, type LambdaHarness, startLambdaHarness } from "../support/lambda-harness.js";
import { confirmPairing, TestDevice, type TestEndpoint, testVehicle } from "../support/test-device.js";

let harness: LambdaHarness;
let device: TestDevice;
let owner: TestEndpoint;
let vehicleIdHex: string;

const PARTNER_SUBJECT = "CN=events.partner.example,O=Partner Motors";

function partnerEvent(body: Record<string, unknown>, options: { clientCert?: boolean } = {}) {
  const event = apiEvent("POST /v1/events", {
    iam: true,
    body: { eventId: randomUUID(), occurredAt: new Date().toISOString(), ...body },
  });
  if (options.clientCert) {
    (event.requestContext as unknown as Record<string, unknown>).authentication = {
      clientCert: {
        clientCertPem: "-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----\n",
        subjectDN: PARTNER_SUBJECT,
        issuerDN: "CN=Partner OEM Server CA,O=Partner Motors",
        serialNumber: "1a2b3c",
        validity: { notBefore: "2026-01-01T00:00:00Z", notAfter: "2027-01-01T00:00:00Z" },
      },
    };
  }
  return event;
}

beforeAll(async () => {
  harness = await startLambdaHarness();
  device = new TestDevice(harness.manufacturer);
  const enrolled = await invoke(deviceEnrollment, deviceEnrollmentEvent(device));
  expect(enrolled.status).toBe(201);
  device.instanceCaCertificatePem = enrolled.json.instanceCaCertificate;
  const vehicle = testVehicle();
  vehicleIdHex = vehicle.idHex;
  const car = await invoke(vehicleEnrollment, vehicleEnrollmentEvent(vehicle));
  owner = await device.newEndpoint(vehicle.id, "owner");
  const pairingConfirmation = confirmPairing(vehicle.keyPair, {
    pairingId: car.json.pairing.pairingId,
    vehicleId: vehicle.id,
    endpoint: owner,
  });
  const registered = await invoke(
    keyTracking,
    keyRegistrationEvent(device, owner, undefined, { pairingConfirmation }),
  );
  expect(registered.status).toBe(201);
}, 120_000);

afterAll(async () => {
  await harness?.stop();
});

describe("POST /v1/events", () => {
  it("device.lost suspends the device's keys; a repeat is already-applied; device.found resumes", async () => {
    const lost = await invoke(partnerEvents, partnerEvent({ type: "device.lost", seId: device.seId }));
    expect(lost.status, JSON.stringify(lost.json)).toBe(200);
    expect(lost.json).toMatchObject({ type: "device.lost", outcome: "applied" });
    const again = await invoke(partnerEvents, partnerEvent({ type: "device.lost", seId: device.seId }));
    expect(again.json.outcome).toBe("already-applied");
    const found = await invoke(partnerEvents, partnerEvent({ type: "device.found", seId: device.seId }));
    expect(found.json.outcome).toBe("applied");
    const car = await invoke(
      notices,
      apiEvent("GET /v1/vehicles/{vehicleId}/notices", { iam: true, params: { vehicleId: vehicleIdHex } }),
    );
    expect(car.json.notices.map((n: { action: string }) => n.action)).toEqual(["suspend", "resume"]);
  });

  it("with mutual TLS required, refuses a request without a verified client certificate (403)", async () => {
    // The same environment with SERVER_TO_SERVER_MTLS=required, as the stack sets it beside an mTLS domain.
    const strict = partnerEventsHandler(
      serviceDependenciesFromEnvironment({ ...process.env, SERVER_TO_SERVER_MTLS: "required" }),
    );
    const refused = await invoke(strict, partnerEvent({ type: "heartbeat" }));
    expect(refused.status).toBe(403);
    expect(refused.json.detail).toContain("mutual TLS");
    const accepted = await invoke(strict, partnerEvent({ type: "heartbeat" }, { clientCert: true }));
    expect(accepted.status).toBe(200);
    expect(accepted.json).toMatchObject({ outcome: "acknowledged", from: `x509:${PARTNER_SUBJECT}` });
  });

  it("key.termination-requested revokes the key with the certificate's subject as revokedBy", async () => {
    const request = partnerEvent(
      { type: "key.termination-requested", keyId: owner.keyId },
      { clientCert: true },
    );
    const revoked = await invoke(partnerEvents, request);
    expect(revoked.status, JSON.stringify(revoked.json)).toBe(200);
    expect(revoked.json.outcome).toBe("applied");
    const items = await harness.table.scan();
    expect(items.find((i) => i.pk === `KEY#${owner.keyId}`)).toMatchObject({
      state: "revoked",
      revocation: { reason: "oem", revokedBy: `x509:${PARTNER_SUBJECT}` },
    });
    const repeat = await invoke(
      partnerEvents,
      partnerEvent({ type: "key.termination-requested", keyId: owner.keyId }, { clientCert: true }),
    );
    expect(repeat.json.outcome).toBe("already-applied");
  });

  it("refuses an event for an unknown key (404) and an unknown type (400), writing nothing", async () => {
    const before = await harness.table.scan();
    const unknownKey = await invoke(
      partnerEvents,
      partnerEvent({ type: "key.termination-requested", keyId: "0".repeat(12) }),
    );
    expect(unknownKey.status).toBe(404);
    const unknownType = await invoke(partnerEvents, partnerEvent({ type: "key.lost", keyId: owner.keyId }));
    expect(unknownType.status).toBe(400);
    expect(await harness.table.scan()).toEqual(before);
  });
});
