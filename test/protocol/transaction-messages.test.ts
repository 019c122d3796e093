// Checks docs/transaction.md "The commands": the SELECT, AUTH0, AUTH1, EXCHANGE and CONTROL FLOW fields.
// Vector bytes, fast-check round trips, and malformed fields refused with typed errors.
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeCommand, parseCommand, parseResponse } from "../../src/protocol/apdu.js";
import { tlv } from "../../src/protocol/ber-tlv.js";
import { concatBytes, fromHex, toHex } from "../../src/protocol/bytes.js";
import { DIGITAL_KEY_AID } from "../../src/protocol/constants.js";
import { ProtocolError, ProtocolInputError, TlvError } from "../../src/protocol/errors.js";
import { publicKeyOf } from "../../src/protocol/p256.js";
import {
  auth0Command,
  auth0Response,
  auth1Command,
  auth1ResponsePlaintext,
  checkVehicleIdentifier,
  endTransactionCommand,
  exchangeCommand,
  parseAuth0,
  parseAuth0Response,
  parseAuth1,
  parseAuth1ResponsePlaintext,
  parseSelectResponse,
  selectCommand,
} from "../../src/protocol/transaction-messages.js";
import type { TransactionVectors } from "../vectors/carkeys/generate-transaction-vectors.js";

const vectors = JSON.parse(
  readFileSync(new URL("../vectors/carkeys/transaction-vectors.json", import.meta.url), "utf8"),
) as TransactionVectors;
const { inputs, derived } = vectors;
const h = fromHex;

const vehicleEph = h(derived.standard.vehicleEphemeralPublicKey);
const endpointEph = h(derived.standard.endpointEphemeralPublicKey);
const offCurve = (() => {
  const p = vehicleEph.slice();
  p[64]! ^= 0x01;
  return p;
})();

function expectError(fn: () => unknown, type: typeof ProtocolError, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(type);
  expect((caught as Error).message).toMatch(message);
}

describe("SELECT", () => {
  it("selects the Digital Key applet with Le", () => {
    expect(toHex(encodeCommand(selectCommand()))).toBe(`00a404000d${toHex(DIGITAL_KEY_AID)}00`);
    expect(toHex(DIGITAL_KEY_AID)).toBe("a000000809434343444b417631");
  });

  it("reads the versions from the vector's answer", () => {
    const { data, sw } = parseResponse(h(derived.selectResponse));
    expect(sw).toBe(0x9000);
    expect(toHex(parseSelectResponse(data).versions)).toBe(inputs.versions);
  });

  it.each([
    ["missing 5C", "4d020000", TlvError, /missing versions \(tag 5C\)/],
    ["an odd number of bytes", "5c03020001", TlvError, /list of 2-byte versions/],
    ["an empty list", "5c00", TlvError, /versions \(tag 5C\) must be 2\.\.32 bytes/],
    ["more than 16 versions", `5c22${"0200".repeat(17)}`, TlvError, /must be 2\.\.32 bytes/],
    ["a truncated TLV", "5c0402", TlvError, /declares 4 bytes/],
  ])("refuses %s", (_name, hex, type, message) => {
    expectError(() => parseSelectResponse(h(hex)), type, message);
  });
});

