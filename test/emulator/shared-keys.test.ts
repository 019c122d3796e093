// Proves a car enrolls a shared key offline only from a valid owner attestation and a trusted chain, refusing every bad package with its reason, and takes the profile from the attestation alone.
import { describe, expect, it } from "vitest";
import { tap } from "../../src/emulator/tap.js";
import { MAX_KEYS } from "../../src/emulator/vehicle/vehicle.js";
import type { AccessProfile } from "../../src/protocol/access-profile.js";
import { fromHex, toHex } from "../../src/protocol/bytes.js";
import { parseCertificate } from "../../src/protocol/certificate-verifier.js";
import { type KeyAttestationFacts, keyAttestationBody } from "../../src/protocol/key-attestation.js";
import { MAILBOX_SIZE, Mailbox } from "../../src/protocol/mailbox-operations.js";
import { generateKeyPair, keyIdentifier, signRaw } from "../../src/protocol/p256.js";
import { type EnrollmentPackage, encodePrivateMailbox } from "../../src/protocol/private-mailbox.js";
import { encodeSignedStatement } from "../../src/protocol/signed-statement.js";
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
  const friend = await createDevice(oem);
  return { oem, car, owner, ownerKeyId, friend };
}

function signAttestation(privateKey: Uint8Array, facts: KeyAttestationFacts): Uint8Array {
  const body = keyAttestationBody(facts);
  return encodeSignedStatement(body, signRaw(privateKey, body));
}

/** The facts an honest owner would sign for this friend key. */
function factsFor(
  friend: Device,
  keyId: string,
  signerKeyId: string,
  overrides: Partial<KeyAttestationFacts> = {},
): KeyAttestationFacts {
  const key = friend.se.key(keyId);
  return {
    vehicleIdentifier: fromHex(key.vehicleIdentifier),
    endpointPublicKey: fromHex(key.endpointPublicKey),
    profile: { kind: "full" },
    serial: 1,
    issuedAt: Date.now(),
    signerKeyId: fromHex(signerKeyId),
    ...overrides,
  };
}

/** A device that wrote its own enrollment package into a key's private mailbox. */
function withMailbox(device: Device, keyId: string, enrollment: EnrollmentPackage): Device {
  return tamperedDevice(device, (state) => {
    const key = state.keys.find((k) => k.keyId === keyId)!;
    key.privateMailbox = toHex(
      encodePrivateMailbox({ enrollment, revocations: [] }, MAILBOX_SIZE[Mailbox.PRIVATE]),
    );
  });
}

function enrollmentOf(device: Device, keyId: string, attestation: Uint8Array): EnrollmentPackage {
  const chain = device.se.certificateChain(keyId);
  return {
    attestation,
    endpointCertificate: parseCertificate(chain.endpointCertificate).der,
    instanceCaCertificate: parseCertificate(chain.instanceCaCertificate).der,
  };
}

describe("shared keys: enrollment at the first tap", () => {
  it("enrolls a friend key from the owner's attestation, then runs ordinary transactions", async () => {
    const { car, owner, ownerKeyId, friend } = await world();
    const shared = await shareKey(owner.se, ownerKeyId, friend.se, { kind: "full" });
    const first = await tap(friend.se, car.doorHandle, { intent: "unlock" });
    expect(first).toMatchObject({ decision: "unlocked", flow: "standard", keyId: shared.keyId });
    expect(first.reason).toBe("friend key, full; enrolled from the owner's attestation");
    expect(car.keys().find((k) => k.keyId === shared.keyId)).toMatchObject({
      role: "friend",
      attestedBy: ownerKeyId,
      attestationSerial: 1,
      deviceId: friend.se.seId,
    });
    expect(await tap(friend.se, car.doorHandle)).toMatchObject({ decision: "locked", flow: "fast" });
    expect(await tap(friend.se, car.dashboard)).toMatchObject({ decision: "started", flow: "standard" });
  });

  it("refuses a friend key whose device holds no attestation: key not enrolled", async () => {
    const { car, owner, ownerKeyId, friend } = await world();
    const request = await createFriendKeyFor(owner.se, ownerKeyId, friend.se, { kind: "full" });
    expect(await tap(friend.se, car.doorHandle)).toMatchObject({
      decision: "refused",
      flow: "standard",
      keyId: request.keyId,
      reason: "AUTH1: key not enrolled in this vehicle",
    });
    expect(car.keys().map((k) => k.keyId)).toEqual([ownerKeyId]);
  });
});

