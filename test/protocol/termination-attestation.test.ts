// Checks signed statements and termination attestations of docs/protocol.md §5–6.
// The vector, round trips, and refusals: wrong usage, any flipped bit, another key's attestation.
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { tlv } from "../../src/protocol/ber-tlv.js";
import { concatBytes, fromHex, toHex, utf8 } from "../../src/protocol/bytes.js";
import { VEHICLE_USAGE } from "../../src/protocol/constants.js";
import { ProtocolError, ProtocolInputError, TlvError, VerificationError } from "../../src/protocol/errors.js";
import { keyIdentifier, publicKeyOf, signRaw } from "../../src/protocol/p256.js";
import {
  encodeSignedStatement,
  parseSignedStatement,
  statementBody,
  verifyStatementSignature,
} from "../../src/protocol/signed-statement.js";
import {
  encodeTerminationAttestation,
  TERMINATION_USAGE,
  type TerminationFacts,
  terminationBody,
  verifyTerminationAttestation,
} from "../../src/protocol/termination-attestation.js";
import type { TransactionVectors } from "../vectors/carkeys/generate-transaction-vectors.js";
import { refSign } from "../vectors/carkeys/node-crypto-reference.js";

const vectors = JSON.parse(
  readFileSync(new URL("../vectors/carkeys/transaction-vectors.json", import.meta.url), "utf8"),
) as TransactionVectors;
const h = fromHex;
const endpointPrivate = h(vectors.inputs.endpointLongTermPrivateKey);
const endpointPublic = h(vectors.derived.endpointLongTermPublicKey);
const vehiclePrivate = h(vectors.inputs.vehicleLongTermPrivateKey);
const vehiclePublic = h(vectors.derived.vehicleLongTermPublicKey);

const facts: TerminationFacts = {
  keyIdentifier: h(vectors.derived.keyIdentifier),
  vehicleIdentifier: h(vectors.inputs.vehicleIdentifier),
  endpointPublicKey: endpointPublic,
  terminatedAt: vectors.inputs.terminatedAt,
};

function attest(f: TerminationFacts, privateKey = endpointPrivate): Uint8Array {
  const body = terminationBody(f);
  return encodeTerminationAttestation(body, signRaw(privateKey, body));
}

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

describe("termination attestation vector", () => {
  it("builds the vector's body and encoding", () => {
    expect(toHex(terminationBody(facts))).toBe(vectors.derived.termination.body);
    const encoded = encodeTerminationAttestation(
      h(vectors.derived.termination.body),
      h(vectors.signatures.terminationSignature),
    );
    expect(toHex(encoded)).toBe(vectors.derived.termination.encoded);
    expect(toHex(TERMINATION_USAGE)).toBe(toHex(utf8("TERM")));
  });

  it("verifies the vector (signed by OpenSSL) against the endpoint key on record", () => {
    const verified = verifyTerminationAttestation(h(vectors.derived.termination.encoded), endpointPublic);
    expect(toHex(verified.keyIdentifier)).toBe(vectors.derived.keyIdentifier);
    expect(toHex(verified.vehicleIdentifier)).toBe(vectors.inputs.vehicleIdentifier);
    expect(toHex(verified.endpointPublicKey)).toBe(vectors.derived.endpointLongTermPublicKey);
    expect(verified.terminatedAt).toBe(vectors.inputs.terminatedAt);
  });

  it("round-trips an attestation signed by the project's signer", () => {
    const verified = verifyTerminationAttestation(attest({ ...facts, terminatedAt: 1 }), endpointPublic);
    expect(verified.terminatedAt).toBe(1);
  });
});

