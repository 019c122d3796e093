// Key tracking: an owner key registers with its endpoint chain to
// the Device OEM root, signed by the endpoint key, against unexpired pairing
// material, and becomes the vehicle's owner; a friend key needs the owner's
// attestation verified with the owner key on record; an owner key needs the
// car's pairing confirmation for it, under the vehicle's current pairing
// material, and nothing less (no confirmation, another key's or vehicle's,
// another signer's, spent or replaced material, a stranger's migration);
// every registration gets
// an RCPT receipt signed by the Vehicle OEM root (one Sign); repeats return
// the stored record; each refusal names its reason and writes nothing.
import { describe, expect, it } from "vitest";
import { KeySchema } from "../../src/api/issuance-schemas.js";
import { fromHex, toHex } from "../../src/protocol/bytes.js";
import { verifyKeyTrackingReceipt } from "../../src/protocol/key-tracking-receipt.js";
import {
  AuthenticationError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  ReplayError,
  ValidationError,
} from "../../src/service/errors.js";
import { attestFriendKey, confirmPairing, testVehicle } from "../support/test-device.js";
import {
  carConfirmation,
  deviceRequest,
  enrollDevice,
  enrollVehicle,
  registerKey,
  type TestService,
  testService,
} from "../support/test-service.js";

async function ownerSetup(t: TestService = testService()) {
  const device = await enrollDevice(t);
  const vehicle = await enrollVehicle(t);
  const owner = await device.newEndpoint(vehicle.id, "owner");
  return { t, device, vehicle, owner };
}

