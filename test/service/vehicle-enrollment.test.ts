// Vehicle enrollment and pairing material: the vehicle certificate
// chains to the Vehicle OEM root and carries the vehicle identifier; the
// answer holds both trust anchors; the pairing password and its verifier
// agree (the verifier is what computePairingVerifier gives for that password
// and salt), expire when asked, and are never stored — the store is searched
// for the password, w0 and L. A repeat returns the same certificate with new
// material; new material is refused once an owner key exists.
import { describe, expect, it } from "vitest";
import { PairingMaterialSchema } from "../../src/api/issuance-schemas.js";
import { fromHex, toHex } from "../../src/protocol/bytes.js";
import { verifyCertificateChain } from "../../src/protocol/certificate-verifier.js";
import { generateKeyPair } from "../../src/protocol/p256.js";
import { computePairingVerifier } from "../../src/protocol/pairing-password.js";
import { ConflictError, NotFoundError, ValidationError } from "../../src/service/errors.js";
import { testVehicle } from "../support/test-device.js";
import {
  enrollDevice,
  enrollVehicle,
  registerKey,
  TEST_SCRYPT_COST,
  testService,
} from "../support/test-service.js";

describe("VehicleEnrollment", () => {
  it("issues a vehicle certificate under the Vehicle OEM root and returns both anchors", async () => {
    const t = testService();
    const vehicle = await enrollVehicle(t);
    const { response } = vehicle;
    const anchors = await t.service.roots.trustAnchors();
    expect(response.trustAnchors).toEqual(anchors);
    const chain = verifyCertificateChain({
      leaf: response.vehicleCertificate,
      anchors: [anchors.vehicleOemRoot],
      expectedLeafProfile: "vehicle",
      at: new Date(),
    });
    expect(toHex(chain.vehicleIdentifier!)).toBe(vehicle.idHex);
    expect(toHex(chain.publicKey)).toBe(toHex(vehicle.keyPair.publicKey));
    expect(chain.subject).toContain("O=Test Vehicle OEM");
    expect(chain.subject).toContain("C=DE");
    expect(t.store.vehicles.get(vehicle.idHex)?.enrolledBy).toBe("arn:aws:iam::123456789012:user/oem");
  });

  it("returns a password whose verifier matches, with the requested expiry", async () => {
    const t = testService();
    const vehicle = testVehicle();
    const { response } = await t.service.vehicles.enroll(
      {
        vehicleId: vehicle.idHex,
        vehiclePublicKey: toHex(vehicle.keyPair.publicKey),
        pairingValidityHours: 2,
      },
      "oem",
    );
    const { pairing } = response;
    PairingMaterialSchema.parse(pairing);
    expect(Date.parse(pairing.expiresAt) - t.clock.time).toBeGreaterThan(2 * 3600_000 - 1000);
    expect(Date.parse(pairing.expiresAt) - t.clock.time).toBeLessThanOrEqual(2 * 3600_000);
    const v = pairing.verifier;
    expect({ N: v.N, r: v.r, p: v.p }).toEqual(TEST_SCRYPT_COST);
    const expected = computePairingVerifier(pairing.password, {
      salt: fromHex(v.salt),
      N: v.N,
      r: v.r,
      p: v.p,
    });
    expect(v.w0).toBe(toHex(expected.w0));
    expect(v.L).toBe(toHex(expected.L));
  });

  it("keeps no copy of the password or the verifier", async () => {
    const t = testService();
    const { response } = await enrollVehicle(t);
    const again = await t.service.vehicles.newPairing(response.vehicleId, undefined);
    const dump = t.store.dump();
    for (const pairing of [response.pairing, again.pairing]) {
      expect(dump).not.toContain(pairing.password);
      expect(dump).not.toContain(pairing.verifier.w0);
      expect(dump).not.toContain(pairing.verifier.L);
      expect(dump).not.toContain(pairing.verifier.salt);
    }
    expect(t.store.pairings.get(response.vehicleId)?.pairingId).toBe(again.pairing.pairingId);
  });

  it("answers a repeat with the same certificate, new pairing material and no second Sign", async () => {
    const t = testService();
    const vehicle = await enrollVehicle(t);
    const calls = t.signers["vehicle-oem-root"].calls;
    const repeat = await t.service.vehicles.enroll(
      { vehicleId: vehicle.idHex, vehiclePublicKey: toHex(vehicle.keyPair.publicKey) },
      "oem",
    );
    expect(repeat.created).toBe(false);
    expect(repeat.response.vehicleCertificate).toBe(vehicle.response.vehicleCertificate);
    expect(repeat.response.pairing.pairingId).not.toBe(vehicle.response.pairing.pairingId);
    expect(t.signers["vehicle-oem-root"].calls).toBe(calls);
  });

  it("refuses the same vehicle with another key", async () => {
    const t = testService();
    const vehicle = await enrollVehicle(t);
    await expect(
      t.service.vehicles.enroll(
        { vehicleId: vehicle.idHex, vehiclePublicKey: toHex(generateKeyPair().publicKey) },
        "oem",
      ),
    ).rejects.toThrow(ConflictError);
  });

  it("refuses a key that is not on the curve, writing nothing", async () => {
    const t = testService();
    const bad = generateKeyPair().publicKey;
    bad[64] = bad[64]! ^ 1;
    await expect(
      t.service.vehicles.enroll({ vehicleId: "00".repeat(8), vehiclePublicKey: toHex(bad) }, "oem"),
    ).rejects.toThrow(ValidationError);
    expect(t.store.writes).toBe(0);
  });

  it("refuses new pairing material for an unknown vehicle (404); an owned one gets it (new phone), a re-enrollment does not", async () => {
    const t = testService();
    await expect(t.service.vehicles.newPairing("00".repeat(8), undefined)).rejects.toThrow(NotFoundError);
    const device = await enrollDevice(t);
    const vehicle = await enrollVehicle(t);
    await registerKey(t, device, await device.newEndpoint(vehicle.id, "owner"));
    // New pairing material for an owned vehicle is how a new phone takes over.
    await expect(t.service.vehicles.newPairing(vehicle.idHex, undefined)).resolves.toMatchObject({
      vehicleId: vehicle.idHex,
    });
    await expect(
      t.service.vehicles.enroll(
        { vehicleId: vehicle.idHex, vehiclePublicKey: toHex(vehicle.keyPair.publicKey) },
        "oem",
      ),
    ).rejects.toThrow("already has an owner key");
  });
});
