// Proves offline revocation: the owner's signed revocation applies at the owner's next tap, revoked keys never come back (old attestations, lower serials, backups), invalid revocations are dropped and counted, and a friend's own deletion is final.
import { describe, expect, it } from "vitest";
import { SecureElement } from "../../src/emulator/secure-element/secure-element.js";
import { tap } from "../../src/emulator/tap.js";
import { fromHex, toHex } from "../../src/protocol/bytes.js";
import { parseCertificate } from "../../src/protocol/certificate-verifier.js";
import { VerificationError } from "../../src/protocol/errors.js";
import { keyAttestationBody } from "../../src/protocol/key-attestation.js";
import { MAILBOX_SIZE, Mailbox } from "../../src/protocol/mailbox-operations.js";
import { signRaw } from "../../src/protocol/p256.js";
import { encodePrivateMailbox, parsePrivateMailbox } from "../../src/protocol/private-mailbox.js";
import { type RevocationFacts, revocationBody } from "../../src/protocol/revocation.js";
import { encodeSignedStatement } from "../../src/protocol/signed-statement.js";
import { verifyTerminationAttestation } from "../../src/protocol/termination-attestation.js";
import {
  createDevice,
  createFriendKeyFor,
  createVehicle,
  type Device,
  EmulatedOem,
  pairOwner,
  sealedSecrets,
  shareKey,
  tamperedDevice,
} from "../support/emulated-pki.js";

async function world() {
  const oem = await EmulatedOem.create();
  const car = await createVehicle(oem);
  const owner = await createDevice(oem);
  const { keyId: ownerKeyId } = await pairOwner(oem, car, owner.se);
  return { oem, car, owner, ownerKeyId };
}

function sign(privateKey: Uint8Array, body: Uint8Array): Uint8Array {
  return encodeSignedStatement(body, signRaw(privateKey, body));
}

/** The owner's device with exactly these revocations waiting in the owner key's private mailbox. */
function withRevocations(owner: Device, ownerKeyId: string, revocations: Uint8Array[]): Device {
  return tamperedDevice(owner, (state) => {
    state.keys.find((k) => k.keyId === ownerKeyId)!.privateMailbox = toHex(
      encodePrivateMailbox({ revocations }, MAILBOX_SIZE[Mailbox.PRIVATE]),
    );
  });
}

function pendingRevocations(owner: Device, ownerKeyId: string): number {
  return parsePrivateMailbox(owner.se.readPrivateMailbox(ownerKeyId)).revocations.length;
}

describe("revocation at the owner's next tap", () => {
  it("keeps the key working until the owner taps, then stops it for good", async () => {
    const { oem, car, owner, ownerKeyId } = await world();
    const friend = await createDevice(oem);
    const shared = await shareKey(owner.se, ownerKeyId, friend.se, { kind: "full" });
    expect((await tap(owner.se, car.doorHandle, { intent: "unlock" })).flow).toBe("standard");
    expect((await tap(friend.se, car.doorHandle, { intent: "lock" })).decision).toBe("locked");
    expect((await tap(friend.se, car.doorHandle, { intent: "lock" })).flow).toBe("fast");

    const revocation = owner.se.revokeFriendKey(ownerKeyId, shared.keyId);
    expect(owner.se.issuedAttestationList()).toMatchObject([{ friendKeyId: shared.keyId, revoked: true }]);
    expect(pendingRevocations(owner, ownerKeyId)).toBe(1);
    expect(parsePrivateMailbox(owner.se.readPrivateMailbox(ownerKeyId)).revocations[0]).toEqual(revocation);
    // Fast and standard transactions still pass: the car has not heard of it.
    expect(await tap(friend.se, car.doorHandle)).toMatchObject({ decision: "unlocked", flow: "fast" });
    expect(await tap(friend.se, car.dashboard)).toMatchObject({ decision: "started" });

    // The owner's next tap (a fast one) carries it; the car applies it and clears the mailbox.
    const ownerTap = await tap(owner.se, car.doorHandle, { intent: "lock" });
    expect(ownerTap).toMatchObject({ decision: "locked", flow: "fast", keyId: ownerKeyId });
    expect(ownerTap.reason).toBe("owner key, full; applied 1 revocation(s)");
    expect(pendingRevocations(owner, ownerKeyId)).toBe(0);
    expect(car.keys().map((k) => k.keyId)).toEqual([ownerKeyId]);
    expect(car.exportState().revoked).toMatchObject([
      { keyId: shared.keyId, attestedBy: ownerKeyId, attestationSerial: 1, reason: "owner-revocation" },
    ]);

    expect(await tap(friend.se, car.doorHandle)).toMatchObject({
      decision: "refused",
      flow: "standard",
      keyId: shared.keyId,
      reason: "enrollment: this key was revoked",
    });
    // The next owner tap has nothing left to apply.
    expect((await tap(owner.se, car.doorHandle)).reason).toBe("owner key, full");
  });

  it("a revocation made before the friend's first tap prevents enrollment", async () => {
    const { oem, car, owner, ownerKeyId } = await world();
    const friend = await createDevice(oem);
    const shared = await shareKey(owner.se, ownerKeyId, friend.se, { kind: "full" });
    owner.se.revokeFriendKey(ownerKeyId, shared.keyId);
    expect((await tap(owner.se, car.doorHandle)).reason).toContain("applied 1 revocation(s)");

    expect(await tap(friend.se, car.doorHandle)).toMatchObject({
      decision: "refused",
      keyId: shared.keyId,
      reason: "enrollment: this key was revoked",
    });
    expect(car.keys().map((k) => k.keyId)).toEqual([ownerKeyId]);
  });

  it("the owner's SE revokes only keys it shared", async () => {
    const { owner, ownerKeyId } = await world();
    expect(() => owner.se.revokeFriendKey(ownerKeyId, "0123456789ab")).toThrow(
      `key ${ownerKeyId} never shared key 0123456789ab`,
    );
  });
});