describe("KeyTracking: owner keys", () => {
  it("registers the owner key, returns a verifiable receipt and sets the vehicle's owner", async () => {
    const { t, device, vehicle, owner } = await ownerSetup();
    const vehicleCalls = t.signers["vehicle-oem-root"].calls;
    const { created, response } = await registerKey(t, device, owner);
    expect(created).toBe(true);
    expect(t.signers["vehicle-oem-root"].calls).toBe(vehicleCalls + 1);
    KeySchema.parse(response);
    expect(response).toMatchObject({ keyId: owner.keyId, vehicleId: vehicle.idHex, role: "owner" });
    const root = await t.service.roots.get("vehicle-oem-root");
    const facts = verifyKeyTrackingReceipt(fromHex(response.receipt), root.publicKey);
    expect(toHex(facts.endpointPublicKey)).toBe(toHex(owner.keyPair.publicKey));
    expect(toHex(facts.vehicleIdentifier)).toBe(vehicle.idHex);
    expect(facts.role).toBe("owner");
    expect(facts.registeredAt).toBe(t.clock.time);
    expect(t.store.vehicles.get(vehicle.idHex)?.owner?.keyId).toBe(owner.keyId);
    expect(t.store.pairings.has(vehicle.idHex)).toBe(false);
    expect(await t.service.keys.get(owner.keyId)).toEqual(response);
    expect(await t.service.keys.listForVehicle(vehicle.idHex)).toEqual({
      vehicleId: vehicle.idHex,
      keys: [response],
    });
  });

  it("answers a repeat with the stored record and no second Sign; a replay is refused", async () => {
    const { t, device, owner } = await ownerSetup();
    const first = await registerKey(t, device, owner);
    const calls = t.signers["vehicle-oem-root"].calls;
    const again = await registerKey(t, device, owner);
    expect(again).toEqual({ created: false, response: first.response });
    expect(t.signers["vehicle-oem-root"].calls).toBe(calls);
    const { body, request } = deviceRequest(
      "POST",
      "/v1/keys",
      {
        endpointCertificate: owner.certificatePem,
        instanceCaCertificate: device.instanceCaCertificatePem,
        pairingConfirmation: toHex(await carConfirmation(t, owner)),
      },
      (o) => owner.sign(o),
    );
    await t.service.keys.register(body, request);
    await expect(t.service.keys.register(body, request)).rejects.toThrow(ReplayError);
  });

  it("refuses a second owner key for the vehicle", async () => {
    const { t, device, vehicle, owner } = await ownerSetup();
    await registerKey(t, device, owner);
    const secondPhone = await enrollDevice(t);
    const other = await secondPhone.newEndpoint(vehicle.id, "owner");
    const writes = t.store.writes;
    await expect(registerKey(t, secondPhone, other)).rejects.toThrow(ConflictError);
    expect(t.store.writes).toBe(writes);
  });

  it("refuses an owner key once the pairing material has expired", async () => {
    const { t, device, owner } = await ownerSetup();
    const confirmation = await carConfirmation(t, owner);
    t.clock.time += 169 * 3600_000; // the default validity is 168 hours
    const { body, request } = deviceRequest(
      "POST",
      "/v1/keys",
      {
        endpointCertificate: owner.certificatePem,
        instanceCaCertificate: device.instanceCaCertificatePem,
        pairingConfirmation: toHex(confirmation),
      },
      (o) => owner.sign({ ...o, timestamp: t.clock.time }),
    );
    const writes = t.store.writes;
    await expect(t.service.keys.register(body, request)).rejects.toThrow(
      "no unexpired owner-pairing material",
    );
    expect(t.store.writes).toBe(writes);
  });

  it("refuses an unknown vehicle (404)", async () => {
    const t = testService();
    const device = await enrollDevice(t);
    const endpoint = await device.newEndpoint(new Uint8Array(16).fill(7), "owner");
    await expect(registerKey(t, device, endpoint)).rejects.toThrow(NotFoundError);
    expect(t.store.keys.size).toBe(0);
  });

  it("refuses a chain from an SE the Device OEM never certified (403)", async () => {
    const { t, vehicle } = await ownerSetup();
    // Enrolled with another service (another Device OEM root).
    const stranger = await enrollDevice(testService());
    const endpoint = await stranger.newEndpoint(vehicle.id, "owner");
    await expect(registerKey(t, stranger, endpoint)).rejects.toThrow(ForbiddenError);
    await expect(registerKey(t, stranger, endpoint)).rejects.toThrow("untrusted-anchor");
    expect(t.store.keys.size).toBe(0);
  });

  it("refuses an endpoint certificate with the instance CA of another SE (403 wrong-issuer)", async () => {
    const { t, owner } = await ownerSetup();
    const other = await enrollDevice(t);
    const { body, request } = deviceRequest(
      "POST",
      "/v1/keys",
      { endpointCertificate: owner.certificatePem, instanceCaCertificate: other.instanceCaCertificatePem },
      (o) => owner.sign(o),
    );
    await expect(t.service.keys.register(body, request)).rejects.toThrow(ForbiddenError);
    // Refused before the nonce was spent: the same request fails the same way, not as a replay.
    await expect(t.service.keys.register(body, request)).rejects.toThrow("wrong-issuer");
  });

  it("refuses a request signed by another key than the endpoint certificate's", async () => {
    const { t, device, vehicle, owner } = await ownerSetup();
    const other = await device.newEndpoint(vehicle.id, "owner");
    const { body, request } = deviceRequest(
      "POST",
      "/v1/keys",
      { endpointCertificate: owner.certificatePem, instanceCaCertificate: device.instanceCaCertificatePem },
      (o) => other.sign(o),
    );
    await expect(t.service.keys.register(body, request)).rejects.toThrow(
      `carkey-signer must be endpoint:${owner.keyId}`,
    );
    const forged = deviceRequest(
      "POST",
      "/v1/keys",
      { endpointCertificate: owner.certificatePem, instanceCaCertificate: device.instanceCaCertificatePem },
      (o) => other.sign({ ...o, signer: owner.signer }),
    );
    await expect(t.service.keys.register(forged.body, forged.request)).rejects.toThrow(AuthenticationError);
    expect(t.store.keys.size).toBe(0);
  });

  it("refuses an owner key that brings a key attestation (400)", async () => {
    const { t, device, vehicle, owner } = await ownerSetup();
    const stray = attestFriendKey(owner, owner, vehicle.id);
    await expect(registerKey(t, device, owner, stray)).rejects.toThrow(ValidationError);
  });

  it("refuses a certificate that does not parse (400)", async () => {
    const { t, device, owner } = await ownerSetup();
    const broken = owner.certificatePem.replace(/\n[A-Za-z0-9+/]{10}/, "\nAAAAAAAAAA");
    const { body, request } = deviceRequest(
      "POST",
      "/v1/keys",
      { endpointCertificate: broken, instanceCaCertificate: device.instanceCaCertificatePem },
      (o) => owner.sign(o),
    );
    await expect(t.service.keys.register(body, request)).rejects.toThrow(ValidationError);
  });
});

