// Issues certificates under the profiles of certificate-profiles.ts
// (docs/certificates.md; docs/architecture.md: authorization decides what
// may be signed, one issueCertificate() applies the profile and signs). The
// private key never enters this code: every signature is one sign call on a
// MessageSigner (an emulated SE, a software key, AWS KMS) over a
// TBSCertificate written here with der-writer.ts (docs/certificates.md
// "Encoding"). The result is checked against the issuer's key before it is
// returned, so a misconfigured signer cannot hand out a certificate that
// nobody can verify.

import { concatBytes, equalBytes, fromHex, toHex } from "./bytes.js";
import { certificatePem } from "./certificate-pem.js";
import {
  CARKEY_OID,
  type CertificateProfile,
  type CertificateProfileName,
  checkVehicleIdentifier,
  encodeKeyRoleExtension,
  encodeVehicleIdentifierExtension,
  getCertificateProfile,
  KEY_ROLES,
  type KeyRole,
  maxValidityMs,
  type SubjectAttribute,
  type SubjectNameFields,
  subjectAttributes,
  subjectKeyIdentifier,
  X509_OID,
} from "./certificate-profiles.js";
import {
  type CertificateExtension,
  type CertificateInput,
  certificateProfile,
  certificatePublicKey,
  checkProfileConformance,
  isParsedCertificate,
  type ParsedCertificate,
  parseCertificate,
} from "./certificate-verifier.js";
import {
  derBitString,
  derBoolean,
  derContext,
  derNamedBits,
  derOctetString,
  derOid,
  derPrintableString,
  derSequence,
  derSetOf,
  derSmallInteger,
  derTime,
  derUnsignedInteger,
  derUtf8String,
} from "./der-writer.js";
import { CertificateIssuanceError, CertificateVerificationError, ProtocolInputError } from "./errors.js";
import { assertPublicKey, type RandomSource, systemRandom, verifyRaw } from "./p256.js";
import type { MessageSigner } from "./signer.js";

/** SubjectPublicKeyInfo DER up to the point: id-ecPublicKey, prime256v1, BIT STRING of 66 bytes. */
const P256_SPKI_PREFIX = fromHex("3059301306072a8648ce3d020106082a8648ce3d030107034200");
/** Earliest and latest instants X.509 Time can carry with UTCTime/GeneralizedTime as RFC 5280 §4.1.2.5 splits them. */
const MIN_TIME_MS = Date.UTC(1950, 0, 1);
const MAX_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59);

export interface IssuerParams {
  readonly signer: MessageSigner;
  /**
   * The issuer's own certificate; absent only for a self-signed root. A certificate parseCertificate
   * returned is not parsed again (its profile is still checked).
   */
  readonly certificate?: CertificateInput | ParsedCertificate;
}

export interface IssueCertificateParams {
  readonly profile: CertificateProfileName;
  /** 65-byte uncompressed P-256 point of the key being certified. */
  readonly subjectPublicKey: Uint8Array;
  readonly subject: SubjectNameFields;
  readonly issuer: IssuerParams;
  /** Truncated to whole seconds, as X.509 Time carries them. */
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Required by the endpoint and vehicle profiles, refused by the others. */
  readonly vehicleIdentifier?: Uint8Array;
  /** Required by the endpoint profile, refused by the others. */
  readonly keyRole?: KeyRole;
  /** Unsigned big-endian, 1..20 bytes, at most 159 bits; default 16 random bytes (126 random bits). */
  readonly serialNumber?: Uint8Array;
  /** Source of the default serial number. */
  readonly random?: RandomSource;
}

export interface IssuedCertificate {
  readonly der: Uint8Array;
  readonly pem: string;
  /** Lower-case hex, as parseCertificate reports it. */
  readonly serialNumber: string;
}

export interface CreateSelfSignedRootParams {
  readonly profile: "device-oem-root" | "vehicle-oem-root";
  readonly signer: MessageSigner;
  readonly subject: SubjectNameFields;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly serialNumber?: Uint8Array;
  readonly random?: RandomSource;
}

function checkDate(value: unknown, name: string): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime()))
    throw new ProtocolInputError(`${name} must be a Date`);
  const ms = Math.floor(value.getTime() / 1000) * 1000;
  if (ms < MIN_TIME_MS || ms > MAX_TIME_MS) throw new ProtocolInputError(`${name} must lie in 1950..9999`);
  return new Date(ms);
}

