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

// ---- the X.509 profiles (docs/certificates.md) ----------------------------------------------------
// Each carries a `reason` from a closed union, so the vehicle, the SE emulator
// and the cloud can branch on why a chain or an issuance was refused without
// parsing messages; the message adds detail for logs only.

/** Why a certificate or chain was refused. Closed: callers may switch on it exhaustively. */
export type CertificateVerificationReason =
  /** Not DER, not an X.509 v3 certificate, or an extension value that does not decode. */
  | "malformed"
  /** `at` is after a certificate's notAfter. */
  | "expired"
  /** `at` is before a certificate's notBefore. */
  | "not-yet-valid"
  /** A certificate's validity is not inside its issuer's. */
  | "validity-not-nested"
  /** An issuer named by a certificate is not the certificate given for it (name or key identifier). */
  | "wrong-issuer"
  /** A signature does not verify with the issuer's key, or does not decode. */
  | "bad-signature"
  /** Not P-256 ecPublicKey, or not ecdsa-with-SHA256 (or the two signature algorithm fields differ). */
  | "unsupported-algorithm"
  /** Key usage does not match the profile, or a certificate without keyCertSign issued another. */
  | "wrong-key-usage"
  /** A certificate that issued another is not a CA (basic constraints absent or cA false). */
  | "not-a-ca"
  /** More CA certificates below an issuer than its pathLenConstraint allows. */
  | "path-too-long"
  /** The chain does not end at one of the configured trust anchors. */
  | "untrusted-anchor"
  /** A certificate's profile is not the one expected at its position (e.g. a vehicle cert as endpoint). */
  | "wrong-profile"
  /** An extension the profile requires is absent. */
  | "missing-extension"
  /** A critical extension this verifier does not process (RFC 5280 §4.2 requires refusal). */
  | "unsupported-critical-extension";

export class CertificateVerificationError extends VerificationError {
  override name = "CertificateVerificationError";
  readonly reason: CertificateVerificationReason;

  constructor(reason: CertificateVerificationReason, message: string, options?: ErrorOptions) {
    super(`${reason}: ${message}`, options);
    this.reason = reason;
  }
}

/** Why an issuer refused to sign. Shape errors of parameters are ProtocolInputError instead. */
export type CertificateIssuanceReason =
  /** notAfter − notBefore is longer than the profile allows. */
  | "validity-exceeds-cap"
  /** The validity is not inside the issuer certificate's validity. */
  | "validity-exceeds-issuer"
  /** The issuer certificate has expired: whatever it signed now would not verify (rotate its key). */
  | "issuer-expired"
  /** The profile needs a vehicle identifier and none was given, or one was given where it has no place. */
  | "vehicle-identifier"
  /** The profile needs a key role and none was given, or one was given where it has no place. */
  | "key-role"
  /** The issuer certificate is of a profile that may not issue this one, or a root was asked for with one. */
  | "wrong-issuer-profile"
  /** The issuer certificate does not parse or does not follow its profile. */
  | "invalid-issuer-certificate"
  /** The signer's public key is not the one in the issuer certificate (or, for a root, the subject's). */
  | "issuer-key-mismatch"
  /** The signer returned something that is not a valid signature by its key over the TBS. */
  | "signer-failure";

export class CertificateIssuanceError extends ProtocolError {
  override name = "CertificateIssuanceError";
  readonly reason: CertificateIssuanceReason;

  constructor(reason: CertificateIssuanceReason, message: string, options?: ErrorOptions) {
    super(`${reason}: ${message}`, options);
    this.reason = reason;
  }
}

/** Why a friend's key is not validly enrolled (src/protocol/friend-enrollment.ts). */
export type FriendEnrollmentReason =
  /** The certificates do not chain to a trusted Device OEM root (cause: the CertificateVerificationError). */
  | "certificate-chain"
  /** The certificate is for another key than the one presented. */
  | "other-key"
  /** The certificate's key role is not friend. */
  | "not-a-friend-key"
  /** The certificate binds the key to another vehicle. */
  | "other-vehicle"
  /** The attestation does not parse. */
  | "attestation-malformed"
  /** The attestation is signed by another key than the attester's, or its signature does not verify. */
  | "attestation-not-verified"
  /** The attestation is for another vehicle. */
  | "attestation-other-vehicle"
  /** The attestation vouches for another key. */
  | "attestation-other-key";

/** A friend key refused by verifyFriendEnrollment; each party words its own refusal from `reason`. */
export class FriendEnrollmentError extends VerificationError {
  override name = "FriendEnrollmentError";
  readonly reason: FriendEnrollmentReason;

  constructor(reason: FriendEnrollmentReason, message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

/** A signer answered with something that is not its signature over the statement. */
export class StatementSigningError extends ProtocolError {
  override name = "StatementSigningError";
}
