// Parses certificates and verifies chains against the profiles of
// certificate-profiles.ts (docs/certificates.md "Verification rules"; CCC
// public notes §2: the vehicle verifies device.PK's chain offline against a
// factory-installed root). Trust anchors are always passed in: nothing here
// knows whose root to trust. Checks run in two passes, the generic RFC 5280
// §6.1 path rules first, then the profile rules, so each failure has one
// predictable reason. The whole certificate is read with our own total DER
// splitter and strict DER decoder (ber-tlv.ts, der-reader.ts), so the bytes
// verified are the bytes signed and every field has exactly one reading; no
// general ASN.1 library is involved (docs/certificates.md "Encoding").
// Signatures go through the strict ecdsa-der.ts decoder and p256.ts verifyRaw,
// which accepts high-S signatures since KMS and OpenSSL produce them.

import { type Tlv, tlv } from "./ber-tlv.js";
import { equalBytes, fromHex, toHex } from "./bytes.js";
import { certificatePemToDer } from "./certificate-pem.js";
import {
  CARKEY_OID,
  CERTIFICATE_PROFILES,
  type CertificateProfile,
  type CertificateProfileName,
  decodeKeyRoleExtension,
  decodeVehicleIdentifierExtension,
  KEY_USAGE,
  type KeyRole,
  profileForPolicy,
  X509_OID,
} from "./certificate-profiles.js";
import {
  DER_TAG,
  derElements,
  derSingle,
  expectTag,
  malformed,
  nameText,
  nameValues,
  readBoolean,
  readName,
  readNamedBits,
  readOctetAlignedBitString,
  readOid,
  readSmallUnsignedInteger,
  readTime,
  readUnsignedIntegerBytes,
} from "./der-reader.js";
import { derToRawSignature } from "./ecdsa-der.js";
import {
  CertificateVerificationError,
  type CertificateVerificationReason,
  ProtocolInputError,
} from "./errors.js";
import { uncompressedPublicKey, verifyRaw } from "./p256.js";

/** Far above our ~700-byte certificates; bounds the work an attacker's input can cause. */
export const MAX_CERTIFICATE_SIZE = 16 * 1024;
/** Longest path tried while chaining (leaf + CAs + anchor), so a loop of cross-named certs ends. */
const MAX_PATH_LENGTH = 6;

/** AlgorithmIdentifier ecdsa-with-SHA256, parameters absent (RFC 5758 §3.2). */
const ECDSA_WITH_SHA256_DER = fromHex("300a06082a8648ce3d040302");
/** AlgorithmIdentifier id-ecPublicKey with namedCurve prime256v1 (RFC 5480 §2.1.1). */
const EC_P256_SPKI_ALGORITHM_DER = fromHex("301306072a8648ce3d020106082a8648ce3d030107");
const VERSION_V3_DER = fromHex("020102");

const KNOWN_EXTENSIONS = new Set<string>([
  X509_OID.basicConstraints,
  X509_OID.keyUsage,
  X509_OID.subjectKeyIdentifier,
  X509_OID.authorityKeyIdentifier,
  X509_OID.certificatePolicies,
  CARKEY_OID.vehicleIdentifier,
  CARKEY_OID.keyRole,
]);

export interface CertificateExtension {
  readonly oid: string;
  readonly critical: boolean;
  /** extnValue contents (the DER inside the OCTET STRING). */
  readonly value: Uint8Array;
}

