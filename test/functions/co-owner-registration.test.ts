// Proves, through the Lambda handlers against DynamoDB Local, re-sharing at the service: a key a
// co-owner attested registers (within the co-owner's profile); a chain too deep, a co-owner sharing
// beyond its own profile, and a guest that signs are refused (403) writing nothing; revoking the
// co-owner revokes what it shared, each with its own revocation-list entry.
import "../support/quiet-logs.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handler as keyTracking } from "../../functions/key-tracking.js";
import { handler as revocation } from "../../functions/revocation.js";
import { handler as revocationList } from "../../functions/revocation-list.js";
import type { AccessProfile } from "../../src/protocol/access-profile.js";
import { toHex } from "../../src/protocol/bytes.js";
import { keyRegistrationEvent, signedEvent } from "../support/api-requests.js";
import { apiEvent, invoke, type LambdaHarness, startLambdaHarness } from "../support/lambda-harness.js";
import { enrollNewDevice, vehicleOwnedBy } from "../support/lambda-parties.js";
import { rvke } from "../support/lifecycle-statements.js";
import { attestFriendKey, type TestDevice, type TestEndpoint } from "../support/test-device.js";

let harness: LambdaHarness;

beforeAll(async () => {
  harness = await startLambdaHarness();
}, 120_000);

afterAll(async () => {
  await harness?.stop();
});

const enroll = (): Promise<TestDevice> => enrollNewDevice(harness.manufacturer);

async function ownedVehicle() {
  const ownerDevice = await enroll();
  const { vehicle, owner } = await vehicleOwnedBy(ownerDevice);
  return { vehicle, owner };
}

/** A new friend key attested by `signer` with `profile`: the answer, the key, and whether the table changed. */
async function share(vehicleId: Uint8Array, signer: TestEndpoint, profile: AccessProfile) {
  const device = await enroll();
  const friend = await device.newEndpoint(vehicleId, "friend");
  const before = JSON.stringify(await harness.table.scan());
  const answer = await invoke(
    keyTracking,
    keyRegistrationEvent(device, friend, attestFriendKey(signer, friend, vehicleId, profile)),
  );
  const unchanged = JSON.stringify(await harness.table.scan()) === before;
  return { answer, friend, unchanged };
}

const CO_OWNER: AccessProfile = { kind: "drive", speedLimitKmh: 100, role: "co-owner" };

describe("keys a co-owner shares", () => {
  it("registers a key a co-owner attested within its own profile, with a receipt", async () => {
    const { vehicle, owner } = await ownedVehicle();
    const coOwner = await share(vehicle.id, owner, CO_OWNER);
    expect(coOwner.answer.status).toBe(201);
    const friend = await share(vehicle.id, coOwner.friend, {
      kind: "drive",
      speedLimitKmh: 80,
      powerLimitPercent: 50,
    });
    expect(friend.answer.status).toBe(201);
    expect(friend.answer.json).toMatchObject({
      role: "friend",
      profile: { kind: "drive", speedLimitKmh: 80, powerLimitPercent: 50 },
    });
  });

  it.each([
    [
      "beyond its own profile (full from a drive co-owner)",
      { kind: "full" },
      /the co-owner shared beyond its own profile: kind full exceeds drive/,
    ],
    [
      "beyond its own speed",
      { kind: "drive", speedLimitKmh: 120 },
      /speed limit 120 km\/h exceeds 100 km\/h/,
    ],
  ] as [string, AccessProfile, RegExp][])(
    "refuses a share %s (403, nothing written)",
    async (_name, profile, why) => {
      const { vehicle, owner } = await ownedVehicle();
      const coOwner = await share(vehicle.id, owner, CO_OWNER);
      const refused = await share(vehicle.id, coOwner.friend, profile);
      expect(refused.answer.status).toBe(403);
      expect(refused.answer.json.detail).toMatch(why);
      expect(refused.unchanged).toBe(true);
    },
  );

  it("refuses a chain too deep and a guest that signs (403, nothing written)", async () => {
    const { vehicle, owner } = await ownedVehicle();
    const first = await share(vehicle.id, owner, CO_OWNER);
    const second = await share(vehicle.id, first.friend, CO_OWNER);
    expect(second.answer.status).toBe(201);
    const deep = await share(vehicle.id, second.friend, { kind: "unlock-only" });
    expect(deep.answer.status).toBe(403);
    expect(deep.answer.json.detail).toBe(
      "the share chain is too deep: 3 attestations from the owner, at most 2",
    );
    expect(deep.unchanged).toBe(true);

    const guest = await share(vehicle.id, owner, { kind: "full" });
    const fromGuest = await share(vehicle.id, guest.friend, { kind: "unlock-only" });
    expect(fromGuest.answer.status).toBe(403);
    expect(fromGuest.answer.json.detail).toBe(
      `key ${guest.friend.keyId} is a guest key: only the owner and co-owners share`,
    );
    expect(fromGuest.unchanged).toBe(true);
  });

  it("revoking the co-owner revokes what it shared, and keys it signs afterwards are refused", async () => {
    const { vehicle, owner } = await ownedVehicle();
    const coOwner = await share(vehicle.id, owner, CO_OWNER);
    const friend = await share(vehicle.id, coOwner.friend, { kind: "unlock-only" });
    expect(friend.answer.status).toBe(201);
    const revoked = await invoke(
      revocation,
      signedEvent(
        "POST /v1/revocations",
        { revocation: toHex(rvke(owner, coOwner.friend, vehicle.id)) },
        (o) => owner.sign(o),
      ),
    );
    expect(revoked.status).toBe(201);
    const friendKey = await invoke(
      revocation,
      apiEvent("POST /v1/keys/{keyId}/revocation", { iam: true, params: { keyId: friend.friend.keyId } }),
    );
    // Already revoked with its co-owner: the OEM's request answers the revocation on record.
    expect(friendKey.status).toBe(200);
    expect(friendKey.json).toMatchObject({
      state: "revoked",
      reason: "sharer-revoked",
      revokedBy: "co-owner-revoked",
    });
    const list = await invoke(
      revocationList,
      apiEvent("GET /v1/vehicles/{vehicleId}/revocations", {
        iam: true,
        params: { vehicleId: toHex(vehicle.id) },
        query: "after=0",
      }),
    );
    expect(list.json.entries.map((e: { keyId: string }) => e.keyId)).toEqual([
      coOwner.friend.keyId,
      friend.friend.keyId,
    ]);
    const after = await share(vehicle.id, coOwner.friend, { kind: "unlock-only" });
    expect(after.answer.status).toBe(403);
    expect(after.answer.json.detail).toBe(
      `the sharing co-owner key ${coOwner.friend.keyId} is no longer active`,
    );
  });
});
