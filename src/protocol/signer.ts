// The one signing interface every issuer uses, whatever holds the private key:
// the emulated secure element, a software key store, or AWS KMS. It signs a
// message with ECDSA P-256 over SHA-256 and returns raw r‖s, the form the NFC
// protocol carries; X.509 code converts to DER where needed. The signer does
// the hashing, so each holder uses its fastest path: OpenSSL signs the message
// in one call, and the KMS signer hashes locally and sends KMS only the digest
// (MessageType DIGEST), so what it signs never leaves the process.

export interface MessageSigner {
  /** 65-byte uncompressed SEC1 P-256 public key of the signing key. */
  publicKey(): Promise<Uint8Array>;
  /** ECDSA P-256 with SHA-256 over `message`; returns 64-byte r‖s. */
  sign(message: Uint8Array): Promise<Uint8Array>;
}