describe("AUTH0", () => {
  const base = {
    fast: false,
    transactionCode: 0x03,
    version: h(inputs.version),
    vehicleEphemeralPublic: vehicleEph,
    transactionId: h(inputs.standard.transactionId),
    vehicleIdentifier: h(inputs.vehicleIdentifier),
  };

  it("encodes the vector's command and parses it back", () => {
    const encoded = encodeCommand(auth0Command(base));
    expect(toHex(encoded)).toBe(derived.standard.auth0Command);
    const parsed = parseAuth0(parseCommand(encoded));
    expect(parsed.fast).toBe(false);
    expect(parsed.transactionCode).toBe(0x03);
    expect(toHex(parsed.version)).toBe(inputs.version);
    expect(toHex(parsed.vehicleEphemeralPublic)).toBe(derived.standard.vehicleEphemeralPublicKey);
    expect(toHex(parsed.transactionId)).toBe(inputs.standard.transactionId);
    expect(toHex(parsed.vehicleIdentifier)).toBe(inputs.vehicleIdentifier);
    expect(parseAuth0(parseCommand(h(derived.fast.auth0Command))).fast).toBe(true);
  });

  it("parses the fields in any order", () => {
    const data = concatBytes(
      tlv(0x4d, base.vehicleIdentifier),
      tlv(0x4c, base.transactionId),
      tlv(0x87, vehicleEph),
      tlv(0x5c, base.version),
    );
    const parsed = parseAuth0({ cla: 0x80, ins: 0x80, p1: 0x01, p2: 0x01, data });
    expect(toHex(parsed.transactionId)).toBe(inputs.standard.transactionId);
    expect(parsed.fast).toBe(true);
  });

  it("round-trips random fields (fast-check)", () => {
    const points = [vehicleEph, endpointEph, h(derived.fast.vehicleEphemeralPublicKey)];
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.integer({ min: 0, max: 0xff }),
        fc.constantFrom(...points),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ minLength: 8, maxLength: 32 }),
        fc.uint8Array({ minLength: 2, maxLength: 2 }),
        (fast, code, point, tid, vid, version) => {
          const command = auth0Command({
            fast,
            transactionCode: code,
            version,
            vehicleEphemeralPublic: point,
            transactionId: tid,
            vehicleIdentifier: vid,
          });
          const parsed = parseAuth0(parseCommand(encodeCommand(command)));
          expect(parsed.fast).toBe(fast);
          expect(parsed.transactionCode).toBe(code);
          expect(toHex(parsed.version)).toBe(toHex(version));
          expect(toHex(parsed.vehicleEphemeralPublic)).toBe(toHex(point));
          expect(toHex(parsed.transactionId)).toBe(toHex(tid));
          expect(toHex(parsed.vehicleIdentifier)).toBe(toHex(vid));
        },
      ),
      { numRuns: 200 },
    );
  });

  const data = (parts: Record<string, Uint8Array | null>) =>
    concatBytes(
      ...Object.entries({
        "5c": base.version,
        "87": vehicleEph,
        "4c": base.transactionId,
        "4d": base.vehicleIdentifier,
        ...parts,
      })
        .filter((entry): entry is [string, Uint8Array] => entry[1] !== null)
        .map(([tag, value]) => tlv(Number.parseInt(tag, 16), value)),
    );

  it.each([
    ["a missing version", { "5c": null }, TlvError, /missing version \(tag 5C\)/],
    ["a missing ephemeral key", { "87": null }, TlvError, /missing vehicle ephemeral public key \(tag 87\)/],
    ["a missing transaction id", { "4c": null }, TlvError, /missing transaction id \(tag 4C\)/],
    ["a missing vehicle identifier", { "4d": null }, TlvError, /missing vehicle identifier \(tag 4D\)/],
    ["a 3-byte version", { "5c": h("020000") }, TlvError, /version \(tag 5C\) must be 2 bytes, got 3/],
    ["a 15-byte transaction id", { "4c": new Uint8Array(15) }, TlvError, /must be 16 bytes, got 15/],
    ["a 7-byte vehicle identifier", { "4d": new Uint8Array(7) }, TlvError, /must be 8\.\.32 bytes, got 7/],
    ["a 33-byte vehicle identifier", { "4d": new Uint8Array(33) }, TlvError, /must be 8\.\.32 bytes, got 33/],
    [
      "a compressed ephemeral key",
      { "87": vehicleEph.subarray(0, 33) },
      TlvError,
      /must be 65 bytes, got 33/,
    ],
    [
      "a point off the curve",
      { "87": offCurve },
      ProtocolInputError,
      /vehicle ephemeral public key is not a point/,
    ],
  ])("refuses %s", (_name, parts, type, message) => {
    expectError(() => parseAuth0({ cla: 0x80, ins: 0x80, p1: 0, p2: 1, data: data(parts) }), type, message);
  });

  it("refuses a duplicate tag and a P1 that is neither standard nor fast", () => {
    const dup = concatBytes(data({}), tlv(0x4c, base.transactionId));
    expectError(
      () => parseAuth0({ cla: 0x80, ins: 0x80, p1: 0, p2: 1, data: dup }),
      TlvError,
      /tag 4C appears twice/,
    );
    expectError(
      () => parseAuth0({ cla: 0x80, ins: 0x80, p1: 2, p2: 1, data: data({}) }),
      ProtocolInputError,
      /AUTH0 P1 must be 00 \(standard\) or 01 \(fast\)/,
    );
  });

  it("the builder checks what it is given", () => {
    expect(() => auth0Command({ ...base, version: h("02") })).toThrow(/version must be 2 bytes/);
    expect(() => auth0Command({ ...base, transactionId: new Uint8Array(8) })).toThrow(
      /transaction id must be 16/,
    );
    expect(() => auth0Command({ ...base, vehicleIdentifier: new Uint8Array(7) })).toThrow(/8 to 32 bytes/);
    expect(() => auth0Command({ ...base, vehicleEphemeralPublic: offCurve })).toThrow(/not a point on P-256/);
    expect(() => checkVehicleIdentifier(new Uint8Array(33), "vehicleId")).toThrow(
      /vehicleId must be 8 to 32/,
    );
  });
});

