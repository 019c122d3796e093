// Proves SE and vehicle state survive a restart (export → JSON → restore), and that a transaction torn off mid-way leaves both stored states as they were (the car only logs the refusal).
import { describe, expect, it } from "vitest";
import { unseal } from "../../src/emulator/secure-element/sealed-storage.js";
import { SecureElement } from "../../src/emulator/secure-element/secure-element.js";
import { tap } from "../../src/emulator/tap.js";
import type { ApduChannel } from "../../src/emulator/vehicle/apdu-channel.js";
import type { ReaderPosition } from "../../src/emulator/vehicle/tap-result.js";
import { Vehicle } from "../../src/emulator/vehicle/vehicle.js";
import { encodeCommand, parseResponse } from "../../src/protocol/apdu.js";
import { fromHex, toHex } from "../../src/protocol/bytes.js";
import { INS, PROTOCOL_VERSION, SUPPORTED_VERSIONS, TransactionCode } from "../../src/protocol/constants.js";
import { encodeMailboxOperations, Mailbox } from "../../src/protocol/mailbox-operations.js";
import { ecdhX, generateKeyPair, signRaw, xCoordinate } from "../../src/protocol/p256.js";
import { SecureMessagingSession } from "../../src/protocol/secure-messaging.js";
import { SW } from "../../src/protocol/status-words.js";
import {
  authenticationPayload,
  deriveKdh,
  deriveStandardKeys,
  type TransactionContext,
} from "../../src/protocol/transaction-keys.js";
import {
  auth0Command,
  auth1Command,
  endTransactionCommand,
  exchangeCommand,
  parseAuth0Response,
  selectCommand,
} from "../../src/protocol/transaction-messages.js";

function setup() {
  const { se, sealingKey } = SecureElement.create();
  const car = Vehicle.create();
  const key = se.provisionKey({ vehicleIdentifier: car.vehicleIdentifier, vehiclePublicKey: car.publicKey });
  car.enrollKey({ endpointPublicKey: fromHex(key.endpointPublicKey) });
  return { se, sealingKey, car, key };
}

/** The SE's stored state with its sealed part opened: `sealed` itself is re-encrypted (fresh nonce) on every export. */
function seStored(se: SecureElement, sealingKey: Uint8Array) {
  const { sealed, ...visible } = se.exportState();
  return { ...visible, secrets: JSON.parse(new TextDecoder().decode(unseal(sealingKey, sealed))) as unknown };
}

function carStored(car: Vehicle) {
  const { log: _log, ...rest } = car.exportState();
  return rest;
}

function viaJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

describe("state survives a restart", () => {
  it("restores the SE and the vehicle from JSON, keeping persistent keys, tokens, settings and the log", async () => {
    const { se, sealingKey, car, key } = setup();
    const otherCar = Vehicle.create();
    const other = se.provisionKey({
      vehicleIdentifier: otherCar.vehicleIdentifier,
      vehiclePublicKey: otherCar.publicKey,
      express: false,
    });
    expect(await tap(se, car.doorHandle)).toMatchObject({ decision: "unlocked", flow: "standard" });

    const seAfter = SecureElement.restore(viaJson(se.exportState()), sealingKey);
    const carAfter = Vehicle.restore(viaJson(car.exportState()));
    expect(seStored(seAfter, sealingKey)).toEqual(seStored(se, sealingKey));
    expect(carAfter.exportState()).toEqual(car.exportState());
    expect(seAfter.seId).toBe(se.seId);
    expect(seAfter.hasPersistentKey(key.keyId)).toBe(true);
    expect(seAfter.key(other.keyId).express).toBe(false);

    // The persistent key survived on both sides: the next door tap is fast.
    expect(await tap(seAfter, carAfter.doorHandle)).toMatchObject({ decision: "locked", flow: "fast" });
    // The immobilizer token survived in the sealed confidential mailbox and in the car.
    expect(await tap(seAfter, carAfter.dashboard)).toMatchObject({ decision: "started", flow: "standard" });
    expect(carAfter.transactionLog.map((e) => e.decision)).toEqual(["unlocked", "locked", "started"]);
    expect(carAfter.doorsLocked).toBe(true);
  });

  it("keeps the lock, power-off time, power reserve and terminated keys across a restart", async () => {
    const { se, sealingKey, car, key } = setup();
    const now = Date.parse("2026-06-01T10:00:00Z");
    const { se: phone, sealingKey: phoneKey } = SecureElement.create({
      now: () => now,
      powerReserveSeconds: 60,
    });
    const phoneKeyInfo = phone.provisionKey({
      vehicleIdentifier: car.vehicleIdentifier,
      vehiclePublicKey: car.publicKey,
    });
    car.enrollKey({ endpointPublicKey: fromHex(phoneKeyInfo.endpointPublicKey) });
    phone.powerOff();
    const phoneAfter = SecureElement.restore(viaJson(phone.exportState()), phoneKey, {
      now: () => now + 61_000,
    });
    expect(phoneAfter.isPoweredOff).toBe(true);
    expect((await tap(phoneAfter, car.doorHandle)).reason).toContain("6985");

    se.lock();
    let seAfter = SecureElement.restore(viaJson(se.exportState()), sealingKey);
    expect(seAfter.isLocked).toBe(true);
    expect((await tap(seAfter, car.doorHandle)).reason).toContain("6283");
    seAfter.unlock();
    seAfter.deleteKey(key.keyId);
    seAfter = SecureElement.restore(viaJson(seAfter.exportState()), sealingKey);
    expect(seAfter.terminatedKeys().map((t) => t.keyId)).toEqual([key.keyId]);
    expect((await tap(seAfter, car.doorHandle)).reason).toContain("6A88");
  });
});

