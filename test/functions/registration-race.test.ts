// Two registrations of one key, sent in parallel (a phone retrying on a slow
// network), through the key-tracking Lambda on DynamoDB Local. The twin that
// loses the race must answer as a repeat: 200 with the stored record and its
// receipt, never 409. The interleaving that loses is forced, not hoped for:
// the store is spied on so that the loser's existence check reads the table
// before the winner commits and the loser goes on only after the commit (what
// a slow network or a busy container does). Each request has its own nonce,
// as a client's retry has.
import "../support/quiet-logs.js";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { handler as deviceEnrollment } from "../../functions/device-enrollment.js";
import { handler as keyTracking } from "../../functions/key-tracking.js";
import { DynamoDbStore } from "../../src/adapters/dynamodb/dynamodb-store.js";
import {
  deviceEnrollmentEvent,
  keyRegistrationEvent,
  ownerRegistrationEvent,
} from "../support/api-requests.js";
import { invoke, type LambdaHarness, startLambdaHarness } from "../support/lambda-harness.js";
import { enrollNewVehicle } from "../support/lambda-parties.js";
import { attestFriendKey, TestDevice, type TestEndpoint } from "../support/test-device.js";

let harness: LambdaHarness;
let device: TestDevice;

beforeAll(async () => {
  harness = await startLambdaHarness();
  device = new TestDevice(harness.manufacturer);
  const enrolled = await invoke(deviceEnrollment, deviceEnrollmentEvent(device));
  device.instanceCaCertificatePem = enrolled.json.instanceCaCertificate;
});

afterEach(() => {
  vi.restoreAllMocks();
});

afterAll(async () => {
  await harness?.stop();
});

/**
 * Holds the second existence check of `keyId` (the loser's read of its records) on a result read before the first
 * registration write of `write` committed, and releases it once that write is done.
 */
function forceLosingTwin(keyId: string, write: "registerOwnerKey" | "registerFriendKey") {
  let checks = 0;
  let loserRead!: () => void;
  const loserHasRead = new Promise<void>((resolve) => {
    loserRead = resolve;
  });
  let winnerCommitted!: () => void;
  const committed = new Promise<void>((resolve) => {
    winnerCommitted = resolve;
  });
  // The existence check is part of the registration's one read of everything it needs.
  const readRecords = DynamoDbStore.prototype.readRecords;
  vi.spyOn(DynamoDbStore.prototype, "readRecords").mockImplementation(async function (
    this: DynamoDbStore,
    reads,
  ) {
    if (!reads.keys?.includes(keyId) || ++checks !== 2) return readRecords.call(this, reads);
    const stale = await readRecords.call(this, reads);
    loserRead();
    await committed;
    return stale;
  });
  const register = DynamoDbStore.prototype[write] as (...args: unknown[]) => Promise<void>;
  let writes = 0;
  vi.spyOn(DynamoDbStore.prototype, write).mockImplementation(async function (
    this: DynamoDbStore,
    ...args: unknown[]
  ) {
    if (++writes !== 1) return register.apply(this, args);
    await loserHasRead;
    try {
      return await register.apply(this, args);
    } finally {
      winnerCommitted();
    }
  } as never);
  return { stale: () => checks >= 2 };
}

async function enrolledVehicle() {
  const { vehicle, pairingId } = await enrollNewVehicle();
  return { ...vehicle, pairingId };
}

function expectOneCreatedOneRepeat(answers: Awaited<ReturnType<typeof invoke>>[], key: TestEndpoint) {
  const statuses = answers.map((a) => a.status).sort();
  expect(statuses, JSON.stringify(answers.map((a) => a.json))).toEqual([200, 201]);
  const [created, repeat] = [answers.find((a) => a.status === 201)!, answers.find((a) => a.status === 200)!];
  expect(repeat.json).toEqual(created.json);
  expect(repeat.json.keyId).toBe(key.keyId);
  expect(repeat.json.receipt).toMatch(/^[0-9a-f]+$/);
}

describe("parallel registrations of one key", () => {
  it("owner key: the twin that loses the race answers 200 with the stored record and receipt", async () => {
    const vehicle = await enrolledVehicle();
    const owner = await device.newEndpoint(vehicle.id, "owner");
    const race = forceLosingTwin(owner.keyId, "registerOwnerKey");
    const answers = await Promise.all([
      invoke(keyTracking, ownerRegistrationEvent(device, owner, vehicle, vehicle.pairingId)),
      invoke(keyTracking, ownerRegistrationEvent(device, owner, vehicle, vehicle.pairingId)),
    ]);
    expect(race.stale()).toBe(true);
    expectOneCreatedOneRepeat(answers, owner);
    // The loser's nonce is spent too: its request cannot be replayed.
    const again = ownerRegistrationEvent(device, owner, vehicle, vehicle.pairingId);
    expect((await invoke(keyTracking, structuredClone(again))).status).toBe(200);
    expect((await invoke(keyTracking, again)).status).toBe(401);
  });

  it("friend key: the twin that loses the race answers 200 with the stored record and receipt", async () => {
    const vehicle = await enrolledVehicle();
    const owner = await device.newEndpoint(vehicle.id, "owner");
    expect(
      (await invoke(keyTracking, ownerRegistrationEvent(device, owner, vehicle, vehicle.pairingId))).status,
    ).toBe(201);
    const friend = await device.newEndpoint(vehicle.id, "friend");
    const attestation = attestFriendKey(owner, friend, vehicle.id);
    const race = forceLosingTwin(friend.keyId, "registerFriendKey");
    const answers = await Promise.all([
      invoke(keyTracking, keyRegistrationEvent(device, friend, attestation)),
      invoke(keyTracking, keyRegistrationEvent(device, friend, attestation)),
    ]);
    expect(race.stale()).toBe(true);
    expectOneCreatedOneRepeat(answers, friend);
  });
});
