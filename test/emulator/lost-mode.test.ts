// Proves lost mode: Device OEM notices lock and unlock an SE, and suspend and resume one device's keys in a car; stale, misaddressed and foreign-signed notices are refused with their reasons.
import { describe, expect, it } from "vitest";
import { tap } from "../../src/emulator/tap.js";
import { fromHex } from "../../src/protocol/bytes.js";
import { VerificationError } from "../../src/protocol/errors.js";
import { createDevice, createVehicle, EmulatedOem, pairOwner, shareKey } from "../support/emulated-pki.js";

const LOCKED = "AUTH0: device answered 6283 (applet locked (lost mode))";

/** An owner phone and a friend phone on one car; the friend also holds a key for a second car. */
async function world() {
  const oem = await EmulatedOem.create();
  const car = await createVehicle(oem);
  const otherCar = await createVehicle(oem);
  const owner = await createDevice(oem);
  const friend = await createDevice(oem);
  const { keyId: ownerKeyId } = await pairOwner(oem, car, owner.se);
  const otherOwner = await createDevice(oem);
  const { keyId: otherOwnerKeyId } = await pairOwner(oem, otherCar, otherOwner.se);
  const friendKey = await shareKey(owner.se, ownerKeyId, friend.se, { kind: "full" });
  const friendOtherKey = await shareKey(otherOwner.se, otherOwnerKeyId, friend.se, { kind: "full" });
  await tap(friend.se, car.doorHandle);
  await tap(friend.se, otherCar.doorHandle);
  return {
    oem,
    car,
    otherCar,
    owner,
    ownerKeyId,
    friend,
    friendKeyId: friendKey.keyId,
    friendOtherKeyId: friendOtherKey.keyId,
    friendId: fromHex(friend.se.seId),
    ownerId: fromHex(owner.se.seId),
  };
}