describe("AUTH0 response", () => {
  it("encodes and parses the standard and fast answers of the vectors", () => {
    const standard = parseResponse(h(derived.standard.auth0Response)).data;
    expect(toHex(auth0Response({ endpointEphemeralPublic: endpointEph }))).toBe(toHex(standard));
    const parsedStandard = parseAuth0Response(standard);
    expect(toHex(parsedStandard.endpointEphemeralPublic)).toBe(derived.standard.endpointEphemeralPublicKey);
    expect(parsedStandard.cryptogram).toBeUndefined();

    const fast = parseAuth0Response(parseResponse(h(derived.fast.auth0Response)).data);
    expect(toHex(fast.endpointEphemeralPublic)).toBe(derived.fast.endpointEphemeralPublicKey);
    expect(toHex(fast.cryptogram ?? new Uint8Array(0))).toBe(derived.fast.cryptogram);
  });

  it.each([
    [
      "no ephemeral key",
      `9d10${"00".repeat(16)}`,
      TlvError,
      /missing endpoint ephemeral public key \(tag 86\)/,
    ],
    [
      "a 15-byte cryptogram",
      `8641${derived.standard.endpointEphemeralPublicKey}9d0f${"00".repeat(15)}`,
      TlvError,
      /cryptogram \(tag 9D\) must be 16 bytes/,
    ],
    ["a point off the curve", `8641${toHex(offCurve)}`, ProtocolInputError, /not a point on P-256/],
    [
      "a trailing byte",
      `8641${derived.standard.endpointEphemeralPublicKey}00`,
      TlvError,
      /invalid tag byte 00/,
    ],
  ])("refuses %s", (_name, hex, type, message) => {
    expectError(() => parseAuth0Response(h(hex)), type, message);
  });

  it("the builder refuses a bad key or cryptogram", () => {
    expect(() => auth0Response({ endpointEphemeralPublic: offCurve })).toThrow(ProtocolInputError);
    expect(() => auth0Response({ endpointEphemeralPublic: endpointEph.subarray(0, 33) })).toThrow(
      /endpoint ephemeral public key must be a 65-byte uncompressed P-256 point/,
    );
    expect(() =>
      auth0Response({ endpointEphemeralPublic: endpointEph, cryptogram: new Uint8Array(8) }),
    ).toThrow(/cryptogram must be 16 bytes/);
  });
});

