// ECDSA-Sig-Value (RFC 5480 §2.2 / SEC 1 C.5: SEQUENCE { r INTEGER, s INTEGER })
// in DER, and the raw r‖s form the NFC protocol and WebCrypto use. KMS and X.509
// speak DER, so every signature crosses here. The DER itself is noble's
// (`DER` of @noble/curves), which parses strictly (minimal lengths and
// integers, no trailing bytes): a lenient parser would make signatures
// malleable. This module adds what the project needs around it: a fixed
// scalar size, refusing a zero r or s (no valid signature has one), and the
// project's own error types, so a caller catches TlvError as for every codec.
import { DER, DERErr } from "@noble/curves/abstract/der.js";
import { concatBytes, fromHex, toHex } from "./bytes.js";
import { ProtocolInputError, TlvError } from "./errors.js";

/** P-521 scalars are 66 bytes; nothing larger is an ECDSA curve anyone uses. */
const MAX_SCALAR_BYTES = 66;

function checkScalarSize(size: number): void {
  if (!Number.isInteger(size) || size < 1 || size > MAX_SCALAR_BYTES) {
    throw new ProtocolInputError(`size must be an integer from 1 to ${MAX_SCALAR_BYTES}`);
  }
}

const toBigInt = (bytes: Uint8Array): bigint => BigInt(`0x${toHex(bytes) || "0"}`);

/** `value` as exactly `size` big-endian bytes (it is known to fit). */
function toFixed(value: bigint, size: number): Uint8Array {
  const hex = value.toString(16).padStart(2 * size, "0");
  return fromHex(hex);
}

/** Raw r‖s (2 × `size` bytes) → DER ECDSA-Sig-Value. Refuses a zero r or s, which no valid signature has. */
export function rawToDerSignature(raw: Uint8Array, size = 32): Uint8Array {
  checkScalarSize(size);
  if (!(raw instanceof Uint8Array) || raw.length !== 2 * size) {
    throw new ProtocolInputError(`raw signature must be ${2 * size} bytes`);
  }
  const r = toBigInt(raw.subarray(0, size));
  const s = toBigInt(raw.subarray(size));
  if (r === 0n) throw new ProtocolInputError("raw signature r is zero");
  if (s === 0n) throw new ProtocolInputError("raw signature s is zero");
  return fromHex(DER.hexFromSig({ r, s }));
}

/** DER ECDSA-Sig-Value → raw r‖s (2 × `size` bytes). Throws TlvError on anything but strict DER. */
export function derToRawSignature(der: Uint8Array, size = 32): Uint8Array {
  checkScalarSize(size);
  if (!(der instanceof Uint8Array)) throw new ProtocolInputError("DER signature must be a Uint8Array");
  let parsed: { r: bigint; s: bigint };
  try {
    // One byte more than the scalar: the zero that keeps a set top bit positive.
    parsed = DER.toSig(der, size + 1);
  } catch (error) {
    if (error instanceof DERErr)
      throw new TlvError(`DER signature refused: ${error.message}`, { cause: error });
    throw error;
  }
  const limit = 1n << BigInt(8 * size);
  for (const [name, value] of Object.entries(parsed)) {
    if (value === 0n) throw new TlvError(`DER signature ${name} is zero`);
    if (value >= limit) throw new TlvError(`DER signature ${name} is longer than ${size} bytes`);
  }
  return concatBytes(toFixed(parsed.r, size), toFixed(parsed.s, size));
}
