// Checks ISO/IEC 7816-4 §5.1 command and response APDUs (docs/transaction.md "Encoding").
// Cases 1–4, short and extended, with and without Le; fast-check round trips; malformed commands
// refused with an ApduError.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type CommandApdu,
  encodeCommand,
  encodeResponse,
  parseCommand,
  parseResponse,
  swHex,
} from "../../src/protocol/apdu.js";
import { fromHex, toHex } from "../../src/protocol/bytes.js";
import { ApduError, ProtocolError, ProtocolInputError } from "../../src/protocol/errors.js";

const header = { cla: 0x80, ins: 0x80, p1: 0x01, p2: 0x03 };
const bytes = (length: number) => Uint8Array.from({ length }, (_, i) => i & 0xff);

function expectApduError(hex: string, message: RegExp): void {
  let caught: unknown;
  try {
    parseCommand(fromHex(hex));
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ApduError);
  expect((caught as Error).message).toMatch(message);
}

describe("command APDU cases (encode, then parse back)", () => {
  const cases: [string, CommandApdu, string][] = [
    ["case 1", { ...header, data: new Uint8Array(0) }, "80800103"],
    ["case 2 short, Le 00", { ...header, data: new Uint8Array(0), le: 0 }, "8080010300"],
    ["case 2 short, Le 20", { ...header, data: new Uint8Array(0), le: 0x20 }, "8080010320"],
    ["case 3 short", { ...header, data: fromHex("aabb") }, "8080010302aabb"],
    ["case 3 short, 255 bytes", { ...header, data: bytes(255) }, `80800103ff${toHex(bytes(255))}`],
    ["case 4 short", { ...header, data: fromHex("aabb"), le: 0 }, "8080010302aabb00"],
    ["case 4 short, Le 10", { ...header, data: fromHex("aabb"), le: 0x10 }, "8080010302aabb10"],
    ["case 2 extended", { ...header, data: new Uint8Array(0), le: 0x1234 }, "80800103001234"],
    ["case 3 extended", { ...header, data: bytes(256) }, `80800103000100${toHex(bytes(256))}`],
    [
      "case 4 extended",
      { ...header, data: bytes(256), le: 0x0200 },
      `80800103000100${toHex(bytes(256))}0200`,
    ],
    ["case 4 extended by Le", { ...header, data: fromHex("aa"), le: 0x0101 }, "80800103000001aa0101"],
    [
      "case 4 extended, Le 0000",
      { ...header, data: bytes(300), le: 0 },
      `8080010300012c${toHex(bytes(300))}0000`,
    ],
  ];

  it.each(cases)("%s", (_name, command, hex) => {
    const encoded = encodeCommand(command);
    expect(toHex(encoded)).toBe(hex);
    const parsed = parseCommand(encoded);
    expect(parsed.cla).toBe(command.cla);
    expect(parsed.ins).toBe(command.ins);
    expect(parsed.p1).toBe(command.p1);
    expect(parsed.p2).toBe(command.p2);
    expect(toHex(parsed.data)).toBe(toHex(command.data));
    expect(parsed.le).toBe(command.le);
  });

  it("encodes Le 256 as short 00 and Le 65536 as extended 0000 (both read back as 0)", () => {
    expect(toHex(encodeCommand({ ...header, data: new Uint8Array(0), le: 0x100 }))).toBe("8080010300");
    expect(toHex(encodeCommand({ ...header, data: new Uint8Array(0), le: 0x10000 }))).toBe("80800103000000");
    expect(parseCommand(fromHex("80800103000000")).le).toBe(0);
  });

  it("carries 65535 bytes of data, the extended maximum", () => {
    const data = bytes(0xffff);
    const parsed = parseCommand(encodeCommand({ ...header, data, le: 0 }));
    expect(parsed.data.length).toBe(0xffff);
    expect(parsed.le).toBe(0);
  });

  it("accepts every command with or without the trailing Le (docs/transaction.md)", () => {
    // SELECT with and without Le: same data, Le present only in the first.
    const aid = "a000000809434343444b417631";
    expect(toHex(parseCommand(fromHex(`00a404000d${aid}00`)).data)).toBe(aid);
    expect(toHex(parseCommand(fromHex(`00a404000d${aid}`)).data)).toBe(aid);
    expect(parseCommand(fromHex(`00a404000d${aid}`)).le).toBeUndefined();
  });

  it("refuses inputs it cannot encode", () => {
    expect(() => encodeCommand({ ...header, cla: 0x100, data: new Uint8Array(0) })).toThrow(
      /cla must be a byte/,
    );
    expect(() => encodeCommand({ ...header, p2: -1, data: new Uint8Array(0) })).toThrow(/p2 must be a byte/);
    expect(() => encodeCommand({ ...header, data: bytes(0x10000) })).toThrow(ProtocolInputError);
    expect(() => encodeCommand({ ...header, data: new Uint8Array(0), le: 0x10001 })).toThrow(
      /le out of range/,
    );
    expect(() => encodeCommand({ ...header, data: new Uint8Array(0), le: -1 })).toThrow(/le out of range/);
  });
});