describe("shared keys: who signed the attestation", () => {
  it("refuses an attestation signed by a key that is not an owner key of this vehicle", async () => {
    const { car, owner, ownerKeyId, friend } = await world();
    const request = await createFriendKeyFor(owner.se, ownerKeyId, friend.se, { kind: "full" });

    // An attacker's own key, naming itself as signer.
    const attacker = generateKeyPair();
    const attackerId = toHex(keyIdentifier(attacker.publicKey));
    friend.se.installKeyAttestation(
      request.keyId,
      signAttestation(attacker.privateKey, factsFor(friend, request.keyId, attackerId)),
    );
    expect(await tap(friend.se, car.doorHandle)).toMatchObject({
      decision: "refused",
      keyId: request.keyId,
      reason: "enrollment: the attestation is not signed by an owner key of this vehicle",
    });

    // The friend's own endpoint key, vouching for itself (its SE was broken open).
    const friendPrivate = fromHex(sealedSecrets(friend).endpointPrivate[request.keyId]!);
    friend.se.installKeyAttestation(
      request.keyId,
      signAttestation(friendPrivate, factsFor(friend, request.keyId, request.keyId)),
    );
    expect(await tap(friend.se, car.doorHandle)).toMatchObject({
      decision: "refused",
      reason: "enrollment: the attestation is not signed by an owner key of this vehicle",
    });

    // Naming the real owner key as signer, but signed by another key.
    friend.se.installKeyAttestation(
      request.keyId,
      signAttestation(attacker.privateKey, factsFor(friend, request.keyId, ownerKeyId)),
    );
    expect(await tap(friend.se, car.doorHandle)).toMatchObject({
      decision: "refused",
      reason: "enrollment: attestation: key attestation: signature does not verify",
    });
    expect(car.keys().map((k) => k.keyId)).toEqual([ownerKeyId]);
  });

  it("refuses an attestation the owner key signed for another vehicle", async () => {
    const { car, owner, ownerKeyId, friend } = await world();
    const request = await createFriendKeyFor(owner.se, ownerKeyId, friend.se, { kind: "full" });
    // Only a broken owner SE signs this: an honest one always names its own vehicle.
    const ownerPrivate = fromHex(sealedSecrets(owner).endpointPrivate[ownerKeyId]!);
    const otherVehicle = fromHex("0102030405060708090a0b0c0d0e0f10");
    friend.se.installKeyAttestation(
      request.keyId,
      signAttestation(
        ownerPrivate,
        factsFor(friend, request.keyId, ownerKeyId, { vehicleIdentifier: otherVehicle }),
      ),
    );
    expect(await tap(friend.se, car.doorHandle)).toMatchObject({
      decision: "refused",
      keyId: request.keyId,
      reason: "enrollment: the attestation is for another vehicle",
    });
    expect(car.keys()).toHaveLength(1);
  });

  it("refuses an attestation for another endpoint key, and another key's whole package", async () => {
    const { oem, car, owner, ownerKeyId, friend } = await world();
    const other = await createDevice(oem);
    const mine = await shareKey(owner.se, ownerKeyId, friend.se, { kind: "unlock-only" });
    const theirs = await shareKey(owner.se, ownerKeyId, other.se, { kind: "full" });

    // The wallet itself refuses to install someone else's attestation...
    expect(() => friend.se.installKeyAttestation(mine.keyId, theirs.attestation)).toThrow(
      "the attestation is for another key",
    );
    // ...so a hostile device writes it into its mailbox by hand, beside its own chain.
    const hostile = withMailbox(friend, mine.keyId, enrollmentOf(friend, mine.keyId, theirs.attestation));
    expect(await tap(hostile.se, car.doorHandle)).toMatchObject({
      decision: "refused",
      keyId: mine.keyId,
      reason: "enrollment: the attestation is for another key",
    });

    // Copying the other key's whole package (chain and attestation) does not help either.
    const copied = withMailbox(friend, mine.keyId, enrollmentOf(other, theirs.keyId, theirs.attestation));
    expect(await tap(copied.se, car.doorHandle)).toMatchObject({
      decision: "refused",
      keyId: mine.keyId,
      reason: "enrollment: the certificate is for another key",
    });
    expect(car.keys().map((k) => k.keyId)).toEqual([ownerKeyId]);
  });
});

