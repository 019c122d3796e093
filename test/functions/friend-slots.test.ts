// Friend-key slots and expiry through the Lambda handlers on DynamoDB Local:
// a vehicle holds at most 5 friend keys, counted on the vehicle item by the
// registration's own conditional write, so two registrations racing for the
// last slot cannot both take it; the sixth is refused with a typed problem;
// a revocation frees a slot in its transaction; a key past its end frees its
// slot (swept when the vehicle is full, or when its SE's termination
// arrives) and is recorded as `expired`.
import "../support/quiet-logs.js";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { handler as keyTracking } from "../../functions/key-tracking.js";
import { handler as revocation } from "../../functions/revocation.js";
import { DynamoDbStore } from "../../src/adapters/dynamodb/dynamodb-store.js";
import type { AccessProfile } from "../../src/protocol/access-profile.js";
import { toHex } from "../../src/protocol/bytes.js";
import { keyAttestationBody } from "../../src/protocol/key-attestation.js";
import { keyIdentifier, signRaw } from "../../src/protocol/p256.js";
import { encodeSignedStatement } from "../../src/protocol/signed-statement.js";
import { DEFAULT_FRIEND_KEY_SLOTS } from "../../src/service/key-tracking.js";
import { keyRegistrationEvent, signedEvent } from "../support/api-requests.js";
import { apiEvent, invoke, type LambdaHarness, startLambdaHarness } from "../support/lambda-harness.js";
import { enrollNewDevice, vehicleOwnedBy } from "../support/lambda-parties.js";
import { term } from "../support/lifecycle-statements.js";
import { attestFriendKey, type TestDevice, type TestEndpoint } from "../support/test-device.js";

let harness: LambdaHarness;
let device: TestDevice;

beforeAll(async () => {
  harness = await startLambdaHarness();
  device = await enrollNewDevice(harness.manufacturer);
}, 120_000);

afterEach(() => {
  vi.restoreAllMocks();
});

afterAll(async () => {
  await harness?.stop();
});

/** An enrolled vehicle with its owner key registered; `share` registers one more friend key. */
async function vehicleWithOwner() {
  const { vehicle, owner } = await vehicleOwnedBy(device);
  let serial = 0;
  const friendRequest = async (profile: AccessProfile = { kind: "unlock-only" }) => {
    const friend = await device.newEndpoint(vehicle.id, "friend");
    const event = keyRegistrationEvent(
      device,
      friend,
      attestFriendKey(owner, friend, vehicle.id, profile, ++serial),
    );
    return { friend, event };
  };
  const share = async (profile?: AccessProfile) => {
    const { friend, event } = await friendRequest(profile);
    const answer = await invoke(keyTracking, event);
    expect(answer.status, JSON.stringify(answer.json)).toBe(201);
    return friend;
  };
  const vehicleId = toHex(vehicle.id);
  const friendCount = async () => {
    const items = await harness.table.scan();
    return items.find((i) => i.pk === `VEHICLE#${vehicleId}` && i.sk === "VEHICLE")?.friendKeys;
  };
  const keyState = async (keyId: string) =>
    (await invoke(keyTracking, apiEvent("GET /v1/keys/{keyId}", { iam: true, params: { keyId } }))).json
      .state;
  return { vehicle, vehicleId, owner, friendRequest, share, friendCount, keyState };
}

const terminationEvent = (keyId: string, attestation: Uint8Array) =>
  signedEvent(
    "POST /v1/keys/{keyId}/termination",
    { attestation: toHex(attestation) },
    (o) => device.signAsInstance(o),
    { params: { keyId } },
  );

/** Holds every friend registration's write until `count` of them have arrived, so they race for real. */
function barrierOnFriendWrites(count: number) {
  const register = DynamoDbStore.prototype.registerFriendKey;
  let arrived = 0;
  let release!: () => void;
  const all = new Promise<void>((resolve) => {
    release = resolve;
  });
  vi.spyOn(DynamoDbStore.prototype, "registerFriendKey").mockImplementation(async function (
    this: DynamoDbStore,
    ...args: Parameters<DynamoDbStore["registerFriendKey"]>
  ) {
    if (++arrived === count) release();
    await all;
    return register.apply(this, args);
  });
}

async function sleepPast(unixSeconds: number) {
  const wait = unixSeconds * 1000 - Date.now() + 50;
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}

