// Proves the vehicle refuses hostile or broken device answers with a logged reason and no other state change, and the SE answers hostile readers with a status word, never an exception.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { unseal } from "../../src/emulator/secure-element/sealed-storage.js";
import { SecureElement } from "../../src/emulator/secure-element/secure-element.js";
import { tap } from "../../src/emulator/tap.js";
import type { ApduChannel } from "../../src/emulator/vehicle/apdu-channel.js";
import type { ReaderPosition, TapResult } from "../../src/emulator/vehicle/tap-result.js";
import { Vehicle } from "../../src/emulator/vehicle/vehicle.js";
import {
  type CommandApdu,
  encodeCommand,
  encodeResponse,
  parseCommand,
  parseResponse,
} from "../../src/protocol/apdu.js";
import { tlv } from "../../src/protocol/ber-tlv.js";
import { concatBytes, fromHex, toHex } from "../../src/protocol/bytes.js";
import {
  INS,
  PROTOCOL_VERSION,
  SUPPORTED_VERSIONS,
  TAG,
  TransactionCode,
} from "../../src/protocol/constants.js";
import { ecdhX, generateKeyPair, type KeyPair, signRaw, xCoordinate } from "../../src/protocol/p256.js";
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
  auth0Response,
  auth1Command,
  auth1ResponsePlaintext,
  endTransactionCommand,
  exchangeCommand,
  parseAuth0,
  parseAuth0Response,
  selectCommand,
} from "../../src/protocol/transaction-messages.js";

const OK = Uint8Array.of(0x90, 0x00);

/** A device and a car that already ran one standard transaction (Kpersistent and immobilizer token on both sides). */
async function primed() {
  const { se, sealingKey } = SecureElement.create();
  const car = Vehicle.create();
  const key = se.provisionKey({ vehicleIdentifier: car.vehicleIdentifier, vehiclePublicKey: car.publicKey });
  car.enrollKey({ endpointPublicKey: fromHex(key.endpointPublicKey) });
  const pristine = se.exportState();
  expect(await tap(se, car.doorHandle, { intent: "lock" })).toMatchObject({
    decision: "locked",
    flow: "standard",
  });
  expect(car.doorsLocked).toBe(true);
  return { se, sealingKey, car, key, pristine };
}

/** The real SE behind a channel that may rewrite each answer; records the instructions sent. */
function tampering(
  se: SecureElement,
  tamper: (ins: number, answer: Uint8Array, command: Uint8Array) => Uint8Array = (_ins, answer) => answer,
) {
  const sent: number[] = [];
  const channel: ApduChannel = async (command) => {
    sent.push(command[1]!);
    return tamper(command[1]!, await se.transceive(command), command);
  };
  return { channel, sent };
}

function carStored(car: Vehicle) {
  const { log: _log, ...rest } = car.exportState();
  return rest;
}

/** Taps through `channel` and checks what every refusal must hold: reason, and nothing stored but the log entry. */
async function expectRefused(
  car: Vehicle,
  reader: ReaderPosition,
  channel: ApduChannel,
  reason: RegExp | string,
) {
  const before = carStored(car);
  const doorsLocked = car.doorsLocked;
  const logLength = car.transactionLog.length;
  const result = await car.tap(reader, channel);
  expect(result.decision).toBe("refused");
  if (typeof reason === "string") expect(result.reason).toContain(reason);
  else expect(result.reason).toMatch(reason);
  expect(carStored(car)).toEqual(before);
  expect(car.doorsLocked).toBe(doorsLocked);
  expect(car.transactionLog).toHaveLength(logLength + 1);
  expect(car.transactionLog.at(-1)).toEqual(result);
  return result;
}

/**
 * A hostile device built from the protocol functions: it runs a correct key
 * schedule (so its AUTH1 answer decrypts and its MAC verifies) but claims
 * `keyId` while signing with a key of its own.
 */