describe("shared keys: the friend's certificate chain", () => {
  it("refuses a chain from another Device OEM, on the owner's SE and in the car", async () => {
    const { oem, car, owner, ownerKeyId } = await world();
    const otherPhones = await EmulatedOem.create("Other Phones");
    // Its SE trusts the car's Vehicle OEM, so it can create a key for the car; the car does not trust its root.
    const foreign = await createDevice(otherPhones, { vehicleOem: oem });
    const request = await createFriendKeyFor(owner.se, ownerKeyId, foreign.se, { kind: "full" });

    owner.se.authenticateUser();
    expect(() => owner.se.attestFriendKey(ownerKeyId, request, { kind: "full" })).toThrow(
      expect.objectContaining({ name: "CertificateVerificationError", reason: "untrusted-anchor" }),
    );

    // Even with the owner's signature (a broken owner SE), the car checks the chain itself.
    const ownerPrivate = fromHex(sealedSecrets(owner).endpointPrivate[ownerKeyId]!);
    foreign.se.installKeyAttestation(
      request.keyId,
      signAttestation(ownerPrivate, factsFor(foreign, request.keyId, ownerKeyId)),
    );
    const refused = await tap(foreign.se, car.doorHandle);
    expect(refused).toMatchObject({ decision: "refused", keyId: request.keyId });
    expect(refused.reason).toMatch(/^enrollment: certificate chain untrusted-anchor: /);
    expect(car.keys()).toHaveLength(1);
  });

  it("refuses a friend certificate bound to another vehicle, on the owner's SE and in the car", async () => {
    const { oem, car, owner, ownerKeyId, friend } = await world();
    const otherCar = await createVehicle(oem);
    const request = await friend.se.createFriendKey({
      vehicleIdentifier: otherCar.vehicleIdentifier,
      vehicleCertificate: otherCar.vehicleCertificate!,
      profile: { kind: "full" },
    });
    owner.se.authenticateUser();
    expect(() => owner.se.attestFriendKey(ownerKeyId, request, { kind: "full" })).toThrow(
      "the shared key is bound to another vehicle",
    );

    // A hostile device answers this car with that key anyway (its stored vehicle edited), carrying an
    // attestation for this car signed by a broken owner SE: the certificate's vehicle still gives it away.
    const ownerPrivate = fromHex(sealedSecrets(owner).endpointPrivate[ownerKeyId]!);
    const attestation = signAttestation(
      ownerPrivate,
      factsFor(friend, request.keyId, ownerKeyId, { vehicleIdentifier: car.vehicleIdentifier }),
    );
    const hostile = tamperedDevice(friend, (state) => {
      const key = state.keys.find((k) => k.keyId === request.keyId)!;
      key.vehicleIdentifier = toHex(car.vehicleIdentifier);
      key.vehiclePublicKey = toHex(car.publicKey);
      key.privateMailbox = toHex(
        encodePrivateMailbox(
          { enrollment: enrollmentOf(friend, request.keyId, attestation), revocations: [] },
          MAILBOX_SIZE[Mailbox.PRIVATE],
        ),
      );
    });
    expect(await tap(hostile.se, car.doorHandle)).toMatchObject({
      decision: "refused",
      keyId: request.keyId,
      reason: "enrollment: the key is bound to another vehicle",
    });
    expect(car.keys()).toHaveLength(1);
  });
});

