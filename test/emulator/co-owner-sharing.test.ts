// Proves roles and re-sharing at the car, offline, through taps: a co-owner shares within its own
// profile and the car checks the chain owner → co-owner → friend; a chain too deep, a co-owner sharing
// beyond its own profile and a guest that shares are refused; revoking a co-owner drops what it shared;
// a service key drives within its limits and stops at its end; the tap result names every limit.
import { describe, expect, it } from "vitest";
import { SecureElementError } from "../../src/emulator/secure-element/errors.js";
import { tap } from "../../src/emulator/tap.js";
import type { AccessProfile } from "../../src/protocol/access-profile.js";
import {
  createDevice,
  createFriendKeyFor,
  createVehicle,
  type Device,
  EmulatedOem,
  pairOwner,
  shareKey,
  tamperedDevice,
  vehicleSnapshot,
} from "../support/emulated-pki.js";

async function world(now?: () => number) {
  const oem = await EmulatedOem.create();
  const car = await createVehicle(oem, now ? { now } : {});
  const owner = await createDevice(oem);
  const { keyId: ownerKeyId } = await pairOwner(oem, car, owner.se);
  const device = () => createDevice(oem, now ? { now } : {});
  return { oem, car, owner, ownerKeyId, device };
}

const CO_OWNER: AccessProfile = { kind: "full", role: "co-owner" };
const LIMITED: AccessProfile = {
  kind: "drive",
  speedLimitKmh: 80,
  powerLimitPercent: 60,
  audioVolumeLimitPercent: 40,
  stabilityControlLocked: true,
};

/** The co-owner's key enrolled at the car (its first tap), so the chain can be seen from both ends. */
async function coOwnerOf(w: Awaited<ReturnType<typeof world>>, profile: AccessProfile = CO_OWNER) {
  const coOwner = await w.device();
  const shared = await shareKey(w.owner.se, w.ownerKeyId, coOwner.se, profile);
  expect(await tap(coOwner.se, w.car.doorHandle, { intent: "unlock" })).toMatchObject({
    decision: "unlocked",
  });
  return { device: coOwner, keyId: shared.keyId };
}

