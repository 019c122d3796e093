// Typed errors of the protocol library. Every parser and public function throws
// one of these (never a RangeError or TypeError from an out-of-range read), so
// callers can map them to status words or HTTP problems by class.

export class ProtocolError extends Error {
  override name = "ProtocolError";
}

/** A caller passed a parameter of the wrong shape (length, range, encoding). */
export class ProtocolInputError extends ProtocolError {
  override name = "ProtocolInputError";
}

/** BER-TLV bytes that do not parse: truncated length, bad tag, oversize value, missing tag. */
export class TlvError extends ProtocolError {
  override name = "TlvError";
}

/** An APDU that does not parse (too short, Lc disagreeing with the data, oversize). */
export class ApduError extends ProtocolError {
  override name = "ApduError";
}

/** A device kept answering 61XX past the bound on chained responses (src/protocol/response-chaining.ts). */
export class ResponseChainingError extends ApduError {
  override name = "ResponseChainingError";
}

/** Secure messaging refused a message: bad MAC, bad padding, wrong length. */
export class SecureMessagingError extends ProtocolError {
  override name = "SecureMessagingError";
}

/** A signature, cryptogram or evidence value did not verify. */
export class VerificationError extends ProtocolError {
  override name = "VerificationError";
}