/** What parseCertificate read. Nothing here is trusted until verifyCertificateChain says so. */
export interface ParsedCertificate {
  readonly der: Uint8Array;
  /** The exact tbsCertificate bytes the signature covers. */
  readonly tbs: Uint8Array;
  /** Serial number as lower-case hex without a sign byte. */
  readonly serialNumber: string;
  /** DER of the issuer and subject Names, compared byte for byte when chaining. */
  readonly issuerName: Uint8Array;
  readonly subjectName: Uint8Array;
  /** RFC 4514 rendering (der-reader.ts nameText), for messages only. */
  readonly subject: string;
  readonly issuer: string;
  /** The subject's first O, CN and C values, where it has them. */
  readonly organization?: string;
  readonly commonName?: string;
  readonly country?: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** DER AlgorithmIdentifiers: outer signatureAlgorithm, tbsCertificate.signature, SPKI algorithm. */
  readonly signatureAlgorithm: Uint8Array;
  readonly tbsSignatureAlgorithm: Uint8Array;
  readonly publicKeyAlgorithm: Uint8Array;
  /** subjectPublicKey bits as they appear (for P-256: a 65-byte or 33-byte SEC1 point). */
  readonly subjectPublicKey: Uint8Array;
  /** DER ECDSA-Sig-Value from the signature BIT STRING. */
  readonly signatureValue: Uint8Array;
  readonly extensions: readonly CertificateExtension[];
  readonly basicConstraints?: {
    readonly ca: boolean;
    readonly pathLength?: number;
    readonly critical: boolean;
  };
  readonly keyUsage?: { readonly flags: number; readonly critical: boolean };
  readonly subjectKeyIdentifier?: Uint8Array;
  readonly authorityKeyIdentifier?: Uint8Array;
  readonly policies: readonly string[];
  /** The profile named by our policy OID, if exactly one of ours is present. */
  readonly profile?: CertificateProfileName;
  readonly vehicleIdentifier?: Uint8Array;
  readonly keyRole?: KeyRole;
  /** Issuer Name equals subject Name (RFC 5280 "self-issued"). */
  readonly selfIssued: boolean;
}

/** DER bytes, one PEM CERTIFICATE block, or a certificate parseCertificate returned already (used as is, not parsed again). */
export type CertificateInput = Uint8Array | string | ParsedCertificate;

function fail(reason: CertificateVerificationReason, message: string): never {
  throw new CertificateVerificationError(reason, message);
}

function toDer(input: CertificateInput): Uint8Array {
  if (typeof input === "string") return certificatePemToDer(input);
  if (input instanceof Uint8Array) return input;
  throw malformed("certificate must be DER bytes or a PEM string");
}

/** Re-encodes an element; exact because the parser admits only minimal DER lengths. */
function encoded(item: Tlv): Uint8Array {
  return tlv(item.tag, item.value);
}

/**
 * Parses one DER or PEM certificate. Anything that is not an X.509 v3
 * certificate in DER, or whose standard or Car Keys extension values do not
 * decode, throws CertificateVerificationError("malformed") naming the field.
 */
