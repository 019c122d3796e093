// Proves owner pairing's refusals with their reasons (wrong password, attempt limit, missing password or verifier, foreign roots, torn sessions, hostile scrypt cost, a fake car without the vehicle key, a missing car confirmation), that the device keeps the car's confirmation, and that the password never reaches the vehicle.
import { describe, expect, it } from "vitest";
import { tap } from "../../src/emulator/tap.js";
import type { ApduChannel } from "../../src/emulator/vehicle/apdu-channel.js";
import { runOwnerPairing } from "../../src/emulator/vehicle/owner-pairing.js";
import { Vehicle } from "../../src/emulator/vehicle/vehicle.js";
import { encodeCommand, parseResponse } from "../../src/protocol/apdu.js";
import { concatBytes, fromHex, toHex, utf8 } from "../../src/protocol/bytes.js";
import { parseCertificate } from "../../src/protocol/certificate-verifier.js";
import { SUPPORTED_VERSIONS } from "../../src/protocol/constants.js";
import { generateKeyPair, signRaw, systemRandom } from "../../src/protocol/p256.js";
import { verifyPairingConfirmation } from "../../src/protocol/pairing-confirmation.js";
import {
  frameworkSelectCommand,
  PAIRING_INS,
  SPAKE2PLUS_VERSION,
  spake2RequestCommand,
} from "../../src/protocol/pairing-messages.js";
import { derivePasswordScalars } from "../../src/protocol/pairing-password.js";
import { SW } from "../../src/protocol/status-words.js";
import {
  channelTo,
  createDevice,
  createVehicle,
  type Device,
  deviceSnapshot,
  EmulatedOem,
  pairOwner,
  recordingChannel,
  shareKey,
  TEST_SCRYPT_COST,
  vehicleSnapshot,
} from "../support/emulated-pki.js";

function otherPassword(password: string): string {
  const last = Number(password[7]);
  return `${password.slice(0, 7)}${(last + 1) % 10}`;
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack).indexOf(Buffer.from(needle)) !== -1;
}

async function world() {
  const oem = await EmulatedOem.create();
  const car = await createVehicle(oem);
  const phone = await createDevice(oem);
  return { oem, car, phone };
}

/** A channel whose field drops just before the first command with instruction `ins` reaches the device. */
function tornBefore(device: Device, ins: number): ApduChannel {
  return async (command) => {
    if (command[1] === ins) {
      device.se.fieldLost();
      throw new Error("field lost");
    }
    return device.se.transceive(command);
  };
}