describe("refusals", () => {
  const encoded = h(vectors.derived.termination.encoded);
  const body = h(vectors.derived.termination.body);

  it("refuses the attestation with any single bit of it flipped", () => {
    // Caught by the parser, the usage check, the key identifier check or the signature;
    // whichever it is, nothing altered is ever accepted.
    for (let i = 0; i < encoded.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const tampered = encoded.slice();
        tampered[i]! ^= bit;
        expect(() => verifyTerminationAttestation(tampered, endpointPublic), `byte ${i}`).toThrow(
          ProtocolError,
        );
      }
    }
  });

  it("refuses a tampered termination time with VerificationError (signature)", () => {
    const tampered = encoded.slice();
    tampered[body.length - 1]! ^= 0x01; // last byte of TLV(C1, time)
    expectError(
      () => verifyTerminationAttestation(tampered, endpointPublic),
      VerificationError,
      /termination attestation: signature does not verify/,
    );
  });

  it("refuses a tampered signature", () => {
    const tampered = encoded.slice();
    tampered[tampered.length - 1]! ^= 0x80;
    expectError(() => verifyTerminationAttestation(tampered), VerificationError, /signature does not verify/);
  });

  it("refuses an attestation for another key than the one on record", () => {
    expectError(
      () => verifyTerminationAttestation(encoded, vehiclePublic),
      VerificationError,
      /termination attestation is for another endpoint key/,
    );
  });

  it("refuses an attestation that names the endpoint but is signed by another key", () => {
    expectError(
      () => verifyTerminationAttestation(attest(facts, vehiclePrivate), endpointPublic),
      VerificationError,
      /signature does not verify/,
    );
  });

  it("a self-consistent attestation by another key passes only where no key is on record", () => {
    const other = { ...facts, endpointPublicKey: vehiclePublic, keyIdentifier: keyIdentifier(vehiclePublic) };
    const forged = attest(other, vehiclePrivate);
    expect(toHex(verifyTerminationAttestation(forged).endpointPublicKey)).toBe(toHex(vehiclePublic));
    expectError(
      () => verifyTerminationAttestation(forged, endpointPublic),
      VerificationError,
      /another endpoint key/,
    );
  });

  it("refuses a key identifier that does not belong to the embedded key", () => {
    const wrongId = attest({ ...facts, keyIdentifier: h("000000000000") });
    expectError(
      () => verifyTerminationAttestation(wrongId, endpointPublic),
      VerificationError,
      /key identifier does not match its key/,
    );
  });

  it("refuses a statement of another kind (usage constant) before looking at anything else", () => {
    const fields = [tlv(0x4e, facts.keyIdentifier)];
    const other = statementBody(VEHICLE_USAGE, fields);
    const statement = encodeSignedStatement(other, signRaw(endpointPrivate, other));
    expectError(
      () => verifyTerminationAttestation(statement, endpointPublic),
      VerificationError,
      /termination attestation: usage 415d9569 is not 5445524d/,
    );
  });

  it.each([
    ["a missing endpoint key", { c0: null }, /missing endpoint public key \(tag C0\)/],
    ["a 4-byte time", { c1: h("00000001") }, /termination time \(tag C1\) must be 8 bytes/],
    [
      "a 7-byte vehicle identifier",
      { "4d": new Uint8Array(7) },
      /vehicle identifier \(tag 4D\) must be 8\.\.32 bytes/,
    ],
  ])("refuses %s", (_name, change, message) => {
    const parts: Record<string, Uint8Array | null> = {
      "4e": facts.keyIdentifier,
      "4d": facts.vehicleIdentifier,
      c0: endpointPublic,
      c1: h("0000019b76c54800"),
      ...change,
    };
    const fields = Object.entries(parts)
      .filter((e): e is [string, Uint8Array] => e[1] !== null)
      .map(([tag, value]) => tlv(Number.parseInt(tag, 16), value));
    const bodyBytes = statementBody(TERMINATION_USAGE, fields);
    const statement = encodeSignedStatement(bodyBytes, signRaw(endpointPrivate, bodyBytes));
    expectError(() => verifyTerminationAttestation(statement, endpointPublic), TlvError, message);
  });

  it("refuses to build from bad facts", () => {
    expect(() => terminationBody({ ...facts, keyIdentifier: new Uint8Array(5) })).toThrow(
      /key identifier must be 6 bytes/,
    );
    expect(() => terminationBody({ ...facts, endpointPublicKey: endpointPublic.subarray(1) })).toThrow(
      /65 bytes/,
    );
    expect(() => terminationBody({ ...facts, terminatedAt: -1 })).toThrow(ProtocolInputError);
  });
});

