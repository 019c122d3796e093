// The key lifecycle in the domain, on the in-process store: remote revocation by the
// owner (RVKE) and by the OEM, the forward-only key state machine, the
// termination attestation that confirms a revocation, the vehicle's signed
// revocation list, device notices with their cursor, lost mode, and the
// new-phone migration. Each refusal of these flows has a case here.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "../../src/protocol/bytes.js";
import { verifyNotice } from "../../src/protocol/lifecycle-notice.js";
import { verifyRevocationList } from "../../src/protocol/revocation-list.js";
import { createCarKeysService } from "../../src/service/car-keys-service.js";
import { ConflictError, ForbiddenError, NotFoundError } from "../../src/service/errors.js";
import type { ServiceEvent } from "../../src/service/ports.js";
import { rvke, term } from "../support/lifecycle-statements.js";
import {
  attestFriendKey,
  type TestDevice,
  type TestEndpoint,
  type testVehicle,
} from "../support/test-device.js";
import { testMacKey } from "../support/test-mac-key.js";
import {
  deviceRequest,
  enrollDevice,
  enrollVehicle,
  registerKey,
  TEST_SCRYPT_COST,
  type TestService,
  testService,
} from "../support/test-service.js";

interface World {
  t: TestService & { events: ServiceEvent[] };
  ownerDevice: TestDevice;
  friendDevice: TestDevice;
  vehicle: ReturnType<typeof testVehicle>;
  owner: TestEndpoint;
  friend: TestEndpoint;
}

async function world(): Promise<World> {
  const t = testService();
  const events: ServiceEvent[] = [];
  // The same service as testService's, on the same store, with a notifier that records events.
  const service = createCarKeysService({
    store: t.store,
    clock: t.clock,
    signer: { root: (profile) => t.signers[profile] },
    devicePseudonymKey: testMacKey(),
    manufacturerPublicKey: t.manufacturer.keyPair.publicKey,
    deviceOem: { organization: "Test Device OEM" },
    vehicleOem: { organization: "Test Vehicle OEM", country: "DE" },
    scryptCost: TEST_SCRYPT_COST,
    notifier: { publish: async (e) => void events.push(e) },
  });
  const tt = { ...t, service, events };
  const ownerDevice = await enrollDevice(tt);
  const friendDevice = await enrollDevice(tt);
  const vehicle = await enrollVehicle(tt);
  const owner = await ownerDevice.newEndpoint(vehicle.id, "owner");
  await registerKey(tt, ownerDevice, owner);
  const friend = await friendDevice.newEndpoint(vehicle.id, "friend");
  await registerKey(tt, friendDevice, friend, attestFriendKey(owner, friend, vehicle.id));
  return { t: tt, ownerDevice, friendDevice, vehicle, owner, friend };
}

function ownerRevocation(w: World, signer: TestEndpoint = w.owner, statement?: Uint8Array) {
  return deviceRequest(
    "POST",
    "/v1/revocations",
    { revocation: toHex(statement ?? rvke(signer, w.friend, w.vehicle.id)) },
    (o) => signer.sign(o),
  );
}

function termination(w: World, keyId: string, attestation: Uint8Array, device: TestDevice = w.friendDevice) {
  return deviceRequest("POST", `/v1/keys/${keyId}/termination`, { attestation: toHex(attestation) }, (o) =>
    device.signAsInstance(o),
  );
}

function noticesRequest(device: TestDevice, after: number) {
  const path = `/v1/devices/${device.seId}/notices?after=${after}`;
  return {
    method: "GET",
    path,
    body: new Uint8Array(),
    headers: device.signAsInstance({ method: "GET", path, body: new Uint8Array() }),
  };
}

