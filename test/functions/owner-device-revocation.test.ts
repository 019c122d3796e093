// The owner's second device (a watch, docs/protocol.md §28) at the service,
// through the Lambda handlers on DynamoDB Local: the watch key follows its
// owner key. The OEM revoking the owner key (as the car's reported
// delete-key does) revokes the watch key too, reason owner-key-revoked, with
// its own revocation-list entry and terminate-key notice; a new phone's
// pairing revokes the old owner's watch keys, reason migrated, and none of
// the new owner's; friend keys stay. A co-owner cannot mark a share as its
// own device, and lost mode stays per device.
import "../support/quiet-logs.js";
import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handler as keyTracking } from "../../functions/key-tracking.js";
import { handler as notices } from "../../functions/notices.js";
import { handler as revocation } from "../../functions/revocation.js";
import { handler as revocationList } from "../../functions/revocation-list.js";
import { handler as vehicleEnrollment } from "../../functions/vehicle-enrollment.js";
import type { AccessProfile } from "../../src/protocol/access-profile.js";
import { keyAttestationBody } from "../../src/protocol/key-attestation.js";
import { keyIdentifier, signRaw } from "../../src/protocol/p256.js";
import { encodeSignedStatement } from "../../src/protocol/signed-statement.js";
import {
  keyRegistrationEvent,
  ownerRegistrationEvent,
  signedEvent,
  vehicleEnrollmentEvent,
} from "../support/api-requests.js";
import { apiEvent, invoke, type LambdaHarness, startLambdaHarness } from "../support/lambda-harness.js";
import { enrollNewDevice } from "../support/lambda-parties.js";
import { attestFriendKey, type TestDevice, type TestEndpoint, testVehicle } from "../support/test-device.js";

let harness: LambdaHarness;

const deviceNotices = (device: TestDevice, after: number) =>
  signedEvent("GET /v1/devices/{seId}/notices", undefined, (o) => device.signAsInstance(o), {
    params: { seId: device.seId },
    query: `after=${after}`,
  });

beforeAll(async () => {
  harness = await startLambdaHarness();
}, 120_000);

afterAll(async () => {
  await harness?.stop();
});

const enroll = (): Promise<TestDevice> => enrollNewDevice(harness.manufacturer);

let serial = 100;

/** A key attestation, by `signer`, for `holder`; `ownerDevice` sets tag CB (the owner's own device). */
function attest(
  signer: TestEndpoint,
  holder: TestEndpoint,
  vehicleId: Uint8Array,
  profile: AccessProfile,
  ownerDevice = false,
): Uint8Array {
  const body = keyAttestationBody({
    vehicleIdentifier: vehicleId,
    endpointPublicKey: holder.keyPair.publicKey,
    profile,
    serial: ++serial,
    issuedAt: Date.now(),
    signerKeyId: keyIdentifier(signer.keyPair.publicKey),
    ...(ownerDevice ? { ownerDevice: true } : {}),
  });
  return encodeSignedStatement(body, signRaw(signer.keyPair.privateKey, body));
}

/** A vehicle with an owner key on a phone, that owner's watch key and one friend key. */
async function ownerWithWatch() {
  const vehicle = testVehicle();
  const enrolled = await invoke(vehicleEnrollment, vehicleEnrollmentEvent(vehicle));
  expect(enrolled.status).toBe(201);
  const phone = await enroll();
  const owner = await phone.newEndpoint(vehicle.id, "owner");
  const registered = await invoke(
    keyTracking,
    ownerRegistrationEvent(phone, owner, vehicle, enrolled.json.pairing.pairingId),
  );
  expect(registered.status, JSON.stringify(registered.json)).toBe(201);
  const watchDevice = await enroll();
  const watch = await registerWatch(watchDevice, owner, vehicle.id);
  const friendDevice = await enroll();
  const friend = await friendDevice.newEndpoint(vehicle.id, "friend");
  const shared = await invoke(
    keyTracking,
    keyRegistrationEvent(
      friendDevice,
      friend,
      attestFriendKey(owner, friend, vehicle.id, { kind: "full" }, 1),
    ),
  );
  expect(shared.status, JSON.stringify(shared.json)).toBe(201);
  return { vehicle, phone, owner, watchDevice, watch, friendDevice, friend };
}

