// The key-lifecycle routes through the Lambda handlers against DynamoDB Local (the
// real store: conditional writes on `state`, counters, cursors): owner
// revocation with its refusals, the device's notices, the termination that
// confirms it, the OEM's revocation, the vehicle's signed revocation list,
// lost mode with the vehicle's notices, and the new-phone migration.
import "../support/quiet-logs.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handler as keyTracking } from "../../functions/key-tracking.js";
import { handler as notices } from "../../functions/notices.js";
import { handler as revocation } from "../../functions/revocation.js";
import { handler as revocationList } from "../../functions/revocation-list.js";
import { handler as vehicleEnrollment } from "../../functions/vehicle-enrollment.js";
import { fromHex, toHex } from "../../src/protocol/bytes.js";
import { parseCertificate } from "../../src/protocol/certificate-verifier.js";
import { verifyRevocationList } from "../../src/protocol/revocation-list.js";
import { keyRegistrationEvent, signedEvent, vehicleEnrollmentEvent } from "../support/api-requests.js";
import { apiEvent, invoke, type LambdaHarness, startLambdaHarness } from "../support/lambda-harness.js";
import { enrollNewDevice } from "../support/lambda-parties.js";
import { rvke, term } from "../support/lifecycle-statements.js";
import {
  attestFriendKey,
  confirmPairing,
  type TestDevice,
  type TestEndpoint,
  testVehicle,
} from "../support/test-device.js";

let harness: LambdaHarness;
let ownerDevice: TestDevice;
let friendDevice: TestDevice;
let vehicle: ReturnType<typeof testVehicle>;
let owner: TestEndpoint;
let friend: TestEndpoint;
let vehicleOemRoot: string;

const enroll = (): Promise<TestDevice> => enrollNewDevice(harness.manufacturer);

const revokeEvent = (signer: TestEndpoint, statement: Uint8Array) =>
  signedEvent("POST /v1/revocations", { revocation: toHex(statement) }, (o) => signer.sign(o));
const terminationEvent = (device: TestDevice, keyId: string, attestation: Uint8Array) =>
  signedEvent(
    "POST /v1/keys/{keyId}/termination",
    { attestation: toHex(attestation) },
    (o) => device.signAsInstance(o),
    { params: { keyId } },
  );
const deviceNotices = (device: TestDevice, after: number) =>
  signedEvent("GET /v1/devices/{seId}/notices", undefined, (o) => device.signAsInstance(o), {
    params: { seId: device.seId },
    query: `after=${after}`,
  });

beforeAll(async () => {
  harness = await startLambdaHarness();
  ownerDevice = await enroll();
  friendDevice = await enroll();
  vehicle = testVehicle();
  const enrolled = await invoke(vehicleEnrollment, vehicleEnrollmentEvent(vehicle));
  vehicleOemRoot = enrolled.json.trustAnchors.vehicleOemRoot;
  owner = await ownerDevice.newEndpoint(vehicle.id, "owner");
  const pairingConfirmation = confirmPairing(vehicle.keyPair, {
    pairingId: enrolled.json.pairing.pairingId,
    vehicleId: vehicle.id,
    endpoint: owner,
  });
  expect(
    (await invoke(keyTracking, keyRegistrationEvent(ownerDevice, owner, undefined, { pairingConfirmation })))
      .status,
  ).toBe(201);
  friend = await friendDevice.newEndpoint(vehicle.id, "friend");
  const registered = await invoke(
    keyTracking,
    keyRegistrationEvent(friendDevice, friend, attestFriendKey(owner, friend, vehicle.id)),
  );
  expect(registered.status).toBe(201);
}, 120_000);

afterAll(async () => {
  await harness?.stop();
});

