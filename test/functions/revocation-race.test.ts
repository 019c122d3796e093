// Revocations that race on one vehicle, through the revocation Lambda on
// DynamoDB Local. Every revocation takes the vehicle's next revocation-list
// sequence (and its device's next notice counter) in a conditional
// transaction; a revocation that loses the race tries again with fresh
// counters. It used to try four times at once and then answer 409, so a
// handful of parallel revocations on one car (an OEM revoking several shared
// keys) could exhaust it. The race is forced, not hoped for: before each of
// the target's first five writes, another key of the same vehicle is revoked
// through the handler, so the target's write really fails its condition five
// times in a row. With jittered backoff until a bounded deadline it must
// still land, with the next sequence, and the signed list holds every key once.
import "../support/quiet-logs.js";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { handler as deviceEnrollment } from "../../functions/device-enrollment.js";
import { handler as keyTracking } from "../../functions/key-tracking.js";
import { handler as revocation } from "../../functions/revocation.js";
import { handler as revocationList } from "../../functions/revocation-list.js";
import { handler as vehicleEnrollment } from "../../functions/vehicle-enrollment.js";
import { DynamoDbStore } from "../../src/adapters/dynamodb/dynamodb-store.js";
import { fromHex, toHex } from "../../src/protocol/bytes.js";
import { parseCertificate } from "../../src/protocol/certificate-verifier.js";
import { verifyRevocationList } from "../../src/protocol/revocation-list.js";
import {
  deviceEnrollmentEvent,
  keyRegistrationEvent,
  ownerRegistrationEvent,
  vehicleEnrollmentEvent,
} from "../support/api-requests.js";
import { apiEvent, invoke, type LambdaHarness, startLambdaHarness } from "../support/lambda-harness.js";
import { attestFriendKey, TestDevice, type TestEndpoint, testVehicle } from "../support/test-device.js";

const LOST_RACES = 4;
let harness: LambdaHarness;

beforeAll(async () => {
  harness = await startLambdaHarness();
}, 120_000);

afterAll(async () => {
  await harness?.stop();
});

describe("a revocation that keeps losing the counter race", () => {
  it(`lands after ${LOST_RACES} lost races, with the next list sequence`, async () => {
    const device = new TestDevice(harness.manufacturer);
    const enrolled = await invoke(deviceEnrollment, deviceEnrollmentEvent(device));
    device.instanceCaCertificatePem = enrolled.json.instanceCaCertificate;
    const vehicle = testVehicle();
    const vehicleEnrolled = await invoke(vehicleEnrollment, vehicleEnrollmentEvent(vehicle));
    const owner = await device.newEndpoint(vehicle.id, "owner");
    const registration = ownerRegistrationEvent(
      device,
      owner,
      vehicle,
      vehicleEnrolled.json.pairing.pairingId,
    );
    expect((await invoke(keyTracking, registration)).status).toBe(201);
    const friends: TestEndpoint[] = [];
    for (let i = 0; i <= LOST_RACES; i++) {
      const friend = await device.newEndpoint(vehicle.id, "friend");
      const registered = await invoke(
        keyTracking,
        keyRegistrationEvent(device, friend, attestFriendKey(owner, friend, vehicle.id, undefined, i + 1)),
      );
      expect(registered.status, JSON.stringify(registered.json)).toBe(201);
      friends.push(friend);
    }
    const [target, ...others] = friends as [TestEndpoint, ...TestEndpoint[]];
    const revoke = (key: TestEndpoint) =>
      invoke(
        revocation,
        apiEvent("POST /v1/keys/{keyId}/revocation", { iam: true, params: { keyId: key.keyId } }),
      );

    // Each of the target's first writes is overtaken by a competitor's revocation on the same vehicle.
    const revokeKey = DynamoDbStore.prototype.revokeKey;
    let overtaken = 0;
    vi.spyOn(DynamoDbStore.prototype, "revokeKey").mockImplementation(async function (
      this: DynamoDbStore,
      write,
    ) {
      if (write.keyId === target.keyId && overtaken < others.length) {
        const competitor = await revoke(others[overtaken++]!);
        expect(competitor.status, JSON.stringify(competitor.json)).toBe(201);
      }
      return revokeKey.call(this, write);
    });
    try {
      const answer = await revoke(target);
      expect(answer.status, JSON.stringify(answer.json)).toBe(201);
    } finally {
      vi.restoreAllMocks();
    }
    expect(overtaken).toBe(LOST_RACES);

    const listed = await invoke(
      revocationList,
      apiEvent("GET /v1/vehicles/{vehicleId}/revocations", {
        iam: true,
        params: { vehicleId: vehicle.idHex },
        query: "after=0",
      }),
    );
    expect(listed.status).toBe(200);
    const list = verifyRevocationList(
      fromHex(listed.json.list),
      parseCertificate(vehicleEnrolled.json.trustAnchors.vehicleOemRoot).subjectPublicKey,
    );
    expect(list.entries.map((e) => toHex(e.keyId))).toEqual([...others, target].map((f) => f.keyId));
    expect(list.entries.map((e) => e.sequence)).toEqual(
      Array.from({ length: LOST_RACES + 1 }, (_, i) => i + 1),
    );
  });
});