describe("remote revocation by the owner", () => {
  it("records the revocation, a terminate-key notice for the friend's SE and a revocation-list entry", async () => {
    const w = await world();
    const { body, request } = ownerRevocation(w);
    const outcome = await w.t.service.revocations.revokeByOwner(body, request);
    expect(outcome.created).toBe(true);
    expect(outcome.response).toMatchObject({
      keyId: w.friend.keyId,
      state: "revoked",
      reason: "owner",
      revokedBy: "vehicle-owner",
      listSequence: 1,
      noticeCounter: 1,
    });
    expect(w.t.store.keys.get(w.friend.keyId)?.state).toBe("revoked");

    const notices = await w.t.service.notices.forDevice(
      w.friendDevice.seId,
      0,
      noticesRequest(w.friendDevice, 0),
    );
    expect(notices.latestCounter).toBe(1);
    expect(notices.notices).toHaveLength(1);
    const root = await w.t.service.roots.get("device-oem-root");
    const notice = verifyNotice(fromHex(notices.notices[0]!.notice), root.publicKey);
    expect(notice).toMatchObject({ action: "terminate-key", counter: 1 });
    expect(toHex(notice.keyIdentifier!)).toBe(w.friend.keyId);
    expect(toHex(notice.deviceId)).toBe(w.friendDevice.seId);
    expect(w.t.events.map((e) => e.type)).toEqual(["key.revoked", "device.notice-issued"]);
  });

  it("is idempotent: a repeat answers the same revocation (no new notice, no new entry, no Sign)", async () => {
    const w = await world();
    const first = await w.t.service.revocations.revokeByOwner(...spread(ownerRevocation(w)));
    const signs = w.t.signers["device-oem-root"].calls;
    const again = await w.t.service.revocations.revokeByOwner(...spread(ownerRevocation(w)));
    expect(again.created).toBe(false);
    expect(again.response).toEqual(first.response);
    expect(w.t.signers["device-oem-root"].calls).toBe(signs);
    expect(w.t.store.deviceNotices.get(w.friendDevice.seId)).toHaveLength(1);
    expect(w.t.store.revocationEntries.get(w.vehicle.idHex)).toHaveLength(1);
  });

  it("refuses a revocation by someone who is not the owner (403), and one signed by another key (403)", async () => {
    const w = await world();
    // The friend signs a revocation of itself with its own key: it is registered, but not the owner.
    const bySelf = ownerRevocation(w, w.friend, rvke(w.friend, w.friend, w.vehicle.id));
    await expect(w.t.service.revocations.revokeByOwner(...spread(bySelf))).rejects.toThrow(ForbiddenError);
    // The owner signs the request, but the statement is signed by another key.
    const stranger = await w.friendDevice.newEndpoint(w.vehicle.id, "owner");
    const forged = ownerRevocation(w, w.owner, rvke(stranger, w.friend, w.vehicle.id));
    await expect(w.t.service.revocations.revokeByOwner(...spread(forged))).rejects.toThrow(
      "not signed by the vehicle's owner key",
    );
    // A serial the friend key was not registered with.
    const wrongSerial = ownerRevocation(w, w.owner, rvke(w.owner, w.friend, w.vehicle.id, 9));
    await expect(w.t.service.revocations.revokeByOwner(...spread(wrongSerial))).rejects.toThrow(
      ForbiddenError,
    );
    expect(w.t.store.keys.get(w.friend.keyId)?.state).toBe("active");
  });
});

