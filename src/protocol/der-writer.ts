// A minimal DER encoder (ITU-T X.690 §8 and §10 "Distinguished encoding
// rules"), just the types an X.509 certificate of docs/certificates.md is made
// of. The issuer builds its TBSCertificate with these instead of a general
// ASN.1 object model: a certificate is a few dozen elements, and writing them
// directly costs microseconds where building and serializing schema objects
// cost milliseconds (docs/certificates.md "Encoding"). Every function returns
// one complete element (tag, minimal definite length, contents) and refuses
// what would not be DER rather than encode it loosely.

import { concatBytes, utf8 } from "./bytes.js";
import { ProtocolInputError } from "./errors.js";

/** Universal tags (X.680 §8.4) of the types written here. */
const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  enumerated: 0x0a,
  utf8String: 0x0c,
  printableString: 0x13,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

/**
 * X.690 §8.1.3: short form below 128, else the fewest length octets (§10.1). The BER-TLV of the
 * NFC protocol (ber-tlv.ts) writes its lengths the same way.
 */
export function lengthOctets(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** One element: a one-octet tag (every tag here has a number below 31), its length, its contents. */
export function derElement(tag: number, contents: Uint8Array): Uint8Array {
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xff || (tag & 0x1f) === 0x1f) {
    throw new ProtocolInputError(`DER tag ${tag} is not a one-octet tag`);
  }
  if (!(contents instanceof Uint8Array)) throw new ProtocolInputError("DER contents must be bytes");
  const length = lengthOctets(contents.length);
  const out = new Uint8Array(1 + length.length + contents.length);
  out[0] = tag;
  out.set(length, 1);
  out.set(contents, 1 + length.length);
  return out;
}

export function derSequence(...elements: readonly Uint8Array[]): Uint8Array {
  return derElement(TAG.sequence, concatBytes(...elements));
}

