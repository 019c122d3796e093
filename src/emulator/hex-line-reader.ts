// Splits a byte stream into hex lines with a bounded buffer, for both sides
// of the hex line protocol (docs/protocol.md §23). Nothing here ever holds
// more than one line's worth of hex digits: a line that passes the limit is
// reported at once and the rest of it, up to its newline, is skipped without
// being stored, so a line of any length (even one longer than the largest
// string V8 can hold) costs a fixed amount of memory.
//
// - LF ends a line, and so does CR LF; a CR not followed by LF is data (and,
//   not being a hex digit, makes the line "not hex").
// - Spaces and tabs anywhere in a line are ignored and not counted.
// - Every line yields exactly one verdict, in order: its bytes, or the reason
//   it is not an APDU (blank, not hex, odd number of digits, too long). A
//   line that is too long or holds a character that is not a hex digit is
//   reported as soon as that is seen; the others when the line ends. A last
//   line without a newline is a line too.

/**
 * The largest APDU either side can legally send: an extended-length case 4
 * command (ISO/IEC 7816-4 §5.1): CLA INS P1 P2, Lc as 00 + 2 bytes, 65,535
 * data bytes, Le as 2 bytes. The largest response (65,536 data bytes + SW1
 * SW2) is 6 bytes shorter, so one limit serves both directions.
 */
export const MAX_APDU_BYTES = 4 + 3 + 0xffff + 2;
/** A line may carry at most this many hex digits: 131,088. */
export const MAX_LINE_HEX_DIGITS = 2 * MAX_APDU_BYTES;

export type HexLine =
  | { readonly kind: "apdu"; readonly line: number; readonly bytes: Uint8Array }
  | { readonly kind: "refused"; readonly line: number; readonly reason: string };

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;

export class HexLineReader {
  private readonly digits: Uint8Array;
  private count = 0;
  /** Bytes of the current line seen so far (terminator excluded), for messages. */
  private column = 0;
  /** The current line got its verdict early; skip to its newline. */
  private skipping = false;
  /** The previous chunk ended in CR: whether it ends the line depends on the next byte. */
  private pendingCr = false;
  private lineNumber = 1;

  constructor(private readonly maxDigits: number = MAX_LINE_HEX_DIGITS) {
    if (!Number.isSafeInteger(maxDigits) || maxDigits < 2) throw new RangeError("maxDigits must be ≥ 2");
    this.digits = new Uint8Array(maxDigits);
  }

  /** The verdicts of the lines this chunk completed (or condemned early). */
  push(chunk: Uint8Array): HexLine[] {
    const out: HexLine[] = [];
    let i = 0;
    if (this.pendingCr) {
      this.pendingCr = false;
      if (chunk[0] === LF) {
        this.endLine(out);
        i = 1;
      } else {
        this.data(CR, out);
      }
    }
    while (i < chunk.length) {
      if (this.skipping) {
        const newline = chunk.indexOf(LF, i);
        if (newline < 0) return out;
        this.startLine();
        i = newline + 1;
        continue;
      }
      const byte = chunk[i]!;
      i++;
      if (byte === LF) {
        this.endLine(out);
      } else if (byte === CR) {
        if (i === chunk.length) this.pendingCr = true;
        else if (chunk[i] === LF) {
          this.endLine(out);
          i++;
        } else this.data(CR, out);
      } else {
        this.data(byte, out);
      }
    }
    return out;
  }

  /** The input ended: the verdict of a last line that had no newline, if any. */
  end(): HexLine[] {
    const out: HexLine[] = [];
    if (this.pendingCr) {
      this.pendingCr = false;
      this.data(CR, out);
    }
    if (this.skipping) this.startLine();
    else if (this.column > 0) this.endLine(out);
    return out;
  }

  private data(byte: number, out: HexLine[]): void {
    if (this.skipping) return;
    this.column++;
    if (byte === SPACE || byte === TAB) return;
    if (!isHexDigit(byte)) {
      this.condemn(out, `not hex: ${describeByte(byte)} at column ${this.column}`);
      return;
    }
    if (this.count === this.maxDigits) {
      this.condemn(out, `too long: more than ${this.maxDigits} hex digits`);
      return;
    }
    this.digits[this.count++] = byte;
  }

  private condemn(out: HexLine[], reason: string): void {
    out.push({ kind: "refused", line: this.lineNumber, reason });
    this.skipping = true;
  }

  private endLine(out: HexLine[]): void {
    if (!this.skipping) out.push(this.verdict());
    this.startLine();
  }

  private verdict(): HexLine {
    const line = this.lineNumber;
    if (this.count === 0) return { kind: "refused", line, reason: "blank" };
    if (this.count % 2 !== 0) {
      return { kind: "refused", line, reason: `odd length: ${this.count} hex digits` };
    }
    const text = Buffer.from(this.digits.buffer, this.digits.byteOffset, this.count).toString("latin1");
    return { kind: "apdu", line, bytes: new Uint8Array(Buffer.from(text, "hex")) };
  }

  private startLine(): void {
    this.lineNumber++;
    this.count = 0;
    this.column = 0;
    this.skipping = false;
  }
}

function isHexDigit(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66);
}

function describeByte(byte: number): string {
  const hex = `0x${byte.toString(16).padStart(2, "0").toUpperCase()}`;
  if (byte === CR) return `carriage return (${hex}) not followed by a line feed`;
  if (byte >= 0x21 && byte <= 0x7e) return `"${String.fromCharCode(byte)}" (${hex})`;
  return `byte ${hex}`;
}
