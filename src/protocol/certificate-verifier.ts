// Parses certificates and verifies chains against the profiles of
// certificate-profiles.ts (docs/certificates.md "Verification rules"; CCC
// public notes §2: the vehicle verifies device.PK's chain offline against a
// factory-installed root). Trust anchors are always passed in: nothing here
// knows whose root to trust. Checks run in two passes, the generic RFC 5280
// §6.1 path rules first, then the profile rules, so each failure has one
// predictable reason. The outer structure (exact TBS bytes, names, key,
// signature) is read with our own total DER splitter, so the bytes verified are
// the bytes signed; @peculiar/x509 only decodes dates and standard extension
// values, and its exceptions become "malformed". Signatures go through the
// strict ecdsa-der.ts decoder and p256.ts verifyRaw, which accepts high-S
// signatures since KMS and OpenSSL produce them.

import { p256 } from "@noble/curves/nist.js";
import * as x509 from "@peculiar/x509";
import { parseTlvs, type Tlv, tlv } from "./ber-tlv.js";
import { equalBytes, fromHex } from "./bytes.js";
import {
  CARKEY_OID,
  CERTIFICATE_PROFILES,
  type CertificateProfile,
  type CertificateProfileName,
  decodeKeyRoleExtension,
  decodeVehicleIdentifierExtension,
  type KeyRole,
  profileForPolicy,
  X509_OID,
} from "./certificate-profiles.js";
import { derToRawSignature } from "./ecdsa-der.js";
import {
  CertificateVerificationError,
  type CertificateVerificationReason,
  ProtocolInputError,
} from "./errors.js";
import { verifyRaw } from "./p256.js";

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
  readonly certificate: x509.X509Certificate;
  /** The exact tbsCertificate bytes the signature covers. */
  readonly tbs: Uint8Array;
  /** Serial number as lower-case hex without a sign byte. */
  readonly serialNumber: string;
  /** DER of the issuer and subject Names, compared byte for byte when chaining. */
  readonly issuerName: Uint8Array;
  readonly subjectName: Uint8Array;
  /** RFC 4514 rendering, for messages only. */
  readonly subject: string;
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

/** DER, PEM, or a certificate parseCertificate returned already (used as is, not parsed again). */
export type CertificateInput = Uint8Array | string | x509.X509Certificate | ParsedCertificate;

function malformed(message: string, cause?: unknown): CertificateVerificationError {
  return new CertificateVerificationError("malformed", message, cause === undefined ? undefined : { cause });
}

function fail(reason: CertificateVerificationReason, message: string): never {
  throw new CertificateVerificationError(reason, message);
}

function pemToDer(text: string): Uint8Array {
  const match = /^\s*-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END CERTIFICATE-----\s*$/.exec(
    text,
  );
  if (!match) throw malformed("not a single PEM CERTIFICATE block");
  return new Uint8Array(Buffer.from(match[1]!.replace(/[\r\n]/g, ""), "base64"));
}

function toDer(input: CertificateInput): Uint8Array {
  if (input instanceof x509.X509Certificate) return new Uint8Array(input.rawData);
  if (typeof input === "string") return pemToDer(input);
  if (input instanceof Uint8Array) return input;
  throw malformed("certificate must be DER bytes, a PEM string or an X509Certificate");
}

/** Splits DER into elements; the BER-TLV parser refuses indefinite and non-minimal lengths. */
function elements(bytes: Uint8Array, what: string): Tlv[] {
  try {
    return parseTlvs(bytes);
  } catch (error) {
    throw malformed(`${what}: ${(error as Error).message}`, error);
  }
}

function expectTag(item: Tlv | undefined, tag: number, what: string): Tlv {
  if (!item || item.tag !== tag) throw malformed(`${what} missing or of the wrong type`);
  return item;
}

/** Re-encodes an element; exact because the parser admits only minimal DER lengths. */
function encoded(item: Tlv): Uint8Array {
  return tlv(item.tag, item.value);
}

