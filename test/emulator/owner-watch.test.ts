// Proves, over APDUs with no network, that the owner can add the car key to a
// second device of theirs (a watch with its own SE): the car enrolls it as an
// owner key with the owner's profile, outside the friend slots, and lost mode,
// the owner key's termination and a new owner's pairing treat it as the
// owner's.
import { describe, expect, it } from "vitest";
import type { SecureElement } from "../../src/emulator/secure-element/secure-element.js";
import { tap } from "../../src/emulator/tap.js";
import { fromHex } from "../../src/protocol/bytes.js";
import { parseKeyAttestation } from "../../src/protocol/key-attestation.js";
import {
  createDevice,
  createFriendKeyFor,
  createVehicle,
  EmulatedOem,
  pairOwner,
  shareKey,
} from "../support/emulated-pki.js";

async function world() {
  const oem = await EmulatedOem.create();
  // One friend slot, already taken: the watch must not need one.
  const car = await createVehicle(oem, { friendKeySlots: 1 });
  const owner = await createDevice(oem);
  const { keyId: ownerKeyId } = await pairOwner(oem, car, owner.se);
  const friend = await createDevice(oem);
  const shared = await shareKey(owner.se, ownerKeyId, friend.se, { kind: "unlock-only" });
  expect((await tap(friend.se, car.doorHandle, { intent: "unlock" })).decision).toBe("unlocked");
  const watch = await createDevice(oem);
  const addWatch = async (se: SecureElement, ownerSe: SecureElement, signer: string) => {
    const request = await createFriendKeyFor(ownerSe, signer, se, { kind: "unlock-only" });
    ownerSe.authenticateUser();
    const attestation = ownerSe.attestOwnDevice(signer, request);
    se.installKeyAttestation(request.keyId, attestation);
    return { keyId: request.keyId, attestation };
  };
  return { oem, car, owner, ownerKeyId, friend, shared, watch, addWatch };
}

describe("the owner's watch", () => {
  it("enrolls as an owner key with the owner's profile, outside the friend slots", async () => {
    const w = await world();
    const added = await w.addWatch(w.watch.se, w.owner.se, w.ownerKeyId);
    expect(parseKeyAttestation(added.attestation).facts).toMatchObject({
      ownerDevice: true,
      profile: { kind: "full" },
    });
    expect(await tap(w.watch.se, w.car.dashboard)).toMatchObject({
      decision: "started",
      keyId: added.keyId,
      reason: "owner key, full; enrolled from the owner's attestation",
    });
    expect(w.car.keyList().keys.find((k) => k.keyId === added.keyId)).toMatchObject({
      role: "owner",
      origin: "owner-device",
      profile: "full",
    });
    // A friend still finds the one slot taken; the watch's tap authorizes a dashboard delete like the phone's.
    const another = await createDevice(w.oem);
    await shareKey(w.owner.se, w.ownerKeyId, another.se, { kind: "full" });
    expect((await tap(another.se, w.car.doorHandle, { intent: "lock" })).reason).toMatch(
      /friend key slots full/,
    );
    await tap(w.watch.se, w.car.doorHandle, { intent: "lock" });
    expect(w.car.deleteKey(w.shared.keyId).authorizedBy).toBe(added.keyId);
  });

  it("is suspended with its own device in lost mode, like any owner key", async () => {
    const w = await world();
    const added = await w.addWatch(w.watch.se, w.owner.se, w.ownerKeyId);
    await tap(w.watch.se, w.car.doorHandle, { intent: "unlock" });
    w.car.applyNotice(w.oem.notice(fromHex(w.watch.se.seId), "suspend", w.car.vehicleIdentifier));
    expect(await tap(w.watch.se, w.car.doorHandle, { intent: "lock" })).toMatchObject({
      decision: "refused",
      keyId: added.keyId,
      reason: "key suspended (lost mode)",
    });
    expect((await tap(w.owner.se, w.car.doorHandle, { intent: "lock" })).decision).toBe("locked");
  });

  it("goes when its owner key is terminated, and a new owner's pairing drops the old owner's watch", async () => {
    const w = await world();
    const added = await w.addWatch(w.watch.se, w.owner.se, w.ownerKeyId);
    await tap(w.watch.se, w.car.doorHandle, { intent: "unlock" });
    const newPhone = await createDevice(w.oem);
    const paired = await pairOwner(w.oem, w.car, newPhone.se);
    expect(paired.replacedOwnerKeyId).toBe(w.ownerKeyId);
    expect(w.car.keys().map((k) => k.keyId)).not.toContain(added.keyId);
    expect(await tap(w.watch.se, w.car.doorHandle, { intent: "lock" })).toMatchObject({
      decision: "refused",
      reason: "enrollment: this key was revoked",
    });
    // The friend the old owner shared with keeps its key.
    expect((await tap(w.friend.se, w.car.doorHandle, { intent: "lock" })).decision).toBe("locked");

    // The new owner's watch, then the new owner's phone deletes its key: the watch key goes with it.
    const newWatch = await createDevice(w.oem);
    const second = await w.addWatch(newWatch.se, newPhone.se, paired.keyId);
    expect((await tap(newWatch.se, w.car.doorHandle, { intent: "unlock" })).decision).toBe("unlocked");
    const { attestation } = newPhone.se.deleteKey(paired.keyId);
    w.car.acceptTermination(attestation);
    expect(w.car.keys().map((k) => k.keyId)).not.toContain(second.keyId);
    expect((await tap(newWatch.se, w.car.doorHandle, { intent: "lock" })).decision).toBe("refused");
  });
});