export function parseCertificate(input: CertificateInput): ParsedCertificate {
  // A root kept parsed for a process's life, or a request's certificate parsed under its own field first.
  if (isParsedCertificate(input)) return input;
  const der = toDer(input);
  if (der.length > MAX_CERTIFICATE_SIZE)
    throw malformed(`certificate longer than ${MAX_CERTIFICATE_SIZE} bytes`);
  const top = derElements(der, "certificate");
  if (top.length !== 1) throw malformed("trailing bytes after the certificate");
  const certificateSeq = expectTag(top[0], DER_TAG.sequence, "Certificate");
  const [tbsItem, sigAlgItem, sigItem, ...extra] = derElements(certificateSeq.value, "Certificate");
  if (extra.length > 0) throw malformed("Certificate has more than three fields");
  expectTag(tbsItem, DER_TAG.sequence, "tbsCertificate");
  expectTag(sigAlgItem, DER_TAG.sequence, "signatureAlgorithm");
  expectTag(sigItem, DER_TAG.bitString, "signatureValue");

  // TBSCertificate (RFC 5280 §4.1): version, serialNumber, signature, issuer, validity, subject,
  // subjectPublicKeyInfo, then issuerUniqueID [1], subjectUniqueID [2] and extensions [3], each optional.
  const fields = derElements(tbsItem!.value, "tbsCertificate");
  const version = expectTag(fields[0], 0xa0, "version (only v3 certificates carry extensions)");
  if (!equalBytes(version.value, VERSION_V3_DER)) throw malformed("version is not v3");
  const serial = expectTag(fields[1], DER_TAG.integer, "serialNumber");
  const serialMagnitude = readUnsignedIntegerBytes(serial.value, "serialNumber");
  // RFC 5280 §4.1.2.2: at most 20 octets. Zero is read, as users are asked to handle
  // non-conforming serials gracefully and roots in Mozilla's store (Go Daddy G2) have serial 0.
  if (serial.value.length > 20) throw malformed("serialNumber must be an INTEGER of at most 20 octets");
  const tbsSigAlg = expectTag(fields[2], DER_TAG.sequence, "tbsCertificate.signature");
  const issuer = expectTag(fields[3], DER_TAG.sequence, "issuer");
  const validity = derElements(expectTag(fields[4], DER_TAG.sequence, "validity").value, "validity");
  if (validity.length !== 2) throw malformed("validity must be notBefore and notAfter");
  const notBefore = readTime(validity[0]!, "notBefore");
  const notAfter = readTime(validity[1]!, "notAfter");
  const subject = expectTag(fields[5], DER_TAG.sequence, "subject");
  const spki = expectTag(fields[6], DER_TAG.sequence, "subjectPublicKeyInfo");
  const [spkiAlg, spkiKey, ...spkiExtra] = derElements(spki.value, "subjectPublicKeyInfo");
  if (spkiExtra.length > 0) throw malformed("subjectPublicKeyInfo has extra fields");
  expectTag(spkiAlg, DER_TAG.sequence, "subjectPublicKeyInfo.algorithm");
  expectTag(spkiKey, DER_TAG.bitString, "subjectPublicKey");
  const extensions = readExtensionsField(fields.slice(7));

  const subjectRdns = readName(subject.value, "subject");
  const issuerRdns = readName(issuer.value, "issuer");
  const typed = decodeExtensions(extensions);
  const ours = typed.policies.map(profileForPolicy).filter((p) => p !== undefined);
  const issuerName = encoded(issuer);
  const subjectName = encoded(subject);
  const profile = ours.length === 1 ? ours[0]!.name : undefined;
  const [organization] = nameValues(subjectRdns, X509_OID.organizationName);
  const [commonName] = nameValues(subjectRdns, X509_OID.commonName);
  const [country] = nameValues(subjectRdns, X509_OID.countryName);
  const parsed: ParsedCertificate = {
    der,
    tbs: encoded(tbsItem!),
    serialNumber: toHex(serialMagnitude),
    issuerName,
    subjectName,
    subject: nameText(subjectRdns),
    issuer: nameText(issuerRdns),
    ...(organization === undefined ? {} : { organization }),
    ...(commonName === undefined ? {} : { commonName }),
    ...(country === undefined ? {} : { country }),
    notBefore,
    notAfter,
    signatureAlgorithm: encoded(sigAlgItem!),
    tbsSignatureAlgorithm: encoded(tbsSigAlg),
    publicKeyAlgorithm: encoded(spkiAlg!),
    subjectPublicKey: readOctetAlignedBitString(spkiKey!.value, "subjectPublicKey"),
    signatureValue: readOctetAlignedBitString(sigItem!.value, "signatureValue"),
    extensions,
    ...typed,
    ...(profile ? { profile } : {}),
    selfIssued: equalBytes(issuerName, subjectName),
  };
  PARSED.add(parsed);
  return parsed;
}

/** The fields after subjectPublicKeyInfo: [1] and [2] (IMPLICIT BIT STRING), [3] extensions, in that order. */
function readExtensionsField(rest: readonly Tlv[]): CertificateExtension[] {
  let i = 0;
  if (rest[i]?.tag === 0x81) readOctetAlignedBitString(rest[i++]!.value, "issuerUniqueID");
  if (rest[i]?.tag === 0x82) readOctetAlignedBitString(rest[i++]!.value, "subjectUniqueID");
  const field = rest[i++];
  if (i < rest.length || (field !== undefined && field.tag !== 0xa3))
    throw malformed("tbsCertificate has an unknown or misplaced field after subjectPublicKeyInfo");
  if (field === undefined) return [];
  // Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension (RFC 5280 §4.1).
  const list = derElements(derSingle(field.value, DER_TAG.sequence, "extensions"), "extensions");
  if (list.length === 0) throw malformed("extensions is an empty SEQUENCE");
  const seen = new Set<string>();
  return list.map((item, n) => {
    const what = `extension ${n + 1}`;
    // Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }.
    const parts = derElements(expectTag(item, DER_TAG.sequence, what).value, what);
    const oid = readOid(expectTag(parts[0], DER_TAG.oid, `${what} extnID`).value, `${what} extnID`);
    let critical = false;
    let next = 1;
    if (parts[1]?.tag === DER_TAG.boolean) {
      critical = readBoolean(parts[1].value, `extension ${oid} critical`);
      // X.690 §11.5: a value equal to its DEFAULT is left out, so an explicit FALSE is not DER.
      if (!critical) throw malformed(`extension ${oid}: critical FALSE written out (not DER)`);
      next = 2;
    }
    const value = expectTag(parts[next], DER_TAG.octetString, `extension ${oid} extnValue`).value;
    if (parts.length !== next + 1) throw malformed(`extension ${oid} has extra fields`);
    // RFC 5280 §4.2: a certificate MUST NOT include more than one instance of an extension.
    if (seen.has(oid)) throw malformed(`extension ${oid} appears twice`);
    seen.add(oid);
    return { oid, critical, value };
  });
}