function serialHex(serial: Uint8Array | undefined, random: RandomSource): string {
  if (serial === undefined) {
    const bytes = random(16);
    // 01xxxxxx: positive, and always 16 octets so serials sort and display uniformly.
    bytes[0] = (bytes[0]! & 0x3f) | 0x40;
    return toHex(bytes);
  }
  if (!(serial instanceof Uint8Array) || serial.length < 1 || serial.length > 20) {
    throw new ProtocolInputError("serialNumber must be 1..20 bytes");
  }
  if (serial.every((b) => b === 0)) throw new ProtocolInputError("serialNumber must not be zero");
  // A 20-byte value with the top bit set would need a 21st sign octet (RFC 5280 §4.1.2.2 allows 20).
  if (serial.length === 20 && serial[0]! >= 0x80)
    throw new ProtocolInputError("serialNumber exceeds 159 bits");
  return toHex(serial);
}

/** AlgorithmIdentifier ecdsa-with-SHA256, parameters absent (RFC 5758 §3.2), in TBS and Certificate alike. */
const ECDSA_WITH_SHA256 = derSequence(derOid(X509_OID.ecdsaWithSha256));
/** The version field of a v3 certificate: [0] EXPLICIT INTEGER 2 (RFC 5280 §4.1.2.1). */
const VERSION_V3 = derContext(0, derSmallInteger(2), true);
/** RFC 5280 §4.1.2.2: serial numbers of at most 20 octets. */
const MAX_SERIAL_OCTETS = 20;

/** One attribute per RDN, in the order given (RFC 5280 §4.1.2.4; the DN order of subjectAttributes). */
function encodeName(attributes: readonly SubjectAttribute[]): Uint8Array {
  return derSequence(
    ...attributes.map((a) =>
      derSetOf(
        derSequence(
          derOid(a.oid),
          a.type === "printableString" ? derPrintableString(a.value) : derUtf8String(a.value),
        ),
      ),
    ),
  );
}

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue } (RFC 5280 §4.1); DER omits a FALSE. */
function encodeExtension(extension: CertificateExtension): Uint8Array {
  return derSequence(
    derOid(extension.oid),
    ...(extension.critical ? [derBoolean(true)] : []),
    derOctetString(extension.value),
  );
}

/** BasicConstraints (RFC 5280 §4.2.1.9); cA FALSE is the DEFAULT, so a leaf's is the empty SEQUENCE. */
function basicConstraintsValue(ca: boolean, pathLength: number | undefined): Uint8Array {
  return derSequence(
    ...(ca ? [derBoolean(true)] : []),
    ...(pathLength === undefined ? [] : [derSmallInteger(pathLength)]),
  );
}

/** AuthorityKeyIdentifier with keyIdentifier [0] IMPLICIT OCTET STRING only (RFC 5280 §4.2.1.1). */
function authorityKeyIdentifierValue(keyId: Uint8Array): Uint8Array {
  return derSequence(derContext(0, keyId, false));
}

/** certificatePolicies with bare policy identifiers, no qualifiers (RFC 5280 §4.2.1.4). */
function certificatePoliciesValue(policies: readonly string[]): Uint8Array {
  return derSequence(...policies.map((oid) => derSequence(derOid(oid))));
}

/** The serialNumber INTEGER from hex; its minimal contents are at most 20 octets and never zero. */
function encodeSerial(serialNumberHex: string): { element: Uint8Array; hex: string } {
  const element = derUnsignedInteger(fromHex(serialNumberHex, "serialNumberHex"));
  // One-octet length: the contents sit from offset 2.
  const contents = element.subarray(2);
  if (contents.length > MAX_SERIAL_OCTETS)
    throw new ProtocolInputError(`serialNumber must fit ${MAX_SERIAL_OCTETS} octets`);
  if (contents.every((b) => b === 0)) throw new ProtocolInputError("serialNumber must not be zero");
  // Reported as parseCertificate reads it back: the magnitude, without the sign octet.
  return { element, hex: toHex(contents[0] === 0 ? contents.subarray(1) : contents) };
}

export interface CertificateTemplate {
  readonly subjectPublicKey: Uint8Array;
  readonly subject: readonly SubjectAttribute[];
  /** DER Name of the issuer; for a self-signed certificate, omit to reuse the subject. */
  readonly issuerName?: Uint8Array;
  readonly serialNumberHex: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** In order; `value` is the DER that extnValue's OCTET STRING holds. None: the extensions field is left out. */
  readonly extensions: readonly CertificateExtension[];
  readonly signer: MessageSigner;
  /** The key the signature must verify with (the issuer's). */
  readonly signerPublicKey: Uint8Array;
}

/**
 * Signs a fully specified template with exactly one sign call, then checks
 * the signature with `signerPublicKey`. It applies NO profile: services and
 * emulators call issueCertificate; this is exported for the profile layer and
 * for tests that must build deliberately non-conforming certificates. The
 * TBSCertificate (RFC 5280 §4.1) is written with der-writer.ts, field by field.
 */