function impostor(keyId: Uint8Array, signingKey: KeyPair): ApduChannel {
  let ephemeral: KeyPair | undefined;
  let context: TransactionContext | undefined;
  let vehicleEphemeral: Uint8Array | undefined;
  return async (bytes) => {
    const command = parseCommand(bytes);
    if (command.ins === INS.SELECT)
      return encodeResponse({ data: tlv(TAG.VERSIONS, SUPPORTED_VERSIONS), sw: SW.OK });
    if (command.ins === INS.AUTH0) {
      const a = parseAuth0(command);
      ephemeral = generateKeyPair();
      vehicleEphemeral = a.vehicleEphemeralPublic;
      context = {
        vehicleIdentifier: a.vehicleIdentifier,
        vehicleEphemeralX: xCoordinate(a.vehicleEphemeralPublic),
        endpointEphemeralX: xCoordinate(ephemeral.publicKey),
        transactionId: a.transactionId,
        flags: Uint8Array.of(command.p1, command.p2),
        version: a.version,
        versions: SUPPORTED_VERSIONS,
      };
      return encodeResponse({
        data: auth0Response({ endpointEphemeralPublic: ephemeral.publicKey }),
        sw: SW.OK,
      });
    }
    if (command.ins === INS.AUTH1 && ephemeral && context && vehicleEphemeral) {
      const keys = deriveStandardKeys(
        deriveKdh(ecdhX(ephemeral.privateKey, vehicleEphemeral), context.transactionId),
        context,
      );
      const plaintext = auth1ResponsePlaintext({
        keyIdentifier: keyId,
        endpointSignature: signRaw(signingKey.privateKey, authenticationPayload(context, "device")),
      });
      return encodeResponse({ data: new SecureMessagingSession(keys).protectResponse(plaintext), sw: SW.OK });
    }
    return Uint8Array.of(0x6d, 0x00);
  };
}