describe("KeyTracking: friend keys", () => {
  it("registers a friend key attested by the owner, with the granted profile", async () => {
    const { t, device, vehicle, owner } = await ownerSetup();
    await registerKey(t, device, owner);
    const friendDevice = await enrollDevice(t);
    const friend = await friendDevice.newEndpoint(vehicle.id, "friend");
    const attestation = attestFriendKey(owner, friend, vehicle.id, { kind: "drive", speedLimitKmh: 80 }, 7);
    const { created, response } = await registerKey(t, friendDevice, friend, attestation);
    expect(created).toBe(true);
    expect(response).toMatchObject({
      role: "friend",
      profile: { kind: "drive", speedLimitKmh: 80 },
      attestationSerial: 7,
    });
    // Who attested is neither stored nor returned.
    expect(response).not.toHaveProperty("ownerKeyId");
    const root = await t.service.roots.get("vehicle-oem-root");
    expect(verifyKeyTrackingReceipt(fromHex(response.receipt), root.publicKey).attestationSerial).toBe(7);
    const list = await t.service.keys.listForVehicle(vehicle.idHex);
    expect(list.keys.map((k) => k.role).sort()).toEqual(["friend", "owner"]);
  });

  it("needs the attestation (400) and an owner on record (409)", async () => {
    const { t, device, vehicle, owner } = await ownerSetup();
    const friend = await device.newEndpoint(vehicle.id, "friend");
    await expect(registerKey(t, device, friend)).rejects.toThrow("needs the owner's keyAttestation");
    await expect(registerKey(t, device, friend, attestFriendKey(owner, friend, vehicle.id))).rejects.toThrow(
      "has no owner key on record",
    );
  });

  it("refuses an attestation by another key than the owner on record (403)", async () => {
    const { t, device, vehicle, owner } = await ownerSetup();
    await registerKey(t, device, owner);
    const friend = await device.newEndpoint(vehicle.id, "friend");
    const notOwner = await device.newEndpoint(vehicle.id, "owner");
    const writes = t.store.writes;
    await expect(
      registerKey(t, device, friend, attestFriendKey(notOwner, friend, vehicle.id)),
    ).rejects.toThrow(ForbiddenError);
    expect(t.store.writes).toBe(writes);
  });

  it("refuses an attestation for another friend key or vehicle (403)", async () => {
    const { t, device, vehicle, owner } = await ownerSetup();
    await registerKey(t, device, owner);
    const friend = await device.newEndpoint(vehicle.id, "friend");
    const someoneElse = await device.newEndpoint(vehicle.id, "friend");
    await expect(
      registerKey(t, device, friend, attestFriendKey(owner, someoneElse, vehicle.id)),
    ).rejects.toThrow("for another key");
    await expect(
      registerKey(t, device, friend, attestFriendKey(owner, friend, new Uint8Array(16).fill(9))),
    ).rejects.toThrow("for another vehicle");
  });

  it("refuses an attestation that does not parse (400)", async () => {
    const { t, device, vehicle, owner } = await ownerSetup();
    await registerKey(t, device, owner);
    const friend = await device.newEndpoint(vehicle.id, "friend");
    await expect(registerKey(t, device, friend, Uint8Array.of(0x70, 0x00))).rejects.toThrow(ValidationError);
  });
});

describe("KeyTracking: reads", () => {
  it("404s unknown keys and vehicles", async () => {
    const t = testService();
    await expect(t.service.keys.get("0123456789ab")).rejects.toThrow(NotFoundError);
    await expect(t.service.keys.listForVehicle("00".repeat(8))).rejects.toThrow(NotFoundError);
  });
});