describe("friend-key slots", () => {
  it("two registrations racing for the last slot: exactly one gets it; the sixth is refused", async () => {
    const w = await vehicleWithOwner();
    for (let i = 0; i < DEFAULT_FRIEND_KEY_SLOTS - 1; i++) await w.share();
    expect(await w.friendCount()).toBe(DEFAULT_FRIEND_KEY_SLOTS - 1);

    const [a, b] = [await w.friendRequest(), await w.friendRequest()];
    barrierOnFriendWrites(2);
    const answers = await Promise.all([invoke(keyTracking, a.event), invoke(keyTracking, b.event)]);
    vi.restoreAllMocks();
    expect(answers.map((x) => x.status).sort(), JSON.stringify(answers.map((x) => x.json))).toEqual([
      201, 409,
    ]);
    expect(await w.friendCount()).toBe(DEFAULT_FRIEND_KEY_SLOTS);

    const sixth = await w.friendRequest();
    const refused = await invoke(keyTracking, sixth.event);
    expect(refused.status).toBe(409);
    expect(refused.headers["content-type"]).toBe("application/problem+json");
    expect(refused.json).toMatchObject({
      type: "urn:carkeys:problem:friend-slots-full",
      title: "Friend key slots full",
      detail: `vehicle ${w.vehicleId} holds 5 of 5 friend keys; revoke or delete one first`,
    });
    const listed = await invoke(
      keyTracking,
      apiEvent("GET /v1/vehicles/{vehicleId}/keys", { iam: true, params: { vehicleId: w.vehicleId } }),
    );
    expect(listed.json.keys.filter((k: { role: string }) => k.role === "friend")).toHaveLength(5);
  }, 120_000);

  it("a revocation frees its slot in the same transaction", async () => {
    const w = await vehicleWithOwner();
    const friends: TestEndpoint[] = [];
    for (let i = 0; i < DEFAULT_FRIEND_KEY_SLOTS; i++) friends.push(await w.share());
    const next = await w.friendRequest();
    expect((await invoke(keyTracking, next.event)).status).toBe(409);
    const revoked = await invoke(
      revocation,
      apiEvent("POST /v1/keys/{keyId}/revocation", { iam: true, params: { keyId: friends[0]!.keyId } }),
    );
    expect(revoked.status).toBe(201);
    expect(await w.friendCount()).toBe(DEFAULT_FRIEND_KEY_SLOTS - 1);
    const retried = await w.friendRequest();
    expect((await invoke(keyTracking, retried.event)).status).toBe(201);
    expect(await w.friendCount()).toBe(DEFAULT_FRIEND_KEY_SLOTS);
  }, 120_000);
});

describe("the owner's second device", () => {
  it("registers outside the friend slots: a full vehicle takes it, the count stays", async () => {
    const w = await vehicleWithOwner();
    for (let i = 0; i < DEFAULT_FRIEND_KEY_SLOTS; i++) await w.share();
    const watch = await device.newEndpoint(w.vehicle.id, "friend");
    const body = keyAttestationBody({
      vehicleIdentifier: w.vehicle.id,
      endpointPublicKey: watch.keyPair.publicKey,
      profile: { kind: "full" },
      serial: 99,
      issuedAt: Date.now(),
      signerKeyId: keyIdentifier(w.owner.keyPair.publicKey),
      ownerDevice: true,
    });
    const attestation = encodeSignedStatement(body, signRaw(w.owner.keyPair.privateKey, body));
    const answer = await invoke(keyTracking, keyRegistrationEvent(device, watch, attestation));
    expect(answer.status, JSON.stringify(answer.json)).toBe(201);
    expect(await w.friendCount()).toBe(DEFAULT_FRIEND_KEY_SLOTS);
    const revoked = await invoke(
      revocation,
      apiEvent("POST /v1/keys/{keyId}/revocation", { iam: true, params: { keyId: watch.keyId } }),
    );
    expect(revoked.status).toBe(201);
    expect(await w.friendCount()).toBe(DEFAULT_FRIEND_KEY_SLOTS);
  }, 120_000);
});

describe("expiry in the service", () => {
  it("a full vehicle sweeps keys past their end: they become expired and free their slots", async () => {
    const w = await vehicleWithOwner();
    const end = Math.floor(Date.now() / 1000) + 2;
    const ending = await w.share({ kind: "full", validUntil: end });
    for (let i = 1; i < DEFAULT_FRIEND_KEY_SLOTS; i++) await w.share();
    expect(await w.keyState(ending.keyId)).toBe("active");
    await sleepPast(end);
    const next = await w.friendRequest();
    const answer = await invoke(keyTracking, next.event);
    expect(answer.status, JSON.stringify(answer.json)).toBe(201);
    expect(await w.keyState(ending.keyId)).toBe("expired");
    expect(await w.friendCount()).toBe(DEFAULT_FRIEND_KEY_SLOTS);
    // The SE's termination arrives later: recorded on the expired key, no slot freed twice.
    const confirmed = await invoke(revocation, terminationEvent(ending.keyId, term(ending, w.vehicle.id)));
    expect(confirmed.status, JSON.stringify(confirmed.json)).toBe(201);
    expect(confirmed.json).toMatchObject({ keyId: ending.keyId, state: "expired" });
    expect(confirmed.json.confirmedAt).toBeDefined();
    expect(await w.friendCount()).toBe(DEFAULT_FRIEND_KEY_SLOTS);
    const again = await invoke(revocation, terminationEvent(ending.keyId, term(ending, w.vehicle.id)));
    expect(again.status).toBe(200);
  }, 120_000);

  it("the SE's termination of a key past its end makes it expired; before its end it stays refused", async () => {
    const w = await vehicleWithOwner();
    const end = Math.floor(Date.now() / 1000) + 2;
    const ending = await w.share({ kind: "full", validUntil: end });
    const early = await invoke(revocation, terminationEvent(ending.keyId, term(ending, w.vehicle.id)));
    expect(early.status).toBe(409);
    expect(early.json.detail).toMatch(/is not revoked and had not expired/);
    await sleepPast(end);
    const confirmed = await invoke(revocation, terminationEvent(ending.keyId, term(ending, w.vehicle.id)));
    expect(confirmed.status, JSON.stringify(confirmed.json)).toBe(201);
    expect(confirmed.json).toMatchObject({ keyId: ending.keyId, state: "expired" });
    expect(await w.keyState(ending.keyId)).toBe("expired");
    expect(await w.friendCount()).toBe(0);
    const revoke = await invoke(
      revocation,
      apiEvent("POST /v1/keys/{keyId}/revocation", { iam: true, params: { keyId: ending.keyId } }),
    );
    expect(revoke.status).toBe(409);
  }, 120_000);
});