describe("owner pairing: wrong password", () => {
  it("fails cleanly on both sides, stores nothing, and counts the attempt", async () => {
    const { oem, car, phone } = await world();
    const material = oem.createPairingMaterial(TEST_SCRYPT_COST);
    car.provisionPairingVerifier(material.verifier, material.pairingId);
    phone.se.enterPairingPassword(otherPassword(material.password));
    const carBefore = vehicleSnapshot(car);
    const phoneBefore = deviceSnapshot(phone);

    await expect(car.pair(channelTo(phone.se))).rejects.toThrow(
      "SPAKE2+ VERIFY: the device rejected the vehicle's evidence (wrong password)",
    );
    phone.se.fieldLost();

    expect(vehicleSnapshot(car)).toEqual({
      ...carBefore,
      pairing: { ...carBefore.pairing, failedAttempts: 1 },
    });
    expect(car.pairingAttemptsLeft).toBe(6);
    expect(car.keys()).toEqual([]);
    expect(deviceSnapshot(phone)).toEqual(phoneBefore);
    expect(phone.se.listKeys()).toEqual([]);

    // The owner types the right password: the same verifier pairs, and the count is cleared with it.
    phone.se.enterPairingPassword(material.password);
    const { keyId } = await car.pair(channelTo(phone.se));
    phone.se.fieldLost();
    expect(car.keys().map((k) => k.keyId)).toEqual([keyId]);
    expect(car.exportState().pairing).toEqual({ verifier: null, failedAttempts: 0 });
  });

  it("blocks pairing after 7 failures, without talking to the device, until a new verifier", async () => {
    const { oem, car, phone } = await world();
    const material = oem.createPairingMaterial(TEST_SCRYPT_COST);
    car.provisionPairingVerifier(material.verifier, material.pairingId);
    phone.se.enterPairingPassword(otherPassword(material.password));
    for (let attempt = 1; attempt <= 7; attempt++) {
      await expect(car.pair(channelTo(phone.se))).rejects.toThrow("(wrong password)");
      phone.se.fieldLost();
      expect(car.pairingAttemptsLeft).toBe(7 - attempt);
    }

    // Even the right password is refused now, before a single APDU.
    phone.se.enterPairingPassword(material.password);
    const recorded = recordingChannel(phone.se);
    await expect(car.pair(recorded.channel)).rejects.toThrow(
      "pairing blocked after 7 failed attempts; a new password is needed",
    );
    expect(recorded.log).toEqual([]);
    expect(car.exportState().pairing.failedAttempts).toBe(7);

    // The automaker issues a new password: the count starts over and pairing works.
    const fresh = oem.createPairingMaterial(TEST_SCRYPT_COST);
    car.provisionPairingVerifier(fresh.verifier, fresh.pairingId);
    expect(car.pairingAttemptsLeft).toBe(7);
    phone.se.enterPairingPassword(fresh.password);
    const { keyId } = await car.pair(channelTo(phone.se));
    phone.se.fieldLost();
    expect(await tap(phone.se, car.doorHandle)).toMatchObject({ decision: "unlocked", keyId });
  });

  it("counts a run in which the device took the vehicle's evidence and never answered (offline guess testing)", async () => {
    const { oem, car, phone } = await world();
    const material = oem.createPairingMaterial(TEST_SCRYPT_COST);
    car.provisionPairingVerifier(material.verifier, material.pairingId);
    phone.se.enterPairingPassword(otherPassword(material.password));
    // An attacker's device learns from the vehicle's evidence whether its guess was right, then drops the field.
    const guessing: ApduChannel = async (command) => {
      const response = await phone.se.transceive(command);
      if (command[1] === PAIRING_INS.SPAKE2_VERIFY) throw new Error("field lost");
      return response;
    };
    await expect(car.pair(guessing)).rejects.toThrow("SPAKE2+ VERIFY: device did not answer (field lost)");
    phone.se.fieldLost();
    expect(car.pairingAttemptsLeft).toBe(6);
  });
});

describe("owner pairing: preconditions", () => {
  it("refuses a device on which no pairing password was entered, without counting an attempt", async () => {
    const { oem, car, phone } = await world();
    const material = oem.createPairingMaterial(TEST_SCRYPT_COST);
    car.provisionPairingVerifier(material.verifier, material.pairingId);
    const carBefore = vehicleSnapshot(car);
    await expect(car.pair(channelTo(phone.se))).rejects.toThrow(
      "the device has not started pairing (no password entered)",
    );
    expect(vehicleSnapshot(car)).toEqual(carBefore);
    expect(car.pairingAttemptsLeft).toBe(7);

    // And the framework applet itself refuses SPAKE2+ REQUEST without a password.
    const select = parseResponse(await phone.se.transceive(encodeCommand(frameworkSelectCommand())));
    expect(select.sw).toBe(SW.OK);
    expect(toHex(select.data)).toBe("5a0201005c0402000100d40100");
    const request = spake2RequestCommand({
      chosenVersion: SPAKE2PLUS_VERSION,
      appletVersions: SUPPORTED_VERSIONS,
      scrypt: { salt: new Uint8Array(16), ...TEST_SCRYPT_COST },
      brand: utf8("Emulated Motors"),
    });
    expect(parseResponse(await phone.se.transceive(encodeCommand(request))).sw).toBe(
      SW.CONDITIONS_NOT_SATISFIED,
    );
  });

  it("refuses to pair when the automaker provisioned no verifier", async () => {
    const { car, phone } = await world();
    phone.se.enterPairingPassword("12345678");
    const recorded = recordingChannel(phone.se);
    await expect(car.pair(recorded.channel)).rejects.toThrow(
      "no pairing verifier provisioned (the automaker starts pairing)",
    );
    expect(recorded.log).toEqual([]);
    expect(car.pairingAttemptsLeft).toBe(0);
  });
});