/** Every result of parseCertificate, so a parsed certificate is known by identity, not by its shape. */
const PARSED = new WeakSet<object>();

/**
 * True for what parseCertificate returned: an issuer kept parsed (a root for a process's life) is
 * used as is instead of being parsed again for every certificate it issues.
 */
export function isParsedCertificate(value: unknown): value is ParsedCertificate {
  return typeof value === "object" && value !== null && PARSED.has(value);
}

/** BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER (0..MAX) OPTIONAL } (RFC 5280 §4.2.1.9). */
function decodeBasicConstraints(value: Uint8Array, critical: boolean): ParsedCertificate["basicConstraints"] {
  const parts = derElements(derSingle(value, DER_TAG.sequence, "basicConstraints"), "basicConstraints");
  let ca = false;
  let i = 0;
  if (parts[i]?.tag === DER_TAG.boolean) {
    ca = readBoolean(parts[i++]!.value, "basicConstraints cA");
    if (!ca) throw malformed("basicConstraints: cA FALSE written out (not DER)");
  }
  let pathLength: number | undefined;
  if (parts[i]?.tag === DER_TAG.integer)
    pathLength = readSmallUnsignedInteger(parts[i++]!.value, "basicConstraints pathLenConstraint");
  if (i !== parts.length) throw malformed("basicConstraints has unknown fields");
  return { ca, critical, ...(pathLength === undefined ? {} : { pathLength }) };
}

/**
 * AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0], authorityCertIssuer [1],
 * authorityCertSerialNumber [2] } (RFC 5280 §4.2.1.1), all optional, IMPLICIT; only [0] is used.
 */
function decodeAuthorityKeyIdentifier(value: Uint8Array): Uint8Array | undefined {
  const parts = derElements(
    derSingle(value, DER_TAG.sequence, "authorityKeyIdentifier"),
    "authorityKeyIdentifier",
  );
  let i = 0;
  const keyId = parts[i]?.tag === 0x80 ? parts[i++]!.value : undefined;
  if (parts[i]?.tag === 0xa1) i++;
  if (parts[i]?.tag === 0x82) readUnsignedIntegerBytes(parts[i++]!.value, "authorityCertSerialNumber");
  if (i !== parts.length) throw malformed("authorityKeyIdentifier has unknown or misplaced fields");
  return keyId?.slice();
}

/**
 * certificatePolicies ::= SEQUENCE SIZE (1..MAX) OF PolicyInformation { policyIdentifier OID,
 * policyQualifiers SEQUENCE SIZE (1..MAX) OF PolicyQualifierInfo OPTIONAL } (RFC 5280 §4.2.1.4).
 */
