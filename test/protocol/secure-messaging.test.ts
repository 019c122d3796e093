// Checks docs/transaction.md "Secure messaging": AES-CMAC (RFC 4493), ISO/IEC 9797-1 method 2, the session.
// CMAC is cross-checked with `openssl mac`; every protected byte of a vehicle↔device session is
// recomputed by an independent node:crypto implementation; tampering ends the session.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cbc, cmac as nobleCmac } from "@noble/ciphers/aes.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "../../src/protocol/bytes.js";
import { ProtocolInputError, SecureMessagingError } from "../../src/protocol/errors.js";
import {
  aesCmac,
  padIso9797M2,
  SecureMessagingSession,
  unpadIso9797M2,
} from "../../src/protocol/secure-messaging.js";
import {
  RefSession,
  refAesCbc,
  refAesEcbBlock,
  refCmac,
  refIcv,
  refPadM2,
} from "../vectors/carkeys/node-crypto-reference.js";

// RFC 4493 §4: AES-128 key and the four examples.
const RFC4493_KEY = fromHex("2b7e151628aed2a6abf7158809cf4f3c");
const RFC4493_M =
  "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51" +
  "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710";
const RFC4493 = [
  { name: "Example 1: len = 0", length: 0, mac: "bb1d6929e95937287fa37d129b756746" },
  { name: "Example 2: len = 16", length: 16, mac: "070a16b46b4d4144f79bdd9dd04a287c" },
  { name: "Example 3: len = 40", length: 40, mac: "dfa66747de9ae63030ca32611497c827" },
  { name: "Example 4: len = 64", length: 64, mac: "51f0bebf7e3b9d92fc49741779363cfe" },
];