describe("owner pairing: certificates", () => {
  it("the device refuses a vehicle certificate from another Vehicle OEM root; no attempt is counted", async () => {
    const deviceMaker = await EmulatedOem.create("Phone Maker");
    const otherCarMaker = await EmulatedOem.create("Other Motors");
    // The car is certified by a root the phone does not trust (it trusts its own OEM's vehicle root).
    const car = await createVehicle(otherCarMaker, { deviceOems: [deviceMaker] });
    const phone = await createDevice(deviceMaker);
    const material = otherCarMaker.createPairingMaterial(TEST_SCRYPT_COST);
    car.provisionPairingVerifier(material.verifier, material.pairingId);
    phone.se.enterPairingPassword(material.password);
    const carBefore = vehicleSnapshot(car);
    const phoneBefore = deviceSnapshot(phone);

    await expect(car.pair(channelTo(phone.se))).rejects.toThrow(
      "WRITE DATA: device answered 6300 (verification failed)",
    );
    phone.se.fieldLost();
    expect(vehicleSnapshot(car)).toEqual(carBefore);
    expect(car.pairingAttemptsLeft).toBe(7);
    expect(deviceSnapshot(phone)).toEqual(phoneBefore);

    // The device's reason, through the same verification its wallet runs on that certificate.
    const vehicleCertificate = car.vehicleCertificate!;
    await expect(
      phone.se.createFriendKey({
        vehicleIdentifier: car.vehicleIdentifier,
        vehicleCertificate,
        profile: { kind: "full" },
      }),
    ).rejects.toMatchObject({ name: "CertificateVerificationError", reason: "untrusted-anchor" });
  });

  it("the car refuses a device chain from an untrusted Device OEM root, naming the reason", async () => {
    const carMaker = await EmulatedOem.create("Car Maker");
    const unknownPhoneMaker = await EmulatedOem.create("Unknown Phones");
    const car = await createVehicle(carMaker); // trusts only Car Maker's Device OEM root
    const phone = await createDevice(unknownPhoneMaker, { vehicleOem: carMaker });
    const material = carMaker.createPairingMaterial(TEST_SCRYPT_COST);
    car.provisionPairingVerifier(material.verifier, material.pairingId);
    phone.se.enterPairingPassword(material.password);
    const carBefore = vehicleSnapshot(car);
    const phoneBefore = deviceSnapshot(phone);

    const refusal = (await car.pair(channelTo(phone.se)).then(
      () => undefined,
      (error: unknown) => error,
    )) as Error;
    phone.se.fieldLost();
    expect(refusal).toMatchObject({ name: "PairingRefusedError", countsAsAttempt: false });
    expect(refusal.message).toMatch(/^untrusted-anchor: /);
    // The car stopped before CONTROL FLOW: the device discards its staged key, the car stores nothing.
    expect(vehicleSnapshot(car)).toEqual(carBefore);
    expect(deviceSnapshot(phone)).toEqual(phoneBefore);
  });
});

describe("owner pairing: torn sessions", () => {
  const tears = [
    { after: "SPAKE2+ VERIFY", before: PAIRING_INS.WRITE_DATA, step: "WRITE DATA" },
    { after: "WRITE DATA", before: PAIRING_INS.GET_DATA, step: "GET DATA" },
    { after: "GET DATA", before: 0x3c, step: "CONTROL FLOW" },
  ];
  it.each(tears)("a field lost after $after stores nothing on either side", async ({ before, step }) => {
    const { oem, car, phone } = await world();
    const material = oem.createPairingMaterial(TEST_SCRYPT_COST);
    car.provisionPairingVerifier(material.verifier, material.pairingId);
    phone.se.enterPairingPassword(material.password);
    const carBefore = vehicleSnapshot(car);
    const phoneBefore = deviceSnapshot(phone);

    await expect(car.pair(tornBefore(phone, before))).rejects.toThrow(
      `${step}: device did not answer (field lost)`,
    );
    expect(vehicleSnapshot(car)).toEqual(carBefore);
    expect(deviceSnapshot(phone)).toEqual(phoneBefore);
    expect(car.pairingAttemptsLeft).toBe(7);

    // Holding the phone to the car again finishes the job with the same password.
    const { keyId } = await car.pair(channelTo(phone.se));
    phone.se.fieldLost();
    expect(phone.se.listKeys().map((k) => k.keyId)).toEqual([keyId]);
    expect(await tap(phone.se, car.doorHandle)).toMatchObject({ decision: "unlocked", keyId });
  });
});