function decodeCertificatePolicies(value: Uint8Array): string[] {
  const list = derElements(derSingle(value, DER_TAG.sequence, "certificatePolicies"), "certificatePolicies");
  if (list.length === 0) throw malformed("certificatePolicies is empty");
  const policies = list.map((item) => {
    const [id, qualifiers, ...extra] = derElements(
      expectTag(item, DER_TAG.sequence, "PolicyInformation").value,
      "PolicyInformation",
    );
    const oid = readOid(expectTag(id, DER_TAG.oid, "policyIdentifier").value, "policyIdentifier");
    if (qualifiers !== undefined) {
      const each = derElements(expectTag(qualifiers, DER_TAG.sequence, "policyQualifiers").value, oid);
      if (each.length === 0 || each.some((q) => q.tag !== DER_TAG.sequence))
        throw malformed(`policy ${oid}: policyQualifiers must be a non-empty SEQUENCE OF SEQUENCE`);
    }
    if (extra.length > 0) throw malformed(`policy ${oid} has extra fields`);
    return oid;
  });
  // §4.2.1.4: a policy OID MUST NOT appear more than once.
  if (new Set(policies).size !== policies.length) throw malformed("certificatePolicies repeats a policy");
  return policies;
}

function decodeExtensions(list: readonly CertificateExtension[]) {
  let basicConstraints: ParsedCertificate["basicConstraints"];
  let keyUsage: ParsedCertificate["keyUsage"];
  let subjectKeyIdentifier: Uint8Array | undefined;
  let authorityKeyIdentifier: Uint8Array | undefined;
  let policies: string[] = [];
  let vehicleIdentifier: Uint8Array | undefined;
  let keyRole: KeyRole | undefined;
  for (const e of list) {
    switch (e.oid) {
      case X509_OID.basicConstraints:
        basicConstraints = decodeBasicConstraints(e.value, e.critical);
        break;
      case X509_OID.keyUsage:
        // KeyUsage ::= BIT STRING, bit n as 1 << n (KEY_USAGE in certificate-profiles.ts).
        keyUsage = {
          flags: readNamedBits(derSingle(e.value, DER_TAG.bitString, "keyUsage"), "keyUsage"),
          critical: e.critical,
        };
        break;
      case X509_OID.subjectKeyIdentifier:
        // SubjectKeyIdentifier ::= KeyIdentifier ::= OCTET STRING (RFC 5280 §4.2.1.2).
        subjectKeyIdentifier = derSingle(e.value, DER_TAG.octetString, "subjectKeyIdentifier").slice();
        break;
      case X509_OID.authorityKeyIdentifier:
        authorityKeyIdentifier = decodeAuthorityKeyIdentifier(e.value);
        break;
      case X509_OID.certificatePolicies:
        policies = decodeCertificatePolicies(e.value);
        break;
      case CARKEY_OID.vehicleIdentifier:
        vehicleIdentifier = carKeysExtension(() => decodeVehicleIdentifierExtension(e.value));
        break;
      case CARKEY_OID.keyRole:
        keyRole = carKeysExtension(() => decodeKeyRoleExtension(e.value));
        break;
    }
  }
  return {
    ...(basicConstraints ? { basicConstraints } : {}),
    ...(keyUsage ? { keyUsage } : {}),
    ...(subjectKeyIdentifier ? { subjectKeyIdentifier } : {}),
    ...(authorityKeyIdentifier ? { authorityKeyIdentifier } : {}),
    policies,
    ...(vehicleIdentifier ? { vehicleIdentifier } : {}),
    ...(keyRole ? { keyRole } : {}),
  };
}

/** The profile's own codecs throw TlvError; here that is a malformed certificate. */
function carKeysExtension<T>(decode: () => T): T {
  try {
    return decode();
  } catch (error) {
    throw malformed((error as Error).message, error);
  }
}

/** The 65-byte uncompressed point of a P-256 certificate key, or an "unsupported-algorithm" refusal. */
export function certificatePublicKey(cert: ParsedCertificate): Uint8Array {
  if (!equalBytes(cert.publicKeyAlgorithm, EC_P256_SPKI_ALGORITHM_DER)) {
    fail("unsupported-algorithm", `${cert.subject}: key is not id-ecPublicKey on P-256`);
  }
  try {
    return uncompressedPublicKey(cert.subjectPublicKey, "subjectPublicKey");
  } catch (error) {
    throw malformed(`${cert.subject}: subjectPublicKey is not a point on P-256`, error);
  }
}