describe("remote revocation through the handlers", () => {
  it("refuses a revocation by someone who is not the owner (403) and writes nothing", async () => {
    const before = await harness.table.scan();
    const answer = await invoke(revocation, revokeEvent(friend, rvke(friend, friend, vehicle.id)));
    expect(answer.status).toBe(403);
    expect(answer.headers["content-type"]).toBe("application/problem+json");
    expect(answer.json.detail).toMatch(/only the owner key/);
    // The refused request's nonce is the only new item.
    const after = await harness.table.scan();
    expect(after.filter((i) => !String(i.pk).startsWith("NONCE#"))).toEqual(
      before.filter((i) => !String(i.pk).startsWith("NONCE#")),
    );
  });

  it("records the owner's revocation (201), answers a repeat with the same record (200)", async () => {
    const first = await invoke(revocation, revokeEvent(owner, rvke(owner, friend, vehicle.id)));
    expect(first.status, JSON.stringify(first.json)).toBe(201);
    expect(first.json).toMatchObject({
      keyId: friend.keyId,
      state: "revoked",
      listSequence: 1,
      noticeCounter: 1,
    });
    const again = await invoke(revocation, revokeEvent(owner, rvke(owner, friend, vehicle.id)));
    expect(again.status).toBe(200);
    expect(again.json).toEqual(first.json);
  });

  it("serves the friend's SE its terminate-key notice, refuses a stale cursor (409), confirms the termination", async () => {
    const stale = await invoke(notices, deviceNotices(friendDevice, 7));
    expect(stale.status).toBe(409);
    expect(stale.json.detail).toMatch(/stale notice cursor/);
    const fetched = await invoke(notices, deviceNotices(friendDevice, 0));
    expect(fetched.status, JSON.stringify(fetched.json)).toBe(200);
    expect(fetched.json.notices).toMatchObject([
      { counter: 1, action: "terminate-key", keyId: friend.keyId },
    ]);

    const wrongKey = await invoke(
      revocation,
      terminationEvent(friendDevice, friend.keyId, term(owner, vehicle.id)),
    );
    expect(wrongKey.status).toBe(403);
    const confirmed = await invoke(
      revocation,
      terminationEvent(friendDevice, friend.keyId, term(friend, vehicle.id)),
    );
    expect(confirmed.status, JSON.stringify(confirmed.json)).toBe(201);
    expect(confirmed.json).toMatchObject({ state: "terminated" });
    const repeat = await invoke(
      revocation,
      terminationEvent(friendDevice, friend.keyId, term(friend, vehicle.id)),
    );
    expect(repeat.status).toBe(200);
    // Revoking again cannot move it back.
    const late = await invoke(
      revocation,
      apiEvent("POST /v1/keys/{keyId}/revocation", { iam: true, params: { keyId: friend.keyId } }),
    );
    expect(late.status).toBe(200);
    expect(late.json.state).toBe("terminated");
  });

  it("serves the vehicle's revocation list signed by the Vehicle OEM root, and refuses a stale cursor", async () => {
    const answer = await invoke(
      revocationList,
      apiEvent("GET /v1/vehicles/{vehicleId}/revocations", {
        iam: true,
        params: { vehicleId: vehicle.idHex },
        query: "after=0",
      }),
    );
    expect(answer.status, JSON.stringify(answer.json)).toBe(200);
    const list = verifyRevocationList(
      fromHex(answer.json.list),
      parseCertificate(vehicleOemRoot).subjectPublicKey,
    );
    expect(list.entries.map((e) => toHex(e.keyId))).toEqual([friend.keyId]);
    const stale = await invoke(
      revocationList,
      apiEvent("GET /v1/vehicles/{vehicleId}/revocations", {
        iam: true,
        params: { vehicleId: vehicle.idHex },
        query: "after=9",
      }),
    );
    expect(stale.status).toBe(409);
    const bad = await invoke(
      revocationList,
      apiEvent("GET /v1/vehicles/{vehicleId}/revocations", {
        iam: true,
        params: { vehicleId: vehicle.idHex },
        query: "after=-1",
      }),
    );
    expect(bad.status).toBe(400);
  });
});

