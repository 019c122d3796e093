// The one signing interface every issuer uses, whatever holds the private key:
// the emulated secure element, a software key store, or AWS KMS. It signs a
// SHA-256 digest (KMS signs digests; so can an SE) and returns raw r‖s, the
// form the NFC protocol carries; X.509 code converts to DER where needed.

export interface DigestSigner {
  /** 65-byte uncompressed SEC1 P-256 public key of the signing key. */
  publicKey(): Promise<Uint8Array>;
  /** ECDSA P-256 over a 32-byte SHA-256 digest; returns 64-byte r‖s. */
  signDigest(digest: Uint8Array): Promise<Uint8Array>;
}