function hasOpensslMac(): boolean {
  try {
    execFileSync("openssl", ["mac", "-help"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function opensslCmac(key: Uint8Array, message: Uint8Array): string {
  const out = execFileSync(
    "openssl",
    ["mac", "-cipher", "AES-128-CBC", "-macopt", `hexkey:${toHex(key)}`, "CMAC"],
    { input: message, encoding: "utf8" },
  );
  return out.trim().toLowerCase();
}

describe("AES-CMAC (RFC 4493)", () => {
  it.each(RFC4493)("$name", ({ length, mac }) => {
    const message = fromHex(RFC4493_M).subarray(0, length);
    expect(toHex(aesCmac(RFC4493_KEY, message))).toBe(mac);
    // The test's own CMAC, used below to check the session bytes, must pass the RFC too.
    expect(toHex(refCmac(RFC4493_KEY, message))).toBe(mac);
  });

  it("RFC 4493 §4 subkeys: AES-128(K, 0) = 7df76b0c1ab899b33e42f047b91b546f", () => {
    expect(toHex(refAesEcbBlock(RFC4493_KEY, new Uint8Array(16)))).toBe("7df76b0c1ab899b33e42f047b91b546f");
  });

  it.skipIf(!hasOpensslMac())("agrees with `openssl mac … CMAC` on random keys and messages", () => {
    const lengths = [0, 1, 15, 16, 17, 31, 32, 33, 48, 100];
    for (const length of lengths) {
      const key = randomBytes(16);
      const message = randomBytes(length);
      const expected = opensslCmac(key, message);
      expect(toHex(aesCmac(key, message)), `length ${length}`).toBe(expected);
      expect(toHex(refCmac(key, message)), `length ${length}`).toBe(expected);
    }
  });

  it("agrees with the test's node:crypto CMAC and with noble's on random inputs (fast-check)", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ maxLength: 100 }),
        (k, m) => {
          expect(toHex(aesCmac(k, m))).toBe(toHex(refCmac(k, m)));
          expect(toHex(aesCmac(k, m))).toBe(toHex(nobleCmac(m, k)));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("ISO/IEC 9797-1 method 2 padding", () => {
  it.each([
    [0, `80${"00".repeat(15)}`],
    [15, `${"11".repeat(15)}80`],
    [16, `${"11".repeat(16)}80${"00".repeat(15)}`],
    [17, `${"11".repeat(17)}80${"00".repeat(14)}`],
  ])("pads %i bytes", (length, padded) => {
    const data = new Uint8Array(length).fill(0x11);
    expect(toHex(padIso9797M2(data))).toBe(padded);
    expect(toHex(refPadM2(data))).toBe(padded);
    expect(toHex(unpadIso9797M2(fromHex(padded)))).toBe(toHex(data));
  });

  it.each([
    ["empty input", ""],
    ["no 80 marker", "11".repeat(16)],
    ["all zero", "00".repeat(16)],
    ["a byte after the marker", `${"11".repeat(14)}8001`],
    ["a marker followed by a whole zero block", `80${"00".repeat(31)}`],
    ["a data byte where the marker belongs", `${"11".repeat(13)}410000`],
  ])("unpad refuses %s", (_name, hex) => {
    expect(() => unpadIso9797M2(fromHex(hex))).toThrow(SecureMessagingError);
    expect(() => unpadIso9797M2(fromHex(hex))).toThrow(/bad padding/);
  });

  it("round-trips (fast-check)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (data) => {
        const padded = padIso9797M2(data);
        expect(padded.length % 16).toBe(0);
        expect(padded.length - data.length).toBeGreaterThanOrEqual(1);
        expect(padded.length - data.length).toBeLessThanOrEqual(16);
        expect(toHex(unpadIso9797M2(padded))).toBe(toHex(data));
      }),
    );
  });
});

const KEYS = {
  kenc: fromHex("000102030405060708090a0b0c0d0e0f"),
  kmac: fromHex("101112131415161718191a1b1c1d1e1f"),
  krmac: fromHex("202122232425262728292a2b2c2d2e2f"),
};

/** A vehicle and a device session sharing keys, with the device's AUTH1 response already exchanged. */
function pair(): { vehicle: SecureMessagingSession; device: SecureMessagingSession } {
  const vehicle = new SecureMessagingSession(KEYS);
  const device = new SecureMessagingSession(KEYS);
  vehicle.unprotectResponse(device.protectResponse(fromHex("4e06aabbccddeeff")));
  return { vehicle, device };
}

function expectSmError(fn: () => unknown, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(SecureMessagingError);
  expect((caught as Error).message).toMatch(message);
}

describe("a vehicle↔device session, byte for byte against node:crypto", () => {
  it("protects the AUTH1 response at counter 0 with a zero chaining value", () => {
    const device = new SecureMessagingSession(KEYS);
    const plaintext = fromHex(`4e06aabbccddeeff9e40${"5a".repeat(64)}`);
    const protectedData = device.protectResponse(plaintext);

    // Written out step by step from docs/transaction.md with node:crypto.
    const icv = refAesEcbBlock(KEYS.kenc, fromHex(`80${"00".repeat(15)}`));
    const ciphertext = refAesCbc(KEYS.kenc, icv, refPadM2(plaintext));
    const mac = refCmac(KEYS.krmac, Buffer.concat([Buffer.alloc(16), ciphertext])).subarray(0, 8);
    expect(toHex(protectedData)).toBe(toHex(Buffer.concat([ciphertext, mac])));
    expect(ciphertext.length).toBe(80); // 74 bytes pad to 80
    expect(device.messageCounter).toBe(1);

    const vehicle = new SecureMessagingSession(KEYS);
    expect(toHex(vehicle.unprotectResponse(protectedData))).toBe(toHex(plaintext));
    expect(vehicle.messageCounter).toBe(1);
  });

  it("uses counter 1 for the next command and its response; chaining is the full command MAC", () => {
    const { vehicle, device } = pair();
    const command = fromHex("00550302000011223344");
    const protectedCommand = vehicle.protectCommand(command);

    const commandIcv = refAesEcbBlock(KEYS.kenc, fromHex(`${"00".repeat(15)}01`));
    const commandCiphertext = refAesCbc(KEYS.kenc, commandIcv, refPadM2(command));
    const commandMac = refCmac(KEYS.kmac, Buffer.concat([Buffer.alloc(16), commandCiphertext]));
    expect(toHex(protectedCommand)).toBe(
      toHex(Buffer.concat([commandCiphertext, commandMac.subarray(0, 8)])),
    );
    expect(toHex(device.unprotectCommand(protectedCommand))).toBe(toHex(command));
    expect(device.messageCounter).toBe(1); // commands do not move the counter

    const answer = fromHex("5410aabbccddeeff00112233445566778899");
    const protectedAnswer = device.protectResponse(answer);
    const answerIcv = refAesEcbBlock(KEYS.kenc, fromHex(`80${"00".repeat(14)}01`));
    const answerCiphertext = refAesCbc(KEYS.kenc, answerIcv, refPadM2(answer));
    const answerMac = refCmac(KEYS.krmac, Buffer.concat([commandMac, answerCiphertext])).subarray(0, 8);
    expect(toHex(protectedAnswer)).toBe(toHex(Buffer.concat([answerCiphertext, answerMac])));
    expect(toHex(vehicle.unprotectResponse(protectedAnswer))).toBe(toHex(answer));
    expect(vehicle.messageCounter).toBe(2);
    expect(device.messageCounter).toBe(2);
  });

  it("sends empty data as the MAC alone (neither padded nor encrypted)", () => {
    const { vehicle, device } = pair();
    const protectedCommand = vehicle.protectCommand(new Uint8Array(0));
    const mac = refCmac(KEYS.kmac, Buffer.alloc(16));
    expect(toHex(protectedCommand)).toBe(toHex(mac.subarray(0, 8)));
    expect(device.unprotectCommand(protectedCommand).length).toBe(0);
    const protectedAnswer = device.protectResponse(new Uint8Array(0));
    expect(toHex(protectedAnswer)).toBe(toHex(refCmac(KEYS.krmac, mac).subarray(0, 8)));
    expect(vehicle.unprotectResponse(protectedAnswer).length).toBe(0);
  });

  it("matches the reference over 300 rounds of random sizes, the counter wrapping mod 256", () => {
    const vehicle = new SecureMessagingSession(KEYS);
    const device = new SecureMessagingSession(KEYS);
    const reference = new RefSession(KEYS);
    const first = randomBytes(40);
    const auth1 = device.protectResponse(first);
    expect(toHex(auth1)).toBe(toHex(reference.response(first)));
    vehicle.unprotectResponse(auth1);
    for (let round = 1; round <= 300; round++) {
      const command = randomBytes(round % 37);
      const answer = randomBytes((round * 7) % 41);
      const protectedCommand = vehicle.protectCommand(command);
      expect(toHex(protectedCommand)).toBe(toHex(reference.command(command)));
      expect(toHex(device.unprotectCommand(protectedCommand))).toBe(toHex(command));
      const protectedAnswer = device.protectResponse(answer);
      expect(toHex(protectedAnswer)).toBe(toHex(reference.response(answer)));
      expect(toHex(vehicle.unprotectResponse(protectedAnswer))).toBe(toHex(answer));
      expect(vehicle.messageCounter).toBe(round + 1);
    }
    // ICV uses counter mod 256: at 256 it equals the ICV of counter 0.
    expect(toHex(refIcv(KEYS.kenc, 256, true))).toBe(toHex(refIcv(KEYS.kenc, 0, true)));
  });

  it("fast transactions: the first EXCHANGE command is protected at counter 0 (no AUTH1)", () => {
    const vehicle = new SecureMessagingSession(KEYS);
    const device = new SecureMessagingSession(KEYS);
    const reference = new RefSession(KEYS);
    const command = fromHex("0054050100000008");
    const protectedCommand = vehicle.protectCommand(command);
    expect(toHex(protectedCommand)).toBe(toHex(reference.command(command)));
    expect(toHex(device.unprotectCommand(protectedCommand))).toBe(toHex(command));
    const answer = fromHex("54080102030405060708");
    expect(toHex(device.protectResponse(answer))).toBe(toHex(reference.response(answer)));
  });
});

describe("a session against noble's AES", () => {
  it("every protected byte equals noble's CBC and CMAC over the same steps", () => {
    const nobleEcb = (key: Uint8Array, block: Uint8Array) =>
      cbc(key, new Uint8Array(16), { disablePadding: true }).encrypt(block);
    const device = new SecureMessagingSession(KEYS);
    let chaining: Uint8Array = new Uint8Array(16);
    for (let counter = 0; counter < 20; counter++) {
      const answer = randomBytes(counter * 3);
      const got = device.protectResponse(answer);
      const icv = nobleEcb(
        KEYS.kenc,
        fromHex(`80${"00".repeat(14)}${counter.toString(16).padStart(2, "0")}`),
      );
      const ciphertext =
        answer.length === 0
          ? new Uint8Array(0)
          : cbc(KEYS.kenc, icv, { disablePadding: true }).encrypt(padIso9797M2(answer));
      const mac = nobleCmac(Buffer.concat([chaining, ciphertext]), KEYS.krmac).subarray(0, 8);
      expect(toHex(got)).toBe(toHex(Buffer.concat([ciphertext, mac])));
      // The chaining value moves on commands only; a command MAC'd by noble updates it the same way.
      const command = randomBytes(counter);
      const commandIcv = nobleEcb(
        KEYS.kenc,
        fromHex(`${"00".repeat(15)}${(counter + 1).toString(16).padStart(2, "0")}`),
      );
      const commandCiphertext =
        command.length === 0
          ? new Uint8Array(0)
          : cbc(KEYS.kenc, commandIcv, { disablePadding: true }).encrypt(padIso9797M2(command));
      const commandMac = nobleCmac(Buffer.concat([chaining, commandCiphertext]), KEYS.kmac);
      const protectedCommand = Buffer.concat([commandCiphertext, commandMac.subarray(0, 8)]);
      expect(toHex(device.unprotectCommand(protectedCommand))).toBe(toHex(command));
      chaining = commandMac;
    }
  });
});

describe("refusals end the session", () => {
  it("refuses a flipped MAC bit, then everything else", () => {
    const { vehicle, device } = pair();
    const good = vehicle.protectCommand(fromHex("0054050200000010"));
    const bad = good.slice();
    bad[bad.length - 1]! ^= 0x01;
    expectSmError(() => device.unprotectCommand(bad), /MAC does not verify/);
    expectSmError(() => device.unprotectCommand(good), /session ended/);
    expectSmError(() => device.protectResponse(new Uint8Array(0)), /session ended/);
  });

  it("refuses a flipped ciphertext bit", () => {
    const { vehicle, device } = pair();
    const bad = vehicle.protectCommand(fromHex("0054050200000010"));
    bad[3]! ^= 0x80;
    expectSmError(() => device.unprotectCommand(bad), /MAC does not verify/);
  });

  it("refuses a flipped bit in a response, and the vehicle session ends", () => {
    const { vehicle, device } = pair();
    device.unprotectCommand(vehicle.protectCommand(fromHex("00")));
    const bad = device.protectResponse(fromHex("5401aa"));
    bad[0]! ^= 0x01;
    expectSmError(() => vehicle.unprotectResponse(bad), /MAC does not verify/);
    expectSmError(() => vehicle.protectCommand(fromHex("00")), /session ended/);
  });

  it("refuses truncated messages", () => {
    const { vehicle, device } = pair();
    const good = vehicle.protectCommand(fromHex("0054050200000010"));
    expectSmError(() => device.unprotectCommand(good.subarray(0, good.length - 1)), /MAC does not verify/);
    const other = pair();
    expectSmError(() => other.device.unprotectCommand(good.subarray(0, 7)), /shorter than its MAC/);
  });

  it("refuses a ciphertext that is not whole blocks, even under a valid MAC", () => {
    // Not forgeable without Kmac; built here with the keys to reach the length check.
    const device = new SecureMessagingSession(KEYS);
    const oddCiphertext = new Uint8Array(20);
    const mac = refCmac(KEYS.kmac, Buffer.concat([Buffer.alloc(16), oddCiphertext])).subarray(0, 8);
    expectSmError(
      () => device.unprotectCommand(Buffer.concat([oddCiphertext, mac])),
      /not a whole number of blocks/,
    );
    expectSmError(() => device.unprotectCommand(new Uint8Array(8)), /session ended/);
  });

  it("refuses bad padding under a valid MAC, and ends the session", () => {
    const device = new SecureMessagingSession(KEYS);
    // Encrypt a block with no 80 marker, MAC it properly: only the padding check can catch it.
    const ciphertext = refAesCbc(KEYS.kenc, refIcv(KEYS.kenc, 0, false), new Uint8Array(16).fill(0x11));
    const mac = refCmac(KEYS.kmac, Buffer.concat([Buffer.alloc(16), ciphertext])).subarray(0, 8);
    expectSmError(() => device.unprotectCommand(Buffer.concat([ciphertext, mac])), /bad padding/);
    expectSmError(() => device.unprotectCommand(new Uint8Array(8)), /session ended/);
  });

  it("refuses a replayed command (the chaining value has moved on)", () => {
    const { vehicle, device } = pair();
    const first = vehicle.protectCommand(fromHex("0054050200000010"));
    device.unprotectCommand(first);
    vehicle.unprotectResponse(device.protectResponse(fromHex(`5410${"00".repeat(16)}`)));
    expectSmError(() => device.unprotectCommand(first), /MAC does not verify/);
  });

  it("refuses a replayed earlier response", () => {
    const { vehicle, device } = pair();
    device.unprotectCommand(vehicle.protectCommand(fromHex("00")));
    const firstAnswer = device.protectResponse(fromHex("5401aa"));
    vehicle.unprotectResponse(firstAnswer);
    device.unprotectCommand(vehicle.protectCommand(fromHex("00")));
    expectSmError(() => vehicle.unprotectResponse(firstAnswer), /MAC does not verify/);
  });

  it("refuses a command from another session (same keys, different chaining)", () => {
    const a = pair();
    const b = pair();
    a.device.unprotectCommand(a.vehicle.protectCommand(fromHex("00")));
    a.vehicle.unprotectResponse(a.device.protectResponse(new Uint8Array(0)));
    expectSmError(
      () => b.device.unprotectCommand(a.vehicle.protectCommand(fromHex("00"))),
      /MAC does not verify/,
    );
  });

  it("refuses keys that are not 16 bytes", () => {
    expect(() => new SecureMessagingSession({ ...KEYS, kmac: new Uint8Array(32) })).toThrow(
      ProtocolInputError,
    );
    expect(() => new SecureMessagingSession({ ...KEYS, kenc: new Uint8Array(15) })).toThrow(
      /kenc must be 16 bytes/,
    );
  });
});
