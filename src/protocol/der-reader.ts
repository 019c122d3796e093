// A strict DER decoder (ITU-T X.690 §8 and §10/§11 "Distinguished encoding
// rules") for the types the verifier reads out of an X.509 certificate
// (RFC 5280 §4.1): the reading side of der-writer.ts. Element boundaries come
// from the BER-TLV splitter (ber-tlv.ts), which already refuses indefinite and
// non-minimal lengths; this file decodes contents and refuses every encoding
// DER does not allow (a padded INTEGER or OID arc, a BOOLEAN other than 00/FF,
// a time without seconds or with a fraction), so two readers of the same bytes
// cannot see two different certificates. Every refusal is a
// CertificateVerificationError("malformed") whose message names the field.

import { parseTlvs, type Tlv, tlv } from "./ber-tlv.js";
import { toHex } from "./bytes.js";
import { CertificateVerificationError } from "./errors.js";

/** Universal tags (X.680 §8.4) this reader decodes. */
export const DER_TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  utf8String: 0x0c,
  numericString: 0x12,
  printableString: 0x13,
  teletexString: 0x14,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  visibleString: 0x1a,
  universalString: 0x1c,
  bmpString: 0x1e,
  sequence: 0x30,
  set: 0x31,
} as const;

export function malformed(message: string, cause?: unknown): CertificateVerificationError {
  return new CertificateVerificationError("malformed", message, cause === undefined ? undefined : { cause });
}

/** The elements `bytes` consists of, every byte consumed. */
export function derElements(bytes: Uint8Array, what: string): Tlv[] {
  try {
    return parseTlvs(bytes);
  } catch (error) {
    throw malformed(`${what}: ${(error as Error).message}`, error);
  }
}

/** `bytes` is exactly one element with tag `tag`; its contents. */
export function derSingle(bytes: Uint8Array, tag: number, what: string): Uint8Array {
  const items = derElements(bytes, what);
  if (items.length !== 1) throw malformed(`${what} must be exactly one element`);
  return expectTag(items[0], tag, what).value;
}

export function expectTag(item: Tlv | undefined, tag: number, what: string): Tlv {
  if (!item || item.tag !== tag) throw malformed(`${what} missing or of the wrong type`);
  return item;
}

// ---- BOOLEAN, INTEGER -----------------------------------------------------------------------

/** X.690 §11.1: FALSE is 00 and TRUE is FF, one octet; BER's other non-zero octets are not DER. */
export function readBoolean(contents: Uint8Array, what: string): boolean {
  if (contents.length !== 1 || (contents[0] !== 0x00 && contents[0] !== 0xff))
    throw malformed(`${what} must be a DER BOOLEAN (one octet, 00 or FF)`);
  return contents[0] === 0xff;
}

/**
 * X.690 §8.3.2: at least one octet, and the first nine bits never all zero or all one (a padded
 * INTEGER has another, shorter encoding of the same value).
 */
function checkMinimalInteger(contents: Uint8Array, what: string): void {
  if (contents.length === 0) throw malformed(`${what} is an empty INTEGER`);
  if (
    contents.length > 1 &&
    ((contents[0] === 0x00 && contents[1]! < 0x80) || (contents[0] === 0xff && contents[1]! >= 0x80))
  ) {
    throw malformed(`${what} is not a minimal INTEGER`);
  }
}

/** An INTEGER's value, any size. */
export function readInteger(contents: Uint8Array, what: string): bigint {
  checkMinimalInteger(contents, what);
  let value = BigInt.asIntN(8, BigInt(contents[0]!));
  for (let i = 1; i < contents.length; i++) value = (value << 8n) | BigInt(contents[i]!);
  return value;
}

/** A non-negative INTEGER as big-endian magnitude octets, the sign octet 00 dropped (a serial number). */
export function readUnsignedIntegerBytes(contents: Uint8Array, what: string): Uint8Array {
  checkMinimalInteger(contents, what);
  if (contents[0]! >= 0x80) throw malformed(`${what} is negative`);
  return contents.length > 1 && contents[0] === 0 ? contents.subarray(1) : contents;
}