describe("owner pairing: what crosses the air", () => {
  it("never sends the password or w1 to the vehicle, nor keeps them there", async () => {
    const { oem, car, phone } = await world();
    const material = oem.createPairingMaterial(TEST_SCRYPT_COST);
    const { w1 } = derivePasswordScalars(material.password, material.verifier);
    car.provisionPairingVerifier(material.verifier, material.pairingId);
    phone.se.enterPairingPassword(material.password);
    const recorded = recordingChannel(phone.se);
    await car.pair(recorded.channel);
    phone.se.fieldLost();

    const secrets = [utf8(material.password), w1];
    const air = concatBytes(...recorded.log.flatMap((e) => [e.command, e.response]));
    for (const secret of secrets) expect(contains(air, secret)).toBe(false);
    const stored = JSON.stringify(car.exportState());
    for (const text of [material.password, toHex(utf8(material.password)), toHex(w1)]) {
      expect(stored).not.toContain(text);
    }
    // What the car does hold is the verifier half, until pairing consumed it.
    expect(car.exportState().pairing.verifier).toBeNull();
  });

  it("uses GET RESPONSE chaining for the device's certificates (answer longer than 256 bytes)", async () => {
    const { oem, car, phone } = await world();
    const material = oem.createPairingMaterial(TEST_SCRYPT_COST);
    car.provisionPairingVerifier(material.verifier, material.pairingId);
    phone.se.enterPairingPassword(material.password);
    const recorded = recordingChannel(phone.se);
    await car.pair(recorded.channel);
    phone.se.fieldLost();

    const getDataIndex = recorded.log.findIndex((e) => e.command[1] === PAIRING_INS.GET_DATA);
    const chain = [recorded.log[getDataIndex]!];
    for (const e of recorded.log.slice(getDataIndex + 1)) {
      if (e.command[1] !== PAIRING_INS.GET_RESPONSE) break;
      chain.push(e);
    }
    const statuses = chain.map((e) => parseResponse(e.response).sw);
    const more = statuses.filter((sw) => sw >> 8 === 0x61);
    expect(more.length).toBeGreaterThanOrEqual(1);
    expect(statuses.at(-1)).toBe(SW.OK);
    expect(chain.length).toBe(more.length + 1);
    // Each GET RESPONSE is `00 C0 00 00 Le`, its Le the byte count the previous 61XX announced.
    for (let i = 1; i < chain.length; i++) {
      expect(toHex(chain[i]!.command)).toBe(`00c00000${toHex(Uint8Array.of(statuses[i - 1]! & 0xff))}`);
    }
    const total = chain.reduce((n, e) => n + parseResponse(e.response).data.length, 0);
    expect(total).toBeGreaterThan(256);
    for (const e of chain.slice(0, -1)) expect(parseResponse(e.response).data.length).toBe(256);
  });
});