function checkAlgorithms(cert: ParsedCertificate): Uint8Array {
  if (!equalBytes(cert.signatureAlgorithm, ECDSA_WITH_SHA256_DER)) {
    fail("unsupported-algorithm", `${cert.subject}: signature algorithm is not ecdsa-with-SHA256`);
  }
  // RFC 5280 §4.1.1.2: the two fields must agree, or a signature could be read under another algorithm.
  if (!equalBytes(cert.tbsSignatureAlgorithm, ECDSA_WITH_SHA256_DER)) {
    fail(
      "unsupported-algorithm",
      `${cert.subject}: tbsCertificate.signature differs from signatureAlgorithm`,
    );
  }
  return certificatePublicKey(cert);
}

function checkSignature(cert: ParsedCertificate, issuerKey: Uint8Array): void {
  let raw: Uint8Array;
  try {
    raw = derToRawSignature(cert.signatureValue);
  } catch {
    fail("bad-signature", `${cert.subject}: signature is not a strict DER ECDSA-Sig-Value`);
  }
  // verifyRaw hashes with SHA-256 and accepts high-S.
  if (!verifyRaw(raw, cert.tbs, issuerKey))
    fail("bad-signature", `${cert.subject}: signature does not verify with the issuer's key`);
}

function checkValidity(cert: ParsedCertificate, at: Date): void {
  if (at.getTime() < cert.notBefore.getTime()) {
    fail("not-yet-valid", `${cert.subject} is valid from ${cert.notBefore.toISOString()}`);
  }
  if (at.getTime() > cert.notAfter.getTime()) {
    fail("expired", `${cert.subject} expired at ${cert.notAfter.toISOString()}`);
  }
}

function keyIdentifiersMatch(child: ParsedCertificate, parent: ParsedCertificate): boolean {
  // Without both identifiers, names alone decide; the profile pass then demands them.
  if (!child.authorityKeyIdentifier || !parent.subjectKeyIdentifier) return true;
  return equalBytes(child.authorityKeyIdentifier, parent.subjectKeyIdentifier);
}

function issues(parent: ParsedCertificate, child: ParsedCertificate): boolean {
  return equalBytes(parent.subjectName, child.issuerName) && keyIdentifiersMatch(child, parent);
}

/** Builds leaf → … → anchor by issuer Name and key identifier, preferring anchors. */
function buildPath(
  leaf: ParsedCertificate,
  intermediates: readonly ParsedCertificate[],
  anchors: readonly ParsedCertificate[],
): ParsedCertificate[] {
  const path = [leaf];
  for (;;) {
    const current = path[path.length - 1]!;
    const anchor = anchors.find((a) => issues(a, current));
    if (anchor) {
      // An anchor presented as its own chain member is not repeated.
      if (!equalBytes(anchor.der, current.der)) path.push(anchor);
      return path;
    }
    if (current.selfIssued)
      fail("untrusted-anchor", `${current.subject} is self-issued but not a configured anchor`);
    if (path.length >= MAX_PATH_LENGTH)
      fail("path-too-long", `no anchor within ${MAX_PATH_LENGTH} certificates`);
    const next = intermediates.find((c) => issues(c, current) && !path.includes(c));
    if (next) {
      path.push(next);
      continue;
    }
    // Which link is missing decides the reason: a root-issued certificate whose root is not
    // configured is an untrusted chain; a missing or different intermediate is a wrong issuer.
    const issuerProfile = current.profile ? CERTIFICATE_PROFILES[current.profile].issuer : null;
    if (issuerProfile !== null && CERTIFICATE_PROFILES[issuerProfile].issuer === null) {
      fail("untrusted-anchor", `${current.subject} is not issued by a configured ${issuerProfile}`);
    }
    const sameName = [...intermediates, ...anchors].some((c) =>
      equalBytes(c.subjectName, current.issuerName),
    );
    fail(
      "wrong-issuer",
      sameName
        ? `${current.subject}: the certificate named as its issuer has another key identifier`
        : `${current.subject}: its issuer ${current.issuer} is not among the certificates given`,
    );
  }
}

