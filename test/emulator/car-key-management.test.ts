// Proves the car manages its keys by itself, offline: time-boxed keys stop at
// their end and are dropped at once (the SE deletes its copy by the same
// rule), shared keys are limited to the friend slots, the dashboard lists
// every key locally, and deleting one needs an owner key present.
import { describe, expect, it } from "vitest";
import { tap } from "../../src/emulator/tap.js";
import {
  DEFAULT_FRIEND_KEY_SLOTS,
  OWNER_PRESENCE_WINDOW_MS,
  OwnerNotPresentError,
} from "../../src/emulator/vehicle/vehicle.js";
import type { AccessProfile } from "../../src/protocol/access-profile.js";
import { fromHex } from "../../src/protocol/bytes.js";
import { verifyTerminationAttestation } from "../../src/protocol/termination-attestation.js";
import { createDevice, createVehicle, EmulatedOem, pairOwner, shareKey } from "../support/emulated-pki.js";

/** A car, its owner and a clock both follow, which the test moves (no network anywhere). */
async function world(options: { friendKeySlots?: number } = {}) {
  // Whole seconds, so a profile's end in Unix seconds falls exactly on an advance. The emulated OEM
  // issues by the real clock, a moment later; its certificates are backdated as the cloud's are, so
  // they are already valid by this frozen one.
  const start = Math.floor(Date.now() / 1000) * 1000;
  let clock = start;
  const now = () => clock;
  const oem = await EmulatedOem.create();
  const car = await createVehicle(oem, { now, ...options });
  const owner = await createDevice(oem, { now });
  const { keyId: ownerKeyId } = await pairOwner(oem, car, owner.se);
  const share = async (profile: AccessProfile = { kind: "full" }) => {
    const friend = await createDevice(oem, { now });
    const shared = await shareKey(owner.se, ownerKeyId, friend.se, profile);
    return { se: friend.se, keyId: shared.keyId };
  };
  return { oem, car, owner, ownerKeyId, share, advance: (ms: number) => (clock += ms), now, start };
}