describe("co-owners share further", () => {
  it("owner → co-owner → friend: the friend enrolls at its first tap and the car applies and names its limits", async () => {
    const w = await world();
    const coOwner = await coOwnerOf(w);
    const friend = await w.device();
    const shared = await shareKey(coOwner.device.se, coOwner.keyId, friend.se, LIMITED);

    const unlock = await tap(friend.se, w.car.doorHandle, { intent: "unlock" });
    expect(unlock).toMatchObject({ decision: "unlocked", keyId: shared.keyId });
    const start = await tap(friend.se, w.car.dashboard);
    expect(start).toMatchObject({
      decision: "started",
      keyId: shared.keyId,
      speedLimitKmh: 80,
      limits: {
        speedLimitKmh: 80,
        powerLimitPercent: 60,
        audioVolumeLimitPercent: 40,
        stabilityControlLocked: true,
      },
    });
    expect(start.reason).toBe(
      "friend key, drive, speed limited to 80 km/h, power limited to 60%, audio volume limited to 40%, stability control locked on",
    );
    expect(w.car.keys().find((k) => k.keyId === shared.keyId)).toMatchObject({
      attestedBy: coOwner.keyId,
      sharedVia: [coOwner.keyId],
      profile: LIMITED,
    });
    // The co-owner's own key names its role.
    expect((await tap(coOwner.device.se, w.car.dashboard)).reason).toMatch(/^co-owner key, full/);
  });

  it("a co-owner's friend enrolls even when the co-owner never tapped the car itself", async () => {
    const w = await world();
    const coOwner = await w.device();
    const { keyId } = await shareKey(w.owner.se, w.ownerKeyId, coOwner.se, CO_OWNER);
    const friend = await w.device();
    await shareKey(coOwner.se, keyId, friend.se, { kind: "unlock-only" });
    expect(await tap(friend.se, w.car.doorHandle, { intent: "unlock" })).toMatchObject({
      decision: "unlocked",
    });
  });

  it("refuses a chain too deep: owner → co-owner → co-owner → friend", async () => {
    const w = await world();
    const first = await coOwnerOf(w);
    const second = await w.device();
    const { keyId: secondKeyId } = await shareKey(first.device.se, first.keyId, second.se, CO_OWNER);
    // The second co-owner itself is two links from the owner: it opens the car.
    expect(await tap(second.se, w.car.doorHandle, { intent: "unlock" })).toMatchObject({
      decision: "unlocked",
    });
    const friend = await w.device();
    const shared = await shareKey(second.se, secondKeyId, friend.se, { kind: "unlock-only" });
    const before = vehicleSnapshot(w.car);

    const result = await tap(friend.se, w.car.doorHandle, { intent: "lock" });
    expect(result).toMatchObject({ decision: "refused", keyId: shared.keyId });
    expect(result.reason).toBe(
      "enrollment: the share chain is too deep: 3 attestations from the owner, at most 2",
    );
    expect(vehicleSnapshot(w.car)).toEqual(before);
  });

  it("a co-owner's SE refuses to share beyond its own profile", async () => {
    const w = await world();
    const coOwner = await coOwnerOf(w, { kind: "drive", speedLimitKmh: 80, role: "co-owner" });
    const friend = await w.device();
    const request = await createFriendKeyFor(coOwner.device.se, coOwner.keyId, friend.se, { kind: "full" });
    coOwner.device.se.authenticateUser();
    for (const profile of [{ kind: "full" }, { kind: "drive", speedLimitKmh: 120 }] as AccessProfile[]) {
      expect(() => coOwner.device.se.attestFriendKey(coOwner.keyId, request, profile)).toThrow(
        /within its own profile: (kind full exceeds drive|speed limit 120 km\/h exceeds 80 km\/h)/,
      );
    }
  });

  it("the car refuses a co-owner that shares beyond its own profile, even from an SE that signed it", async () => {
    const w = await world();
    const honest = await coOwnerOf(w, {
      kind: "drive",
      speedLimitKmh: 80,
      role: "co-owner",
      audioVolumeLimitPercent: 50,
    });
    // A rooted phone: its wallet believes the co-owner key is full and unlimited; the owner signed otherwise.
    const rooted = tamperedDevice(honest.device, (state) => {
      state.keys.find((k) => k.keyId === honest.keyId)!.profile = CO_OWNER;
    });
    for (const [profile, why] of [
      [{ kind: "full" }, "kind full exceeds drive"],
      [
        { kind: "drive", speedLimitKmh: 120, audioVolumeLimitPercent: 50 },
        "speed limit 120 km/h exceeds 80 km/h",
      ],
      [{ kind: "drive", speedLimitKmh: 50 }, "audio volume limit none exceeds 50%"],
    ] as [AccessProfile, string][]) {
      const friend = await w.device();
      const shared = await shareKey(rooted.se, honest.keyId, friend.se, profile);
      const result = await tap(friend.se, w.car.doorHandle, { intent: "unlock" });
      expect(result).toMatchObject({ decision: "refused", keyId: shared.keyId });
      expect(result.reason).toBe(`enrollment: the co-owner shared beyond its own profile: ${why}`);
    }
  });

  it("a guest may not share: its SE refuses, and the car refuses what a rooted guest phone signs", async () => {
    const w = await world();
    const guest = await coOwnerOf(w, { kind: "full" });
    const friend = await w.device();
    const request = await createFriendKeyFor(guest.device.se, guest.keyId, friend.se, {
      kind: "unlock-only",
    });
    guest.device.se.authenticateUser();
    expect(() => guest.device.se.attestFriendKey(guest.keyId, request, { kind: "unlock-only" })).toThrow(
      SecureElementError,
    );
    const rooted = tamperedDevice(guest.device, (state) => {
      state.keys.find((k) => k.keyId === guest.keyId)!.profile = CO_OWNER;
    });
    const other = await w.device();
    await shareKey(rooted.se, guest.keyId, other.se, { kind: "unlock-only" });
    const result = await tap(other.se, w.car.doorHandle, { intent: "unlock" });
    expect(result.reason).toBe(`enrollment: key ${guest.keyId} is a guest key: only co-owners share further`);
  });
});