describe("revoked keys never come back", () => {
  it("refuses the old attestation presented again after revocation", async () => {
    const { oem, car, owner, ownerKeyId } = await world();
    const friend = await createDevice(oem);
    const shared = await shareKey(owner.se, ownerKeyId, friend.se, { kind: "full" });
    await tap(friend.se, car.doorHandle);
    owner.se.revokeFriendKey(ownerKeyId, shared.keyId);
    await tap(owner.se, car.doorHandle);

    // The same key, the old attestation installed again.
    friend.se.installKeyAttestation(shared.keyId, shared.attestation);
    expect(await tap(friend.se, car.doorHandle)).toMatchObject({
      decision: "refused",
      reason: "enrollment: this key was revoked",
    });

    // A new key on the friend's phone cannot wear the old attestation either.
    friend.se.deleteKey(shared.keyId);
    const fresh = await createFriendKeyFor(owner.se, ownerKeyId, friend.se, { kind: "full" });
    expect(() => friend.se.installKeyAttestation(fresh.keyId, shared.attestation)).toThrow(
      "the attestation is for another key",
    );
    const chain = friend.se.certificateChain(fresh.keyId);
    const hostile = tamperedDevice(friend, (state) => {
      state.keys.find((k) => k.keyId === fresh.keyId)!.privateMailbox = toHex(
        encodePrivateMailbox(
          {
            enrollment: {
              attestation: shared.attestation,
              endpointCertificate: parseCertificate(chain.endpointCertificate).der,
              instanceCaCertificate: parseCertificate(chain.instanceCaCertificate).der,
            },
            revocations: [],
          },
          MAILBOX_SIZE[Mailbox.PRIVATE],
        ),
      );
    });
    expect(await tap(hostile.se, car.doorHandle)).toMatchObject({
      decision: "refused",
      keyId: fresh.keyId,
      reason: "enrollment: the attestation is for another key",
    });
  });

  it("refuses an attestation with a lower serial for the same key after revocation", async () => {
    const { oem, car, owner, ownerKeyId } = await world();
    const friend = await createDevice(oem);
    const request = await createFriendKeyFor(owner.se, ownerKeyId, friend.se, { kind: "unlock-only" });
    owner.se.authenticateUser();
    const serial1 = owner.se.attestFriendKey(ownerKeyId, request, { kind: "unlock-only" });
    owner.se.authenticateUser();
    const serial2 = owner.se.attestFriendKey(ownerKeyId, request, { kind: "full" });
    friend.se.installKeyAttestation(request.keyId, serial2);
    expect((await tap(friend.se, car.dashboard)).decision).toBe("started");

    owner.se.revokeFriendKey(ownerKeyId, request.keyId);
    await tap(owner.se, car.doorHandle);
    expect(car.exportState().revoked).toMatchObject([{ keyId: request.keyId, attestationSerial: 2 }]);

    friend.se.installKeyAttestation(request.keyId, serial1);
    expect(await tap(friend.se, car.doorHandle)).toMatchObject({
      decision: "refused",
      keyId: request.keyId,
      reason: "enrollment: this key was revoked",
    });
  });

  it("refuses a revoked attestation serial reused for another key", async () => {
    const { oem, car, owner, ownerKeyId } = await world();
    const friend = await createDevice(oem);
    const other = await createDevice(oem);
    const shared = await shareKey(owner.se, ownerKeyId, friend.se, { kind: "full" });
    owner.se.revokeFriendKey(ownerKeyId, shared.keyId);
    await tap(owner.se, car.doorHandle);

    // Only a broken owner SE would sign serial 1 again; the car still refuses the revoked serial.
    const request = await createFriendKeyFor(owner.se, ownerKeyId, other.se, { kind: "full" });
    const ownerPrivate = fromHex(sealedSecrets(owner).endpointPrivate[ownerKeyId]!);
    const reused = sign(
      ownerPrivate,
      keyAttestationBody({
        vehicleIdentifier: car.vehicleIdentifier,
        endpointPublicKey: fromHex(other.se.key(request.keyId).endpointPublicKey),
        profile: { kind: "full" },
        serial: 1,
        issuedAt: Date.now(),
        signerKeyId: fromHex(ownerKeyId),
      }),
    );
    other.se.installKeyAttestation(request.keyId, reused);
    expect(await tap(other.se, car.doorHandle)).toMatchObject({
      decision: "refused",
      keyId: request.keyId,
      reason: "enrollment: attestation serial 1 was revoked",
    });
  });
});

