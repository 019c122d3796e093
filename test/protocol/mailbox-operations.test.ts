// Checks the EXCHANGE mailbox operations of docs/protocol.md §2 (the project's own design).
// The vector's plaintexts, fast-check round trips, and malformed operations refused.
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "../../src/protocol/bytes.js";
import { ProtocolError, ProtocolInputError, TlvError } from "../../src/protocol/errors.js";
import {
  encodeMailboxOperations,
  encodeReadResults,
  MAILBOX_SIZE,
  Mailbox,
  type MailboxOperation,
  parseMailboxOperations,
  parseReadResults,
} from "../../src/protocol/mailbox-operations.js";
import type { TransactionVectors } from "../vectors/carkeys/generate-transaction-vectors.js";

const vectors = JSON.parse(
  readFileSync(new URL("../vectors/carkeys/transaction-vectors.json", import.meta.url), "utf8"),
) as TransactionVectors;
const token = fromHex(vectors.inputs.immobilizerToken);

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

describe("the vector's EXCHANGE plaintexts", () => {
  const [, command, response] = vectors.derived.standard.secureMessaging;

  it("immobilizer provisioning: WRITE the token at offset 0 of the confidential mailbox, then READ it", () => {
    const ops: MailboxOperation[] = [
      { kind: "write", mailbox: Mailbox.CONFIDENTIAL, offset: 0, data: token },
      { kind: "read", mailbox: Mailbox.CONFIDENTIAL, offset: 0, length: 16 },
    ];
    expect(toHex(encodeMailboxOperations(ops))).toBe(command?.plaintext);
    const parsed = parseMailboxOperations(fromHex(command!.plaintext));
    expect(parsed).toHaveLength(2);
    expect(parsed[0]).toMatchObject({ kind: "write", mailbox: 2, offset: 0 });
    expect(parsed[1]).toEqual({ kind: "read", mailbox: 2, offset: 0, length: 16 });
    expect(toHex(encodeReadResults([token]))).toBe(response?.plaintext);
    expect(toHex(parseReadResults(fromHex(response!.plaintext), 1)[0]!)).toBe(
      vectors.inputs.immobilizerToken,
    );
  });

  it("a read of the private mailbox (the fast transaction's EXCHANGE)", () => {
    const [fastCommand, fastResponse] = vectors.derived.fast.secureMessaging;
    expect(
      toHex(encodeMailboxOperations([{ kind: "read", mailbox: Mailbox.PRIVATE, offset: 0, length: 8 }])),
    ).toBe(fastCommand?.plaintext);
    expect(parseReadResults(fromHex(fastResponse!.plaintext), 1)[0]).toEqual(
      fromHex(vectors.inputs.privateMailboxContent),
    );
  });

  it("an empty operation list is the single byte 00, and its answer is empty", () => {
    expect(toHex(encodeMailboxOperations([]))).toBe("00");
    expect(parseMailboxOperations(fromHex("00"))).toEqual([]);
    expect(toHex(encodeReadResults([]))).toBe("");
    expect(parseReadResults(new Uint8Array(0), 0)).toEqual([]);
  });

  it("reaches the last byte of each mailbox, and a write at 82 length form", () => {
    const ops: MailboxOperation[] = [
      { kind: "read", mailbox: Mailbox.PRIVATE, offset: MAILBOX_SIZE[Mailbox.PRIVATE] - 1, length: 1 },
      { kind: "read", mailbox: Mailbox.CONFIDENTIAL, offset: 0, length: MAILBOX_SIZE[Mailbox.CONFIDENTIAL] },
      {
        kind: "write",
        mailbox: Mailbox.PRIVATE,
        offset: 0,
        data: new Uint8Array(MAILBOX_SIZE[Mailbox.PRIVATE]),
      },
    ];
    const encoded = encodeMailboxOperations(ops);
    expect(toHex(encoded.subarray(0, 22))).toBe(
      "00" + "54050107ff0001" + "54050200000080" + "55820803010000",
    );
    expect(encoded.length).toBe(22 + 2048);
    expect(parseMailboxOperations(encoded)).toEqual(ops);
  });
});