function bitStringBytes(item: Tlv, what: string): Uint8Array {
  if (item.value.length < 1 || item.value[0] !== 0)
    throw malformed(`${what} must be a whole-byte BIT STRING`);
  return item.value.subarray(1);
}

/**
 * Parses one DER or PEM certificate. Anything that is not an X.509 v3
 * certificate, or whose standard or Car Keys extension values do not decode,
 * throws CertificateVerificationError("malformed"), never an ASN.1 exception.
 */
export function parseCertificate(input: CertificateInput): ParsedCertificate {
  // A root kept parsed for a process's life, or a request's certificate parsed under its own field first.
  if (isParsedCertificate(input)) return input;
  const der = toDer(input);
  if (der.length > MAX_CERTIFICATE_SIZE)
    throw malformed(`certificate longer than ${MAX_CERTIFICATE_SIZE} bytes`);
  const top = elements(der, "certificate");
  if (top.length !== 1) throw malformed("trailing bytes after the certificate");
  const certificateSeq = expectTag(top[0], 0x30, "Certificate");
  const [tbsItem, sigAlgItem, sigItem, ...extra] = elements(certificateSeq.value, "Certificate");
  if (extra.length > 0) throw malformed("Certificate has more than three fields");
  expectTag(tbsItem, 0x30, "tbsCertificate");
  expectTag(sigAlgItem, 0x30, "signatureAlgorithm");
  expectTag(sigItem, 0x03, "signatureValue");

  const fields = elements(tbsItem!.value, "tbsCertificate");
  const version = expectTag(fields[0], 0xa0, "version (only v3 certificates carry extensions)");
  if (!equalBytes(version.value, VERSION_V3_DER)) throw malformed("version is not v3");
  const serial = expectTag(fields[1], 0x02, "serialNumber");
  if (serial.value.length < 1 || serial.value.length > 20 || (serial.value[0]! & 0x80) !== 0) {
    throw malformed("serialNumber must be a positive INTEGER of at most 20 octets");
  }
  const tbsSigAlg = expectTag(fields[2], 0x30, "tbsCertificate.signature");
  const issuer = expectTag(fields[3], 0x30, "issuer");
  expectTag(fields[4], 0x30, "validity");
  const subject = expectTag(fields[5], 0x30, "subject");
  const spki = expectTag(fields[6], 0x30, "subjectPublicKeyInfo");
  const [spkiAlg, spkiKey, ...spkiExtra] = elements(spki.value, "subjectPublicKeyInfo");
  if (spkiExtra.length > 0) throw malformed("subjectPublicKeyInfo has extra fields");
  expectTag(spkiAlg, 0x30, "subjectPublicKeyInfo.algorithm");
  expectTag(spkiKey, 0x03, "subjectPublicKey");

  let certificate: x509.X509Certificate;
  let notBefore: Date;
  let notAfter: Date;
  let serialNumber: string;
  let subjectText: string;
  let extensions: CertificateExtension[];
  let typed: Pick<
    ParsedCertificate,
    | "basicConstraints"
    | "keyUsage"
    | "subjectKeyIdentifier"
    | "authorityKeyIdentifier"
    | "policies"
    | "vehicleIdentifier"
    | "keyRole"
  >;
  try {
    certificate = new x509.X509Certificate(new Uint8Array(der));
    // The getters parse lazily; touch each now so no asn1 error escapes later.
    notBefore = certificate.notBefore;
    notAfter = certificate.notAfter;
    serialNumber = certificate.serialNumber.toLowerCase();
    subjectText = certificate.subject;
    extensions = certificate.extensions.map((e) => ({
      oid: e.type,
      critical: e.critical,
      value: new Uint8Array(e.value),
    }));
    typed = decodeExtensions(certificate.extensions);
  } catch (error) {
    if (error instanceof CertificateVerificationError) throw error;
    // The ASN.1 library's own text stays in `cause` (for logs): callers show this message to clients.
    throw malformed("does not decode as an X.509 certificate", error);
  }
  if (Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime()))
    throw malformed("invalid validity time");
  const seen = new Set<string>();
  for (const e of extensions) {
    if (seen.has(e.oid)) throw malformed(`extension ${e.oid} appears twice`);
    seen.add(e.oid);
  }

  const ours = typed.policies.map(profileForPolicy).filter((p) => p !== undefined);
  const issuerName = encoded(issuer);
  const subjectName = encoded(subject);
  const profile = ours.length === 1 ? ours[0]!.name : undefined;
  const parsed: ParsedCertificate = {
    der,
    certificate,
    tbs: encoded(tbsItem!),
    serialNumber,
    issuerName,
    subjectName,
    subject: subjectText,
    notBefore,
    notAfter,
    signatureAlgorithm: encoded(sigAlgItem!),
    tbsSignatureAlgorithm: encoded(tbsSigAlg),
    publicKeyAlgorithm: encoded(spkiAlg!),
    subjectPublicKey: bitStringBytes(spkiKey!, "subjectPublicKey"),
    signatureValue: bitStringBytes(sigItem!, "signatureValue"),
    extensions,
    ...typed,
    ...(profile ? { profile } : {}),
    selfIssued: equalBytes(issuerName, subjectName),
  };
  PARSED.add(parsed);
  return parsed;
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