describe("malformed command APDUs", () => {
  it.each([
    ["empty", "", /0 bytes is shorter than its 4-byte header/],
    ["3 bytes", "808001", /3 bytes is shorter than its 4-byte header/],
    ["short Lc larger than the data", "8080010305aabb", /Lc 5 disagrees with the 2 bytes/],
    ["short Lc smaller than the data", "8080010301aabbcc", /Lc 1 disagrees with the 3 bytes/],
    ["extended Lc of zero", "80800103000000aa", /extended Lc of zero/],
    ["extended Lc of zero with Le", "808001030000000100", /extended Lc of zero/],
    ["truncated extended length", "808001030001", /truncated extended length/],
    ["truncated extended data", "80800103000004aabb", /extended Lc 4 disagrees with the 2 bytes/],
    ["extended data with a 1-byte Le", "80800103000002aabb00", /extended Lc 2 disagrees with the 3 bytes/],
    ["extended data with a 3-byte Le", "80800103000002aabb000000", /extended Lc 2 disagrees/],
  ])("refuses %s", (_name, hex, message) => expectApduError(hex, message));
});

describe("response APDUs", () => {
  it("splits data and status word", () => {
    const parsed = parseResponse(fromHex("5c04020001009000"));
    expect(toHex(parsed.data)).toBe("5c0402000100");
    expect(parsed.sw).toBe(0x9000);
    expect(swHex(parsed.sw)).toBe("9000");
  });

  it("parses a bare status word", () => {
    expect(parseResponse(fromHex("6a88"))).toEqual({ data: new Uint8Array(0), sw: 0x6a88 });
  });

  it.each(["", "90"])("refuses %j (no status word)", (hex) => {
    expect(() => parseResponse(fromHex(hex))).toThrow(ApduError);
    expect(() => parseResponse(fromHex(hex))).toThrow(/has no status word/);
  });

  it("refuses to encode a status word that is not two bytes", () => {
    expect(() => encodeResponse({ data: new Uint8Array(0), sw: 0x10000 })).toThrow(ProtocolInputError);
  });

  it("round-trips (fast-check)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 0xffff }), (data, sw) => {
        const parsed = parseResponse(encodeResponse({ data, sw }));
        expect(toHex(parsed.data)).toBe(toHex(data));
        expect(parsed.sw).toBe(sw);
      }),
    );
  });
});

describe("fast-check", () => {
  const arbByte = fc.integer({ min: 0, max: 0xff });
  const arbCommand = fc.record({
    cla: arbByte,
    ins: arbByte,
    p1: arbByte,
    p2: arbByte,
    data: fc.oneof(fc.uint8Array({ maxLength: 20 }), fc.uint8Array({ minLength: 250, maxLength: 600 })),
    le: fc.option(fc.oneof(fc.integer({ min: 0, max: 0x101 }), fc.integer({ min: 0, max: 0x10000 })), {
      nil: undefined,
    }),
  });

  it("encode/parse round-trips every case (Le 256 and 65536 read back as their 0 encodings)", () => {
    fc.assert(
      fc.property(arbCommand, (command) => {
        const encoded = encodeCommand(command);
        const extended = command.data.length > 0xff || (command.le !== undefined && command.le > 0x100);
        const parsed = parseCommand(encoded);
        expect({ ...parsed, data: toHex(parsed.data) }).toEqual({
          ...command,
          data: toHex(command.data),
          le: command.le === undefined ? undefined : command.le % (extended ? 0x10000 : 0x100),
        });
      }),
      { numRuns: 500 },
    );
  });

  it("random bytes either parse or throw ApduError, nothing else", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 270 }), (raw) => {
        try {
          parseCommand(raw);
        } catch (error) {
          expect(error).toBeInstanceOf(ApduError);
          expect(error).toBeInstanceOf(ProtocolError);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
