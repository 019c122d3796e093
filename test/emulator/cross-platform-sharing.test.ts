// Proves a key is shared across device makers offline: an owner's SE and a car that trust a set of
// Device OEM roots accept a friend whose phone another Device OEM certified, and both refuse a friend
// whose Device OEM they do not trust, each with its reason and with nothing stored.
import { describe, expect, it } from "vitest";
import { SecureElementError } from "../../src/emulator/secure-element/errors.js";
import { tap } from "../../src/emulator/tap.js";
import {
  createDevice,
  createFriendKeyFor,
  createVehicle,
  EmulatedOem,
  pairOwner,
  shareKey,
  vehicleSnapshot,
} from "../support/emulated-pki.js";

async function twoMakers() {
  // The automaker is also the first phone maker's Device OEM; the second phone maker is another company.
  const automaker = await EmulatedOem.create("Maker A");
  const otherMaker = await EmulatedOem.create("Maker B");
  const stranger = await EmulatedOem.create("Maker C");
  const car = await createVehicle(automaker, { deviceOems: [automaker, otherMaker] });
  const owner = await createDevice(automaker, { trusts: [otherMaker] });
  const { keyId: ownerKeyId } = await pairOwner(automaker, car, owner.se);
  return { automaker, otherMaker, stranger, car, owner, ownerKeyId };
}

describe("cross-platform sharing", () => {
  it("a friend on another maker's phone receives a key, enrolls at the first tap and starts the car", async () => {
    const { automaker, otherMaker, car, owner, ownerKeyId } = await twoMakers();
    const friend = await createDevice(otherMaker, { vehicleOem: automaker, trusts: [automaker] });
    const shared = await shareKey(owner.se, ownerKeyId, friend.se, { kind: "drive", speedLimitKmh: 90 });
    expect(friend.se.certificateChain(shared.keyId).instanceCaCertificate).not.toBe(
      owner.se.certificateChain(ownerKeyId).instanceCaCertificate,
    );

    const unlock = await tap(friend.se, car.doorHandle, { intent: "unlock" });
    expect(unlock).toMatchObject({ decision: "unlocked", flow: "standard", keyId: shared.keyId });
    expect(unlock.reason).toContain("enrolled from the owner's attestation");
    const start = await tap(friend.se, car.dashboard);
    expect(start).toMatchObject({ decision: "started", keyId: shared.keyId, speedLimitKmh: 90 });
    expect(car.keys().find((k) => k.keyId === shared.keyId)?.deviceId).toBe(friend.se.seId);
  });

  it("the owner's SE refuses to attest a key from a Device OEM it does not trust", async () => {
    const { automaker, stranger, owner, ownerKeyId } = await twoMakers();
    const friend = await createDevice(stranger, { vehicleOem: automaker });
    const request = await createFriendKeyFor(owner.se, ownerKeyId, friend.se, { kind: "full" });
    owner.se.authenticateUser();
    expect(() => owner.se.attestFriendKey(ownerKeyId, request, { kind: "full" })).toThrow(
      /issuer|anchor|trusted/i,
    );
    expect(owner.se.issuedAttestationList()).toEqual([]);
  });

  it("the car refuses a key from a Device OEM it does not trust, even with a valid owner attestation", async () => {
    const { automaker, stranger } = await twoMakers();
    // An owner whose phone trusts the stranger's root, in a car that does not.
    const car = await createVehicle(automaker, { deviceOems: [automaker] });
    const owner = await createDevice(automaker, { trusts: [stranger] });
    const { keyId: ownerKeyId } = await pairOwner(automaker, car, owner.se);
    const friend = await createDevice(stranger, { vehicleOem: automaker });
    const shared = await shareKey(owner.se, ownerKeyId, friend.se, { kind: "full" });
    const before = vehicleSnapshot(car);

    const result = await tap(friend.se, car.doorHandle, { intent: "unlock" });
    expect(result).toMatchObject({ decision: "refused", keyId: shared.keyId });
    expect(result.reason).toMatch(/^enrollment: certificate chain /);
    expect(vehicleSnapshot(car)).toEqual(before);
  });

  it("installCertificates refuses a trusted root that is not a Device OEM root", async () => {
    const { automaker } = await twoMakers();
    const device = await createDevice(automaker);
    const certificates = device.se.installedCertificates!;
    expect(() =>
      device.se.installCertificates({
        ...certificates,
        trustedDeviceOemRoots: [automaker.trustAnchors.vehicleOemRoot],
      }),
    ).toThrow(SecureElementError);
  });
});