describe("the key state machine", () => {
  it("goes active → revoked → terminated on the attestation of the SE holding the key, and never back", async () => {
    const w = await world();
    // Termination before revocation: nothing to confirm.
    await expect(
      w.t.service.revocations.confirmTermination(
        w.friend.keyId,
        ...spread(termination(w, w.friend.keyId, term(w.friend, w.vehicle.id))),
      ),
    ).rejects.toThrow(ConflictError);
    await w.t.service.revocations.revokeByOem(w.friend.keyId, "arn:oem");
    const done = await w.t.service.revocations.confirmTermination(
      w.friend.keyId,
      ...spread(termination(w, w.friend.keyId, term(w.friend, w.vehicle.id))),
    );
    expect(done.created).toBe(true);
    expect(done.response).toMatchObject({ state: "terminated", reason: "oem", revokedBy: "arn:oem" });
    const repeat = await w.t.service.revocations.confirmTermination(
      w.friend.keyId,
      ...spread(termination(w, w.friend.keyId, term(w.friend, w.vehicle.id))),
    );
    expect(repeat.created).toBe(false);
    // A later revocation answers the record as it is: terminated stays terminated.
    const late = await w.t.service.revocations.revokeByOem(w.friend.keyId, "arn:someone-else");
    expect(late).toMatchObject({ created: false, response: { state: "terminated", revokedBy: "arn:oem" } });
    // And the store itself refuses to move a terminated key back.
    await expect(
      w.t.store.revokeKey({
        keyId: w.friend.keyId,
        revocation: { reason: "oem", revokedAt: new Date().toISOString(), revokedBy: "x", noticeCounter: 2 },
        notice: {
          notice: {
            seId: w.friendDevice.seId,
            counter: 2,
            action: "terminate-key",
            keyId: w.friend.keyId,
            notice: "00",
            issuedAt: new Date().toISOString(),
          },
        },
      }),
    ).rejects.toThrow(ConflictError);
    expect(w.t.store.keys.get(w.friend.keyId)?.state).toBe("terminated");
  });

  it("refuses a termination attestation for another key (403) and one posted by another SE (403)", async () => {
    const w = await world();
    await w.t.service.revocations.revokeByOem(w.friend.keyId, "arn:oem");
    // The friend's SE posts the owner's attestation for the friend's key id.
    await expect(
      w.t.service.revocations.confirmTermination(
        w.friend.keyId,
        ...spread(termination(w, w.friend.keyId, term(w.owner, w.vehicle.id))),
      ),
    ).rejects.toThrow(ForbiddenError);
    // The owner's SE posts for the friend's key.
    await expect(
      w.t.service.revocations.confirmTermination(
        w.friend.keyId,
        ...spread(termination(w, w.friend.keyId, term(w.friend, w.vehicle.id), w.ownerDevice)),
      ),
    ).rejects.toThrow("another secure element");
    expect(w.t.store.keys.get(w.friend.keyId)?.state).toBe("revoked");
  });
});

describe("the vehicle's revocation list", () => {
  it("is signed by the Vehicle OEM root, numbered from the cursor; an empty answer spends no Sign", async () => {
    const w = await world();
    const empty = await w.t.service.revocations.revocationList(w.vehicle.idHex, 0);
    expect(empty).toEqual({ vehicleId: w.vehicle.idHex, after: 0, latestSequence: 0, entries: [] });
    await w.t.service.revocations.revokeByOwner(...spread(ownerRevocation(w)));
    const answer = await w.t.service.revocations.revocationList(w.vehicle.idHex, 0);
    const root = await w.t.service.roots.get("vehicle-oem-root");
    const list = verifyRevocationList(fromHex(answer.list!), root.publicKey);
    expect(list).toMatchObject({ after: 0, latestSequence: 1 });
    expect(list.entries.map((e) => [e.sequence, toHex(e.keyId), e.attestationSerial])).toEqual([
      [1, w.friend.keyId, 1],
    ]);
    expect((await w.t.service.revocations.revocationList(w.vehicle.idHex, 1)).entries).toEqual([]);
  });

  it("refuses a stale cursor beyond the latest sequence (409) and an unknown vehicle (404)", async () => {
    const w = await world();
    await expect(w.t.service.revocations.revocationList(w.vehicle.idHex, 5)).rejects.toThrow(
      "stale revocation cursor",
    );
    await expect(w.t.service.revocations.revocationList("00".repeat(8), 0)).rejects.toThrow(NotFoundError);
  });
});

