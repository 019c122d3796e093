// Proves the bounded hex line reader gives exactly one verdict per line, the
// same however its input is cut into chunks, and the same as a plain model
// of the rules (LF or CR LF ends a line, a lone CR is data, spaces and tabs
// are ignored, blank / not hex / odd length / too long are refused with the
// reason); and that a line past the limit is condemned at once.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type HexLine,
  HexLineReader,
  MAX_APDU_BYTES,
  MAX_LINE_HEX_DIGITS,
} from "../../src/emulator/hex-line-reader.js";

const bytes = (text: string) => new Uint8Array(Buffer.from(text, "latin1"));

function readAll(chunks: Uint8Array[], maxDigits?: number): HexLine[] {
  const reader = new HexLineReader(maxDigits);
  return [...chunks.flatMap((chunk) => reader.push(chunk)), ...reader.end()];
}

/** The rules, written the obvious (unbounded) way. */
function model(text: string, maxDigits: number): Array<{ line: number; verdict: string }> {
  const lines = text.split("\n");
  const terminated = lines.length - 1;
  if (lines.at(-1) === "") lines.pop();
  return lines.map((raw, index) => {
    // Only a CR right before the LF belongs to the line's end.
    const line = index < terminated && raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    let digits = "";
    for (let i = 0; i < line.length; i++) {
      const c = line[i]!;
      if (c === " " || c === "\t") continue;
      if (!/[0-9a-fA-F]/.test(c)) return { line: index + 1, verdict: `not hex at column ${i + 1}` };
      if (digits.length === maxDigits) return { line: index + 1, verdict: "too long" };
      digits += c;
    }
    if (digits === "") return { line: index + 1, verdict: "blank" };
    if (digits.length % 2) return { line: index + 1, verdict: "odd length" };
    return { line: index + 1, verdict: digits.toLowerCase() };
  });
}

function summary(events: HexLine[]): Array<{ line: number; verdict: string }> {
  return events.map((e) => ({
    line: e.line,
    verdict:
      e.kind === "apdu"
        ? Buffer.from(e.bytes).toString("hex")
        : e.reason.startsWith("not hex")
          ? `not hex at column ${/column (\d+)/.exec(e.reason)![1]}`
          : e.reason.replace(/:.*$/, ""),
  }));
}

/** Cuts `data` at the given (sorted, deduplicated) offsets. */
function cut(data: Uint8Array, offsets: number[]): Uint8Array[] {
  const points = [...new Set(offsets.map((o) => o % (data.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, data.length]) {
    chunks.push(data.subarray(start, point));
    start = point;
  }
  return chunks;
}

describe("HexLineReader", () => {
  it("limits a line to the largest extended APDU, 65,544 bytes", () => {
    expect(MAX_APDU_BYTES).toBe(65_544);
    expect(MAX_LINE_HEX_DIGITS).toBe(131_088);
  });

  it("gives one verdict per line, as the model does, however the input is chunked", () => {
    const alphabet = fc.constantFrom(..."0123456789abcdefABCDEF \t\r\nxZ\u00ff");
    fc.assert(
      fc.property(
        fc.string({ unit: alphabet, maxLength: 120 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.integer({ min: 2, max: 12 }),
        (text, offsets, maxDigits) => {
          const data = bytes(text);
          const whole = readAll([data], maxDigits);
          expect(summary(whole)).toEqual(model(text, maxDigits));
          expect(readAll(cut(data, offsets), maxDigits)).toEqual(whole);
        },
      ),
      { seed: 15, numRuns: 2_000 },
    );
  });

  it("names what is wrong with a line", () => {
    const reasons = readAll([bytes("\n12 3\n0x12\nAB\rCD\r\n")]).map((e) => e.kind === "refused" && e.reason);
    expect(reasons).toEqual([
      "blank",
      "odd length: 3 hex digits",
      'not hex: "x" (0x78) at column 2',
      "not hex: carriage return (0x0D) not followed by a line feed at column 3",
    ]);
  });

  it("condemns a line as soon as it passes the limit, and skips the rest to its newline", () => {
    const reader = new HexLineReader(8);
    expect(reader.push(bytes("0011223344"))).toEqual([
      { kind: "refused", line: 1, reason: "too long: more than 8 hex digits" },
    ]);
    expect(reader.push(bytes("55zz not even hex"))).toEqual([]);
    expect(reader.push(bytes("\r\n9000\n"))).toEqual([
      { kind: "apdu", line: 2, bytes: Uint8Array.of(0x90, 0x00) },
    ]);
  });

  it("holds a CR at the end of a chunk until the next byte says whether it ends the line", () => {
    const reader = new HexLineReader();
    expect(reader.push(bytes("9000\r"))).toEqual([]);
    expect(reader.push(bytes("\n6A82\r"))).toEqual([
      { kind: "apdu", line: 1, bytes: Uint8Array.of(0x90, 0x00) },
    ]);
    expect(reader.end()).toEqual([
      {
        kind: "refused",
        line: 2,
        reason: "not hex: carriage return (0x0D) not followed by a line feed at column 5",
      },
    ]);
  });
});