export async function signCertificateTemplate(template: CertificateTemplate): Promise<IssuedCertificate> {
  assertPublicKey(template.subjectPublicKey, "subjectPublicKey");
  const serial = encodeSerial(template.serialNumberHex);
  const subject = encodeName(template.subject);
  const tbs = derSequence(
    VERSION_V3,
    serial.element,
    ECDSA_WITH_SHA256,
    template.issuerName ?? subject,
    derSequence(derTime(template.notBefore), derTime(template.notAfter)),
    subject,
    concatBytes(P256_SPKI_PREFIX, template.subjectPublicKey),
    ...(template.extensions.length === 0
      ? []
      : [derContext(3, derSequence(...template.extensions.map(encodeExtension)), true)]),
  );
  let signature: Uint8Array;
  try {
    signature = await template.signer.sign(tbs);
  } catch (error) {
    throw new CertificateIssuanceError("signer-failure", "the signer refused or failed", { cause: error });
  }
  if (!(signature instanceof Uint8Array) || signature.length !== 64) {
    throw new CertificateIssuanceError("signer-failure", "the signer must return 64 bytes r‖s");
  }
  // verifyRaw accepts high-S: KMS and SEs may return either S.
  if (!verifyRaw(signature, tbs, template.signerPublicKey)) {
    throw new CertificateIssuanceError(
      "signer-failure",
      "the signature does not verify with the issuer's key",
    );
  }
  // ECDSA-Sig-Value (RFC 5480 §2.2): r and s as positive INTEGERs; a verified signature has neither zero.
  const signatureValue = derSequence(
    derUnsignedInteger(signature.subarray(0, 32)),
    derUnsignedInteger(signature.subarray(32)),
  );
  const der = derSequence(tbs, ECDSA_WITH_SHA256, derBitString(signatureValue));
  return { der, pem: certificatePem(der), serialNumber: serial.hex };
}

interface ResolvedIssuer {
  readonly name?: Uint8Array;
  readonly keyIdentifier: Uint8Array;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
}

function resolveIssuerCertificate(
  profile: CertificateProfile,
  input: CertificateInput | ParsedCertificate,
  signerKey: Uint8Array,
): ResolvedIssuer {
  let parsed: ParsedCertificate;
  let issuerKey: Uint8Array;
  try {
    parsed = isParsedCertificate(input) ? input : parseCertificate(input as CertificateInput);
    const issuerProfile = certificateProfile(parsed);
    checkProfileConformance(parsed, issuerProfile);
    issuerKey = certificatePublicKey(parsed);
    if (issuerProfile.name !== profile.issuer) {
      throw new CertificateIssuanceError(
        "wrong-issuer-profile",
        `a ${profile.name} certificate is issued by a ${profile.issuer}, not a ${issuerProfile.name}`,
      );
    }
  } catch (error) {
    if (error instanceof CertificateVerificationError) {
      throw new CertificateIssuanceError("invalid-issuer-certificate", error.message, { cause: error });
    }
    throw error;
  }
  if (!equalBytes(issuerKey, signerKey)) {
    throw new CertificateIssuanceError(
      "issuer-key-mismatch",
      "the signer's key is not the issuer certificate's key",
    );
  }
  return {
    name: parsed.subjectName,
    // checkProfileConformance guarantees the identifier is present.
    keyIdentifier: parsed.subjectKeyIdentifier!,
    notBefore: parsed.notBefore,
    notAfter: parsed.notAfter,
  };
}

/**
 * Issues one certificate of `profile`, refusing with CertificateIssuanceError
 * what the profile forbids (validity beyond its cap or beyond the issuer's,
 * missing or misplaced vehicle identifier or key role, an issuer of the wrong
 * profile, a signer that is not the issuer's key).
 */
