// Errors of the root-key signers: a software key file, a KMS key, a signer URI.
// Each names what is wrong and never carries key material.

/** A key file is missing, malformed, too widely readable, or a key name is unsafe. */
export class SoftKeyStoreError extends Error {
  override name = "SoftKeyStoreError";
}

/** KMS refused a call or answered with something that is not a P-256 signing key or signature. */
export class KmsSignerError extends Error {
  override name = "KmsSignerError";
}

/** A signer URI with an unknown scheme or a missing part. */
export class SignerUriError extends Error {
  override name = "SignerUriError";
}

/** The alias is malformed, or names a key that cannot sign with ECDSA P-256. */
export class KmsKeyProvisioningError extends Error {
  override name = "KmsKeyProvisioningError";
}
