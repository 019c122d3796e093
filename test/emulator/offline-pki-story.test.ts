// Proves the whole PKI story offline: provisioning, owner pairing, shared keys enrolled at first tap, revocation at the owner's next tap, lost mode, and migration to a new phone.
import { describe, expect, it } from "vitest";
import { tap } from "../../src/emulator/tap.js";
import { fromHex } from "../../src/protocol/bytes.js";
import { DEFAULT_SCRYPT_COST } from "../../src/protocol/pairing-password.js";
import { parsePrivateMailbox } from "../../src/protocol/private-mailbox.js";
import { verifyTerminationAttestation } from "../../src/protocol/termination-attestation.js";
import {
  createDevice,
  createVehicle,
  EmulatedOem,
  pairOwner,
  shareKey,
  TEST_SCRYPT_COST,
} from "../support/emulated-pki.js";

describe("the offline PKI story", () => {
  it("pairs, shares, revokes, survives lost mode and migrates, with no network anywhere", async () => {
    // --- The automaker: one OEM for the phones' SEs and the car, each root configured, not hard-coded.
    const oem = await EmulatedOem.create("Story Motors");
    const car = await createVehicle(oem);
    const ownerPhone = await createDevice(oem);
    const alice = await createDevice(oem); // will get an unlock-only key
    const bob = await createDevice(oem); // will get a drive key limited to 80 km/h

    // The automaker's server provisions the verifier (default scrypt cost); the car never sees the password.
    const material = oem.createPairingMaterial(DEFAULT_SCRYPT_COST);
    car.provisionPairingVerifier(material.verifier, material.pairingId);
    expect(car.pairingAttemptsLeft).toBe(7);
    expect(JSON.stringify(car.exportState())).not.toContain(material.password);

    // --- The owner pairs over NFC, then unlocks and starts.
    ownerPhone.se.enterPairingPassword(material.password);
    const paired = await car.pair((command) => ownerPhone.se.transceive(command));
    ownerPhone.se.fieldLost();
    expect(paired.replacedOwnerKeyId).toBeNull();
    const ownerKeyId = paired.keyId;
    expect(ownerPhone.se.listKeys().map((k) => [k.keyId, k.role])).toEqual([[ownerKeyId, "owner"]]);
    expect(car.keys().map((k) => [k.keyId, k.role])).toEqual([[ownerKeyId, "owner"]]);

    expect(await tap(ownerPhone.se, car.doorHandle)).toMatchObject({
      decision: "unlocked",
      flow: "standard",
      keyId: ownerKeyId,
    });
    expect(await tap(ownerPhone.se, car.dashboard)).toMatchObject({ decision: "started", keyId: ownerKeyId });

    // --- The owner shares an unlock-only key with Alice and a drive key (80 km/h) with Bob, phone to phone.
    const aliceKey = await shareKey(ownerPhone.se, ownerKeyId, alice.se, { kind: "unlock-only" });
    const bobKey = await shareKey(ownerPhone.se, ownerKeyId, bob.se, { kind: "drive", speedLimitKmh: 80 });
    expect(ownerPhone.se.issuedAttestationList().map((a) => [a.friendKeyId, a.serial])).toEqual([
      [aliceKey.keyId, 1],
      [bobKey.keyId, 2],
    ]);
    // The car has heard of neither.
    expect(car.keys()).toHaveLength(1);

    // --- The friends use the car, which has never been online: the first tap enrolls from the attestation.
    const aliceFirst = await tap(alice.se, car.doorHandle, { intent: "lock" });
    expect(aliceFirst).toMatchObject({ decision: "locked", flow: "standard", keyId: aliceKey.keyId });
    expect(aliceFirst.reason).toContain("enrolled from the owner's attestation");
    expect(await tap(alice.se, car.doorHandle)).toMatchObject({ decision: "unlocked", flow: "fast" });
    expect(await tap(alice.se, car.dashboard)).toMatchObject({
      decision: "refused",
      keyId: aliceKey.keyId,
      reason: "unlock-only key cannot start the engine",
    });

    const bobFirst = await tap(bob.se, car.dashboard);
    expect(bobFirst).toMatchObject({ decision: "started", keyId: bobKey.keyId, speedLimitKmh: 80 });
    expect(bobFirst.reason).toContain("enrolled from the owner's attestation");
    expect(car.keys().map((k) => [k.keyId, k.role, k.profile])).toEqual([
      [ownerKeyId, "owner", { kind: "full" }],
      [aliceKey.keyId, "friend", { kind: "unlock-only" }],
      [bobKey.keyId, "friend", { kind: "drive", speedLimitKmh: 80 }],
    ]);

    // --- The owner revokes Bob's key on the phone: a signed revocation waits in the owner key's mailbox.
    ownerPhone.se.revokeFriendKey(ownerKeyId, bobKey.keyId);
    expect(parsePrivateMailbox(ownerPhone.se.readPrivateMailbox(ownerKeyId)).revocations).toHaveLength(1);
    // The car cannot know yet: Bob's key still works until the owner's next tap.
    expect(await tap(bob.se, car.doorHandle, { intent: "lock" })).toMatchObject({
      decision: "locked",
      keyId: bobKey.keyId,
    });
    expect(await tap(bob.se, car.dashboard)).toMatchObject({ decision: "started", speedLimitKmh: 80 });

    const ownerNext = await tap(ownerPhone.se, car.doorHandle, { intent: "unlock" });
    expect(ownerNext).toMatchObject({ decision: "unlocked", keyId: ownerKeyId });
    expect(ownerNext.reason).toContain("applied 1 revocation(s)");
    // The car consumed the revocation and cleared it from the owner's mailbox.
    expect(parsePrivateMailbox(ownerPhone.se.readPrivateMailbox(ownerKeyId)).revocations).toHaveLength(0);

    // From now on Bob's key fails, at either reader, and cannot enroll again.
    expect(await tap(bob.se, car.doorHandle)).toMatchObject({
      decision: "refused",
      keyId: bobKey.keyId,
      reason: "enrollment: this key was revoked",
    });
    expect(await tap(bob.se, car.dashboard)).toMatchObject({
      decision: "refused",
      reason: "enrollment: this key was revoked",
    });
    // Alice's key is untouched.
    expect(await tap(alice.se, car.doorHandle, { intent: "lock" })).toMatchObject({
      decision: "locked",
      keyId: aliceKey.keyId,
    });

    // --- Lost mode: the Device OEM locks the owner's SE, and tells the car to suspend that device's keys.
    const ownerDeviceId = fromHex(ownerPhone.se.seId);
    expect(ownerPhone.se.applyNotice(oem.notice(ownerDeviceId, "suspend"))).toEqual({
      action: "suspend",
      counter: 1,
    });
    expect(await tap(ownerPhone.se, car.doorHandle)).toMatchObject({
      decision: "refused",
      flow: null,
      reason: "AUTH0: device answered 6283 (applet locked (lost mode))",
    });
    expect(car.applyNotice(oem.notice(ownerDeviceId, "suspend", car.vehicleIdentifier))).toEqual({
      action: "suspend",
      deviceId: ownerPhone.se.seId,
      keyIds: [ownerKeyId],
    });
    // Other devices' keys keep working.
    expect(await tap(alice.se, car.doorHandle, { intent: "unlock" })).toMatchObject({ decision: "unlocked" });

    // The phone is found: its SE is unlocked first; the car still holds the key suspended...
    expect(ownerPhone.se.applyNotice(oem.notice(ownerDeviceId, "resume"))).toEqual({
      action: "resume",
      counter: 3,
    });
    expect(await tap(ownerPhone.se, car.doorHandle, { intent: "lock" })).toMatchObject({
      decision: "refused",
      keyId: ownerKeyId,
      reason: "key suspended (lost mode)",
    });
    // ...until the car's own resume notice arrives.
    expect(car.applyNotice(oem.notice(ownerDeviceId, "resume", car.vehicleIdentifier))).toMatchObject({
      action: "resume",
      keyIds: [ownerKeyId],
    });
    expect(await tap(ownerPhone.se, car.doorHandle, { intent: "lock" })).toMatchObject({
      decision: "locked",
      keyId: ownerKeyId,
    });
    expect(await tap(ownerPhone.se, car.dashboard)).toMatchObject({ decision: "started", keyId: ownerKeyId });

    // --- Migration: the owner gets a new phone; the automaker issues a new pairing password.
    const newPhone = await createDevice(oem);
    const migrated = await pairOwner(oem, car, newPhone.se, TEST_SCRYPT_COST);
    expect(migrated.replacedOwnerKeyId).toBe(ownerKeyId);
    const newOwnerKeyId = migrated.keyId;
    expect(car.keys().map((k) => [k.keyId, k.role])).toEqual([
      [aliceKey.keyId, "friend"],
      [newOwnerKeyId, "owner"],
    ]);

    // The old phone's key no longer opens the car...
    expect(await tap(ownerPhone.se, car.doorHandle, { intent: "unlock" })).toMatchObject({
      decision: "refused",
      keyId: ownerKeyId,
      reason: "AUTH1: key not enrolled in this vehicle",
    });
    // ...and the old phone deletes it: at once unusable there, with a termination attestation that verifies.
    const oldOwnerPublicKey = fromHex(ownerPhone.se.key(ownerKeyId).endpointPublicKey);
    const termination = ownerPhone.se.deleteKey(ownerKeyId);
    expect(verifyTerminationAttestation(termination.attestation, oldOwnerPublicKey)).toMatchObject({
      vehicleIdentifier: car.vehicleIdentifier,
    });
    // The car already replaced that key at the new pairing, so it has nothing left to drop.
    expect(() => car.acceptTermination(termination.attestation)).toThrow(
      `no key ${ownerKeyId} in this vehicle`,
    );
    expect(await tap(ownerPhone.se, car.doorHandle)).toMatchObject({
      decision: "refused",
      reason: "AUTH0: device answered 6A88 (no key for this vehicle)",
    });

    // The new phone opens and starts the car...
    expect(await tap(newPhone.se, car.doorHandle, { intent: "unlock" })).toMatchObject({
      decision: "unlocked",
      keyId: newOwnerKeyId,
    });
    expect(await tap(newPhone.se, car.dashboard)).toMatchObject({
      decision: "started",
      keyId: newOwnerKeyId,
    });
    // ...and Alice's key, attested by the old owner key, still works without Alice doing anything.
    expect(await tap(alice.se, car.doorHandle, { intent: "lock" })).toMatchObject({
      decision: "locked",
      keyId: aliceKey.keyId,
    });
    expect(await tap(alice.se, car.dashboard)).toMatchObject({
      decision: "refused",
      reason: "unlock-only key cannot start the engine",
    });
    // Bob stays revoked across the migration.
    expect(await tap(bob.se, car.doorHandle)).toMatchObject({
      decision: "refused",
      reason: "enrollment: this key was revoked",
    });
  });
});