async function registerWatch(watchDevice: TestDevice, owner: TestEndpoint, vehicleId: Uint8Array) {
  const watch = await watchDevice.newEndpoint(vehicleId, "friend");
  const answer = await invoke(
    keyTracking,
    keyRegistrationEvent(watchDevice, watch, attest(owner, watch, vehicleId, { kind: "full" }, true)),
  );
  expect(answer.status, JSON.stringify(answer.json)).toBe(201);
  return watch;
}

async function record(keyId: string) {
  const items = await harness.table.scan();
  return items.find((i) => i.pk === `KEY#${keyId}` && i.sk === "KEY") as
    | {
        state?: string;
        revocation?: { reason: string; revokedBy: string; listSequence?: number; noticeCounter: number };
      }
    | undefined;
}

async function revocationEntries(vehicleIdHex: string): Promise<string[]> {
  const list = await invoke(
    revocationList,
    apiEvent("GET /v1/vehicles/{vehicleId}/revocations", {
      iam: true,
      params: { vehicleId: vehicleIdHex },
      query: "after=0",
    }),
  );
  expect(list.status).toBe(200);
  return list.json.entries.map((e: { keyId: string }) => e.keyId);
}

describe("the watch key follows its owner key", () => {
  it("an OEM revocation of the owner key revokes the watch key too (owner-key-revoked), not the friend's", async () => {
    const w = await ownerWithWatch();
    const revoked = await invoke(
      revocation,
      apiEvent("POST /v1/keys/{keyId}/revocation", { iam: true, params: { keyId: w.owner.keyId } }),
    );
    expect(revoked.status, JSON.stringify(revoked.json)).toBe(201);
    expect(await record(w.watch.keyId)).toMatchObject({
      state: "revoked",
      revocation: { reason: "owner-key-revoked", revokedBy: "owner-key-revoked" },
    });
    expect((await record(w.friend.keyId))?.state).toBe("active");
    // Each its own entry in the car's list, and the watch's SE is told to delete its key.
    expect(await revocationEntries(w.vehicle.idHex)).toEqual([w.owner.keyId, w.watch.keyId]);
    const watchNotices = await invoke(notices, deviceNotices(w.watchDevice, 0));
    expect(watchNotices.json.notices).toMatchObject([{ action: "terminate-key", keyId: w.watch.keyId }]);
    const view = await invoke(
      revocation,
      apiEvent("POST /v1/keys/{keyId}/revocation", { iam: true, params: { keyId: w.watch.keyId } }),
    );
    expect(view.status).toBe(200);
    expect(view.json).toMatchObject({ state: "revoked", reason: "owner-key-revoked" });
    // A repeat of the owner key's revocation changes nothing.
    const again = await invoke(
      revocation,
      apiEvent("POST /v1/keys/{keyId}/revocation", { iam: true, params: { keyId: w.owner.keyId } }),
    );
    expect(again.status).toBe(200);
    expect(await revocationEntries(w.vehicle.idHex)).toEqual([w.owner.keyId, w.watch.keyId]);
  });

  it("a new phone's pairing revokes the old owner's watch (migrated), keeps friends, and spares the new owner's watch", async () => {
    const w = await ownerWithWatch();
    const pairing = await invoke(
      vehicleEnrollment,
      apiEvent("POST /v1/vehicles/{vehicleId}/pairing", {
        iam: true,
        params: { vehicleId: w.vehicle.idHex },
      }),
    );
    expect(pairing.status).toBe(201);
    const newPhone = await enroll();
    const newOwner = await newPhone.newEndpoint(w.vehicle.id, "owner");
    const migrated = await invoke(
      keyTracking,
      ownerRegistrationEvent(newPhone, newOwner, w.vehicle, pairing.json.pairing.pairingId),
    );
    expect(migrated.status, JSON.stringify(migrated.json)).toBe(201);
    expect(await record(w.owner.keyId)).toMatchObject({
      state: "revoked",
      revocation: { reason: "migrated" },
    });
    expect(await record(w.watch.keyId)).toMatchObject({
      state: "revoked",
      revocation: { reason: "migrated", revokedBy: "owner-migration" },
    });
    expect((await record(w.friend.keyId))?.state).toBe("active");
    expect(await revocationEntries(w.vehicle.idHex)).toEqual([w.watch.keyId]);
    const watchNotices = await invoke(notices, deviceNotices(w.watchDevice, 0));
    expect(watchNotices.json.notices).toMatchObject([{ action: "terminate-key", keyId: w.watch.keyId }]);

    // The new owner's own watch is its own: revoking the old owner key again leaves it alone.
    const newWatch = await registerWatch(await enroll(), newOwner, w.vehicle.id);
    const old = await invoke(
      revocation,
      apiEvent("POST /v1/keys/{keyId}/revocation", { iam: true, params: { keyId: w.owner.keyId } }),
    );
    expect(old.status).toBe(200);
    expect((await record(newWatch.keyId))?.state).toBe("active");
    // Revoking the new owner key takes the new watch along.
    const revoked = await invoke(
      revocation,
      apiEvent("POST /v1/keys/{keyId}/revocation", { iam: true, params: { keyId: newOwner.keyId } }),
    );
    expect(revoked.status).toBe(201);
    expect(await record(newWatch.keyId)).toMatchObject({
      state: "revoked",
      revocation: { reason: "owner-key-revoked" },
    });
  });

  it("the watch key records its owner key only as a keyed link, and the cascade follows the link, not registration times", async () => {
    const w = await ownerWithWatch();
    const items = await harness.table.scan();
    const watchItem = items.find((i) => i.pk === `KEY#${w.watch.keyId}` && i.sk === "KEY")!;
    expect(watchItem.ownerLink).toMatch(/^[0-9a-f]{64}$/);
    // The table never names the owner key on another key's item (README "What the service stores").
    expect(JSON.stringify(watchItem)).not.toContain(w.owner.keyId);
    const friendItem = items.find((i) => i.pk === `KEY#${w.friend.keyId}` && i.sk === "KEY")!;
    expect(friendItem.ownerLink).toBeUndefined();
    // A linked watch dated before its owner key (as a clock step could make it) is still the owner's.
    const earlier = "2000-01-01T00:00:00.000Z";
    await harness.table.documentClient.send(
      new UpdateCommand({
        TableName: harness.table.tableName,
        Key: { pk: `KEY#${w.watch.keyId}`, sk: "KEY" },
        UpdateExpression: "SET registeredAt = :at",
        ExpressionAttributeValues: { ":at": earlier },
      }),
    );
    // A watch registered before links were kept carries none: matched by registration time.
    const legacyWatch = await registerWatch(await enroll(), w.owner, w.vehicle.id);
    await harness.table.documentClient.send(
      new UpdateCommand({
        TableName: harness.table.tableName,
        Key: { pk: `KEY#${legacyWatch.keyId}`, sk: "KEY" },
        UpdateExpression: "REMOVE ownerLink",
      }),
    );
    const revoked = await invoke(
      revocation,
      apiEvent("POST /v1/keys/{keyId}/revocation", { iam: true, params: { keyId: w.owner.keyId } }),
    );
    expect(revoked.status, JSON.stringify(revoked.json)).toBe(201);
    for (const keyId of [w.watch.keyId, legacyWatch.keyId]) {
      expect(await record(keyId)).toMatchObject({
        state: "revoked",
        revocation: { reason: "owner-key-revoked" },
      });
    }
    expect((await record(w.friend.keyId))?.state).toBe("active");
  });

  it("an owner key with no watch revokes alone, reading nothing more", async () => {
    const vehicle = testVehicle();
    const enrolled = await invoke(vehicleEnrollment, vehicleEnrollmentEvent(vehicle));
    const phone = await enroll();
    const owner = await phone.newEndpoint(vehicle.id, "owner");
    await invoke(keyTracking, ownerRegistrationEvent(phone, owner, vehicle, enrolled.json.pairing.pairingId));
    expect(
      (await harness.table.scan()).find((i) => i.pk === `KEY#${owner.keyId}`)?.ownerDevices,
    ).toBeUndefined();
    const revoked = await invoke(
      revocation,
      apiEvent("POST /v1/keys/{keyId}/revocation", { iam: true, params: { keyId: owner.keyId } }),
    );
    expect(revoked.status).toBe(201);
    expect(await revocationEntries(vehicle.idHex)).toEqual([owner.keyId]);
  });

  it("the owner revokes the watch key itself like a friend key; no slot is freed", async () => {
    const w = await ownerWithWatch();
    const items = await harness.table.scan();
    const slots = () =>
      items.find((i) => i.pk === `VEHICLE#${w.vehicle.idHex}` && i.sk === "VEHICLE")?.friendKeys;
    expect(slots()).toBe(1);
    expect(items.find((i) => i.pk === `KEY#${w.owner.keyId}`)?.ownerDevices).toBe(1);
    const revoked = await invoke(
      revocation,
      apiEvent("POST /v1/keys/{keyId}/revocation", { iam: true, params: { keyId: w.watch.keyId } }),
    );
    expect(revoked.status).toBe(201);
    const after = await harness.table.scan();
    expect(after.find((i) => i.pk === `VEHICLE#${w.vehicle.idHex}` && i.sk === "VEHICLE")?.friendKeys).toBe(
      1,
    );
    expect(after.find((i) => i.pk === `KEY#${w.owner.keyId}`)?.state).toBe("active");
  });
});