/** Unsigned lexicographic order of two encodings, the shorter first on a common prefix (X.690 §11.6). */
function compareEncodings(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** SET OF: DER orders the elements by their encodings (X.690 §11.6). */
export function derSetOf(...elements: readonly Uint8Array[]): Uint8Array {
  return derElement(TAG.set, concatBytes(...[...elements].sort(compareEncodings)));
}

/** BOOLEAN: TRUE is FF in DER (X.690 §11.1). */
export function derBoolean(value: boolean): Uint8Array {
  return derElement(TAG.boolean, Uint8Array.of(value ? 0xff : 0x00));
}

/**
 * A non-negative INTEGER from its unsigned big-endian magnitude: leading zero
 * octets dropped and one 00 put back where the top bit is set, so the
 * contents are the minimal two's complement form (X.690 §8.3.2).
 */
export function derUnsignedInteger(magnitude: Uint8Array): Uint8Array {
  if (!(magnitude instanceof Uint8Array)) throw new ProtocolInputError("INTEGER magnitude must be bytes");
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const digits = magnitude.length === 0 ? Uint8Array.of(0) : magnitude.subarray(start);
  return derElement(TAG.integer, digits[0]! >= 0x80 ? concatBytes(Uint8Array.of(0), digits) : digits);
}

/** A small non-negative INTEGER (a version, a pathLenConstraint). */
export function derSmallInteger(value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new ProtocolInputError("INTEGER must be a non-negative safe integer");
  const bytes: number[] = [];
  for (let n = value; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return derUnsignedInteger(Uint8Array.from(bytes));
}

/** ENUMERATED of a small non-negative value (encoded as an INTEGER is, X.690 §8.4). */
export function derEnumerated(value: number): Uint8Array {
  const integer = derSmallInteger(value);
  integer[0] = TAG.enumerated;
  return integer;
}

const OID_TEXT = /^[0-2](\.(0|[1-9][0-9]*))+$/;

/** OBJECT IDENTIFIER from dotted text: the first two arcs as 40·a + b, each in base 128 (X.690 §8.19). */
export function derOid(dotted: string): Uint8Array {
  if (typeof dotted !== "string" || !OID_TEXT.test(dotted))
    throw new ProtocolInputError(`${dotted} is not a dotted OID`);
  const arcs = dotted.split(".").map(Number);
  if (arcs.some((arc) => !Number.isSafeInteger(arc)))
    throw new ProtocolInputError(`${dotted} has an arc too large`);
  if (arcs[0]! < 2 && arcs[1]! >= 40) throw new ProtocolInputError(`${dotted}: second arc must be below 40`);
  const out: number[] = [];
  for (const arc of [arcs[0]! * 40 + arcs[1]!, ...arcs.slice(2)]) {
    const septets: number[] = [arc % 128];
    for (let n = Math.floor(arc / 128); n > 0; n = Math.floor(n / 128)) septets.unshift(0x80 | (n % 128));
    out.push(...septets);
  }
  return derElement(TAG.oid, Uint8Array.from(out));
}

/** BIT STRING of whole octets: the unused-bits octet is 0. */
export function derBitString(bytes: Uint8Array): Uint8Array {
  return derElement(TAG.bitString, concatBytes(Uint8Array.of(0), bytes));
}

/**
 * A named-bit BIT STRING (KeyUsage, RFC 5280 §4.2.1.3) from flags where bit i
 * of the number is named bit i: bit 0 is the first octet's high bit, and
 * trailing zero bits are dropped, as DER requires of a named bit list (X.690 §11.2.2).
 */
export function derNamedBits(flags: number): Uint8Array {
  if (!Number.isSafeInteger(flags) || flags < 0 || flags >= 2 ** 31)
    throw new ProtocolInputError("named bits must be a 31-bit flag set");
  if (flags === 0) return derElement(TAG.bitString, Uint8Array.of(0));
  const bitCount = 32 - Math.clz32(flags);
  const octets = new Uint8Array(Math.ceil(bitCount / 8));
  for (let bit = 0; bit < bitCount; bit++) {
    if (flags & (1 << bit)) octets[bit >> 3]! |= 0x80 >> (bit & 7);
  }
  return derElement(TAG.bitString, concatBytes(Uint8Array.of(octets.length * 8 - bitCount), octets));
}

export function derOctetString(bytes: Uint8Array): Uint8Array {
  return derElement(TAG.octetString, bytes);
}

/** In a `u` regex a surrogate pair is one code point, so this matches only a surrogate standing alone. */
const LONE_SURROGATE = /\p{Cs}/u;

/** UTF8String; a string with a lone surrogate has no UTF-8 form and is refused, not replaced. */
export function derUtf8String(text: string): Uint8Array {
  if (typeof text !== "string" || LONE_SURROGATE.test(text))
    throw new ProtocolInputError("UTF8String text must be well-formed Unicode");
  return derElement(TAG.utf8String, utf8(text));
}

/** PrintableString's repertoire (X.680 §41.4). */
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

export function derPrintableString(text: string): Uint8Array {
  if (typeof text !== "string" || !PRINTABLE.test(text))
    throw new ProtocolInputError("PrintableString text has a character outside its repertoire");
  return derElement(TAG.printableString, utf8(text));
}

const pad = (n: number, width: number): string => String(n).padStart(width, "0");

/**
 * X.509 Time (RFC 5280 §4.1.2.5): UTCTime YYMMDDHHMMSSZ for the years 1950
 * through 2049, GeneralizedTime YYYYMMDDHHMMSSZ for any other year, always
 * with seconds, in UTC, and without fractions (so only whole seconds are taken).
 */
export function derTime(date: Date): Uint8Array {
  const ms = date instanceof Date ? date.getTime() : Number.NaN;
  if (Number.isNaN(ms)) throw new ProtocolInputError("time must be a valid Date");
  if (ms % 1000 !== 0) throw new ProtocolInputError("X.509 Time carries whole seconds");
  const year = date.getUTCFullYear();
  if (year < 0 || year > 9999) throw new ProtocolInputError("time must lie in the years 0000..9999");
  const rest =
    pad(date.getUTCMonth() + 1, 2) +
    pad(date.getUTCDate(), 2) +
    pad(date.getUTCHours(), 2) +
    pad(date.getUTCMinutes(), 2) +
    pad(date.getUTCSeconds(), 2);
  if (year >= 1950 && year <= 2049) return derElement(TAG.utcTime, utf8(`${pad(year % 100, 2)}${rest}Z`));
  return derElement(TAG.generalizedTime, utf8(`${pad(year, 4)}${rest}Z`));
}

/** A context-specific tag [n] (n < 31) around `contents`: constructed for EXPLICIT, primitive for an IMPLICIT primitive. */
export function derContext(tagNumber: number, contents: Uint8Array, constructed: boolean): Uint8Array {
  if (!Number.isInteger(tagNumber) || tagNumber < 0 || tagNumber > 30)
    throw new ProtocolInputError("context tag number must be 0..30");
  return derElement(0x80 | (constructed ? 0x20 : 0) | tagNumber, contents);
}