export async function issueCertificate(params: IssueCertificateParams): Promise<IssuedCertificate> {
  if (typeof params !== "object" || params === null) throw new ProtocolInputError("params must be an object");
  const profile = getCertificateProfile(params.profile);
  const subjectPublicKey = assertPublicKey(params.subjectPublicKey, "subjectPublicKey");
  const notBefore = checkDate(params.notBefore, "notBefore");
  const notAfter = checkDate(params.notAfter, "notAfter");
  if (notAfter <= notBefore) throw new ProtocolInputError("notAfter must be after notBefore");
  if (notAfter.getTime() - notBefore.getTime() > maxValidityMs(profile)) {
    throw new CertificateIssuanceError(
      "validity-exceeds-cap",
      `${profile.name} certificates are valid for at most ${profile.maxValidityDays} days`,
    );
  }

  const { vehicleIdentifier, keyRole } = params;
  if (profile.requiresVehicleIdentifier && vehicleIdentifier === undefined) {
    throw new CertificateIssuanceError(
      "vehicle-identifier",
      `${profile.name} certificates need a vehicle identifier`,
    );
  }
  if (!profile.requiresVehicleIdentifier && vehicleIdentifier !== undefined) {
    throw new CertificateIssuanceError(
      "vehicle-identifier",
      `${profile.name} certificates carry no vehicle identifier`,
    );
  }
  if (vehicleIdentifier !== undefined) checkVehicleIdentifier(vehicleIdentifier);
  if (profile.requiresKeyRole && keyRole === undefined) {
    throw new CertificateIssuanceError("key-role", `${profile.name} certificates need a key role`);
  }
  if (!profile.requiresKeyRole && keyRole !== undefined) {
    throw new CertificateIssuanceError("key-role", `${profile.name} certificates carry no key role`);
  }
  if (keyRole !== undefined && !KEY_ROLES.includes(keyRole)) {
    throw new ProtocolInputError(`keyRole must be one of ${KEY_ROLES.join(", ")}`);
  }

  const subject = subjectAttributes(profile, params.subject, {
    subjectPublicKey,
    ...(vehicleIdentifier ? { vehicleIdentifier } : {}),
  });
  const serialNumberHex = serialHex(params.serialNumber, params.random ?? systemRandom);

  const signer = params.issuer?.signer;
  if (!signer || typeof signer.sign !== "function" || typeof signer.publicKey !== "function") {
    throw new ProtocolInputError("issuer.signer must be a MessageSigner");
  }
  const signerKey = assertPublicKey(await signer.publicKey(), "issuer.signer.publicKey()");
  const ownKeyId = subjectKeyIdentifier(subjectPublicKey);
  let issuer: ResolvedIssuer;
  if (profile.issuer === null) {
    if (params.issuer.certificate !== undefined) {
      throw new CertificateIssuanceError(
        "wrong-issuer-profile",
        `${profile.name} certificates are self-signed`,
      );
    }
    if (!equalBytes(signerKey, subjectPublicKey)) {
      throw new CertificateIssuanceError(
        "issuer-key-mismatch",
        "a self-signed root is signed by its own key",
      );
    }
    issuer = { keyIdentifier: ownKeyId };
  } else {
    if (params.issuer.certificate === undefined) {
      throw new CertificateIssuanceError(
        "wrong-issuer-profile",
        `${profile.name} needs a ${profile.issuer} issuer`,
      );
    }
    issuer = resolveIssuerCertificate(profile, params.issuer.certificate, signerKey);
    if (notBefore < issuer.notBefore! || notAfter > issuer.notAfter!) {
      throw new CertificateIssuanceError(
        "validity-exceeds-issuer",
        `validity must lie within the issuer's ${issuer.notBefore!.toISOString()}..${issuer.notAfter!.toISOString()}`,
      );
    }
  }

  const extensions: CertificateExtension[] = [
    // Leaves carry a critical basicConstraints too (cA FALSE), so no verifier has to infer "not a CA".
    {
      oid: X509_OID.basicConstraints,
      critical: true,
      value: basicConstraintsValue(profile.ca, profile.pathLength),
    },
    { oid: X509_OID.keyUsage, critical: true, value: derNamedBits(profile.keyUsage) },
    { oid: X509_OID.subjectKeyIdentifier, critical: false, value: derOctetString(ownKeyId) },
    {
      oid: X509_OID.authorityKeyIdentifier,
      critical: false,
      value: authorityKeyIdentifierValue(issuer.keyIdentifier),
    },
    {
      oid: X509_OID.certificatePolicies,
      critical: false,
      value: certificatePoliciesValue([profile.policyOid]),
    },
  ];
  if (vehicleIdentifier !== undefined) {
    extensions.push({
      oid: CARKEY_OID.vehicleIdentifier,
      critical: false,
      value: encodeVehicleIdentifierExtension(vehicleIdentifier),
    });
  }
  if (keyRole !== undefined) {
    extensions.push({ oid: CARKEY_OID.keyRole, critical: false, value: encodeKeyRoleExtension(keyRole) });
  }

  return signCertificateTemplate({
    subjectPublicKey,
    subject,
    ...(issuer.name ? { issuerName: issuer.name } : {}),
    serialNumberHex,
    notBefore,
    notAfter,
    extensions,
    signer,
    signerPublicKey: signerKey,
  });
}

/** A self-signed Device OEM or Vehicle OEM root, its key being the signer's. */
export async function createSelfSignedRoot(params: CreateSelfSignedRootParams): Promise<IssuedCertificate> {
  if (params.profile !== "device-oem-root" && params.profile !== "vehicle-oem-root") {
    throw new ProtocolInputError("profile must be device-oem-root or vehicle-oem-root");
  }
  return issueCertificate({
    profile: params.profile,
    subjectPublicKey: await params.signer.publicKey(),
    subject: params.subject,
    issuer: { signer: params.signer },
    notBefore: params.notBefore,
    notAfter: params.notAfter,
    ...(params.serialNumber ? { serialNumber: params.serialNumber } : {}),
    ...(params.random ? { random: params.random } : {}),
  });
}