describe("lost mode and migration through the handlers", () => {
  it("suspends and resumes the owner's phone: notices for its SE and its vehicle", async () => {
    const lost = (action: string) =>
      invoke(
        notices,
        apiEvent("POST /v1/devices/{seId}/lost-mode", {
          iam: true,
          params: { seId: ownerDevice.seId },
          body: { action },
        }),
      );
    const suspended = await lost("suspend");
    expect(suspended.status, JSON.stringify(suspended.json)).toBe(201);
    expect(suspended.json).toMatchObject({ lostMode: "suspended", vehicleIds: [vehicle.idHex] });
    expect((await lost("suspend")).status).toBe(200);
    expect((await lost("resume")).status).toBe(201);
    const car = await invoke(
      notices,
      apiEvent("GET /v1/vehicles/{vehicleId}/notices", { iam: true, params: { vehicleId: vehicle.idHex } }),
    );
    expect(car.status).toBe(200);
    expect(car.json.notices.map((n: { action: string }) => n.action)).toEqual(["suspend", "resume"]);
    const phone = await invoke(notices, deviceNotices(ownerDevice, 0));
    expect(phone.json.notices.map((n: { action: string }) => n.action)).toEqual(["suspend", "resume"]);
  });

  it("migrates the owner to a new phone: old key revoked (migrated) with a notice, friend records untouched", async () => {
    const pairing = await invoke(
      vehicleEnrollment,
      apiEvent("POST /v1/vehicles/{vehicleId}/pairing", { iam: true, params: { vehicleId: vehicle.idHex } }),
    );
    expect(pairing.status, JSON.stringify(pairing.json)).toBe(201);
    const pairingId: string = pairing.json.pairing.pairingId;

    // A stranger with a genuine SE, in the new-phone window: without the car's confirmation nothing moves.
    const stranger = await enroll();
    const strangerKey = await stranger.newEndpoint(vehicle.id, "owner");
    const before = await harness.table.scan();
    const bare = await invoke(keyTracking, keyRegistrationEvent(stranger, strangerKey));
    expect(bare.status).toBe(400);
    expect(bare.json.detail).toMatch("needs the vehicle's pairingConfirmation");
    const selfConfirmed = await invoke(
      keyTracking,
      keyRegistrationEvent(stranger, strangerKey, undefined, {
        pairingConfirmation: confirmPairing(testVehicle().keyPair, {
          pairingId,
          vehicleId: vehicle.id,
          endpoint: strangerKey,
        }),
      }),
    );
    expect(selfConfirmed.status).toBe(403);
    expect(selfConfirmed.json.detail).toMatch("not from the vehicle");
    expect(await harness.table.scan()).toEqual(before);

    const newPhone = await enroll();
    const newOwner = await newPhone.newEndpoint(vehicle.id, "owner");
    const registered = await invoke(
      keyTracking,
      keyRegistrationEvent(newPhone, newOwner, undefined, {
        pairingConfirmation: confirmPairing(vehicle.keyPair, {
          pairingId,
          vehicleId: vehicle.id,
          endpoint: newOwner,
        }),
      }),
    );
    expect(registered.status, JSON.stringify(registered.json)).toBe(201);
    const phone = await invoke(notices, deviceNotices(ownerDevice, 2));
    expect(phone.json.notices).toMatchObject([{ counter: 3, action: "terminate-key", keyId: owner.keyId }]);
    const keys = await invoke(
      keyTracking,
      apiEvent("GET /v1/vehicles/{vehicleId}/keys", { iam: true, params: { vehicleId: vehicle.idHex } }),
    );
    expect(keys.json.keys.map((k: { keyId: string }) => k.keyId).sort()).toEqual(
      [owner.keyId, friend.keyId, newOwner.keyId].sort(),
    );
    const items = await harness.table.scan();
    const item = (keyId: string) => items.find((i) => i.pk === `KEY#${keyId}`)!;
    expect(item(owner.keyId)).toMatchObject({ state: "revoked", revocation: { reason: "migrated" } });
    expect(item(newOwner.keyId)).toMatchObject({ state: "active" });
  });
});