describe("owner pairing: hostile vehicle", () => {
  it("the device refuses an absurd scrypt cost (N = 2^30) before spending any memory on it", async () => {
    const { oem, car, phone } = await world();
    const material = oem.createPairingMaterial(TEST_SCRYPT_COST);
    car.provisionPairingVerifier(material.verifier, material.pairingId);
    // A vehicle whose stored verifier was edited to ask for 128 GiB of scrypt memory.
    const state = car.exportState();
    state.pairing.verifier = { ...state.pairing.verifier!, N: 2 ** 30 };
    const hostile = Vehicle.restore(state);
    phone.se.enterPairingPassword(material.password);
    const phoneBefore = deviceSnapshot(phone);

    await expect(hostile.pair(channelTo(phone.se))).rejects.toThrow("SPAKE2+ REQUEST: device answered 6A80");
    phone.se.fieldLost();
    expect(deviceSnapshot(phone)).toEqual(phoneBefore);
    expect(hostile.pairingAttemptsLeft).toBe(7);

    // The same at the APDU level: SELECT, then a REQUEST with N = 2^30 is answered 6A80 (wrong data).
    await phone.se.transceive(encodeCommand(frameworkSelectCommand()));
    const request = spake2RequestCommand({
      chosenVersion: SPAKE2PLUS_VERSION,
      appletVersions: SUPPORTED_VERSIONS,
      scrypt: { salt: material.verifier.salt, N: 2 ** 30, r: 8, p: 1 },
      brand: utf8("Emulated Motors"),
    });
    expect(parseResponse(await phone.se.transceive(encodeCommand(request))).sw).toBe(SW.WRONG_DATA);
    phone.se.fieldLost();
  });
});

describe("owner pairing: remove all keys", () => {
  it("the dashboard's 'remove all keys' stops every key, and pairing again with a new verifier works", async () => {
    const { oem, car, phone } = await world();
    const friend = await createDevice(oem);
    const { keyId: ownerKeyId } = await pairOwner(oem, car, phone.se);
    const shared = await shareKey(phone.se, ownerKeyId, friend.se, { kind: "full" });
    expect((await tap(friend.se, car.doorHandle)).keyId).toBe(shared.keyId);

    expect(car.removeAllKeys().sort()).toEqual([ownerKeyId, shared.keyId].sort());
    expect(car.keys()).toEqual([]);
    expect(await tap(phone.se, car.doorHandle)).toMatchObject({
      decision: "refused",
      keyId: ownerKeyId,
      reason: "AUTH1: key not enrolled in this vehicle",
    });
    // The friend's package is still in its mailbox, but the car remembers the key was removed.
    expect(await tap(friend.se, car.doorHandle)).toMatchObject({
      decision: "refused",
      keyId: shared.keyId,
      reason: "enrollment: this key was revoked",
    });

    // The used verifier is gone: pairing needs a new one from the automaker.
    phone.se.enterPairingPassword("12345678");
    await expect(car.pair(channelTo(phone.se))).rejects.toThrow("no pairing verifier provisioned");

    // The phone still holds its dead key for this car; the wallet deletes it, then pairs afresh.
    phone.se.deleteKey(ownerKeyId);
    const again = await pairOwner(oem, car, phone.se);
    expect(again).toMatchObject({ replacedOwnerKeyId: null });
    expect(again.keyId).not.toBe(ownerKeyId);
    expect(await tap(phone.se, car.doorHandle, { intent: "unlock" })).toMatchObject({
      decision: "unlocked",
      keyId: again.keyId,
    });
    expect(await tap(phone.se, car.dashboard)).toMatchObject({ decision: "started", keyId: again.keyId });
  });

  it("a phone that still holds a key for the car cannot pair over it", async () => {
    const { oem, car, phone } = await world();
    const first = await pairOwner(oem, car, phone.se);
    car.removeAllKeys();
    const phoneBefore = deviceSnapshot(phone);
    await expect(pairOwner(oem, car, phone.se)).rejects.toThrow("WRITE DATA: device answered 6F00");
    expect(deviceSnapshot(phone)).toEqual(phoneBefore);
    expect(phone.se.listKeys().map((k) => k.keyId)).toEqual([first.keyId]);
    expect(car.keys()).toEqual([]);
    // A refused vehicle-side step is not a password guess.
    expect(car.pairingAttemptsLeft).toBe(7);
  });
});