/** Forwards the first `answered` commands to the SE, then drops the field and fails like a lost NFC link. */
function tearingChannel(se: SecureElement, answered: number) {
  const sent: number[] = [];
  const answers: Uint8Array[] = [];
  const channel: ApduChannel = async (command) => {
    if (sent.length === answered) {
      se.fieldLost();
      throw new Error("field lost");
    }
    sent.push(command[1]!);
    const answer = await se.transceive(command);
    answers.push(answer);
    return answer;
  };
  return { channel, sent, answers };
}

describe("a torn transaction changes no stored state", () => {
  const cases: Array<{
    name: string;
    primed: boolean;
    reader: ReaderPosition;
    sent: number[];
    next: "standard" | "fast";
    /** Once the key authenticated, the decision stands (it rests on the authentication alone). */
    decision: "refused" | "unlocked" | "started";
  }> = [
    {
      name: "first transaction, after AUTH0",
      primed: false,
      reader: "door",
      sent: [INS.SELECT, INS.AUTH0],
      next: "standard",
      decision: "refused",
    },
    {
      name: "first transaction, after AUTH1",
      primed: false,
      reader: "door",
      sent: [INS.SELECT, INS.AUTH0, INS.AUTH1],
      next: "standard",
      decision: "unlocked",
    },
    {
      name: "first transaction, after the EXCHANGE that wrote the immobilizer token",
      primed: false,
      reader: "door",
      sent: [INS.SELECT, INS.AUTH0, INS.AUTH1, INS.EXCHANGE],
      next: "standard",
      decision: "unlocked",
    },
    {
      name: "fast transaction, after AUTH0",
      primed: true,
      reader: "door",
      sent: [INS.SELECT, INS.AUTH0],
      next: "fast",
      decision: "unlocked",
    },
    {
      name: "engine start, after the EXCHANGE that read the token (a new Kpersistent was pending)",
      primed: true,
      reader: "dashboard",
      sent: [INS.SELECT, INS.AUTH0, INS.AUTH1, INS.EXCHANGE],
      next: "fast",
      decision: "started",
    },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const { se, sealingKey, car, key } = setup();
      if (c.primed) expect((await tap(se, car.doorHandle, { intent: "lock" })).flow).toBe("standard");
      const seBefore = seStored(se, sealingKey);
      const carBefore = carStored(car);
      const logBefore = car.transactionLog.length;

      const torn = tearingChannel(se, c.sent.length);
      const result = await car.tap(c.reader, torn.channel);

      // The device answered every command it got before the field dropped.
      expect(torn.sent).toEqual(c.sent);
      for (const answer of torn.answers) expect(parseResponse(answer).sw).toBe(SW.OK);
      expect(result.decision).toBe(c.decision);
      expect(result.reason).toContain("did not answer (field lost)");
      if (c.decision !== "refused") expect(result.reason).toContain("nothing from this transaction kept");
      expect(seStored(se, sealingKey)).toEqual(seBefore);
      // Nothing kept; only the doors may have moved.
      const { doorsLocked: _after, ...carAfter } = carStored(car);
      const { doorsLocked: _before, ...carBeforeKeys } = carBefore;
      expect(carAfter).toEqual(carBeforeKeys);
      expect(car.transactionLog).toHaveLength(logBefore + 1);
      expect(car.transactionLog.at(-1)).toEqual(result);

      // Nothing is stuck: the next tap runs, with the keys both sides kept.
      const next = await tap(se, car.doorHandle, { intent: "unlock" });
      expect(next).toMatchObject({ decision: "unlocked", flow: c.next, keyId: key.keyId });
    });
  }
});

