// Proves the vehicle works with a phone it did not write (one built from the public transaction
// description, with no mailbox support), that version negotiation picks the highest common version
// whatever the device's order, and that the device's CONTROL FLOW commits exactly on P1 = 01.
import { describe, expect, it } from "vitest";
import { SecureElement } from "../../src/emulator/secure-element/secure-element.js";
import { tap } from "../../src/emulator/tap.js";
import type { TraceEntry } from "../../src/emulator/vehicle/reader-transaction.js";
import { Vehicle } from "../../src/emulator/vehicle/vehicle.js";
import { encodeCommand, parseResponse } from "../../src/protocol/apdu.js";
import { fromHex, toHex } from "../../src/protocol/bytes.js";
import { TransactionCode } from "../../src/protocol/constants.js";
import { generateKeyPair } from "../../src/protocol/p256.js";
import { SW } from "../../src/protocol/status-words.js";
import { auth0Command, selectCommand } from "../../src/protocol/transaction-messages.js";
import { PublicDescriptionDevice } from "../support/public-description-device.js";

function carWithForeignPhone(versions?: string) {
  const car = Vehicle.create();
  const phone = new PublicDescriptionDevice({
    vehicleIdentifier: car.vehicleIdentifier,
    vehiclePublicKey: car.publicKey,
    ...(versions ? { versions } : {}),
  });
  const keyId = car.enrollKey({ endpointPublicKey: phone.endpointPublic });
  return { car, phone, keyId };
}

const NO_MAILBOX = "the device has no mailbox support (EXCHANGE answered 6D00, instruction not supported)";

describe("a phone built from the public description only (no mailbox support)", () => {
  it("unlocks with a standard transaction, locks with a fast one, and is refused engine start for want of a token", async () => {
    const { car, phone, keyId } = carWithForeignPhone();
    const trace: TraceEntry[] = [];

    const unlock = await car.tap("door", phone.transceive, "unlock", { trace: (e) => trace.push(e) });
    expect(unlock).toMatchObject({ decision: "unlocked", flow: "standard", keyId });
    expect(unlock.skipped).toEqual([`immobilizer token provisioning skipped: ${NO_MAILBOX}`]);
    expect(unlock.reason).toContain(NO_MAILBOX);
    expect(car.doorsLocked).toBe(false);
    expect(trace.map((e) => e.step)).toEqual(["SELECT", "AUTH0", "AUTH1", "EXCHANGE", "CONTROL FLOW"]);
    expect(trace[3]!.answer).toBe("6d00");
    expect(trace[4]).toMatchObject({ command: "803c0100", answer: "9000" });
    expect(phone.persistent).toBeDefined();
    // The car kept Kpersistent, not a token.
    expect(car.exportState().endpoints[0]).toHaveProperty("persistentKey");
    expect(car.exportState().endpoints[0]).not.toHaveProperty("immobilizerToken");

    const lock = await car.tap("door", phone.transceive, "lock");
    expect(lock).toMatchObject({ decision: "locked", flow: "fast", keyId });
    expect(lock.skipped).toBeUndefined();
    expect(car.doorsLocked).toBe(true);

    const start = await car.tap("dashboard", phone.transceive);
    expect(start).toMatchObject({ decision: "refused", flow: "standard", keyId });
    expect(start.reason).toBe(`no immobilizer token: provisioning failed, ${NO_MAILBOX}`);
    expect(car.transactionLog.at(-1)).toEqual(start);

    // The car retries provisioning at every standard transaction; the doors keep working.
    const retry: TraceEntry[] = [];
    const again = await car.tap("dashboard", phone.transceive, undefined, { trace: (e) => retry.push(e) });
    expect(again.decision).toBe("refused");
    expect(retry.map((e) => e.step)).toContain("EXCHANGE");
    expect(await car.tap("door", phone.transceive, "unlock")).toMatchObject({
      decision: "unlocked",
      flow: "fast",
    });
    expect(phone.controlFlows.every((cf) => cf === "0100")).toBe(true);
  });

  it("a key the car does not know: the refusal after AUTH1 names the key and the flow", async () => {
    const car = Vehicle.create();
    const phone = new PublicDescriptionDevice({
      vehicleIdentifier: car.vehicleIdentifier,
      vehiclePublicKey: car.publicKey,
    });
    // Not enrolled: the car looks for an enrollment package in the private mailbox, which this phone has not.
    const result = await car.tap("door", phone.transceive, "unlock");
    expect(result).toMatchObject({ decision: "refused", flow: "standard", keyId: toHex(phone.keyId) });
    expect(result.reason).toBe("EXCHANGE: device answered 6D00 (instruction not supported)");
    expect(result.failure).toMatchObject({ step: "EXCHANGE", answer: "6d00" });
    expect(car.transactionLog.at(-1)).toEqual(result);
    expect(car.doorsLocked).toBe(true);
  });

  it("a wrong reader key: the phone refuses AUTH1 and the car logs the step, command, answer and expectation", async () => {
    const { car, phone } = carWithForeignPhone();
    const other = generateKeyPair();
    const impostor = Vehicle.restore({
      ...car.exportState(),
      publicKey: toHex(other.publicKey),
      privateKey: toHex(other.privateKey),
    });
    const result = await impostor.tap("door", phone.transceive, "unlock");
    expect(result).toMatchObject({ decision: "refused", flow: null, keyId: null });
    expect(result.reason).toBe("AUTH1: device answered 6300 (verification failed)");
    expect(result.failure).toMatchObject({
      step: "AUTH1",
      answer: "6300",
      expected: expect.stringContaining("9000"),
    });
    expect(result.failure!.command.startsWith("80810000")).toBe(true);
  });

  describe("versions: the car picks the highest version both support, whatever the device's order", () => {
    const pairs: Array<[string, string | null]> = [
      ["0200", "0200"],
      ["0100", "0100"],
      ["02000100", "0200"],
      ["01000200", "0200"],
      ["03000100", "0100"],
      ["0300", null],
    ];
    for (const [offered, chosen] of pairs) {
      it(`device offers ${offered}: ${chosen ?? "refused"}`, async () => {
        const { car, phone } = carWithForeignPhone(offered);
        const first = await car.tap("door", phone.transceive, "unlock");
        if (chosen === null) {
          expect(first.decision).toBe("refused");
          expect(first.reason).toBe(
            "SELECT: no common protocol version (device offers 0300; this vehicle speaks 0200, 0100)",
          );
          expect(first.failure).toMatchObject({ step: "SELECT", answer: "5c0203009000" });
          return;
        }
        expect(first).toMatchObject({ decision: "unlocked", flow: "standard" });
        // The fast transaction derives with the same version: its cryptogram matches.
        expect(await car.tap("door", phone.transceive, "lock")).toMatchObject({
          decision: "locked",
          flow: "fast",
        });
        expect(phone.chosenVersions).toEqual([chosen, chosen]);
      });
    }
  });
});