describe("shared keys: limits and profiles", () => {
  it(`refuses enrollment once the car holds MAX_KEYS (${MAX_KEYS}) keys`, async () => {
    const { car, owner, ownerKeyId, friend } = await world();
    const shared = await shareKey(owner.se, ownerKeyId, friend.se, { kind: "full" });
    const workshopKeys = Array.from({ length: MAX_KEYS - 1 }, () =>
      car.enrollKey({ endpointPublicKey: generateKeyPair().publicKey, role: "friend" }),
    );
    expect(car.keys()).toHaveLength(MAX_KEYS);
    expect(await tap(friend.se, car.doorHandle)).toMatchObject({
      decision: "refused",
      keyId: shared.keyId,
      reason: `enrollment: this vehicle holds the maximum of ${MAX_KEYS} keys`,
    });
    expect(car.keys()).toHaveLength(MAX_KEYS);

    car.removeKey(workshopKeys[0]!);
    expect(await tap(friend.se, car.doorHandle, { intent: "unlock" })).toMatchObject({
      decision: "unlocked",
      keyId: shared.keyId,
    });
    expect(car.keys()).toHaveLength(MAX_KEYS);
  });

  it("takes the profile from the attestation, whatever the friend's device claims", async () => {
    const { oem, car, owner, ownerKeyId, friend } = await world();
    // The friend asks for a full key; the owner grants unlock-only. createFriendKey's profile is informative.
    const request = await createFriendKeyFor(owner.se, ownerKeyId, friend.se, { kind: "full" });
    expect(friend.se.key(request.keyId).profile).toEqual({ kind: "full" });
    owner.se.authenticateUser();
    const attestation = owner.se.attestFriendKey(ownerKeyId, request, { kind: "unlock-only" });
    friend.se.installKeyAttestation(request.keyId, attestation);
    expect(friend.se.key(request.keyId).profile).toEqual({ kind: "unlock-only" });

    // The device edits its stored profile back to "full": it never travels to the car anyway.
    const claiming = tamperedDevice(friend, (state) => {
      state.keys.find((k) => k.keyId === request.keyId)!.profile = { kind: "full" };
    });
    expect(await tap(claiming.se, car.dashboard)).toMatchObject({
      decision: "refused",
      keyId: request.keyId,
      reason: "unlock-only key cannot start the engine",
    });
    expect(car.keys().find((k) => k.keyId === request.keyId)?.profile).toEqual({ kind: "unlock-only" });

    // Same for a drive key: the car limits itself to the attested 80 km/h, not the claimed 200.
    const driver = await createDevice(oem);
    const drive = await shareKey(
      owner.se,
      ownerKeyId,
      driver.se,
      { kind: "drive", speedLimitKmh: 80 },
      { kind: "drive", speedLimitKmh: 200 },
    );
    const greedy = tamperedDevice(driver, (state) => {
      state.keys.find((k) => k.keyId === drive.keyId)!.profile = { kind: "drive", speedLimitKmh: 200 };
    });
    expect(await tap(greedy.se, car.dashboard)).toMatchObject({ decision: "started", speedLimitKmh: 80 });
  });
});

describe("shared keys: the owner's consent", () => {
  it("needs a fresh user authentication on the owner's device for every share", async () => {
    let skew = 0;
    const clock = () => Date.now() + skew;
    const oem = await EmulatedOem.create();
    const car = await createVehicle(oem);
    const owner = await createDevice(oem, { now: clock });
    const { keyId: ownerKeyId } = await pairOwner(oem, car, owner.se);
    const friendA = await createDevice(oem);
    const friendB = await createDevice(oem);
    const requestA = await createFriendKeyFor(owner.se, ownerKeyId, friendA.se, { kind: "full" });
    const requestB = await createFriendKeyFor(owner.se, ownerKeyId, friendB.se, { kind: "full" });
    const full: AccessProfile = { kind: "full" };

    expect(() => owner.se.attestFriendKey(ownerKeyId, requestA, full)).toThrow(
      "sharing needs a fresh user authentication",
    );
    owner.se.authenticateUser();
    owner.se.attestFriendKey(ownerKeyId, requestA, full);
    // One authentication, one share.
    expect(() => owner.se.attestFriendKey(ownerKeyId, requestB, full)).toThrow(
      "sharing needs a fresh user authentication",
    );
    // An authentication that has gone stale does not count either.
    owner.se.authenticateUser();
    skew += 60_001;
    expect(() => owner.se.attestFriendKey(ownerKeyId, requestB, full)).toThrow(
      "sharing needs a fresh user authentication",
    );
    expect(owner.se.issuedAttestationList().map((a) => a.friendKeyId)).toEqual([requestA.keyId]);

    // A friend key cannot share onwards.
    friendA.se.authenticateUser();
    expect(() => friendA.se.attestFriendKey(requestA.keyId, requestB, full)).toThrow(
      `key ${requestA.keyId} is a guest key: only owner and co-owner keys share`,
    );
  });
});
