// Turns request fields the schemas have already shaped (lower-case hex) into
// bytes, and protocol refusals of their meaning (a point off the curve, a
// statement that does not parse) into ValidationErrors that name the field.
// The service calls these at its edge, so a ProtocolInputError or TlvError
// from src/protocol never escapes as an unexplained 500.
import { fromHex } from "../protocol/bytes.js";
import { ProtocolError } from "../protocol/errors.js";
import { assertPublicKey } from "../protocol/p256.js";
import { ValidationError } from "./errors.js";

export function bytesField(value: string, path: string): Uint8Array {
  try {
    return fromHex(value, path);
  } catch {
    throw new ValidationError(`${path} must be lower-case hex`, [{ path, message: "must be hex" }]);
  }
}

export function publicKeyField(value: string, path: string): Uint8Array {
  const bytes = bytesField(value, path);
  try {
    return assertPublicKey(bytes, path);
  } catch (cause) {
    throw new ValidationError(
      `${path} is not a valid P-256 public key`,
      [{ path, message: "not a P-256 point" }],
      {
        cause,
      },
    );
  }
}

/** Rethrows a protocol refusal of the value at `path` as a ValidationError; anything else unchanged. */
export function invalidField(path: string, error: unknown): never {
  if (error instanceof ProtocolError) {
    throw new ValidationError(`${path}: ${error.message}`, [{ path, message: error.message }], {
      cause: error,
    });
  }
  throw error;
}

/** Runs a protocol parser and turns its typed refusals into a ValidationError for `path`. */
export function parseField<T>(path: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    return invalidField(path, error);
  }
}
