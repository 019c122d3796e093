// Proves, through the Lambda handlers against DynamoDB Local, that the service mints nothing for a key that stopped: a friend key attested by an owner key the OEM revoked, by an owner key a migration replaced, or by the owner key of a suspended SE is refused (403) with the table unchanged; so is every request signed by a key of a suspended SE, except fetching notices and confirming terminations.
import "../support/quiet-logs.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handler as keyTracking } from "../../functions/key-tracking.js";
import { handler as notices } from "../../functions/notices.js";
import { handler as revocation } from "../../functions/revocation.js";
import { handler as vehicleEnrollment } from "../../functions/vehicle-enrollment.js";
import { toHex } from "../../src/protocol/bytes.js";
import { keyRegistrationEvent, ownerRegistrationEvent, signedEvent } from "../support/api-requests.js";
import { apiEvent, invoke, type LambdaHarness, startLambdaHarness } from "../support/lambda-harness.js";
import { enrollNewDevice, vehicleOwnedBy } from "../support/lambda-parties.js";
import { rvke, term } from "../support/lifecycle-statements.js";
import { attestFriendKey, type TestDevice, type TestEndpoint } from "../support/test-device.js";

let harness: LambdaHarness;

const enroll = (): Promise<TestDevice> => enrollNewDevice(harness.manufacturer);

/** An enrolled vehicle whose owner key (on its own phone) is registered. */
async function ownedVehicle() {
  const ownerDevice = await enroll();
  const { vehicle, owner } = await vehicleOwnedBy(ownerDevice);
  return { vehicle, ownerDevice, owner };
}

const lostMode = (device: TestDevice, action: "suspend" | "resume") =>
  invoke(
    notices,
    apiEvent("POST /v1/devices/{seId}/lost-mode", {
      iam: true,
      params: { seId: device.seId },
      body: { action },
    }),
  );

/** Registers a fresh friend key attested by `owner`: the answer and whether the table changed. */
async function registerFriend(vehicleId: Uint8Array, owner: TestEndpoint, friendDevice?: TestDevice) {
  const device = friendDevice ?? (await enroll());
  const friend = await device.newEndpoint(vehicleId, "friend");
  const before = await harness.table.scan();
  const answer = await invoke(
    keyTracking,
    keyRegistrationEvent(device, friend, attestFriendKey(owner, friend, vehicleId)),
  );
  const unchanged = JSON.stringify(await harness.table.scan()) === JSON.stringify(before);
  return { answer, unchanged, friend, device };
}

beforeAll(async () => {
  harness = await startLambdaHarness();
}, 120_000);

afterAll(async () => {
  await harness?.stop();
});