describe("the vehicle refuses a hostile device and keeps its state", () => {
  it("refuses a signature by another key than the one the device claims", async () => {
    const { car, key } = await primed();
    const channel = impostor(fromHex(key.keyId), generateKeyPair());
    const result = await expectRefused(car, "door", channel, "AUTH1: endpoint signature does not verify");
    expect(result).toMatchObject({ keyId: key.keyId, flow: "standard" });
  });

  it("refuses an AUTH1 answer whose MAC does not verify", async () => {
    const { se, car } = await primed();
    const { channel, sent } = tampering(se, (ins, answer) => {
      if (ins !== INS.AUTH1) return answer;
      const flipped = answer.slice();
      flipped[flipped.length - 3]! ^= 0x01; // the last data byte: inside the MAC
      return flipped;
    });
    await expectRefused(car, "dashboard", channel, "AUTH1: MAC does not verify");
    expect(sent).toEqual([INS.SELECT, INS.AUTH0, INS.AUTH1]);
  });

  it("refuses a replayed transaction", async () => {
    const { se, car } = await primed();
    const recorded: Uint8Array[] = [];
    const recorder = tampering(se, (_ins, answer) => {
      recorded.push(answer);
      return answer;
    });
    expect((await car.tap("dashboard", recorder.channel)).decision).toBe("started");
    se.fieldLost();
    expect(recorder.sent).toEqual([INS.SELECT, INS.AUTH0, INS.AUTH1, INS.EXCHANGE, INS.CONTROL_FLOW]);

    // A relay that learnt those answers plays them back to a new transaction, in order.
    let next = 0;
    const replay: ApduChannel = async () => recorded[next++] ?? Uint8Array.of(0x6f, 0x00);
    await expectRefused(car, "dashboard", replay, "AUTH1: MAC does not verify");
    expect(next).toBe(3);
  });

  it("refuses a replayed fast cryptogram: no match, AUTH1 fallback, refused", async () => {
    const { se, car } = await primed();
    let oldAuth0: Uint8Array | undefined;
    const recorder = tampering(se, (ins, answer) => {
      if (ins === INS.AUTH0) oldAuth0 = answer;
      return answer;
    });
    expect(await car.tap("door", recorder.channel)).toMatchObject({ decision: "unlocked", flow: "fast" });
    se.fieldLost();
    expect(parseAuth0Response(oldAuth0!.subarray(0, -2)).cryptogram).toHaveLength(16);

    const { channel, sent } = tampering(se, (ins, answer) => (ins === INS.AUTH0 ? oldAuth0! : answer));
    const result = await expectRefused(car, "door", channel, "AUTH1: device answered 6300");
    expect(sent).toEqual([INS.SELECT, INS.AUTH0, INS.AUTH1]);
    expect(result.flow).toBeNull();
  });

  it("refuses malformed TLV in the AUTH0 answer", async () => {
    const { se, car } = await primed();
    const point = generateKeyPair().publicKey;
    const malformed = [
      Uint8Array.of(0x86, 0x41, 0x04, 0x01), // length runs past the data
      Uint8Array.of(0x86, 0x81), // long length form cut short
      Uint8Array.of(0x86, 0x82, 0xff), // two-byte length cut short
      tlv(0x9d, new Uint8Array(16)), // cryptogram without the mandatory 86
      tlv(0x86, point.subarray(0, 64)), // a point one byte short
      tlv(0x86, concatBytes(Uint8Array.of(0x04), new Uint8Array(64).fill(0xff))), // not on the curve
      concatBytes(tlv(0x86, point), tlv(0x9d, new Uint8Array(15))), // a short cryptogram
      new Uint8Array(0),
    ];
    for (const data of malformed) {
      const { channel } = tampering(se, (ins, answer) =>
        ins === INS.AUTH0 ? concatBytes(data, OK) : answer,
      );
      const result = await expectRefused(car, "door", channel, /^AUTH0: /);
      se.fieldLost();
      expect(result.flow).toBeNull();
    }
  });

  it("refuses any AUTH0 answer of random bytes (fast-check)", async () => {
    const { se, car } = await primed();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (data) => {
        const { channel } = tampering(se, (ins, answer) =>
          ins === INS.AUTH0 ? concatBytes(data, OK) : answer,
        );
        await expectRefused(car, "door", channel, /^AUTH0: /);
        se.fieldLost();
      }),
      { numRuns: 60 },
    );
  });

  it("refuses a truncated response APDU at every step before the key authenticated, and engine start without its token", async () => {
    const { se, car } = await primed();
    const steps: Array<[number, string]> = [
      [INS.SELECT, "SELECT: malformed response APDU"],
      [INS.AUTH0, "AUTH0: malformed response APDU"],
      [INS.AUTH1, "AUTH1: malformed response APDU"],
      // After authentication the mailbox is best effort, but engine start needs the token it carries.
      [
        INS.EXCHANGE,
        "no immobilizer token: reading it back failed, EXCHANGE failed (malformed response APDU)",
      ],
    ];
    for (const [step, reason] of steps) {
      const { channel } = tampering(se, (ins, answer) => (ins === step ? answer.subarray(0, 1) : answer));
      const result = await expectRefused(car, "dashboard", channel, reason);
      expect(result.failure === undefined).toBe(step === INS.EXCHANGE);
      if (result.failure) expect(result.failure.answer).toHaveLength(2);
      se.fieldLost();
    }
    // A truncated CONTROL FLOW answer: the start stands (the token was valid), nothing of the transaction is kept.
    const before = carStored(car);
    const { channel } = tampering(se, (ins, answer) =>
      ins === INS.CONTROL_FLOW ? answer.subarray(0, 1) : answer,
    );
    const result = await car.tap("dashboard", channel);
    se.fieldLost();
    expect(result.decision).toBe("started");
    expect(result.reason).toContain(
      "CONTROL FLOW: malformed response APDU; nothing from this transaction kept",
    );
    expect(carStored(car)).toEqual(before);
    // The car still works with the honest device.
    expect((await tap(se, car.dashboard)).decision).toBe("started");
  });

  it("a non-9000 answer to CONTROL FLOW: the door decision stands, neither Kpersistent nor the immobilizer token is kept", async () => {
    // A key's first transaction: a success would store both.
    const { se } = SecureElement.create();
    const car = Vehicle.create();
    const key = se.provisionKey({
      vehicleIdentifier: car.vehicleIdentifier,
      vehiclePublicKey: car.publicKey,
    });
    car.enrollKey({ endpointPublicKey: fromHex(key.endpointPublicKey) });
    const sent: number[] = [];
    const channel: ApduChannel = async (command) => {
      sent.push(command[1]!);
      // The device never sees CONTROL FLOW; it answers "conditions not satisfied".
      return command[1] === INS.CONTROL_FLOW ? Uint8Array.of(0x69, 0x85) : await se.transceive(command);
    };
    const result = await car.tap("door", channel);
    se.fieldLost();
    expect(sent).toEqual([INS.SELECT, INS.AUTH0, INS.AUTH1, INS.EXCHANGE, INS.CONTROL_FLOW]);
    expect(result).toMatchObject({ decision: "unlocked", keyId: key.keyId, flow: "standard" });
    expect(result.reason).toContain("CONTROL FLOW 01 00: device answered 6985");
    expect(result.reason).toContain("nothing from this transaction kept");
    expect(car.exportState().endpoints[0]).not.toHaveProperty("persistentKey");
    expect(car.exportState().endpoints[0]).not.toHaveProperty("immobilizerToken");
    expect(se.hasPersistentKey(key.keyId)).toBe(false);
  });

  it("refuses engine start when the EXCHANGE answer carries a wrong immobilizer token", async () => {
    const { se, sealingKey, car, key, pristine } = await primed();
    // The same endpoint key, from a copy of the device taken before the car wrote its token.
    const stale = SecureElement.restore(pristine, sealingKey);
    const { channel, sent } = tampering(stale);
    const result = await expectRefused(car, "dashboard", channel, "immobilizer token missing or wrong");
    stale.fieldLost();
    expect(sent).toEqual([INS.SELECT, INS.AUTH0, INS.AUTH1, INS.EXCHANGE]); // no CONTROL FLOW: nothing to confirm
    expect(result).toMatchObject({ keyId: key.keyId, flow: "standard" });
    // The genuine device still starts the car.
    expect((await tap(se, car.dashboard)).decision).toBe("started");
  });
});