/** A non-negative INTEGER small enough for a number (a pathLenConstraint). */
export function readSmallUnsignedInteger(contents: Uint8Array, what: string): number {
  const value = readInteger(contents, what);
  if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER))
    throw malformed(`${what} must be a non-negative INTEGER below 2^53`);
  return Number(value);
}

// ---- OBJECT IDENTIFIER ----------------------------------------------------------------------

/**
 * X.690 §8.19: base-128 subidentifiers, each in the fewest octets (a leading 80 octet pads one),
 * the last octet of each with bit 8 clear; the first subidentifier is 40·arc1 + arc2, arc1 being
 * 2 from 80 up. Arcs are read as bigint, so a 2.25 UUID arc of 128 bits decodes exactly.
 */
export function readOid(contents: Uint8Array, what: string): string {
  if (contents.length === 0) throw malformed(`${what} is an empty OBJECT IDENTIFIER`);
  if ((contents[contents.length - 1]! & 0x80) !== 0)
    throw malformed(`${what}: OBJECT IDENTIFIER ends inside a subidentifier`);
  const arcs: string[] = [];
  let value = 0;
  let big: bigint | undefined;
  let start = true;
  for (const octet of contents) {
    if (start && octet === 0x80) throw malformed(`${what}: OBJECT IDENTIFIER arc with a leading 80 octet`);
    start = false;
    // Numbers stay exact below 2^53: switch to bigint before a shift could pass that.
    if (big === undefined && value >= 2 ** 45) big = BigInt(value);
    if (big === undefined) value = value * 128 + (octet & 0x7f);
    else big = (big << 7n) | BigInt(octet & 0x7f);
    if ((octet & 0x80) !== 0) continue;
    if (arcs.length === 0) {
      const first = big ?? BigInt(value);
      const head = first < 40n ? 0n : first < 80n ? 1n : 2n;
      arcs.push(String(head), String(first - head * 40n));
    } else {
      arcs.push(big === undefined ? String(value) : String(big));
    }
    value = 0;
    big = undefined;
    start = true;
  }
  return arcs.join(".");
}

// ---- BIT STRING -----------------------------------------------------------------------------

export interface BitString {
  /** The octets, the unused bits of the last one zero. */
  readonly bytes: Uint8Array;
  /** How many low bits of the last octet are not part of the value (0..7). */
  readonly unusedBits: number;
}

/** X.690 §8.6.2 and §11.2.1: an initial octet 0..7 (0 when empty), the unused bits zero. */
export function readBitString(contents: Uint8Array, what: string): BitString {
  if (contents.length === 0) throw malformed(`${what} is a BIT STRING without its initial octet`);
  const unusedBits = contents[0]!;
  const bytes = contents.subarray(1);
  if (unusedBits > 7 || (bytes.length === 0 && unusedBits !== 0))
    throw malformed(`${what}: BIT STRING with ${unusedBits} unused bits`);
  if (bytes.length > 0 && (bytes[bytes.length - 1]! & ((1 << unusedBits) - 1)) !== 0)
    throw malformed(`${what}: BIT STRING with unused bits that are not zero`);
  return { bytes, unusedBits };
}

/** A BIT STRING of whole octets (a key, a signature). */
export function readOctetAlignedBitString(contents: Uint8Array, what: string): Uint8Array {
  const bits = readBitString(contents, what);
  if (bits.unusedBits !== 0) throw malformed(`${what} must be a whole-octet BIT STRING`);
  return bits.bytes;
}

/**
 * A named-bit BIT STRING (KeyUsage) as flags, bit n of the string being 1 << n, as der-writer's
 * derNamedBits writes them. X.690 §11.2.2 has DER drop trailing zero bits; they are read anyway,
 * since they name no flag (the set is the same either way, so no two readers can differ on it),
 * and roots in Mozilla's store carry them (Trustwave Global ECC P256: 03 03 07 06 00). Bits beyond
 * the 31 a flag number holds are refused where set, ignored where zero.
 */