describe("malformed EXCHANGE plaintexts", () => {
  it.each([
    ["an empty plaintext", "", TlvError, /must start with 00/],
    ["a wrong first byte", "0154050200000010", TlvError, /must start with 00/],
    ["an unknown operation tag", "0056050200000010", TlvError, /unknown mailbox operation tag 56/],
    ["an unknown mailbox", "0054050300000010", TlvError, /unknown mailbox 3/],
    ["mailbox 00", "0054050000000010", TlvError, /unknown mailbox 0/],
    [
      "a READ of 4 bytes",
      "00540402000000",
      TlvError,
      /READ must be mailbox\(1\) ‖ offset\(2\) ‖ length\(2\)/,
    ],
    ["a READ of 6 bytes", "005406020000001000", TlvError, /READ must be/],
    ["an operation shorter than 3 bytes", "0055020200", TlvError, /shorter than 3 bytes/],
    [
      "a READ past the end",
      "0054050200710010",
      ProtocolInputError,
      /mailbox 2 range 113\+16 exceeds 128 bytes/,
    ],
    ["a WRITE past the end", "00550502007f0102", ProtocolInputError, /mailbox 2 range 127\+2 exceeds 128/],
    ["a truncated TLV", "005405020000", TlvError, /declares 5 bytes but only 3 remain/],
  ])("refuses %s", (_name, hex, type, message) => {
    expectError(() => parseMailboxOperations(fromHex(hex)), type, message);
  });

  it("refuses an answer with the wrong number of READ results or another tag", () => {
    expectError(() => parseReadResults(fromHex("5401aa"), 2), TlvError, /must hold 2 READ results/);
    expectError(() => parseReadResults(fromHex("5501aa"), 1), TlvError, /must hold 1 READ results/);
    expectError(() => parseReadResults(fromHex("5402aa"), 1), TlvError, /declares 2 bytes/);
  });

  it("the encoder refuses ranges outside the mailbox, naming them", () => {
    expect(() =>
      encodeMailboxOperations([{ kind: "read", mailbox: Mailbox.CONFIDENTIAL, offset: 120, length: 9 }]),
    ).toThrow(/mailbox 2 range 120\+9 exceeds 128 bytes/);
    expect(() =>
      encodeMailboxOperations([
        { kind: "write", mailbox: Mailbox.PRIVATE, offset: 2048, data: new Uint8Array(1) },
      ]),
    ).toThrow(ProtocolInputError);
  });

  it.each([
    ["a negative offset", { kind: "read", mailbox: Mailbox.PRIVATE, offset: -1, length: 1 }],
    ["a fractional offset", { kind: "read", mailbox: Mailbox.PRIVATE, offset: 1.5, length: 1 }],
    ["a negative length", { kind: "read", mailbox: Mailbox.PRIVATE, offset: 4, length: -2 }],
  ] as [string, MailboxOperation][])(
    "the encoder refuses %s (it would wrap in the 2-byte field)",
    (_name, op) => {
      expect(() => encodeMailboxOperations([op])).toThrow(ProtocolInputError);
      expect(() => encodeMailboxOperations([op])).toThrow(/must be a non-negative integer/);
    },
  );
});

const arbOperation: fc.Arbitrary<MailboxOperation> = fc
  .tuple(fc.constantFrom(Mailbox.PRIVATE, Mailbox.CONFIDENTIAL), fc.boolean(), fc.nat(), fc.nat())
  .chain(([mailbox, isRead, a, b]) => {
    const size = MAILBOX_SIZE[mailbox];
    const offset = a % (size + 1);
    const length = b % (size - offset + 1);
    return isRead
      ? fc.constant<MailboxOperation>({ kind: "read", mailbox, offset, length })
      : fc
          .uint8Array({ minLength: length, maxLength: length })
          .map<MailboxOperation>((data) => ({ kind: "write", mailbox, offset, data }));
  });

describe("fast-check", () => {
  it("operation lists round-trip", () => {
    fc.assert(
      fc.property(fc.array(arbOperation, { maxLength: 6 }), (ops) => {
        expect(parseMailboxOperations(encodeMailboxOperations(ops))).toEqual(ops);
      }),
      { numRuns: 300 },
    );
  });

  it("read results round-trip", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 5 }), (results) => {
        expect(parseReadResults(encodeReadResults(results), results.length)).toEqual(results);
      }),
    );
  });

  it("random plaintexts either parse or throw a ProtocolError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (tail) => {
        const plaintext = Uint8Array.from([0x00, ...tail]);
        try {
          parseMailboxOperations(plaintext);
        } catch (error) {
          expect(error).toBeInstanceOf(ProtocolError);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