describe("lost mode on the secure element", () => {
  it("a suspension notice locks every key of the device; a resume notice unlocks them", async () => {
    const w = await world();
    expect(w.friend.se.applyNotice(w.oem.notice(w.friendId, "suspend"))).toEqual({
      action: "suspend",
      counter: 1,
    });
    expect(w.friend.se.isLocked).toBe(true);
    for (const car of [w.car, w.otherCar]) {
      expect(await tap(w.friend.se, car.doorHandle)).toMatchObject({ decision: "refused", reason: LOCKED });
      expect(await tap(w.friend.se, car.dashboard)).toMatchObject({ decision: "refused", reason: LOCKED });
    }
    // Other devices are not affected.
    expect((await tap(w.owner.se, w.car.doorHandle)).decision).not.toBe("refused");

    expect(w.friend.se.applyNotice(w.oem.notice(w.friendId, "resume"))).toEqual({
      action: "resume",
      counter: 2,
    });
    expect(w.friend.se.isLocked).toBe(false);
    expect(await tap(w.friend.se, w.car.dashboard)).toMatchObject({
      decision: "started",
      keyId: w.friendKeyId,
    });
    expect(await tap(w.friend.se, w.otherCar.dashboard)).toMatchObject({
      decision: "started",
      keyId: w.friendOtherKeyId,
    });
  });

  it("refuses a replayed older resume after a newer suspension (monotonic counter)", async () => {
    const w = await world();
    const suspend1 = w.oem.notice(w.friendId, "suspend");
    const resume2 = w.oem.notice(w.friendId, "resume");
    const suspend3 = w.oem.notice(w.friendId, "suspend");
    w.friend.se.applyNotice(suspend1);
    w.friend.se.applyNotice(resume2);
    w.friend.se.applyNotice(suspend3);

    expect(() => w.friend.se.applyNotice(resume2)).toThrow("stale notice: counter 2 is not above 3");
    expect(() => w.friend.se.applyNotice(suspend3)).toThrow("stale notice: counter 3 is not above 3");
    expect(w.friend.se.isLocked).toBe(true);
    expect(w.friend.se.noticeCounter).toBe(3);
    expect(w.friend.se.exportState().noticeCounter).toBe(3);
    expect(await tap(w.friend.se, w.car.doorHandle)).toMatchObject({ decision: "refused", reason: LOCKED });
  });

  it("refuses a notice for another device", async () => {
    const w = await world();
    expect(() => w.friend.se.applyNotice(w.oem.notice(w.ownerId, "suspend"))).toThrow(
      "notice is for another device",
    );
    expect(w.friend.se.isLocked).toBe(false);
    expect(w.friend.se.noticeCounter).toBe(0);
    expect(w.friend.se.exportState().noticeCounter).toBe(0);
  });

  it("refuses a notice signed by another key than the Device OEM root's", async () => {
    const w = await world();
    const impostor = await EmulatedOem.create("Impostor");
    let caught: unknown;
    try {
      w.friend.se.applyNotice(impostor.notice(w.friendId, "suspend"));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(VerificationError);
    expect((caught as Error).message).toBe("notice: signature does not verify");
    expect(w.friend.se.isLocked).toBe(false);
  });

  it("refuses a vehicle-directed notice", async () => {
    const w = await world();
    expect(() =>
      w.friend.se.applyNotice(w.oem.notice(w.friendId, "suspend", w.car.vehicleIdentifier)),
    ).toThrow("notice is addressed to a vehicle, not to this device");
    expect(w.friend.se.isLocked).toBe(false);
  });
});

describe("lost mode in the vehicle", () => {
  it("suspends and resumes the keys of that device only", async () => {
    const w = await world();
    expect(w.car.applyNotice(w.oem.notice(w.friendId, "suspend", w.car.vehicleIdentifier))).toEqual({
      action: "suspend",
      deviceId: w.friend.se.seId,
      keyIds: [w.friendKeyId],
    });
    // The friend's SE still answers; the car refuses the authenticated key.
    expect(await tap(w.friend.se, w.car.doorHandle)).toMatchObject({
      decision: "refused",
      keyId: w.friendKeyId,
      reason: "key suspended (lost mode)",
    });
    expect(await tap(w.friend.se, w.car.dashboard)).toMatchObject({
      decision: "refused",
      reason: "key suspended (lost mode)",
    });
    // The owner's key, and the friend's key in the other car, are untouched.
    expect(await tap(w.owner.se, w.car.dashboard)).toMatchObject({
      decision: "started",
      keyId: w.ownerKeyId,
    });
    expect(await tap(w.friend.se, w.otherCar.dashboard)).toMatchObject({ decision: "started" });

    expect(w.car.applyNotice(w.oem.notice(w.friendId, "resume", w.car.vehicleIdentifier))).toEqual({
      action: "resume",
      deviceId: w.friend.se.seId,
      keyIds: [w.friendKeyId],
    });
    expect(await tap(w.friend.se, w.car.dashboard)).toMatchObject({
      decision: "started",
      keyId: w.friendKeyId,
    });
  });

  it("also suspends a key of that device that the car enrolls after the notice", async () => {
    const w = await world();
    const latecomer = await createDevice(w.oem);
    const shared = await shareKey(w.owner.se, w.ownerKeyId, latecomer.se, { kind: "full" });
    const latecomerId = fromHex(latecomer.se.seId);
    // The phone is reported lost before its first tap: the car holds no key of it yet.
    expect(w.car.applyNotice(w.oem.notice(latecomerId, "suspend", w.car.vehicleIdentifier))).toMatchObject({
      action: "suspend",
      keyIds: [],
    });
    expect(await tap(latecomer.se, w.car.doorHandle)).toMatchObject({
      decision: "refused",
      keyId: shared.keyId,
      reason: "key suspended (lost mode)",
    });
    expect(w.car.applyNotice(w.oem.notice(latecomerId, "resume", w.car.vehicleIdentifier))).toMatchObject({
      action: "resume",
    });
    expect(await tap(latecomer.se, w.car.dashboard)).toMatchObject({
      decision: "started",
      keyId: shared.keyId,
    });
  });

  it("refuses a stale notice: an older resume cannot undo a newer suspension", async () => {
    const w = await world();
    const resume1 = w.oem.notice(w.friendId, "resume", w.car.vehicleIdentifier);
    const suspend2 = w.oem.notice(w.friendId, "suspend", w.car.vehicleIdentifier);
    w.car.applyNotice(suspend2);
    expect(() => w.car.applyNotice(resume1)).toThrow("stale notice: counter 1 is not above 2");
    expect(() => w.car.applyNotice(suspend2)).toThrow("stale notice: counter 2 is not above 2");
    expect(await tap(w.friend.se, w.car.doorHandle)).toMatchObject({ reason: "key suspended (lost mode)" });
    // Counters are per device: the owner's device starts from its own.
    expect(w.car.applyNotice(w.oem.notice(w.ownerId, "suspend", w.car.vehicleIdentifier)).keyIds).toEqual([
      w.ownerKeyId,
    ]);
  });

  it("refuses a notice for another vehicle, and a device-directed notice", async () => {
    const w = await world();
    const before = w.car.exportState();
    expect(() =>
      w.car.applyNotice(w.oem.notice(w.friendId, "suspend", w.otherCar.vehicleIdentifier)),
    ).toThrow("the notice is not addressed to this vehicle");
    expect(() => w.car.applyNotice(w.oem.notice(w.friendId, "suspend"))).toThrow(
      "the notice is not addressed to this vehicle",
    );
    expect(w.car.exportState()).toEqual(before);
    expect(await tap(w.friend.se, w.car.dashboard)).toMatchObject({ decision: "started" });
  });

  it("refuses a notice signed by another key than a trusted Device OEM root's", async () => {
    const w = await world();
    const impostor = await EmulatedOem.create("Impostor");
    expect(() => w.car.applyNotice(impostor.notice(w.friendId, "suspend", w.car.vehicleIdentifier))).toThrow(
      VerificationError,
    );
    expect(await tap(w.friend.se, w.car.dashboard)).toMatchObject({ decision: "started" });
  });
});