describe("invalid revocations are dropped and counted, never applied", () => {
  async function twoFriends() {
    const w = await world();
    const alice = await createDevice(w.oem);
    const bob = await createDevice(w.oem);
    const aliceKey = await shareKey(w.owner.se, w.ownerKeyId, alice.se, { kind: "full" });
    const bobKey = await shareKey(w.owner.se, w.ownerKeyId, bob.se, { kind: "full" });
    await tap(alice.se, w.car.doorHandle);
    await tap(bob.se, w.car.doorHandle);
    return { ...w, alice, bob, aliceKey, bobKey };
  }

  function revocationFacts(
    vehicleIdentifier: Uint8Array,
    revokedKeyId: string,
    signerKeyId: string,
  ): RevocationFacts {
    return {
      vehicleIdentifier,
      revokedKeyId: fromHex(revokedKeyId),
      attestationSerial: 1,
      issuedAt: Date.now(),
      signerKeyId: fromHex(signerKeyId),
    };
  }

  async function expectDropped(
    w: Awaited<ReturnType<typeof twoFriends>>,
    revocations: Uint8Array[],
  ): Promise<void> {
    const owner = withRevocations(w.owner, w.ownerKeyId, revocations);
    const result = await tap(owner.se, w.car.doorHandle, { intent: "unlock" });
    expect(result).toMatchObject({ decision: "unlocked", keyId: w.ownerKeyId });
    expect(result.reason).toBe(`owner key, full; dropped ${revocations.length} invalid revocation(s)`);
    // Worthless entries are cleared too, and nothing was applied.
    expect(pendingRevocations(owner, w.ownerKeyId)).toBe(0);
    expect(w.car.exportState().revoked).toEqual([]);
    expect(w.car.keys()).toHaveLength(3);
    expect(await tap(w.alice.se, w.car.doorHandle, { intent: "lock" })).toMatchObject({ decision: "locked" });
    expect(await tap(w.bob.se, w.car.doorHandle, { intent: "unlock" })).toMatchObject({
      decision: "unlocked",
    });
  }

  it("drops a genuine revocation from another vehicle's owner, replayed here", async () => {
    const w = await twoFriends();
    const otherCar = await createVehicle(w.oem);
    const otherOwner = await createDevice(w.oem);
    const { keyId: otherOwnerKeyId } = await pairOwner(w.oem, otherCar, otherOwner.se);
    // Alice also holds a key for the other car, which its owner revokes.
    const aliceOther = await shareKey(otherOwner.se, otherOwnerKeyId, w.alice.se, { kind: "full" });
    const replayed = otherOwner.se.revokeFriendKey(otherOwnerKeyId, aliceOther.keyId);
    await expectDropped(w, [replayed]);
  });

  it("drops a revocation of one key edited to name another", async () => {
    const w = await twoFriends();
    const genuine = w.owner.se.revokeFriendKey(w.ownerKeyId, w.aliceKey.keyId);
    const tampered = fromHex(toHex(genuine).replace(w.aliceKey.keyId, w.bobKey.keyId));
    expect(toHex(tampered)).not.toBe(toHex(genuine));
    await expectDropped(w, [tampered]);
  });

  it("drops revocations signed by a friend key, whether naming itself or the owner as signer", async () => {
    const w = await twoFriends();
    const bobPrivate = fromHex(sealedSecrets(w.bob).endpointPrivate[w.bobKey.keyId]!);
    await expectDropped(w, [
      sign(
        bobPrivate,
        revocationBody(revocationFacts(w.car.vehicleIdentifier, w.aliceKey.keyId, w.bobKey.keyId)),
      ),
      sign(
        bobPrivate,
        revocationBody(revocationFacts(w.car.vehicleIdentifier, w.aliceKey.keyId, w.ownerKeyId)),
      ),
    ]);
  });

  it("drops a revocation the owner key signed for another vehicle", async () => {
    const w = await twoFriends();
    const ownerPrivate = fromHex(sealedSecrets(w.owner).endpointPrivate[w.ownerKeyId]!);
    const otherVehicle = fromHex("0102030405060708090a0b0c0d0e0f10");
    await expectDropped(w, [
      sign(ownerPrivate, revocationBody(revocationFacts(otherVehicle, w.aliceKey.keyId, w.ownerKeyId))),
    ]);
  });

  it("applies the valid revocations of a mixed list and drops the rest", async () => {
    const w = await twoFriends();
    const genuine = w.owner.se.revokeFriendKey(w.ownerKeyId, w.aliceKey.keyId);
    const tampered = fromHex(toHex(genuine).replace(w.aliceKey.keyId, w.bobKey.keyId));
    const owner = withRevocations(w.owner, w.ownerKeyId, [tampered, genuine]);
    const result = await tap(owner.se, w.car.doorHandle, { intent: "unlock" });
    expect(result.reason).toBe("owner key, full; applied 1 revocation(s); dropped 1 invalid revocation(s)");
    expect((await tap(w.alice.se, w.car.doorHandle)).reason).toBe("enrollment: this key was revoked");
    expect((await tap(w.bob.se, w.car.doorHandle)).decision).not.toBe("refused");
  });
});