/** RFC 5280 §6.1 rules on a built path (index 0 the leaf, last the anchor). Returns the keys. */
function checkPathGeneric(path: readonly ParsedCertificate[], at: Date): Uint8Array[] {
  const keys = path.map(checkAlgorithms);
  const top = path.length - 1;
  let remainingCas = Number.POSITIVE_INFINITY;
  for (let i = top; i >= 0; i--) {
    const cert = path[i]!;
    // A configured anchor is trusted as configured; its self-signature is checked only to catch a
    // corrupted file. A non-self-issued anchor is refused by the profile pass instead.
    if (i < top) checkSignature(cert, keys[i + 1]!);
    else if (cert.selfIssued) checkSignature(cert, keys[i]!);
    checkValidity(cert, at);
    if (i < top) {
      const issuer = path[i + 1]!;
      if (cert.notBefore < issuer.notBefore || cert.notAfter > issuer.notAfter) {
        fail("validity-not-nested", `${cert.subject} is valid outside its issuer's validity`);
      }
    }
    for (const e of cert.extensions) {
      if (e.critical && !KNOWN_EXTENSIONS.has(e.oid)) {
        fail("unsupported-critical-extension", `${cert.subject}: critical extension ${e.oid}`);
      }
    }
    if (i === 0) continue;
    // `cert` issued path[i - 1]: it must be allowed to sign certificates.
    if (!cert.keyUsage)
      fail("missing-extension", `${cert.subject} issued a certificate but has no key usage`);
    if ((cert.keyUsage.flags & KEY_USAGE.keyCertSign) === 0) {
      fail("wrong-key-usage", `${cert.subject} issued a certificate without keyCertSign`);
    }
    if (!cert.basicConstraints?.ca) fail("not-a-ca", `${cert.subject} issued a certificate but is not a CA`);
    if (i < top && !cert.selfIssued) {
      if (remainingCas <= 0) fail("path-too-long", `${cert.subject} exceeds a pathLenConstraint above it`);
      remainingCas--;
    }
    const own = cert.basicConstraints.pathLength;
    if (own !== undefined) remainingCas = Math.min(remainingCas, own);
  }
  return keys;
}

/** Throws unless `cert` carries exactly what `profile` prescribes. */
export function checkProfileConformance(cert: ParsedCertificate, profile: CertificateProfile): void {
  const who = `${cert.subject} (${profile.name})`;
  const bc = cert.basicConstraints;
  if (!bc) fail("missing-extension", `${who}: no basic constraints`);
  if (profile.ca && !bc.ca) fail("not-a-ca", `${who}: cA is not set`);
  if (!profile.ca && bc.ca) fail("wrong-profile", `${who}: a leaf profile with cA set`);
  if (profile.ca && !bc.critical) fail("wrong-profile", `${who}: basic constraints not critical`);
  if (bc.pathLength !== profile.pathLength) {
    fail("wrong-profile", `${who}: pathLenConstraint ${bc.pathLength} instead of ${profile.pathLength}`);
  }
  if (!cert.keyUsage) fail("missing-extension", `${who}: no key usage`);
  if (!cert.keyUsage.critical) fail("wrong-key-usage", `${who}: key usage not critical`);
  if (cert.keyUsage.flags !== profile.keyUsage) {
    fail("wrong-key-usage", `${who}: key usage is not exactly ${profile.keyUsageNames.join(" + ")}`);
  }
  if (!cert.subjectKeyIdentifier) fail("missing-extension", `${who}: no subject key identifier`);
  if (profile.issuer !== null && !cert.authorityKeyIdentifier) {
    fail("missing-extension", `${who}: no authority key identifier`);
  }
  if (profile.requiresVehicleIdentifier && !cert.vehicleIdentifier) {
    fail("missing-extension", `${who}: no vehicle identifier`);
  }
  if (!profile.requiresVehicleIdentifier && cert.vehicleIdentifier) {
    fail("wrong-profile", `${who}: carries a vehicle identifier`);
  }
  if (profile.requiresKeyRole && !cert.keyRole) fail("missing-extension", `${who}: no key role`);
  if (!profile.requiresKeyRole && cert.keyRole) fail("wrong-profile", `${who}: carries a key role`);
  if ((profile.issuer === null) !== cert.selfIssued) {
    fail(
      "wrong-profile",
      `${who}: ${cert.selfIssued ? "self-issued" : "not self-issued"} contrary to the profile`,
    );
  }
  if (cert.notAfter.getTime() - cert.notBefore.getTime() > profile.maxValidityDays * 86_400_000) {
    fail("wrong-profile", `${who}: validity longer than ${profile.maxValidityDays} days`);
  }
}