/** The SE's stored state with the sealed part opened (its ciphertext changes on every export). */
function seStored(se: SecureElement, sealingKey: Uint8Array) {
  const { sealed, ...visible } = se.exportState();
  return { ...visible, secrets: new TextDecoder().decode(unseal(sealingKey, sealed)) };
}

async function transceive(se: SecureElement, command: CommandApdu | Uint8Array) {
  const bytes = command instanceof Uint8Array ? command : encodeCommand(command);
  return parseResponse(await se.transceive(bytes));
}

function auth0For(car: Vehicle, fast = false): CommandApdu {
  return auth0Command({
    fast,
    transactionCode: TransactionCode.UNLOCK,
    version: PROTOCOL_VERSION,
    vehicleEphemeralPublic: generateKeyPair().publicKey,
    transactionId: crypto.getRandomValues(new Uint8Array(16)),
    vehicleIdentifier: car.vehicleIdentifier,
  });
}

describe("the SE facing a hostile reader", () => {
  it("answers every byte string with a status word and stores nothing (fast-check)", async () => {
    const { se, sealingKey, car } = await primed();
    const before = seStored(se, sealingKey);
    const known = fc.constantFrom(INS.SELECT, INS.AUTH0, INS.AUTH1, INS.EXCHANGE, INS.CONTROL_FLOW);
    const structured = fc
      .record({
        cla: fc.oneof(fc.constantFrom(0x00, 0x80, 0x84), fc.integer({ min: 0, max: 255 })),
        ins: fc.oneof(known, fc.integer({ min: 0, max: 255 })),
        p1: fc.integer({ min: 0, max: 255 }),
        p2: fc.integer({ min: 0, max: 255 }),
        data: fc.uint8Array({ maxLength: 300 }),
        le: fc.option(fc.constant(0), { nil: undefined }),
      })
      .map((c) => encodeCommand(c));
    const apdu = fc.oneof(fc.uint8Array({ maxLength: 300 }), structured);
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.array(apdu, { minLength: 1, maxLength: 6 }),
        async (midSession, commands) => {
          se.fieldLost();
          if (midSession) {
            // Reach the deeper states first: selected, then AUTH0 answered (with a cryptogram).
            expect((await transceive(se, selectCommand())).sw).toBe(SW.OK);
            expect((await transceive(se, auth0For(car, true))).sw).toBe(SW.OK);
          }
          for (const command of commands) {
            const answer = await se.transceive(command);
            expect(answer.length).toBeGreaterThanOrEqual(2);
          }
        },
      ),
      { numRuns: 300 },
    );
    se.fieldLost();
    expect(seStored(se, sealingKey)).toEqual(before);
    expect(await tap(se, car.doorHandle)).toMatchObject({ decision: "unlocked", flow: "fast" });
  });

  it("answers wrong classes and instructions, and out-of-sequence commands, with the matching status", async () => {
    const { se, car } = await primed();
    const fakeSignature = new Uint8Array(64).fill(7);
    const cases: Array<{
      name: string;
      prefix: CommandApdu[];
      command: CommandApdu | Uint8Array;
      sw: number;
    }> = [
      { name: "wrong CLA", prefix: [], command: { ...selectCommand(), cla: 0x90 }, sw: SW.CLA_NOT_SUPPORTED },
      { name: "wrong INS", prefix: [], command: fromHex("80FF0000"), sw: SW.INS_NOT_SUPPORTED },
      {
        name: "wrong INS in a session",
        prefix: [selectCommand()],
        command: fromHex("00B0000000"),
        sw: SW.INS_NOT_SUPPORTED,
      },
      { name: "AUTH0 before SELECT", prefix: [], command: auth0For(car), sw: SW.CONDITIONS_NOT_SATISFIED },
      {
        name: "AUTH1 before SELECT",
        prefix: [],
        command: auth1Command(fakeSignature),
        sw: SW.CONDITIONS_NOT_SATISFIED,
      },
      {
        name: "AUTH1 before AUTH0",
        prefix: [selectCommand()],
        command: auth1Command(fakeSignature),
        sw: SW.CONDITIONS_NOT_SATISFIED,
      },
      {
        name: "EXCHANGE before any authentication",
        prefix: [selectCommand()],
        command: exchangeCommand(new Uint8Array(24)),
        sw: SW.CONDITIONS_NOT_SATISFIED,
      },
      {
        name: "EXCHANGE after a standard AUTH0, without AUTH1",
        prefix: [selectCommand(), auth0For(car)],
        command: exchangeCommand(new Uint8Array(24)),
        sw: SW.CONDITIONS_NOT_SATISFIED,
      },
      {
        name: "AUTH1 with a signature that does not verify",
        prefix: [selectCommand(), auth0For(car)],
        command: auth1Command(fakeSignature),
        sw: SW.VERIFICATION_FAILED,
      },
      { name: "a 3-byte APDU", prefix: [], command: fromHex("80A404"), sw: SW.WRONG_LENGTH },
      {
        name: "Lc longer than the data",
        prefix: [],
        command: fromHex("00A404000DA000"),
        sw: SW.WRONG_LENGTH,
      },
    ];
    for (const c of cases) {
      se.fieldLost();
      for (const command of c.prefix) expect((await transceive(se, command)).sw, c.name).toBe(SW.OK);
      const answer = await transceive(se, c.command);
      expect(answer.sw.toString(16), c.name).toBe(c.sw.toString(16));
      expect(answer.data, c.name).toHaveLength(0);
    }
    // A refusal ends the session: after the failed AUTH1, a second AUTH1 is out of sequence.
    expect((await transceive(se, auth1Command(fakeSignature))).sw).toBe(SW.CONDITIONS_NOT_SATISFIED);
  });

  it("answers a bad vehicle signature with 6300 and no signature, and the session ends", async () => {
    const { se, sealingKey, car, key } = await primed();
    // A car that claims the paired car's identifier but holds another long-term key.
    const other = generateKeyPair();
    const fakeCar = Vehicle.restore({
      ...car.exportState(),
      publicKey: toHex(other.publicKey),
      privateKey: toHex(other.privateKey),
    });
    const before = seStored(se, sealingKey);
    const answers: Uint8Array[] = [];
    const sent: number[] = [];
    const result: TapResult = await fakeCar.tap("dashboard", async (command) => {
      sent.push(command[1]!);
      const answer = await se.transceive(command);
      answers.push(answer);
      return answer;
    });
    expect(result).toMatchObject({
      decision: "refused",
      reason: expect.stringContaining("AUTH1: device answered 6300"),
    });
    expect(sent).toEqual([INS.SELECT, INS.AUTH0, INS.AUTH1]);
    expect(toHex(answers[2]!)).toBe("6300");
    // Nothing of the endpoint's signature or key identifier went out.
    for (const answer of answers) expect(toHex(answer)).not.toContain(key.keyId);
    expect((await transceive(se, exchangeCommand(new Uint8Array(24)))).sw).toBe(SW.CONDITIONS_NOT_SATISFIED);
    // CONTROL FLOW 01 00 on an ended session commits nothing and says so.
    expect((await transceive(se, endTransactionCommand())).sw).toBe(SW.CONDITIONS_NOT_SATISFIED);
    expect(seStored(se, sealingKey)).toEqual(before);
  });
});