describe("a friend deleting their own key", () => {
  it("stops at once on the device, and its termination attestation makes the car drop the key for good", async () => {
    const { oem, car, owner, ownerKeyId } = await world();
    const friend = await createDevice(oem);
    const shared = await shareKey(owner.se, ownerKeyId, friend.se, { kind: "full" });
    expect((await tap(friend.se, car.doorHandle)).decision).toBe("unlocked");
    const endpointPublicKey = fromHex(friend.se.key(shared.keyId).endpointPublicKey);
    const backup = friend.se.exportState(); // e.g. a device backup restored later

    const { attestation } = friend.se.deleteKey(shared.keyId);
    expect(await tap(friend.se, car.doorHandle)).toMatchObject({
      decision: "refused",
      flow: null,
      reason: "AUTH0: device answered 6A88 (no key for this vehicle)",
    });
    expect(friend.se.terminatedKeys()).toMatchObject([{ keyId: shared.keyId }]);

    // Anyone holding the key's public key can verify the attestation (the car, the cloud).
    expect(verifyTerminationAttestation(attestation, endpointPublicKey)).toMatchObject({
      keyIdentifier: fromHex(shared.keyId),
      vehicleIdentifier: car.vehicleIdentifier,
    });
    // A tampered copy is refused and changes nothing.
    const tampered = attestation.slice();
    tampered[tampered.length - 1]! ^= 0x01;
    expect(() => car.acceptTermination(tampered)).toThrow(VerificationError);
    expect(car.keys()).toHaveLength(2);

    expect(car.acceptTermination(attestation)).toBe(shared.keyId);
    expect(car.keys().map((k) => k.keyId)).toEqual([ownerKeyId]);
    expect(car.exportState().revoked).toMatchObject([{ keyId: shared.keyId, reason: "terminated" }]);
    expect(() => car.acceptTermination(attestation)).toThrow(`no key ${shared.keyId} in this vehicle`);

    // The key can never enroll again, even from a backup that still holds it and its attestation.
    const restored = SecureElement.restore(backup, friend.sealingKey);
    expect(await tap(restored, car.doorHandle)).toMatchObject({
      decision: "refused",
      keyId: shared.keyId,
      reason: "enrollment: this key was revoked",
    });
  });
});
