// BER-TLV as the NFC protocol uses it (docs/transaction.md "Encoding"; ISO/IEC
// 7816-4 §5.2). Tags are one to three bytes (multi-byte when the low five bits
// of the first byte are all set, e.g. 7F50); lengths are short form, 81 LL or
// 82 LLLL. The parser is total: every malformed input ends in a TlvError that
// says what was wrong and where, never an out-of-range read.
import { concatBytes, toHex } from "./bytes.js";
import { lengthOctets } from "./der-writer.js";
import { ProtocolInputError, TlvError } from "./errors.js";

export interface Tlv {
  readonly tag: number;
  readonly value: Uint8Array;
}

/** Largest value the 82 LLLL length form can carry. */
export const MAX_TLV_VALUE_LENGTH = 0xffff;

export function tagHex(tag: number): string {
  return tag
    .toString(16)
    .toUpperCase()
    .padStart(tag > 0xffff ? 6 : tag > 0xff ? 4 : 2, "0");
}

function encodeTag(tag: number): Uint8Array {
  if (!Number.isInteger(tag) || tag < 1 || tag > 0xffffff)
    throw new ProtocolInputError(`tag ${tag} out of range`);
  if (tag <= 0xff) {
    if ((tag & 0x1f) === 0x1f) throw new ProtocolInputError(`tag ${tagHex(tag)} announces a second byte`);
    return Uint8Array.of(tag);
  }
  const bytes =
    tag <= 0xffff
      ? Uint8Array.of(tag >> 8, tag & 0xff)
      : Uint8Array.of(tag >> 16, (tag >> 8) & 0xff, tag & 0xff);
  if ((bytes[0]! & 0x1f) !== 0x1f || bytes[0] === 0xff)
    throw new ProtocolInputError(`tag ${tagHex(tag)} is not a valid multi-byte tag`);
  // Every subsequent byte but the last has the continuation bit (b8) set, as parseTlvs reads
  // them; otherwise the encoding would parse back as a different tag and a shifted length.
  for (let i = 1; i < bytes.length; i++) {
    if (((bytes[i]! & 0x80) !== 0) !== i < bytes.length - 1) {
      throw new ProtocolInputError(`tag ${tagHex(tag)} has a wrong continuation bit in byte ${i + 1}`);
    }
  }
  return bytes;
}

/** The minimal definite length, as DER writes it; the NFC protocol's values stop at MAX_TLV_VALUE_LENGTH. */
function encodeLength(length: number): Uint8Array {
  if (length > MAX_TLV_VALUE_LENGTH) {
    throw new ProtocolInputError(`TLV value of ${length} bytes exceeds ${MAX_TLV_VALUE_LENGTH}`);
  }
  return lengthOctets(length);
}

/** TLV(t, v) of docs/transaction.md. */
export function tlv(tag: number, value: Uint8Array): Uint8Array {
  if (!(value instanceof Uint8Array))
    throw new ProtocolInputError(`value of tag ${tagHex(tag)} must be bytes`);
  return concatBytes(encodeTag(tag), encodeLength(value.length), value);
}

/** Parses a concatenation of TLVs, consuming every byte. */
export function parseTlvs(bytes: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const start = offset;
    let tag = bytes[offset++]!;
    if (tag === 0x00 || tag === 0xff)
      throw new TlvError(`invalid tag byte ${toHex(Uint8Array.of(tag))} at offset ${start}`);
    if ((tag & 0x1f) === 0x1f) {
      // Subsequent tag bytes carry a continuation bit; we accept up to three bytes in all.
      for (let i = 0; ; i++) {
        if (offset >= bytes.length) throw new TlvError(`truncated tag at offset ${start}`);
        const next = bytes[offset++]!;
        tag = (tag << 8) | next;
        if ((next & 0x80) === 0) break;
        if (i >= 1) throw new TlvError(`tag longer than 3 bytes at offset ${start}`);
      }
    }
    if (offset >= bytes.length)
      throw new TlvError(`missing length for tag ${tagHex(tag)} at offset ${start}`);
    const first = bytes[offset++]!;
    let length: number;
    if (first < 0x80) {
      length = first;
    } else if (first === 0x81 || first === 0x82) {
      const size = first - 0x80;
      if (offset + size > bytes.length) throw new TlvError(`truncated length for tag ${tagHex(tag)}`);
      length = size === 1 ? bytes[offset]! : (bytes[offset]! << 8) | bytes[offset + 1]!;
      if (length < (size === 1 ? 0x80 : 0x100))
        throw new TlvError(`non-minimal length for tag ${tagHex(tag)}`);
      offset += size;
    } else {
      throw new TlvError(`unsupported length byte ${toHex(Uint8Array.of(first))} for tag ${tagHex(tag)}`);
    }
    if (offset + length > bytes.length) {
      throw new TlvError(
        `value of tag ${tagHex(tag)} declares ${length} bytes but only ${bytes.length - offset} remain`,
      );
    }
    out.push({ tag, value: bytes.subarray(offset, offset + length) });
    offset += length;
  }
  return out;
}

/**
 * A parsed TLV list with lookups that fail with a TlvError naming the tag.
 * Duplicate tags are refused: none of our messages repeats a tag, and a
 * duplicate is a classic way to make two parsers disagree.
 */
export class TlvMap {
  private readonly byTag = new Map<number, Uint8Array>();
  readonly order: readonly number[];

  constructor(tlvs: readonly Tlv[], what = "message") {
    for (const { tag, value } of tlvs) {
      if (this.byTag.has(tag)) throw new TlvError(`${what}: tag ${tagHex(tag)} appears twice`);
      this.byTag.set(tag, value);
    }
    this.order = tlvs.map((t) => t.tag);
  }

  static parse(bytes: Uint8Array, what = "message"): TlvMap {
    return new TlvMap(parseTlvs(bytes), what);
  }

  has(tag: number): boolean {
    return this.byTag.has(tag);
  }

  optional(tag: number): Uint8Array | undefined {
    return this.byTag.get(tag);
  }

  /** The value of a mandatory tag; with `length`, it must be exactly that long (or within [min, max]). */
  require(tag: number, name: string, length?: number | readonly [number, number]): Uint8Array {
    const value = this.byTag.get(tag);
    if (value === undefined) throw new TlvError(`missing ${name} (tag ${tagHex(tag)})`);
    if (typeof length === "number" && value.length !== length) {
      throw new TlvError(`${name} (tag ${tagHex(tag)}) must be ${length} bytes, got ${value.length}`);
    }
    if (Array.isArray(length) && (value.length < length[0] || value.length > length[1])) {
      throw new TlvError(
        `${name} (tag ${tagHex(tag)}) must be ${length[0]}..${length[1]} bytes, got ${value.length}`,
      );
    }
    return value;
  }
}