function decodeExtensions(list: readonly x509.Extension[]) {
  let basicConstraints: ParsedCertificate["basicConstraints"];
  let keyUsage: ParsedCertificate["keyUsage"];
  let subjectKeyIdentifier: Uint8Array | undefined;
  let authorityKeyIdentifier: Uint8Array | undefined;
  let policies: string[] = [];
  let vehicleIdentifier: Uint8Array | undefined;
  let keyRole: KeyRole | undefined;
  for (const e of list) {
    const raw = e.rawData;
    switch (e.type) {
      case X509_OID.basicConstraints: {
        const bc = new x509.BasicConstraintsExtension(raw);
        basicConstraints = {
          ca: bc.ca,
          critical: bc.critical,
          ...(bc.pathLength === undefined ? {} : { pathLength: bc.pathLength }),
        };
        break;
      }
      case X509_OID.keyUsage:
        keyUsage = { flags: new x509.KeyUsagesExtension(raw).usages, critical: e.critical };
        break;
      case X509_OID.subjectKeyIdentifier:
        subjectKeyIdentifier = fromHex(
          new x509.SubjectKeyIdentifierExtension(raw).keyId,
          "subjectKeyIdentifier",
        );
        break;
      case X509_OID.authorityKeyIdentifier: {
        const keyId = new x509.AuthorityKeyIdentifierExtension(raw).keyId;
        if (keyId !== undefined) authorityKeyIdentifier = fromHex(keyId, "authorityKeyIdentifier");
        break;
      }
      case X509_OID.certificatePolicies:
        policies = [...new x509.CertificatePolicyExtension(raw).policies];
        break;
      case CARKEY_OID.vehicleIdentifier:
        vehicleIdentifier = decodeVehicleIdentifierExtension(new Uint8Array(e.value));
        break;
      case CARKEY_OID.keyRole:
        keyRole = decodeKeyRoleExtension(new Uint8Array(e.value));
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

/** The 65-byte uncompressed point of a P-256 certificate key, or an "unsupported-algorithm" refusal. */
export function certificatePublicKey(cert: ParsedCertificate): Uint8Array {
  if (!equalBytes(cert.publicKeyAlgorithm, EC_P256_SPKI_ALGORITHM_DER)) {
    fail("unsupported-algorithm", `${cert.subject}: key is not id-ecPublicKey on P-256`);
  }
  try {
    return p256.Point.fromBytes(cert.subjectPublicKey).toBytes(false);
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
        : `${current.subject}: its issuer ${current.certificate.issuer} is not among the certificates given`,
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
    if ((cert.keyUsage.flags & x509.KeyUsageFlags.keyCertSign) === 0) {
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