/** The profile a certificate claims, or "missing-extension" when it names none of ours. */
export function certificateProfile(cert: ParsedCertificate): CertificateProfile {
  if (!cert.profile) fail("missing-extension", `${cert.subject}: no Car Keys profile policy`);
  return CERTIFICATE_PROFILES[cert.profile];
}

export interface VerifyCertificateChainParams {
  readonly leaf: CertificateInput;
  /** Candidate CA certificates, in any order; unused ones are ignored. */
  readonly intermediates?: readonly CertificateInput[];
  /** Configured roots; the chain must end at one of them. */
  readonly anchors: readonly CertificateInput[];
  readonly expectedLeafProfile: CertificateProfileName;
  /** The time the chain must be valid at. */
  readonly at: Date;
}

export interface VerifiedCertificateChain {
  /** 65-byte uncompressed P-256 key of the leaf. */
  readonly publicKey: Uint8Array;
  readonly profile: CertificateProfileName;
  readonly vehicleIdentifier?: Uint8Array;
  readonly keyRole?: KeyRole;
  readonly serialNumber: string;
  readonly subject: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Profiles from the leaf up to the anchor. */
  readonly profiles: readonly CertificateProfileName[];
  /** The path from the leaf up to the anchor. */
  readonly chain: readonly ParsedCertificate[];
}

/**
 * Verifies `leaf` up to one of `anchors` and returns the leaf's facts, or
 * throws CertificateVerificationError. Enforces signatures, validity (and its
 * nesting), key usage, basic constraints and path length, P-256 with
 * ecdsa-with-SHA256 only, and the profile of every certificate in the path.
 */
export function verifyCertificateChain(params: VerifyCertificateChainParams): VerifiedCertificateChain {
  const { expectedLeafProfile, at } = params;
  if (!(at instanceof Date) || Number.isNaN(at.getTime()))
    throw new ProtocolInputError("at must be a valid Date");
  if (
    typeof expectedLeafProfile !== "string" ||
    !Object.hasOwn(CERTIFICATE_PROFILES, expectedLeafProfile) ||
    CERTIFICATE_PROFILES[expectedLeafProfile].issuer === null
  ) {
    throw new ProtocolInputError("expectedLeafProfile must be endpoint, instance-ca or vehicle");
  }
  if (!Array.isArray(params.anchors)) throw new ProtocolInputError("anchors must be an array");

  const leaf = parseCertificate(params.leaf);
  const intermediates = (params.intermediates ?? []).map(parseCertificate);
  const anchors = params.anchors.map(parseCertificate);
  const path = buildPath(leaf, intermediates, anchors);
  const keys = checkPathGeneric(path, at);

  const profiles = path.map((cert) => {
    const profile = certificateProfile(cert);
    checkProfileConformance(cert, profile);
    return profile.name;
  });
  if (profiles[0] !== expectedLeafProfile) {
    fail("wrong-profile", `leaf is a ${profiles[0]} certificate, not ${expectedLeafProfile}`);
  }
  for (let i = 0; i < path.length; i++) {
    const wanted = CERTIFICATE_PROFILES[profiles[i]!].issuer;
    const actual = i + 1 < path.length ? profiles[i + 1]! : null;
    if (wanted !== null && actual !== wanted) {
      fail("wrong-profile", `${path[i]!.subject} must be issued by a ${wanted}, not ${actual ?? "nothing"}`);
    }
  }

  return {
    publicKey: keys[0]!,
    profile: profiles[0]!,
    ...(leaf.vehicleIdentifier ? { vehicleIdentifier: leaf.vehicleIdentifier } : {}),
    ...(leaf.keyRole ? { keyRole: leaf.keyRole } : {}),
    serialNumber: leaf.serialNumber,
    subject: leaf.subject,
    notBefore: leaf.notBefore,
    notAfter: leaf.notAfter,
    profiles,
    chain: path,
  };
}
