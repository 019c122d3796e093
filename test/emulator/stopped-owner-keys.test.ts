// Proves that an owner key that stopped mints nothing: the car refuses key attestations signed by an owner key after a revocation list revoked it or a new owner's pairing replaced it, and any attestation from a device in lost mode while it is suspended, with its state unchanged; friends attested before keep working; a locked SE signs no attestation or revocation.
import { describe, expect, it } from "vitest";
import { SecureElementLockedError } from "../../src/emulator/secure-element/errors.js";
import { tap } from "../../src/emulator/tap.js";
import { Vehicle } from "../../src/emulator/vehicle/vehicle.js";
import { fromHex } from "../../src/protocol/bytes.js";
import {
  createDevice,
  createFriendKeyFor,
  createVehicle,
  deviceSnapshot,
  EmulatedOem,
  pairOwner,
  shareKey,
  vehicleSnapshot,
} from "../support/emulated-pki.js";

/** A car and its owner's phone on one clock the test moves forward, and two friends' phones. */
async function world() {
  // A little ahead of the OEM fixture's clock, which dates the certificates it issues by the real time.
  let t = Date.now() + 5_000;
  const now = () => t;
  const later = (ms = 60_000) => {
    t += ms;
    return t;
  };
  const oem = await EmulatedOem.create();
  const car = await createVehicle(oem, { now });
  const owner = await createDevice(oem, { now });
  const alice = await createDevice(oem, { now });
  const bob = await createDevice(oem, { now });
  const { keyId: ownerKeyId } = await pairOwner(oem, car, owner.se);
  return { oem, car, owner, ownerKeyId, alice, bob, now, later };
}

describe("the car refuses attestations by an owner key that stopped", () => {
  it("revoked by a revocation list: attestations signed afterwards are refused, earlier friends enroll", async () => {
    const w = await world();
    const aliceKey = await shareKey(w.owner.se, w.ownerKeyId, w.alice.se, { kind: "full" });
    const revokedAt = w.later();
    w.car.applyRevocationList(
      w.oem.revocationList(w.car.vehicleIdentifier, [
        { sequence: 1, keyId: fromHex(w.ownerKeyId), revokedAt },
      ]),
    );
    w.later();
    // The revoked phone still holds its key (a thief keeps it offline) and signs a new share.
    const bobKey = await shareKey(w.owner.se, w.ownerKeyId, w.bob.se, { kind: "full" });
    const before = vehicleSnapshot(w.car);
    expect(await tap(w.bob.se, w.car.dashboard)).toMatchObject({
      decision: "refused",
      keyId: bobKey.keyId,
      reason: "enrollment: the attestation was signed by a revocation-list owner key after it stopped",
    });
    expect(vehicleSnapshot(w.car)).toEqual(before);
    expect(await tap(w.owner.se, w.car.doorHandle)).toMatchObject({ decision: "refused" });

    // Alice's attestation predates the revocation: her first tap enrolls her.
    expect(await tap(w.alice.se, w.car.dashboard)).toMatchObject({
      decision: "started",
      keyId: aliceKey.keyId,
    });
    // The refusal survives a restart of the car.
    const restarted = Vehicle.restore(w.car.exportState(), { now: w.now });
    expect(await tap(w.bob.se, restarted.dashboard)).toMatchObject({
      decision: "refused",
      keyId: bobKey.keyId,
    });
  });

  it("replaced by a new owner's pairing: the old phone's later attestations are refused", async () => {
    const w = await world();
    const aliceKey = await shareKey(w.owner.se, w.ownerKeyId, w.alice.se, { kind: "unlock-only" });
    w.later();
    const newPhone = await createDevice(w.oem, { now: w.now });
    expect((await pairOwner(w.oem, w.car, newPhone.se)).replacedOwnerKeyId).toBe(w.ownerKeyId);
    w.later();
    const bobKey = await shareKey(w.owner.se, w.ownerKeyId, w.bob.se, { kind: "full" });
    const before = vehicleSnapshot(w.car);
    expect(await tap(w.bob.se, w.car.doorHandle)).toMatchObject({
      decision: "refused",
      keyId: bobKey.keyId,
      reason: "enrollment: the attestation was signed by a replaced owner key after it stopped",
    });
    expect(vehicleSnapshot(w.car)).toEqual(before);
    expect(await tap(w.alice.se, w.car.doorHandle)).toMatchObject({
      decision: "unlocked",
      keyId: aliceKey.keyId,
    });
  });

  it("of a suspended device: refused while it is suspended, whenever signed; accepted after the resume", async () => {
    const w = await world();
    const aliceKey = await shareKey(w.owner.se, w.ownerKeyId, w.alice.se, { kind: "full" });
    const ownerDevice = fromHex(w.owner.se.seId);
    // The car hears of the loss; the phone itself is kept offline, so it still signs.
    w.car.applyNotice(w.oem.notice(ownerDevice, "suspend", w.car.vehicleIdentifier));
    const bobKey = await shareKey(w.owner.se, w.ownerKeyId, w.bob.se, { kind: "full" });
    const before = vehicleSnapshot(w.car);
    for (const [friend, keyId] of [
      [w.alice, aliceKey.keyId],
      [w.bob, bobKey.keyId],
    ] as const) {
      expect(await tap(friend.se, w.car.dashboard)).toMatchObject({
        decision: "refused",
        keyId,
        reason: "enrollment: the attesting owner key's device is suspended (lost mode)",
      });
    }
    expect(vehicleSnapshot(w.car)).toEqual(before);

    // A state written before the car recorded owner devices still knows the owner key's device.
    const state = w.car.exportState();
    delete state.ownerKeyDevices;
    const older = Vehicle.restore(state, { now: w.now });
    expect(await tap(w.alice.se, older.dashboard)).toMatchObject({
      decision: "refused",
      reason: "enrollment: the attesting owner key's device is suspended (lost mode)",
    });

    w.car.applyNotice(w.oem.notice(ownerDevice, "resume", w.car.vehicleIdentifier));
    expect(await tap(w.alice.se, w.car.dashboard)).toMatchObject({
      decision: "started",
      keyId: aliceKey.keyId,
    });
    expect(await tap(w.bob.se, w.car.dashboard)).toMatchObject({ decision: "started", keyId: bobKey.keyId });
  });

  it("of a suspended device after a migration: the old phone's earlier attestations wait for the resume", async () => {
    const w = await world();
    const aliceKey = await shareKey(w.owner.se, w.ownerKeyId, w.alice.se, { kind: "full" });
    w.later();
    await pairOwner(w.oem, w.car, (await createDevice(w.oem, { now: w.now })).se);
    w.car.applyNotice(w.oem.notice(fromHex(w.owner.se.seId), "suspend", w.car.vehicleIdentifier));
    expect(await tap(w.alice.se, w.car.dashboard)).toMatchObject({
      decision: "refused",
      reason: "enrollment: the attesting owner key's device is suspended (lost mode)",
    });
    w.car.applyNotice(w.oem.notice(fromHex(w.owner.se.seId), "resume", w.car.vehicleIdentifier));
    expect(await tap(w.alice.se, w.car.dashboard)).toMatchObject({
      decision: "started",
      keyId: aliceKey.keyId,
    });
  });
});