export function readNamedBits(contents: Uint8Array, what: string): number {
  const { bytes, unusedBits } = readBitString(contents, what);
  const bitCount = bytes.length * 8 - unusedBits;
  let flags = 0;
  for (let bit = 31; bit < bitCount; bit++) {
    if (bytes[bit >> 3]! & (0x80 >> (bit & 7))) throw malformed(`${what}: a named bit beyond bit 30 is set`);
  }
  for (let bit = 0; bit < Math.min(bitCount, 31); bit++) {
    if (bytes[bit >> 3]! & (0x80 >> (bit & 7))) flags |= 1 << bit;
  }
  return flags;
}

// ---- Time -----------------------------------------------------------------------------------

const UTC_TIME = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;
const GENERALIZED_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;

/**
 * X.509 Time (RFC 5280 §4.1.2.5): UTCTime YYMMDDHHMMSSZ (YY below 50 is 20YY, else 19YY) or
 * GeneralizedTime YYYYMMDDHHMMSSZ, in UTC with seconds and no fraction. Either type is read for
 * any year (§4.1.2.5: relying parties MUST accept both), as node's and OpenSSL's readers do.
 */
export function readTime(item: Tlv, what: string): Date {
  if (item.tag !== DER_TAG.utcTime && item.tag !== DER_TAG.generalizedTime)
    throw malformed(`${what} must be a UTCTime or GeneralizedTime`);
  const text = String.fromCharCode(...item.value);
  const match = (item.tag === DER_TAG.utcTime ? UTC_TIME : GENERALIZED_TIME).exec(text);
  if (!match)
    throw malformed(
      `${what}: ${item.tag === DER_TAG.utcTime ? "UTCTime must be YYMMDDHHMMSSZ" : "GeneralizedTime must be YYYYMMDDHHMMSSZ"}`,
    );
  const [, y, mo, d, h, mi, s] = match.map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const year = item.tag === DER_TAG.utcTime ? (y < 50 ? 2000 + y : 1900 + y) : y;
  const date = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC reads the years 0..99 as 1900..1999.
  date.setUTCFullYear(year, mo - 1, d);
  date.setUTCHours(h, mi, s, 0);
  // A field out of range (month 13, 31 April, hour 24, second 60) would roll over into another date.
  if (
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() !== mo - 1 ||
    date.getUTCDate() !== d ||
    date.getUTCHours() !== h ||
    date.getUTCMinutes() !== mi ||
    date.getUTCSeconds() !== s
  ) {
    throw malformed(`${what}: ${text} is not a calendar time`);
  }
  return date;
}

// ---- strings and Names ----------------------------------------------------------------------

const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const UTF16BE = new TextDecoder("utf-16be", { fatal: true, ignoreBOM: true });
/**
 * The text of a directory string (RFC 5280 §4.1.2.4 DirectoryString, IA5String), or undefined for
 * another type. The multi-octet forms must decode; the one-octet forms are shown as Latin-1
 * whatever their repertoire says (an "&" in a PrintableString is common in other makers' roots):
 * names are compared as bytes and their text serves messages and lookups only.
 */
export function readString(item: Tlv, what: string): string | undefined {
  const bytes = item.value;
  switch (item.tag) {
    case DER_TAG.utf8String:
      try {
        return UTF8.decode(bytes);
      } catch (error) {
        throw malformed(`${what}: UTF8String is not UTF-8`, error);
      }
    case DER_TAG.printableString:
    case DER_TAG.numericString:
    case DER_TAG.ia5String:
    case DER_TAG.visibleString:
    case DER_TAG.teletexString:
      return String.fromCharCode(...bytes);
    case DER_TAG.bmpString:
      try {
        return UTF16BE.decode(bytes);
      } catch (error) {
        throw malformed(`${what}: BMPString is not UCS-2`, error);
      }
    case DER_TAG.universalString: {
      if (bytes.length % 4 !== 0) throw malformed(`${what}: UniversalString not in 4-octet characters`);
      const points: number[] = [];
      for (let i = 0; i < bytes.length; i += 4) {
        const point =
          ((bytes[i]! << 24) | (bytes[i + 1]! << 16) | (bytes[i + 2]! << 8) | bytes[i + 3]!) >>> 0;
        if (point > 0x10ffff || (point >= 0xd800 && point <= 0xdfff))
          throw malformed(`${what}: UniversalString with an invalid character`);
        points.push(point);
      }
      return String.fromCodePoint(...points);
    }
    default:
      return undefined;
  }
}