describe("KeyTracking: the car's pairing confirmation", () => {
  /** What a refused owner registration must leave as it was. */
  function snapshot(t: TestService, vehicleId: string) {
    return {
      writes: t.store.writes,
      keys: [...t.store.keys.keys()].sort(),
      owner: t.store.vehicles.get(vehicleId)?.owner,
      pairing: t.store.pairings.get(vehicleId),
    };
  }

  async function refused(
    t: TestService,
    vehicleId: string,
    attempt: () => Promise<unknown>,
    type: new (...args: never[]) => Error,
    message: string | RegExp,
  ) {
    const before = snapshot(t, vehicleId);
    const error = await attempt().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(type);
    expect((error as Error).message).toMatch(message);
    expect(snapshot(t, vehicleId)).toEqual(before);
  }

  it("refuses an owner key without a confirmation (400 naming body.pairingConfirmation)", async () => {
    const { t, device, vehicle, owner } = await ownerSetup();
    await refused(
      t,
      vehicle.idHex,
      () => registerKey(t, device, owner, undefined, { pairingConfirmation: null }),
      ValidationError,
      "an owner key needs the vehicle's pairingConfirmation",
    );
    const error = await registerKey(t, device, owner, undefined, { pairingConfirmation: null }).catch(
      (e: unknown) => e as ValidationError,
    );
    expect((error as ValidationError).fields.map((f) => f.path)).toEqual(["body.pairingConfirmation"]);
  });

  it("refuses the car's confirmation of another key: an attacker's key cannot ride on the owner's", async () => {
    const { t, vehicle, owner } = await ownerSetup();
    const attacker = await enrollDevice(t);
    const attackerKey = await attacker.newEndpoint(vehicle.id, "owner");
    const ownersConfirmation = await carConfirmation(t, owner);
    await refused(
      t,
      vehicle.idHex,
      () => registerKey(t, attacker, attackerKey, undefined, { pairingConfirmation: ownersConfirmation }),
      ForbiddenError,
      "the pairing confirmation is for another key than the endpoint certificate",
    );
  });

  it("refuses a confirmation signed by a key other than the vehicle's on record", async () => {
    const { t, device, vehicle, owner } = await ownerSetup();
    const pairingId = t.store.pairings.get(vehicle.idHex)!.pairingId;
    const forged = confirmPairing(testVehicle().keyPair, {
      pairingId,
      vehicleId: vehicle.id,
      endpoint: owner,
    });
    await refused(
      t,
      vehicle.idHex,
      () => registerKey(t, device, owner, undefined, { pairingConfirmation: forged }),
      ForbiddenError,
      "the pairing confirmation is not from the vehicle: pairing confirmation: signature does not verify",
    );
  });

  it("refuses a confirmation naming another vehicle, even signed by this vehicle's key", async () => {
    const { t, device, vehicle, owner } = await ownerSetup();
    const pairingId = t.store.pairings.get(vehicle.idHex)!.pairingId;
    const otherVehicle = new Uint8Array(16).fill(5);
    const elsewhere = confirmPairing(vehicle.keyPair, {
      pairingId,
      vehicleId: otherVehicle,
      endpoint: owner,
    });
    await refused(
      t,
      vehicle.idHex,
      () => registerKey(t, device, owner, undefined, { pairingConfirmation: elsewhere }),
      ForbiddenError,
      "the pairing confirmation is for another vehicle than the endpoint certificate",
    );
  });

  it("refuses a confirmation under replaced or spent pairing material (409), and one dated ahead (403)", async () => {
    const { t, device, vehicle, owner } = await ownerSetup();
    const old = await carConfirmation(t, owner);
    await t.service.vehicles.newPairing(vehicle.idHex, {});
    await refused(
      t,
      vehicle.idHex,
      () => registerKey(t, device, owner, undefined, { pairingConfirmation: old }),
      ConflictError,
      /names pairing material [0-9a-f]{16}, which is spent or replaced/,
    );
    const ahead = confirmPairing(vehicle.keyPair, {
      pairingId: t.store.pairings.get(vehicle.idHex)!.pairingId,
      vehicleId: vehicle.id,
      endpoint: owner,
      confirmedAt: t.clock.time + 10 * 60_000,
    });
    await refused(
      t,
      vehicle.idHex,
      () => registerKey(t, device, owner, undefined, { pairingConfirmation: ahead }),
      ForbiddenError,
      "dated ahead",
    );
    // The current material's confirmation registers and spends it: a second phone confirmed under the
    // same material (say the car was tricked into pairing twice) cannot become owner on that material,
    // neither now nor once new material exists.
    const current = await carConfirmation(t, owner);
    const currentPairingId = t.store.pairings.get(vehicle.idHex)!.pairingId;
    await registerKey(t, device, owner, undefined, { pairingConfirmation: current });
    const second = await enrollDevice(t);
    const secondKey = await second.newEndpoint(vehicle.id, "owner");
    const spent = confirmPairing(vehicle.keyPair, {
      pairingId: currentPairingId,
      vehicleId: vehicle.id,
      endpoint: secondKey,
    });
    await refused(
      t,
      vehicle.idHex,
      () => registerKey(t, second, secondKey, undefined, { pairingConfirmation: spent }),
      ConflictError,
      "no unexpired owner-pairing material",
    );
    await t.service.vehicles.newPairing(vehicle.idHex, {});
    await refused(
      t,
      vehicle.idHex,
      () => registerKey(t, second, secondKey, undefined, { pairingConfirmation: spent }),
      ConflictError,
      "which is spent or replaced",
    );
    expect(t.store.vehicles.get(vehicle.idHex)?.owner?.keyId).toBe(owner.keyId);
  });

  it("refuses a friend key that brings a pairing confirmation", async () => {
    const { t, device, vehicle, owner } = await ownerSetup();
    await registerKey(t, device, owner);
    const friendDevice = await enrollDevice(t);
    const friend = await friendDevice.newEndpoint(vehicle.id, "friend");
    await refused(
      t,
      vehicle.idHex,
      () =>
        registerKey(t, friendDevice, friend, attestFriendKey(owner, friend, vehicle.id), {
          pairingConfirmation: confirmPairing(vehicle.keyPair, {
            pairingId: "00".repeat(8),
            vehicleId: vehicle.id,
            endpoint: friend,
          }),
        }),
      ValidationError,
      "a friend key takes no pairingConfirmation",
    );
  });

  it("a stranger cannot take over in a new-phone window; the car-confirmed new phone can", async () => {
    const { t, device, vehicle, owner } = await ownerSetup();
    await registerKey(t, device, owner);
    // The owner asked the automaker for new material (a new phone): the window is open.
    await t.service.vehicles.newPairing(vehicle.idHex, {});
    const stranger = await enrollDevice(t);
    const strangerKey = await stranger.newEndpoint(vehicle.id, "owner");
    const ownerBefore = t.store.keys.get(owner.keyId);
    await refused(
      t,
      vehicle.idHex,
      () => registerKey(t, stranger, strangerKey, undefined, { pairingConfirmation: null }),
      ValidationError,
      "needs the vehicle's pairingConfirmation",
    );
    // His own SE's key "confirmed" by a car he plays with a key of his own: not the vehicle's signature.
    const selfMade = confirmPairing(testVehicle().keyPair, {
      pairingId: t.store.pairings.get(vehicle.idHex)!.pairingId,
      vehicleId: vehicle.id,
      endpoint: strangerKey,
    });
    await refused(
      t,
      vehicle.idHex,
      () => registerKey(t, stranger, strangerKey, undefined, { pairingConfirmation: selfMade }),
      ForbiddenError,
      "not from the vehicle",
    );
    expect(t.store.keys.get(owner.keyId)).toEqual(ownerBefore);
    expect(t.store.vehicles.get(vehicle.idHex)?.owner?.keyId).toBe(owner.keyId);

    // The real new phone, confirmed by the car, takes over.
    const newPhone = await enrollDevice(t);
    const newOwner = await newPhone.newEndpoint(vehicle.id, "owner");
    await registerKey(t, newPhone, newOwner);
    expect(t.store.vehicles.get(vehicle.idHex)?.owner?.keyId).toBe(newOwner.keyId);
    expect(t.store.keys.get(owner.keyId)?.state).toBe("revoked");
  });
});
