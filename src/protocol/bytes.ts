// Byte helpers shared by every codec: hex with the project's typed errors,
// constant-time compare, big-endian integers of fixed width, concatenation.
// Nothing here does I/O, so src/protocol stays pure.
import { ProtocolInputError } from "./errors.js";

export type Bytes = Uint8Array;

/** The parts one after the other, in a new array (each must be a Uint8Array). */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) {
    if (!(part instanceof Uint8Array)) throw new ProtocolInputError("concatBytes takes Uint8Arrays only");
    length += part.length;
  }
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** Parses lowercase or uppercase hex, with no separators; names the parameter on failure. */
export function fromHex(hex: string, name = "hex"): Uint8Array {
  if (typeof hex !== "string" || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new ProtocolInputError(`${name} must be an even-length hexadecimal string`);
  }
  return new Uint8Array(Buffer.from(hex, "hex"));
}

export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Constant-time equality for MACs and cryptograms. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

export function u16(value: number): Uint8Array {
  return Uint8Array.of((value >>> 8) & 0xff, value & 0xff);
}

export function u32(value: number): Uint8Array {
  return Uint8Array.of((value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
}

/** Big-endian unsigned integer of up to 8 bytes; refuses values beyond 2^53 rather than lose precision. */
export function readUint(bytes: Uint8Array): number {
  if (bytes.length > 8) throw new ProtocolInputError("integer field longer than 8 bytes");
  let value = 0;
  for (const byte of bytes) value = value * 256 + byte;
  if (!Number.isSafeInteger(value)) throw new ProtocolInputError("integer field exceeds 2^53");
  return value;
}

/** Big-endian unsigned integer of exactly `length` bytes (up to 2^53). */
export function uintBytes(value: number, length: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) throw new ProtocolInputError("integer out of range");
  const out = new Uint8Array(length);
  let rest = value;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  if (rest !== 0) throw new ProtocolInputError(`integer does not fit in ${length} bytes`);
  return out;
}

export function expectLength(bytes: Uint8Array, length: number, name: string): Uint8Array {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new ProtocolInputError(`${name} must be ${length} bytes`);
  }
  return bytes;
}