describe("a locked SE (lost mode) signs nothing", () => {
  it("refuses to attest or revoke with SecureElementLockedError and keeps its state; the resume restores both", async () => {
    const w = await world();
    const aliceKey = await shareKey(w.owner.se, w.ownerKeyId, w.alice.se, { kind: "full" });
    const ownerDevice = fromHex(w.owner.se.seId);
    w.owner.se.applyNotice(w.oem.notice(ownerDevice, "suspend"));
    const request = await createFriendKeyFor(w.owner.se, w.ownerKeyId, w.bob.se, { kind: "full" });
    w.owner.se.authenticateUser();
    const before = deviceSnapshot(w.owner);
    expect(() => w.owner.se.attestFriendKey(w.ownerKeyId, request, { kind: "full" })).toThrow(
      SecureElementLockedError,
    );
    expect(() => w.owner.se.attestFriendKey(w.ownerKeyId, request, { kind: "full" })).toThrow(
      "the device is in lost mode (locked): it refuses to sign a key attestation",
    );
    expect(() => w.owner.se.revokeFriendKey(w.ownerKeyId, aliceKey.keyId)).toThrow(
      "the device is in lost mode (locked): it refuses to sign a revocation",
    );
    expect(deviceSnapshot(w.owner)).toEqual(before);

    w.owner.se.applyNotice(w.oem.notice(ownerDevice, "resume"));
    expect(w.owner.se.attestFriendKey(w.ownerKeyId, request, { kind: "full" }).length).toBeGreaterThan(0);
    expect(w.owner.se.revokeFriendKey(w.ownerKeyId, aliceKey.keyId).length).toBeGreaterThan(0);
  });
});