describe("AUTH1", () => {
  it("encodes the vector's command and parses it back", () => {
    const encoded = encodeCommand(auth1Command(h(vectors.signatures.vehicleSignature)));
    expect(toHex(encoded)).toBe(derived.standard.auth1Command);
    expect(toHex(parseAuth1(parseCommand(encoded)).vehicleSignature)).toBe(
      vectors.signatures.vehicleSignature,
    );
  });

  it("refuses signatures that are not 64 bytes", () => {
    expect(() => auth1Command(new Uint8Array(72))).toThrow(/vehicle signature must be 64 bytes/);
    const command = { cla: 0x80, ins: 0x81, p1: 0, p2: 0, data: tlv(0x9e, new Uint8Array(63)) };
    expectError(() => parseAuth1(command), TlvError, /vehicle signature \(tag 9E\) must be 64 bytes, got 63/);
    expectError(
      () => parseAuth1({ ...command, data: new Uint8Array(0) }),
      TlvError,
      /missing vehicle signature/,
    );
  });

  it("builds and parses the response plaintext of the vector (4E ‖ 9E)", () => {
    const plaintext = auth1ResponsePlaintext({
      keyIdentifier: h(derived.keyIdentifier),
      endpointSignature: h(vectors.signatures.endpointSignature),
    });
    expect(toHex(plaintext)).toBe(derived.standard.secureMessaging[0]?.plaintext);
    const parsed = parseAuth1ResponsePlaintext(plaintext);
    expect(toHex(parsed.keyIdentifier)).toBe(derived.keyIdentifier);
    expect(toHex(parsed.endpointSignature)).toBe(vectors.signatures.endpointSignature);
  });

  it("accepts further TLVs after 4E ‖ 9E (docs/transaction.md: further TLVs may follow)", () => {
    const plaintext = concatBytes(
      auth1ResponsePlaintext({ keyIdentifier: new Uint8Array(6), endpointSignature: new Uint8Array(64) }),
      tlv(0x54, h("0102")),
    );
    expect(parseAuth1ResponsePlaintext(plaintext).keyIdentifier.length).toBe(6);
  });

  it("refuses a response plaintext with a missing or mis-sized field", () => {
    expectError(
      () => parseAuth1ResponsePlaintext(tlv(0x9e, new Uint8Array(64))),
      TlvError,
      /missing key identifier/,
    );
    expectError(
      () =>
        parseAuth1ResponsePlaintext(concatBytes(tlv(0x4e, new Uint8Array(5)), tlv(0x9e, new Uint8Array(64)))),
      TlvError,
      /key identifier \(tag 4E\) must be 6 bytes/,
    );
    expect(() =>
      auth1ResponsePlaintext({ keyIdentifier: new Uint8Array(6), endpointSignature: new Uint8Array(1) }),
    ).toThrow(/endpoint signature must be 64 bytes/);
  });
});

describe("EXCHANGE and CONTROL FLOW", () => {
  it("EXCHANGE is 84 C9 00 00 Lc data 00", () => {
    const step = derived.standard.secureMessaging[1]!;
    expect(toHex(encodeCommand(exchangeCommand(h(step.protected))))).toBe(step.apdu);
    expect(step.apdu.startsWith("84c90000")).toBe(true);
  });

  it("CONTROL FLOW 01 00 is a bare 80 3C 01 00", () => {
    expect(toHex(encodeCommand(endTransactionCommand()))).toBe("803c0100");
  });
});

describe("fuzzing: parsers throw only ProtocolError subclasses", () => {
  const point = publicKeyOf(h(inputs.standard.vehicleEphemeralPrivateKey));
  const tlvish = fc
    .array(
      fc.oneof(
        fc.uint8Array({ maxLength: 40 }),
        fc.constantFrom(
          tlv(0x87, point),
          tlv(0x86, point),
          tlv(0x4c, new Uint8Array(16)),
          tlv(0x5c, h("0200")),
        ),
      ),
      { maxLength: 6 },
    )
    .map((parts) => concatBytes(...parts));

  it("for random data fields", () => {
    fc.assert(
      fc.property(tlvish, fc.integer({ min: 0, max: 3 }), (data, p1) => {
        const parsers = [
          () => parseSelectResponse(data),
          () => parseAuth0({ cla: 0x80, ins: 0x80, p1, p2: 1, data }),
          () => parseAuth0Response(data),
          () => parseAuth1({ cla: 0x80, ins: 0x81, p1: 0, p2: 0, data }),
          () => parseAuth1ResponsePlaintext(data),
        ];
        for (const parse of parsers) {
          try {
            parse();
          } catch (error) {
            expect(error).toBeInstanceOf(ProtocolError);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });
});
