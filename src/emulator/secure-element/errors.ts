// Errors of the secure-element emulator's management API (the APDU interface
// never throws: it answers with status words).

export class SecureElementError extends Error {
  override name = "SecureElementError";
}

export class KeyNotFoundError extends SecureElementError {
  override name = "KeyNotFoundError";
}