describe("owner pairing: a fake car", () => {
  /**
   * The attacker's own phone (an honest, unmodified SE) with a password of his
   * own, held to a car he plays himself: he has the victim car's genuine
   * vehicle certificate (every friend gets it in a share invitation) and a
   * verifier for his password, but not the victim car's private key.
   */
  async function fakeCarAttack(sign: (victimKey: Uint8Array) => (message: Uint8Array) => Uint8Array) {
    const { oem, car: victim, phone: attacker } = await world();
    const own = oem.createPairingMaterial(TEST_SCRYPT_COST);
    attacker.se.enterPairingPassword(own.password);
    const before = deviceSnapshot(attacker);
    const victimKey = fromHex(victim.exportState().privateKey);
    const run = runOwnerPairing(channelTo(attacker.se), {
      vehicleIdentifier: victim.vehicleIdentifier,
      vehicleCertificate: parseCertificate(victim.vehicleCertificate!).der,
      verifier: own.verifier,
      pairingId: fromHex(own.pairingId),
      signAsVehicle: sign(victimKey),
      brand: utf8("Emulated Motors"),
      deviceOemRoots: [oem.trustAnchors.deviceOemRoot],
      now: new Date(),
      random: systemRandom,
    });
    return { run, attacker, before };
  }

  it("without the car's private key, an honest SE certifies no owner key (6300 at WRITE DATA)", async () => {
    const intruder = generateKeyPair();
    const { run, attacker, before } = await fakeCarAttack(
      () => (message) => signRaw(intruder.privateKey, message),
    );
    await expect(run).rejects.toThrow("WRITE DATA: device answered 6300 (verification failed)");
    attacker.se.fieldLost();
    expect(deviceSnapshot(attacker)).toEqual(before);
    expect(attacker.se.listKeys()).toEqual([]);
  });

  it("a proof of some other message by the real key does not pass either", async () => {
    // E.g. a signature the car made in another session: the device's fresh X is not in it.
    const { run, attacker, before } = await fakeCarAttack(
      (victimKey) => (message) => signRaw(victimKey, concatBytes(message, Uint8Array.of(0))),
    );
    await expect(run).rejects.toThrow("WRITE DATA: device answered 6300 (verification failed)");
    attacker.se.fieldLost();
    expect(deviceSnapshot(attacker)).toEqual(before);
  });

  it("the device stores no owner key without the car's confirmation for that key", async () => {
    const intruder = generateKeyPair();
    // The car's key signs the proof; the confirmation comes from another key: refused, nothing stored.
    const { run, attacker, before } = await fakeCarAttack(
      (victimKey) => (message) =>
        contains(message, utf8("VPRF")) ? signRaw(victimKey, message) : signRaw(intruder.privateKey, message),
    );
    await expect(run).rejects.toThrow(
      "WRITE DATA (pairing confirmation): device answered 6300 (verification failed)",
    );
    attacker.se.fieldLost();
    expect(deviceSnapshot(attacker)).toEqual(before);
  });
});

describe("owner pairing: the car's confirmation", () => {
  it("the device keeps the car's signed confirmation with the new owner key", async () => {
    const { oem, car, phone } = await world();
    const material = oem.createPairingMaterial(TEST_SCRYPT_COST);
    car.provisionPairingVerifier(material.verifier, material.pairingId);
    phone.se.enterPairingPassword(material.password);
    const { keyId } = await car.pair(channelTo(phone.se));
    phone.se.fieldLost();
    const facts = verifyPairingConfirmation(phone.se.pairingConfirmation(keyId)!, car.publicKey);
    expect(toHex(facts.pairingId)).toBe(material.pairingId);
    expect(facts.vehicleIdentifier).toEqual(car.vehicleIdentifier);
    expect(toHex(facts.endpointPublicKey)).toBe(phone.se.key(keyId).endpointPublicKey);
  });

  it("a car whose verifier came without a pairing id refuses to pair", async () => {
    const { oem, car, phone } = await world();
    const material = oem.createPairingMaterial(TEST_SCRYPT_COST);
    expect(() => car.provisionPairingVerifier(material.verifier, "00")).toThrow(/pairing id must be 8 bytes/);
    expect(car.pairingAttemptsLeft).toBe(0);
    phone.se.enterPairingPassword(material.password);
    await expect(car.pair(channelTo(phone.se))).rejects.toThrow(/no pairing verifier provisioned/);
  });
});