describe("notices and lost mode", () => {
  it("suspends and resumes: a device notice and a notice per vehicle holding its keys; repeats issue nothing", async () => {
    const w = await world();
    const suspended = await w.t.service.notices.setLostMode(w.friendDevice.seId, "suspend", "arn:oem");
    expect(suspended).toMatchObject({
      created: true,
      response: { lostMode: "suspended", counter: 1, vehicleIds: [w.vehicle.idHex] },
    });
    const repeat = await w.t.service.notices.setLostMode(w.friendDevice.seId, "suspend", "arn:oem");
    expect(repeat).toMatchObject({ created: false, response: { counter: 1 } });
    await w.t.service.notices.setLostMode(w.friendDevice.seId, "resume", "arn:oem");
    const car = await w.t.service.notices.forVehicle(w.vehicle.idHex, 0);
    expect(car.notices.map((n) => [n.sequence, n.counter, n.action, n.seId])).toEqual([
      [1, 1, "suspend", w.friendDevice.seId],
      [2, 2, "resume", w.friendDevice.seId],
    ]);
    const root = await w.t.service.roots.get("device-oem-root");
    const notice = verifyNotice(fromHex(car.notices[0]!.notice), root.publicKey);
    expect(toHex(notice.vehicleIdentifier!)).toBe(w.vehicle.idHex);
    const device = await w.t.service.notices.forDevice(
      w.friendDevice.seId,
      1,
      noticesRequest(w.friendDevice, 1),
    );
    expect(device.notices.map((n) => n.action)).toEqual(["resume"]);
    expect(w.t.events.map((e) => e.type)).toEqual([
      "device.suspended",
      "device.notice-issued",
      "vehicle.notice-issued",
      "device.resumed",
      "device.notice-issued",
      "vehicle.notice-issued",
    ]);
  });

  it("refuses a stale notice cursor (409), another device's notices (403) and an unknown device (404)", async () => {
    const w = await world();
    await expect(
      w.t.service.notices.forDevice(w.friendDevice.seId, 3, noticesRequest(w.friendDevice, 3)),
    ).rejects.toThrow("stale notice cursor");
    await expect(
      w.t.service.notices.forDevice(w.friendDevice.seId, 0, noticesRequest(w.ownerDevice, 0)),
    ).rejects.toThrow(ForbiddenError);
    await expect(w.t.service.notices.forVehicle(w.vehicle.idHex, 1)).rejects.toThrow(ConflictError);
    await expect(w.t.service.notices.setLostMode(toHex(randomBytes(16)), "suspend", "arn")).rejects.toThrow(
      NotFoundError,
    );
  });
});

describe("new-phone migration", () => {
  it("replaces the owner with new pairing material: the old key is revoked (migrated) and told to terminate", async () => {
    const w = await world();
    await w.t.service.vehicles.newPairing(w.vehicle.idHex, undefined);
    const newPhone = await enrollDevice(w.t);
    const newOwner = await newPhone.newEndpoint(w.vehicle.id, "owner");
    const registered = await registerKey(w.t, newPhone, newOwner);
    expect(registered.created).toBe(true);
    expect(w.t.store.vehicles.get(w.vehicle.idHex)?.owner?.keyId).toBe(newOwner.keyId);
    const old = w.t.store.keys.get(w.owner.keyId)!;
    expect(old.state).toBe("revoked");
    expect(old.revocation).toMatchObject({ reason: "migrated", revokedBy: "owner-migration" });
    const notices = await w.t.service.notices.forDevice(
      w.ownerDevice.seId,
      0,
      noticesRequest(w.ownerDevice, 0),
    );
    expect(notices.notices).toMatchObject([{ action: "terminate-key", keyId: w.owner.keyId }]);
    // Friend keys' records are untouched.
    expect(w.t.store.keys.get(w.friend.keyId)?.state).toBe("active");
    // The old owner can no longer revoke; the new one's revocations are checked against the new key.
    await expect(w.t.service.revocations.revokeByOwner(...spread(ownerRevocation(w)))).rejects.toThrow(
      ForbiddenError,
    );
    // The old owner's termination confirms the migration.
    const confirmed = await w.t.service.revocations.confirmTermination(
      w.owner.keyId,
      ...spread(termination(w, w.owner.keyId, term(w.owner, w.vehicle.id), w.ownerDevice)),
    );
    expect(confirmed.response).toMatchObject({ state: "terminated", reason: "migrated" });
  });

  it("keeps refusing a second owner without new pairing material (409)", async () => {
    const w = await world();
    const newPhone = await enrollDevice(w.t);
    await expect(
      registerKey(w.t, newPhone, await newPhone.newEndpoint(w.vehicle.id, "owner")),
    ).rejects.toThrow("no unexpired owner-pairing material");
    expect(w.t.store.keys.get(w.owner.keyId)?.state).toBe("active");
  });
});

/** deviceRequest's pair as arguments. */
function spread(r: {
  body: never;
  request: Parameters<World["t"]["service"]["revocations"]["revokeByOwner"]>[1];
}) {
  return [r.body, r.request] as [never, typeof r.request];
}
