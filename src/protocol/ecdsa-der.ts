// ECDSA-Sig-Value (RFC 5480 §2.2 / SEC 1 C.5: SEQUENCE { r INTEGER, s INTEGER })
// in DER, and the raw r‖s form the NFC protocol and WebCrypto use. KMS and X.509
// speak DER, so every signature crosses here. Only this one structure is parsed,
// and strictly (minimal lengths and integers, no trailing bytes): a lenient
// parser would make signatures malleable. Like noble's der.ts, it is the subset
// we need rather than a general ASN.1 reader.
import { concatBytes } from "./bytes.js";
import { ProtocolInputError, TlvError } from "./errors.js";

const SEQUENCE = 0x30;
const INTEGER = 0x02;
/** P-521 scalars are 66 bytes; nothing larger is an ECDSA curve anyone uses. */
const MAX_SCALAR_BYTES = 66;

function checkScalarSize(size: number): void {
  if (!Number.isInteger(size) || size < 1 || size > MAX_SCALAR_BYTES) {
    throw new ProtocolInputError(`size must be an integer from 1 to ${MAX_SCALAR_BYTES}`);
  }
}

function encodeLength(length: number): Uint8Array {
  return length < 0x80 ? Uint8Array.of(length) : Uint8Array.of(0x81, length);
}

function encodeInteger(magnitude: Uint8Array): Uint8Array {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  // A set top bit would read as negative, so DER prefixes one zero byte.
  const body = trimmed[0]! & 0x80 ? concatBytes(Uint8Array.of(0), trimmed) : trimmed;
  return concatBytes(Uint8Array.of(INTEGER), encodeLength(body.length), body);
}

/** Raw r‖s (2 × `size` bytes) → DER ECDSA-Sig-Value. Refuses a zero r or s, which no valid signature has. */
export function rawToDerSignature(raw: Uint8Array, size = 32): Uint8Array {
  checkScalarSize(size);
  if (!(raw instanceof Uint8Array) || raw.length !== 2 * size) {
    throw new ProtocolInputError(`raw signature must be ${2 * size} bytes`);
  }
  const r = raw.subarray(0, size);
  const s = raw.subarray(size);
  if (r.every((b) => b === 0)) throw new ProtocolInputError("raw signature r is zero");
  if (s.every((b) => b === 0)) throw new ProtocolInputError("raw signature s is zero");
  const body = concatBytes(encodeInteger(r), encodeInteger(s));
  return concatBytes(Uint8Array.of(SEQUENCE), encodeLength(body.length), body);
}

/** Reads one DER definite length at `offset`; returns the length and where the value starts. */
function readLength(der: Uint8Array, offset: number, what: string): { length: number; next: number } {
  if (offset >= der.length) throw new TlvError(`DER signature truncated before the ${what} length`);
  const first = der[offset]!;
  if (first < 0x80) return { length: first, next: offset + 1 };
  // Our largest structure is 2 × (2 + 67) bytes, so one length byte always suffices.
  if (first !== 0x81) throw new TlvError(`DER signature ${what} length form 0x${first.toString(16)} refused`);
  if (offset + 1 >= der.length) throw new TlvError(`DER signature truncated inside the ${what} length`);
  const length = der[offset + 1]!;
  if (length < 0x80) throw new TlvError(`DER signature ${what} length is not minimally encoded`);
  return { length, next: offset + 2 };
}

/** Reads INTEGER at `offset`; returns its magnitude left-padded to `size` bytes. */
function readInteger(
  der: Uint8Array,
  offset: number,
  end: number,
  size: number,
  name: "r" | "s",
): { value: Uint8Array; next: number } {
  if (offset >= end) throw new TlvError(`DER signature has no ${name}`);
  if (der[offset] !== INTEGER) throw new TlvError(`DER signature ${name} is not an INTEGER`);
  const { length, next } = readLength(der, offset + 1, name);
  if (length === 0) throw new TlvError(`DER signature ${name} is empty`);
  if (next + length > end) throw new TlvError(`DER signature ${name} overruns the SEQUENCE`);
  const body = der.subarray(next, next + length);
  if (body[0]! & 0x80) throw new TlvError(`DER signature ${name} is negative`);
  if (body[0] === 0 && length > 1 && !(body[1]! & 0x80)) {
    throw new TlvError(`DER signature ${name} is not minimally encoded`);
  }
  const magnitude = body[0] === 0 && length > 1 ? body.subarray(1) : body;
  if (magnitude.length > size) throw new TlvError(`DER signature ${name} is longer than ${size} bytes`);
  if (magnitude.every((b) => b === 0)) throw new TlvError(`DER signature ${name} is zero`);
  const value = new Uint8Array(size);
  value.set(magnitude, size - magnitude.length);
  return { value, next: next + length };
}

/** DER ECDSA-Sig-Value → raw r‖s (2 × `size` bytes). Throws TlvError on anything but strict DER. */
export function derToRawSignature(der: Uint8Array, size = 32): Uint8Array {
  checkScalarSize(size);
  if (!(der instanceof Uint8Array)) throw new ProtocolInputError("DER signature must be a Uint8Array");
  if (der.length === 0) throw new TlvError("DER signature is empty");
  if (der[0] !== SEQUENCE) throw new TlvError("DER signature is not a SEQUENCE");
  const { length, next } = readLength(der, 1, "SEQUENCE");
  const end = next + length;
  if (end > der.length) throw new TlvError("DER signature SEQUENCE is truncated");
  if (end < der.length) throw new TlvError("DER signature has bytes after the SEQUENCE");
  const r = readInteger(der, next, end, size, "r");
  const s = readInteger(der, r.next, end, size, "s");
  if (s.next !== end) throw new TlvError("DER signature SEQUENCE has elements after s");
  return concatBytes(r.value, s.value);
}