describe("our device: versions and CONTROL FLOW", () => {
  function ourPhone() {
    const { se } = SecureElement.create();
    const car = Vehicle.create();
    const key = se.provisionKey({
      vehicleIdentifier: car.vehicleIdentifier,
      vehiclePublicKey: car.publicKey,
    });
    car.enrollKey({ endpointPublicKey: fromHex(key.endpointPublicKey) });
    return { se, car, key };
  }

  it("accepts in AUTH0 every version it offers in SELECT, and only those", async () => {
    const { se, car } = ourPhone();
    const select = parseResponse(await se.transceive(encodeCommand(selectCommand())));
    expect(toHex(select.data)).toBe("5c0402000100");
    for (const [version, status] of [
      ["0200", SW.OK],
      ["0100", SW.OK],
      ["0300", SW.WRONG_DATA],
    ] as const) {
      await se.transceive(encodeCommand(selectCommand()));
      const auth0 = auth0Command({
        fast: false,
        transactionCode: TransactionCode.UNLOCK,
        version: fromHex(version),
        vehicleEphemeralPublic: generateKeyPair().publicKey,
        transactionId: crypto.getRandomValues(new Uint8Array(16)),
        vehicleIdentifier: car.vehicleIdentifier,
      });
      expect(parseResponse(await se.transceive(encodeCommand(auth0))).sw).toBe(status);
    }
    se.fieldLost();
  });

  for (const p2 of [0x00, 0x01, 0x80]) {
    const hex = p2.toString(16).padStart(2, "0");
    it(`CONTROL FLOW 01 ${hex} commits what the transaction established, records P2, and the next fast matches`, async () => {
      const { se, car, key } = ourPhone();
      const trace: TraceEntry[] = [];
      const result = await tap(se, car.doorHandle);
      expect(result.flow).toBe("standard");
      // A second standard transaction (a fresh Kpersistent) ending with this P2.
      const restandard = Vehicle.restore({
        ...car.exportState(),
        endpoints: car.exportState().endpoints.map(({ persistentKey: _k, ...e }) => e),
      });
      const ended = await restandard.tap("door", (c) => se.transceive(c), "lock", {
        ending: { p1: 0x01, p2 },
        trace: (e) => trace.push(e),
      });
      se.fieldLost();
      expect(ended).toMatchObject({ decision: "locked", flow: "standard" });
      expect(trace.at(-1)).toEqual({ step: "CONTROL FLOW", command: `803c01${hex}`, answer: "9000" });
      expect(se.key(key.keyId).lastTransaction).toMatchObject({ flow: "standard", controlFlowP2: hex });
      // Both sides hold the new Kpersistent: the next fast transaction matches.
      expect(await tap(se, restandard.doorHandle, { intent: "unlock" })).toMatchObject({
        decision: "unlocked",
        flow: "fast",
      });
      // A fast transaction without EXCHANGE proved nothing to the device: it records nothing.
      expect(se.key(key.keyId).lastTransaction).toMatchObject({ flow: "standard", controlFlowP2: hex });
    });
  }

  it("a reader that sends a fast AUTH0 and then CONTROL FLOW 01 xx, proving nothing, changes no stored state", async () => {
    const { se, car, key } = ourPhone();
    expect((await tap(se, car.doorHandle)).flow).toBe("standard");
    const before = se.key(key.keyId);
    await se.transceive(encodeCommand(selectCommand()));
    const auth0 = auth0Command({
      fast: true,
      transactionCode: TransactionCode.UNLOCK,
      version: fromHex("0200"),
      vehicleEphemeralPublic: generateKeyPair().publicKey,
      transactionId: crypto.getRandomValues(new Uint8Array(16)),
      vehicleIdentifier: car.vehicleIdentifier,
    });
    expect(toHex((await se.transceive(encodeCommand(auth0))).slice(-2))).toBe("9000");
    expect(toHex(await se.transceive(fromHex("803c0105")))).toBe("9000");
    expect(se.key(key.keyId)).toEqual(before);
  });

  for (const [p1, p2, status] of [
    [0x00, 0x00, SW.NOTHING_COMMITTED],
    [0x00, 0x05, SW.NOTHING_COMMITTED],
    [0x40, 0xa0, SW.WRONG_P1P2],
  ] as const) {
    const cf = [p1, p2].map((b) => b.toString(16).padStart(2, "0")).join(" ");
    it(`CONTROL FLOW ${cf} commits nothing and answers ${status.toString(16).toUpperCase()}`, async () => {
      const { se, car, key } = ourPhone();
      expect((await tap(se, car.doorHandle, { intent: "lock" })).flow).toBe("standard");
      const committed = se.key(key.keyId).lastTransaction;
      const doorsLocked = car.doorsLocked;
      // The car forgets its Kpersistent so this transaction is standard and would establish a new one.
      const { endpoints } = car.exportState();
      const oldPersistent = endpoints[0]!.persistentKey;
      const trace: TraceEntry[] = [];
      const probe = Vehicle.restore({
        ...car.exportState(),
        endpoints: endpoints.map(({ persistentKey: _k, ...e }) => e),
      });
      const result = await probe.tap("door", (c) => se.transceive(c), "unlock", {
        ending: { p1, p2 },
        trace: (e) => trace.push(e),
      });
      se.fieldLost();
      expect(trace.at(-1)).toEqual({
        step: "CONTROL FLOW",
        command: `803c${cf.replace(" ", "")}`,
        answer: status.toString(16).padStart(4, "0"),
      });
      expect(result).toMatchObject({ decision: "refused", flow: "standard", keyId: key.keyId });
      expect(result.reason).toContain("nothing kept");
      expect(probe.doorsLocked).toBe(doorsLocked);
      expect(probe.exportState().endpoints[0]).not.toHaveProperty("persistentKey");
      expect(se.key(key.keyId).lastTransaction).toEqual(committed);
      // The device kept its old Kpersistent: the original car's next fast transaction still matches.
      expect(oldPersistent).toBeDefined();
      expect(await tap(se, car.doorHandle, { intent: "unlock" })).toMatchObject({ flow: "fast" });
    });
  }
});