describe("friend registration needs an attesting owner key that still mints", () => {
  it("refuses an attestation by an owner key the OEM revoked (403), writing nothing", async () => {
    const { vehicle, owner } = await ownedVehicle();
    const revoked = await invoke(
      revocation,
      apiEvent("POST /v1/keys/{keyId}/revocation", { iam: true, params: { keyId: owner.keyId } }),
    );
    expect(revoked.status, JSON.stringify(revoked.json)).toBe(201);
    const { answer, unchanged } = await registerFriend(vehicle.id, owner);
    expect(answer.status).toBe(403);
    expect(answer.json.detail).toBe(`the attesting owner key ${owner.keyId} is no longer active`);
    expect(unchanged).toBe(true);
  });

  it("refuses an attestation by an owner key a migration replaced (403), writing nothing", async () => {
    const { vehicle, owner } = await ownedVehicle();
    const pairing = await invoke(
      vehicleEnrollment,
      apiEvent("POST /v1/vehicles/{vehicleId}/pairing", { iam: true, params: { vehicleId: vehicle.idHex } }),
    );
    expect(pairing.status).toBe(201);
    const newPhone = await enroll();
    const newOwner = await newPhone.newEndpoint(vehicle.id, "owner");
    const registration = ownerRegistrationEvent(newPhone, newOwner, vehicle, pairing.json.pairing.pairingId);
    expect((await invoke(keyTracking, registration)).status).toBe(201);
    const { answer, unchanged } = await registerFriend(vehicle.id, owner);
    expect(answer.status).toBe(403);
    expect(answer.json.detail).toMatch(/^the key attestation is not from the vehicle's owner key/);
    expect(unchanged).toBe(true);
    // The new owner's attestations register.
    expect((await registerFriend(vehicle.id, newOwner)).answer.status).toBe(201);
  });

  it("refuses an attestation by the owner key of a suspended SE (403) until it is resumed", async () => {
    const { vehicle, ownerDevice, owner } = await ownedVehicle();
    expect((await lostMode(ownerDevice, "suspend")).status).toBe(201);
    const { answer, unchanged, friend, device } = await registerFriend(vehicle.id, owner);
    expect(answer.status).toBe(403);
    expect(answer.json.detail).toBe(
      `secure element ${ownerDevice.seId} is in lost mode (suspended): its owner key attests nothing`,
    );
    expect(unchanged).toBe(true);
    expect((await lostMode(ownerDevice, "resume")).status).toBe(201);
    const again = await invoke(
      keyTracking,
      keyRegistrationEvent(device, friend, attestFriendKey(owner, friend, vehicle.id)),
    );
    expect(again.status, JSON.stringify(again.json)).toBe(201);
  });

  it("refuses the registration of a key on a suspended SE (403), writing nothing", async () => {
    const { vehicle, owner } = await ownedVehicle();
    const friendDevice = await enroll();
    expect((await lostMode(friendDevice, "suspend")).status).toBe(201);
    const { answer, unchanged } = await registerFriend(vehicle.id, owner, friendDevice);
    expect(answer.status).toBe(403);
    expect(answer.json.detail).toBe(
      `secure element ${friendDevice.seId} is in lost mode (suspended): its keys register nothing`,
    );
    expect(unchanged).toBe(true);
  });
});

describe("requests signed by keys of a suspended SE", () => {
  it("refuses the owner's revocation (403, nothing written); notices and termination still work", async () => {
    const { vehicle, ownerDevice, owner } = await ownedVehicle();
    const { answer, friend, device: friendDevice } = await registerFriend(vehicle.id, owner);
    expect(answer.status).toBe(201);
    expect((await lostMode(ownerDevice, "suspend")).status).toBe(201);

    const before = await harness.table.scan();
    const refused = await invoke(
      revocation,
      signedEvent("POST /v1/revocations", { revocation: toHex(rvke(owner, friend, vehicle.id)) }, (o) =>
        owner.sign(o),
      ),
    );
    expect(refused.status).toBe(403);
    expect(refused.headers["content-type"]).toBe("application/problem+json");
    expect(refused.json.detail).toBe(
      `secure element ${ownerDevice.seId} is in lost mode (suspended): it may only fetch notices and confirm terminations`,
    );
    expect(await harness.table.scan()).toEqual(before);

    // The suspended phone still fetches its notices (its resume comes that way).
    const fetched = await invoke(
      notices,
      signedEvent("GET /v1/devices/{seId}/notices", undefined, (o) => ownerDevice.signAsInstance(o), {
        params: { seId: ownerDevice.seId },
        query: "after=0",
      }),
    );
    expect(fetched.status).toBe(200);
    expect(fetched.json.notices.map((n: { action: string }) => n.action)).toEqual(["suspend"]);

    // A suspended friend's phone confirms the termination of a key the OEM revoked.
    expect(
      (
        await invoke(
          revocation,
          apiEvent("POST /v1/keys/{keyId}/revocation", { iam: true, params: { keyId: friend.keyId } }),
        )
      ).status,
    ).toBe(201);
    expect((await lostMode(friendDevice, "suspend")).status).toBe(201);
    const confirmed = await invoke(
      revocation,
      signedEvent(
        "POST /v1/keys/{keyId}/termination",
        { attestation: toHex(term(friend, vehicle.id)) },
        (o) => friendDevice.signAsInstance(o),
        { params: { keyId: friend.keyId } },
      ),
    );
    expect(confirmed.status, JSON.stringify(confirmed.json)).toBe(201);
    expect(confirmed.json.state).toBe("terminated");
  });
});