describe("signed statement envelope", () => {
  const usage = utf8("TEST");
  const fields = [tlv(0x4d, h("0102030405060708")), tlv(0xc1, h("0000000000000001"))];
  const body = statementBody(usage, fields);

  it("is TLV(70, TLV(93, usage) ‖ fields) ‖ TLV(9E, r‖s), signed over the whole TLV(70, …)", () => {
    expect(toHex(body)).toBe(`701a9304${toHex(usage)}4d080102030405060708c1080000000000000001`);
    const signature = refSign(endpointPrivate, body); // OpenSSL, raw r‖s
    const encoded = encodeSignedStatement(body, signature);
    expect(toHex(encoded)).toBe(`${toHex(body)}9e40${toHex(signature)}`);
    const statement = parseSignedStatement(encoded, usage, "test statement");
    expect(toHex(statement.signedBytes)).toBe(toHex(body));
    expect(toHex(statement.signature)).toBe(toHex(signature));
    expect(toHex(statement.fields.require(0x4d, "vehicle identifier"))).toBe("0102030405060708");
    verifyStatementSignature(statement, endpointPublic, "test statement");
    expect(() => verifyStatementSignature(statement, vehiclePublic, "test statement")).toThrow(
      VerificationError,
    );
  });

  it("refuses a wrong usage constant with VerificationError", () => {
    const encoded = encodeSignedStatement(body, signRaw(endpointPrivate, body));
    expectError(
      () => parseSignedStatement(encoded, TERMINATION_USAGE, "termination attestation"),
      VerificationError,
      /usage 54455354 is not 5445524d/,
    );
  });

  const signature = new Uint8Array(64).fill(1);
  it.each([
    ["only a body", () => body, /must be TLV\(70, body\) ‖ TLV\(9E, signature\)/],
    ["a third TLV", () => concatBytes(body, tlv(0x9e, signature), tlv(0x9e, signature)), /must be TLV\(70/],
    ["signature before body", () => concatBytes(tlv(0x9e, signature), body), /must be TLV\(70/],
    [
      "a 63-byte signature",
      () => concatBytes(body, tlv(0x9e, signature.subarray(1))),
      /signature must be 64 bytes/,
    ],
    ["no usage", () => concatBytes(tlv(0x70, fields[0]!), tlv(0x9e, signature)), /missing usage \(tag 93\)/],
    [
      "a 3-byte usage",
      () => concatBytes(tlv(0x70, tlv(0x93, h("545354"))), tlv(0x9e, signature)),
      /usage \(tag 93\) must be 4 bytes/,
    ],
    [
      "a duplicate field",
      () =>
        concatBytes(tlv(0x70, concatBytes(tlv(0x93, usage), fields[0]!, fields[0]!)), tlv(0x9e, signature)),
      /tag 4D appears twice/,
    ],
  ])("refuses %s with TlvError", (_name, build, message) => {
    expectError(() => parseSignedStatement(build(), usage, "test statement"), TlvError, message);
  });

  it("refuses to build with a bad usage or signature length", () => {
    expect(() => statementBody(h("545354"), [])).toThrow(/usage must be 4 bytes/);
    expect(() => encodeSignedStatement(body, new Uint8Array(72))).toThrow(/signature must be 64 bytes/);
  });

  it("round-trips random field lists (fast-check)", () => {
    const arbFields = fc
      .uniqueArray(
        fc.integer({ min: 0xc0, max: 0xdf }).filter((t) => t !== 0xdf),
        { maxLength: 5 },
      )
      .chain((tags) =>
        fc.tuple(...tags.map((tag) => fc.uint8Array({ maxLength: 80 }).map((value) => tlv(tag, value)))),
      );
    fc.assert(
      fc.property(arbFields, fc.uint8Array({ minLength: 64, maxLength: 64 }), (fieldList, sig) => {
        const b = statementBody(usage, fieldList);
        const statement = parseSignedStatement(encodeSignedStatement(b, sig), usage, "random");
        expect(toHex(statement.signedBytes)).toBe(toHex(b));
        expect(toHex(statement.signature)).toBe(toHex(sig));
        expect(statement.fields.order.length).toBe(fieldList.length + 1);
      }),
      { numRuns: 200 },
    );
  });

  it("random bytes either parse or throw a ProtocolError (fast-check)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => {
        for (const parse of [
          () => parseSignedStatement(bytes, usage, "random"),
          () => verifyTerminationAttestation(bytes, endpointPublic),
        ]) {
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

it("the test keys are the vector's", () => {
  expect(toHex(publicKeyOf(endpointPrivate))).toBe(vectors.derived.endpointLongTermPublicKey);
});