describe("revoking a co-owner revokes what it shared", () => {
  it("the owner's revocation of the co-owner drops its friends at the car, enrolled or not yet", async () => {
    const w = await world();
    const coOwner = await coOwnerOf(w);
    const enrolled = await w.device();
    const { keyId: enrolledKeyId } = await shareKey(coOwner.device.se, coOwner.keyId, enrolled.se, {
      kind: "full",
    });
    expect(await tap(enrolled.se, w.car.doorHandle, { intent: "unlock" })).toMatchObject({
      decision: "unlocked",
    });
    const later = await w.device();
    const { keyId: laterKeyId } = await shareKey(coOwner.device.se, coOwner.keyId, later.se, {
      kind: "full",
    });

    w.owner.se.revokeFriendKey(w.ownerKeyId, coOwner.keyId);
    expect((await tap(w.owner.se, w.car.doorHandle, { intent: "unlock" })).reason).toContain(
      "applied 1 revocation(s)",
    );
    expect(w.car.keys().map((k) => k.keyId)).not.toContain(enrolledKeyId);
    expect(w.car.exportState().revoked).toContainEqual(
      expect.objectContaining({ keyId: enrolledKeyId, reason: "sharer-revoked" }),
    );

    expect((await tap(coOwner.device.se, w.car.doorHandle, { intent: "lock" })).decision).toBe("refused");
    expect((await tap(enrolled.se, w.car.doorHandle, { intent: "lock" })).reason).toBe(
      "enrollment: this key was revoked",
    );
    const laterTap = await tap(later.se, w.car.doorHandle, { intent: "lock" });
    expect(laterTap.keyId).toBe(laterKeyId);
    expect(laterTap.reason).toBe(`enrollment: the sharing co-owner key ${coOwner.keyId} was revoked`);
  });

  it("a co-owner deleting its own key (termination) takes its shares with it", async () => {
    const w = await world();
    const coOwner = await coOwnerOf(w);
    const friend = await w.device();
    const { keyId } = await shareKey(coOwner.device.se, coOwner.keyId, friend.se, { kind: "full" });
    expect(await tap(friend.se, w.car.doorHandle, { intent: "unlock" })).toMatchObject({
      decision: "unlocked",
    });
    const { attestation } = coOwner.device.se.deleteKey(coOwner.keyId);
    w.car.acceptTermination(attestation);
    expect(w.car.keys().map((k) => k.keyId)).toEqual([w.ownerKeyId]);
    expect((await tap(friend.se, w.car.doorHandle, { intent: "lock" })).decision).toBe("refused");
    expect(keyId).toBeTruthy();
  });
});

describe("service keys", () => {
  it("a valet key drives within its limits, may not share, and stops at its end", async () => {
    // A little ahead of the emulated OEM, whose certificates start when they are made.
    let clock = Date.now() + 60_000;
    const w = await world(() => clock);
    const valet: Device = await w.device();
    const until = Math.floor(clock / 1000) + 3600;
    const profile: AccessProfile = {
      kind: "drive",
      speedLimitKmh: 50,
      powerLimitPercent: 30,
      role: "service",
      validUntil: until,
    };
    const { keyId } = await shareKey(w.owner.se, w.ownerKeyId, valet.se, profile);
    expect(await tap(valet.se, w.car.doorHandle, { intent: "unlock" })).toMatchObject({
      decision: "unlocked",
    });
    const start = await tap(valet.se, w.car.dashboard);
    expect(start).toMatchObject({
      decision: "started",
      limits: { speedLimitKmh: 50, powerLimitPercent: 30 },
    });
    expect(start.reason).toMatch(/^service key, drive, speed limited to 50 km\/h, power limited to 30%/);

    const friend = await w.device();
    const request = await createFriendKeyFor(valet.se, keyId, friend.se, { kind: "unlock-only" });
    valet.se.authenticateUser();
    expect(() => valet.se.attestFriendKey(keyId, request, { kind: "unlock-only" })).toThrow(/service key/);

    clock = (until + 1) * 1000;
    const expired = await tap(valet.se, w.car.doorHandle, { intent: "lock" });
    expect(expired.decision).toBe("refused");
    expect(expired.reason).toMatch(/^key expired at /);
  });
});