/** A reader written out by hand, APDU by APDU, so the test sees each answer and can stop anywhere. */
function handReader(se: SecureElement, car: Vehicle) {
  const identity = car.exportState();
  const send = async (command: Parameters<typeof encodeCommand>[0]) =>
    parseResponse(await se.transceive(encodeCommand(command)));
  return {
    send,
    async authenticate() {
      expect((await send(selectCommand())).sw).toBe(SW.OK);
      const ephemeral = generateKeyPair();
      const transactionId = crypto.getRandomValues(new Uint8Array(16));
      const auth0 = await send(
        auth0Command({
          fast: false,
          transactionCode: TransactionCode.UNLOCK,
          version: PROTOCOL_VERSION,
          vehicleEphemeralPublic: ephemeral.publicKey,
          transactionId,
          vehicleIdentifier: car.vehicleIdentifier,
        }),
      );
      expect(auth0.sw).toBe(SW.OK);
      const endpointEphemeral = parseAuth0Response(auth0.data).endpointEphemeralPublic;
      const context: TransactionContext = {
        vehicleIdentifier: car.vehicleIdentifier,
        vehicleEphemeralX: xCoordinate(ephemeral.publicKey),
        endpointEphemeralX: xCoordinate(endpointEphemeral),
        transactionId,
        flags: Uint8Array.of(0x00, TransactionCode.UNLOCK),
        version: PROTOCOL_VERSION,
        versions: SUPPORTED_VERSIONS,
      };
      const keys = deriveStandardKeys(
        deriveKdh(ecdhX(ephemeral.privateKey, endpointEphemeral), transactionId),
        context,
      );
      const signature = signRaw(fromHex(identity.privateKey), authenticationPayload(context, "vehicle"));
      const auth1 = await send(auth1Command(signature));
      expect(auth1.sw).toBe(SW.OK);
      const secure = new SecureMessagingSession(keys);
      secure.unprotectResponse(auth1.data);
      return { secure, persistent: keys.persistent };
    },
  };
}

describe("a hand-driven transaction torn after its EXCHANGE write", () => {
  it("keeps the written token and Kpersistent out of storage until CONTROL FLOW, and commits them after it", async () => {
    const { se, sealingKey, car, key } = setup();
    const reader = handReader(se, car);
    const token = crypto.getRandomValues(new Uint8Array(16));
    const write = encodeMailboxOperations([
      { kind: "write", mailbox: Mailbox.CONFIDENTIAL, offset: 0, data: token },
    ]);
    const before = seStored(se, sealingKey);

    // Torn: the write was accepted, then the field dropped.
    let session = await reader.authenticate();
    const exchange = await reader.send(exchangeCommand(session.secure.protectCommand(write)));
    expect(exchange.sw).toBe(SW.OK);
    session.secure.unprotectResponse(exchange.data);
    expect(seStored(se, sealingKey)).toEqual(before); // nothing reaches storage mid-transaction either
    se.fieldLost();
    expect(seStored(se, sealingKey)).toEqual(before);
    expect(se.hasPersistentKey(key.keyId)).toBe(false);
    // After the drop, the old session is gone: its EXCHANGE is out of sequence.
    expect((await reader.send(exchangeCommand(session.secure.protectCommand(write)))).sw).toBe(
      SW.CONDITIONS_NOT_SATISFIED,
    );

    // Positive control: the same transaction ended by CONTROL FLOW does change the stored state.
    session = await reader.authenticate();
    const committed = await reader.send(exchangeCommand(session.secure.protectCommand(write)));
    expect(committed.sw).toBe(SW.OK);
    expect((await reader.send(endTransactionCommand())).sw).toBe(SW.OK);
    const after = seStored(se, sealingKey) as {
      secrets: { confidentialMailbox: Record<string, string>; persistent: Record<string, string> };
    };
    expect(after).not.toEqual(before);
    expect(after.secrets.confidentialMailbox[key.keyId]!.startsWith(toHex(token))).toBe(true);
    expect(after.secrets.persistent[key.keyId]).toBe(toHex(session.persistent));
  });

  it("a restart mid-transaction is a torn transaction too", async () => {
    const { se, sealingKey, car } = setup();
    const before = seStored(se, sealingKey);
    const session = await handReader(se, car).authenticate();
    const restarted = SecureElement.restore(viaJson(se.exportState()), sealingKey);
    expect(seStored(restarted, sealingKey)).toEqual(before);
    const write = encodeMailboxOperations([
      { kind: "write", mailbox: Mailbox.CONFIDENTIAL, offset: 0, data: new Uint8Array(16).fill(1) },
    ]);
    const answer = parseResponse(
      await restarted.transceive(encodeCommand(exchangeCommand(session.secure.protectCommand(write)))),
    );
    expect(answer.sw).toBe(SW.CONDITIONS_NOT_SATISFIED);
    expect(seStored(restarted, sealingKey)).toEqual(before);
  });
});