export interface NameAttribute {
  readonly oid: string;
  /** The string value; undefined when the value is not a string type. */
  readonly text: string | undefined;
  /** The value's whole DER element (tag, length, contents). */
  readonly der: Uint8Array;
}

/**
 * Name ::= SEQUENCE OF RelativeDistinguishedName, each a non-empty SET OF
 * AttributeTypeAndValue { type OID, value ANY } (RFC 5280 §4.1.2.4), given as the
 * Name's contents. The RDNs in the order they are encoded.
 */
export function readName(contents: Uint8Array, what: string): NameAttribute[][] {
  return derElements(contents, what).map((rdn, i) => {
    const where = `${what} RDN ${i + 1}`;
    const set = expectTag(rdn, DER_TAG.set, where);
    const attributes = derElements(set.value, where);
    if (attributes.length === 0) throw malformed(`${where} is empty`);
    return attributes.map((attribute) => {
      const [type, value, ...extra] = derElements(expectTag(attribute, DER_TAG.sequence, where).value, where);
      if (!type || !value || extra.length > 0)
        throw malformed(`${where}: AttributeTypeAndValue must be a type and a value`);
      const oid = readOid(expectTag(type, DER_TAG.oid, `${where} type`).value, `${where} type`);
      return { oid, text: readString(value, `${where} ${oid}`), der: tlv(value.tag, value.value) };
    });
  });
}

/**
 * RFC 4514 §3's short names, and those @peculiar/x509 wrote in these messages before (E, SN, G, I,
 * T); any other type is written as its dotted OID.
 */
const SHORT_NAMES: Readonly<Record<string, string>> = {
  "1.2.840.113549.1.9.1": "E",
  "2.5.4.4": "SN",
  "2.5.4.42": "G",
  "2.5.4.43": "I",
  "2.5.4.12": "T",
  "2.5.4.3": "CN",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "2.5.4.6": "C",
  "2.5.4.9": "STREET",
  "0.9.2342.19200300.100.1.25": "DC",
  "0.9.2342.19200300.100.1.1": "UID",
};

/**
 * RFC 4514 §2.4 escaping: the specials `"+,;<>\` anywhere, `#` or a space first and a space last
 * get a backslash; control characters are written as \XX so a name cannot break a log line.
 */
function escapeValue(text: string): string {
  const chars = [...text];
  return chars
    .map((c, i) => {
      const code = c.codePointAt(0)!;
      if (code < 0x20 || code === 0x7f) return `\\${code.toString(16).toUpperCase().padStart(2, "0")}`;
      if ('"+,;<>\\'.includes(c)) return `\\${c}`;
      if ((i === 0 && (c === " " || c === "#")) || (i === chars.length - 1 && c === " ")) return `\\${c}`;
      return c;
    })
    .join("");
}

/**
 * A Name as text for messages: RFC 4514 attribute types, escaping and `+` within an RDN, a value
 * that is no string as `#` and its DER in hex (§2.4). The RDNs stay in the order the certificate
 * writes them (C, O, CN), joined by ", ", not reversed as §2.1 does, since people read names so.
 */
export function nameText(name: readonly (readonly NameAttribute[])[]): string {
  return name
    .map((rdn) =>
      rdn
        .map(
          (a) =>
            `${SHORT_NAMES[a.oid] ?? a.oid}=${a.text === undefined ? `#${toHex(a.der)}` : escapeValue(a.text)}`,
        )
        .join("+"),
    )
    .join(", ");
}

/** The string values of every attribute of type `oid`, in the order of the Name. */
export function nameValues(name: readonly (readonly NameAttribute[])[], oid: string): string[] {
  return name.flatMap((rdn) => rdn.filter((a) => a.oid === oid && a.text !== undefined).map((a) => a.text!));
}