describe("expiry: a time-boxed key stops at its end, offline", () => {
  it("is refused at the car once past its end, dropped at once, and can never enroll again", async () => {
    const w = await world();
    const end = Math.floor(w.start / 1000) + 3600;
    const friend = await w.share({ kind: "drive", speedLimitKmh: 90, validUntil: end });
    expect(await tap(friend.se, w.car.doorHandle, { intent: "unlock" })).toMatchObject({
      decision: "unlocked",
      keyId: friend.keyId,
    });
    w.advance(3600 * 1000); // exactly the end: valid until is exclusive
    expect(await tap(friend.se, w.car.doorHandle, { intent: "lock" })).toMatchObject({
      decision: "refused",
      keyId: friend.keyId,
      reason: `key expired at ${new Date(end * 1000).toISOString()}; removed from this vehicle`,
    });
    expect(w.car.keys().map((k) => k.keyId)).toEqual([w.ownerKeyId]);
    // Its enrollment package is still in its mailbox: the car refuses to take it back.
    expect(await tap(friend.se, w.car.doorHandle, { intent: "unlock" })).toMatchObject({
      decision: "refused",
      reason: expect.stringMatching(/^enrollment: this key expired \(removed /),
    });
  });

  it("drops every expired key at the next tap of any key, and the key list never shows one", async () => {
    const w = await world();
    const end = Math.floor(w.start / 1000) + 60;
    const friend = await w.share({ kind: "unlock-only", validUntil: end });
    await tap(friend.se, w.car.doorHandle, { intent: "unlock" });
    expect(w.car.keyList().keys.map((k) => k.keyId)).toContain(friend.keyId);
    w.advance(61_000);
    expect(w.car.keyList()).toMatchObject({ expired: [friend.keyId] });
    expect(w.car.keys().map((k) => k.keyId)).toEqual([w.ownerKeyId]);
  });

  it("refuses at first tap a shared key whose attested profile has already ended", async () => {
    const w = await world();
    const friend = await w.share({ kind: "full", validUntil: Math.floor(w.start / 1000) + 10 });
    w.advance(10_000);
    expect(await tap(friend.se, w.car.doorHandle, { intent: "unlock" })).toMatchObject({
      decision: "refused",
      reason: `enrollment: the attested profile expired at ${new Date(w.start + 10_000).toISOString()}`,
    });
    expect(w.car.keys()).toHaveLength(1);
  });

  it("the SE deletes its expired keys by its own clock, each with a termination attestation", async () => {
    const w = await world();
    const end = Math.floor(w.start / 1000) + 120;
    const friend = await w.share({ kind: "full", validUntil: end });
    expect(friend.se.deleteExpiredKeys()).toEqual([]);
    w.advance(120_000);
    const deleted = friend.se.deleteExpiredKeys();
    expect(deleted.map((d) => d.keyId)).toEqual([friend.keyId]);
    const facts = verifyTerminationAttestation(deleted[0]!.attestation);
    expect(facts.terminatedAt).toBe(w.start + 120_000);
    expect(friend.se.listKeys()).toEqual([]);
    expect(friend.se.unconfirmedTerminations().map((t) => t.keyId)).toEqual([friend.keyId]);
  });

  it("a terminate-key notice for a key the SE deleted at its end is applied: the counter moves on", async () => {
    // The service's expiry sweep revoked the key before the SE's own termination reached it.
    const w = await world();
    const end = Math.floor(w.start / 1000) + 30;
    const friend = await w.share({ kind: "full", validUntil: end });
    w.advance(30_000);
    const [deleted] = friend.se.deleteExpiredKeys();
    const deviceId = fromHex(friend.se.seId);
    const applied = friend.se.applyNotice(w.oem.terminateKeyNotice(deviceId, fromHex(friend.keyId)));
    expect(applied).toEqual({
      action: "terminate-key",
      counter: 1,
      // The attestation the SE made when it deleted the key: the proof the service still wants.
      terminationAttestation: deleted!.attestation,
    });
    // Later notices are not held back by it.
    expect(friend.se.applyNotice(w.oem.notice(deviceId, "suspend"))).toMatchObject({ counter: 2 });
    // A key this SE never held: still refused, the counter where it was.
    expect(() => friend.se.applyNotice(w.oem.terminateKeyNotice(deviceId, fromHex("0102030405ff")))).toThrow(
      /no key 0102030405ff/,
    );
    expect(friend.se.applyNotice(w.oem.notice(deviceId, "resume"))).toMatchObject({ counter: 4 });
  });
});

describe("friend slots", () => {
  it(`refuses the sixth shared key by default (${DEFAULT_FRIEND_KEY_SLOTS} slots), naming the limit`, async () => {
    const w = await world();
    for (let i = 0; i < DEFAULT_FRIEND_KEY_SLOTS; i++) {
      const friend = await w.share();
      expect((await tap(friend.se, w.car.doorHandle, { intent: "unlock" })).decision).toBe("unlocked");
    }
    const sixth = await w.share();
    expect(await tap(sixth.se, w.car.doorHandle, { intent: "unlock" })).toMatchObject({
      decision: "refused",
      keyId: sixth.keyId,
      reason: `enrollment: friend key slots full: this vehicle holds 5 of 5 shared keys; delete or revoke one first`,
    });
    expect(w.car.keys()).toHaveLength(1 + DEFAULT_FRIEND_KEY_SLOTS);
  });

  it("is configurable per vehicle; a deleted or expired key frees its slot", async () => {
    const w = await world({ friendKeySlots: 1 });
    const end = Math.floor(w.start / 1000) + 30;
    const first = await w.share({ kind: "full", validUntil: end });
    const second = await w.share();
    expect((await tap(first.se, w.car.doorHandle, { intent: "unlock" })).decision).toBe("unlocked");
    expect((await tap(second.se, w.car.doorHandle, { intent: "lock" })).reason).toMatch(
      /friend key slots full: this vehicle holds 1 of 1/,
    );
    w.advance(30_000);
    expect((await tap(second.se, w.car.doorHandle, { intent: "lock" })).decision).toBe("locked");
    const third = await w.share();
    await tap(w.owner.se, w.car.doorHandle, { intent: "unlock" });
    w.car.deleteKey(second.keyId);
    expect((await tap(third.se, w.car.doorHandle, { intent: "lock" })).decision).toBe("locked");
  });
});

describe("the car's key list and delete-key", () => {
  it("lists every key with role, origin, profile, limits, expiry and last use", async () => {
    const w = await world();
    const end = Math.floor(w.start / 1000) + 86_400;
    const friend = await w.share({ kind: "drive", speedLimitKmh: 80, validUntil: end });
    w.advance(5_000);
    await tap(friend.se, w.car.dashboard);
    const list = w.car.keyList();
    expect(list.expired).toEqual([]);
    expect(list.keys).toEqual([
      {
        keyId: w.ownerKeyId,
        role: "owner",
        origin: "paired",
        profile: "full",
        limits: {},
        validFrom: null,
        expiresAt: null,
        enrolledAt: new Date(w.start).toISOString(),
        lastUsedAt: null,
        suspended: false,
      },
      {
        keyId: friend.keyId,
        role: "friend",
        origin: "shared",
        profile: "drive",
        limits: { speedLimitKmh: 80 },
        validFrom: null,
        expiresAt: new Date(end * 1000).toISOString(),
        enrolledAt: new Date(w.start + 5_000).toISOString(),
        lastUsedAt: new Date(w.start + 5_000).toISOString(),
        suspended: false,
      },
    ]);
  });

  it("refuses a delete without an owner key present, after a friend's tap, and after the window", async () => {
    const w = await world();
    const friend = await w.share();
    await tap(friend.se, w.car.doorHandle, { intent: "unlock" });
    expect(() => w.car.deleteKey(friend.keyId)).toThrow(OwnerNotPresentError);
    expect(() => w.car.deleteKey(friend.keyId)).toThrow(/needs an owner key present/);
    await tap(w.owner.se, w.car.doorHandle, { intent: "lock" });
    w.advance(OWNER_PRESENCE_WINDOW_MS + 1);
    expect(() => w.car.deleteKey(friend.keyId)).toThrow(OwnerNotPresentError);
    await tap(friend.se, w.car.doorHandle, { intent: "unlock" });
    expect(() => w.car.deleteKey(friend.keyId)).toThrow(OwnerNotPresentError);
    expect(w.car.keys()).toHaveLength(2);
    expect(w.car.pendingDeletions).toEqual([]);
  });

  it("deletes with an owner tap just before; one tap authorizes one delete; the key is refused for good", async () => {
    const w = await world();
    const friend = await w.share();
    const other = await w.share();
    await tap(friend.se, w.car.doorHandle, { intent: "unlock" });
    await tap(other.se, w.car.doorHandle, { intent: "lock" });
    await tap(w.owner.se, w.car.doorHandle, { intent: "unlock" });
    w.advance(OWNER_PRESENCE_WINDOW_MS);
    expect(w.car.deleteKey(friend.keyId)).toEqual({
      keyId: friend.keyId,
      role: "friend",
      authorizedBy: w.ownerKeyId,
    });
    expect(() => w.car.deleteKey(other.keyId)).toThrow(OwnerNotPresentError);
    expect(w.car.pendingDeletions).toEqual([
      { keyId: friend.keyId, deletedAt: new Date(w.start + OWNER_PRESENCE_WINDOW_MS).toISOString() },
    ]);
    expect(await tap(friend.se, w.car.doorHandle, { intent: "lock" })).toMatchObject({
      decision: "refused",
      keyId: friend.keyId,
      reason: expect.stringMatching(/^enrollment: this key was deleted at the vehicle/),
    });
    w.car.deletionReported(friend.keyId);
    expect(w.car.pendingDeletions).toEqual([]);
  });
});