describe("who may attest an owner's own device", () => {
  it("refuses tag CB signed by a co-owner (it would take a key out of the friend slots): 403, nothing written", async () => {
    const w = await ownerWithWatch();
    const coOwnerDevice = await enroll();
    const coOwner = await coOwnerDevice.newEndpoint(w.vehicle.id, "friend");
    const shared = await invoke(
      keyTracking,
      keyRegistrationEvent(
        coOwnerDevice,
        coOwner,
        attest(w.owner, coOwner, w.vehicle.id, { kind: "full", role: "co-owner" }),
      ),
    );
    expect(shared.status, JSON.stringify(shared.json)).toBe(201);
    const gadget = await enroll();
    const key = await gadget.newEndpoint(w.vehicle.id, "friend");
    const before = await harness.table.scan();
    const answer = await invoke(
      keyTracking,
      keyRegistrationEvent(gadget, key, attest(coOwner, key, w.vehicle.id, { kind: "full" }, true)),
    );
    expect(answer.status).toBe(403);
    expect(answer.json.detail).toMatch(/marks an owner's own device but is signed by co-owner key/);
    expect(await harness.table.scan()).toEqual(before);
  });
});

describe("lost mode is per device", () => {
  it("suspending the watch notifies its vehicle for the watch only; the owner's phone still attests", async () => {
    const w = await ownerWithWatch();
    const suspended = await invoke(
      notices,
      apiEvent("POST /v1/devices/{seId}/lost-mode", {
        iam: true,
        params: { seId: w.watchDevice.seId },
        body: { action: "suspend" },
      }),
    );
    expect(suspended.status, JSON.stringify(suspended.json)).toBe(201);
    expect(suspended.json).toMatchObject({ lostMode: "suspended", vehicleIds: [w.vehicle.idHex] });
    const car = await invoke(
      notices,
      apiEvent("GET /v1/vehicles/{vehicleId}/notices", { iam: true, params: { vehicleId: w.vehicle.idHex } }),
    );
    expect(car.json.notices).toMatchObject([{ seId: w.watchDevice.seId, action: "suspend" }]);
    expect((await record(w.owner.keyId))?.state).toBe("active");
    expect((await record(w.watch.keyId))?.state).toBe("active");
    const friendDevice = await enroll();
    const friend = await friendDevice.newEndpoint(w.vehicle.id, "friend");
    const shared = await invoke(
      keyTracking,
      keyRegistrationEvent(
        friendDevice,
        friend,
        attestFriendKey(w.owner, friend, w.vehicle.id, { kind: "full" }, 2),
      ),
    );
    expect(shared.status, JSON.stringify(shared.json)).toBe(201);
    // The watch's own new registrations are refused while it is suspended.
    const second = await w.watchDevice.newEndpoint(w.vehicle.id, "friend");
    const refused = await invoke(
      keyTracking,
      keyRegistrationEvent(
        w.watchDevice,
        second,
        attest(w.owner, second, w.vehicle.id, { kind: "full" }, true),
      ),
    );
    expect(refused.status).toBe(403);
    expect(refused.json.detail).toMatch(/is in lost mode \(suspended\): its keys register nothing/);
  });
});
