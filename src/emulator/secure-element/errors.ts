// Errors of the secure-element emulator's management API (the APDU interface
// never throws: it answers with status words).

export class SecureElementError extends Error {
  override name = "SecureElementError";
}

export class KeyNotFoundError extends SecureElementError {
  override name = "KeyNotFoundError";
}

/**
 * The device is in lost mode: its keys answer no transaction, and it signs no
 * key attestation or revocation until a resume notice unlocks it.
 */
export class SecureElementLockedError extends SecureElementError {
  override name = "SecureElementLockedError";
  constructor(operation: string) {
    super(`the device is in lost mode (locked): it refuses to ${operation}`);
  }
}
