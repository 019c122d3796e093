// Issues certificates under the profiles of certificate-profiles.ts
// (docs/certificates.md; docs/architecture.md: authorization decides what
// may be signed, one issueCertificate() applies the profile and signs). The
// private key never enters this code: every signature is one signDigest call on
// a DigestSigner (an emulated SE, a software key, AWS KMS), reached through a
// per-call WebCrypto shim that @peculiar/x509 signs the TBS with (docs/toolchain.md
// "Cryptography libraries"). The result is checked against the
// issuer's key before it is returned, so a misconfigured signer cannot hand out
// a certificate that nobody can verify.

import { sha256 } from "@noble/hashes/sha2.js";
import * as x509 from "@peculiar/x509";
import { concatBytes, equalBytes, fromHex, toHex } from "./bytes.js";
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
} from "./certificate-profiles.js";
import {
  type CertificateInput,
  certificateProfile,
  certificatePublicKey,
  checkProfileConformance,
  isParsedCertificate,
  type ParsedCertificate,
  parseCertificate,
} from "./certificate-verifier.js";
import { CertificateIssuanceError, CertificateVerificationError, ProtocolInputError } from "./errors.js";
import { assertPublicKey, type RandomSource, systemRandom, verifyRaw } from "./p256.js";
import type { DigestSigner } from "./signer.js";

/** SubjectPublicKeyInfo DER up to the point: id-ecPublicKey, prime256v1, BIT STRING of 66 bytes. */
const P256_SPKI_PREFIX = fromHex("3059301306072a8648ce3d020106082a8648ce3d030107034200");
/** Earliest and latest instants X.509 Time can carry with UTCTime/GeneralizedTime as RFC 5280 §4.1.2.5 splits them. */
const MIN_TIME_MS = Date.UTC(1950, 0, 1);
const MAX_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59);

export interface IssuerParams {
  readonly signer: DigestSigner;
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
  readonly signer: DigestSigner;
  readonly subject: SubjectNameFields;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly serialNumber?: Uint8Array;
  readonly random?: RandomSource;
}

/** A copy backed by a plain ArrayBuffer, the BufferSource type the DOM typings want. */
function owned(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
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

/** The hash name of a WebCrypto algorithm, upper-cased; "" when absent. */
function hashName(algorithm: unknown): string {
  if (typeof algorithm !== "object" || algorithm === null || !("hash" in algorithm)) return "";
  const hash = (algorithm as { hash: unknown }).hash;
  const name = typeof hash === "string" ? hash : (hash as { name?: unknown } | null)?.name;
  return typeof name === "string" ? name.toUpperCase() : "";
}

/**
 * A Crypto whose only working part is subtle.sign, answering with the
 * DigestSigner: SHA-256 of the TBS, one signDigest call, raw r‖s back (the
 * form WebCrypto returns and @peculiar/x509 turns into DER). Built per call so
 * the global x509 crypto provider is never replaced.
 */
function digestSignerCrypto(
  signer: DigestSigner,
  record: { tbs?: Uint8Array; signature?: Uint8Array },
): Crypto {
  const subtle = {
    async sign(algorithm: unknown, _key: unknown, data: BufferSource): Promise<ArrayBuffer> {
      const name = (algorithm as { name?: unknown } | null)?.name;
      if (name !== "ECDSA" || hashName(algorithm) !== "SHA-256") {
        throw new CertificateIssuanceError("signer-failure", "only ECDSA with SHA-256 is signed here");
      }
      if (record.signature) throw new CertificateIssuanceError("signer-failure", "asked to sign twice");
      const tbs = ArrayBuffer.isView(data)
        ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice()
        : new Uint8Array(data).slice();
      let signature: Uint8Array;
      try {
        signature = await signer.signDigest(sha256(tbs));
      } catch (error) {
        throw new CertificateIssuanceError("signer-failure", "the signer refused or failed", {
          cause: error,
        });
      }
      if (!(signature instanceof Uint8Array) || signature.length !== 64) {
        throw new CertificateIssuanceError("signer-failure", "the signer must return 64 bytes r‖s");
      }
      record.tbs = tbs;
      record.signature = signature.slice();
      return record.signature.slice().buffer;
    },
  };
  return {
    subtle,
    getRandomValues: () => {
      // Serial numbers are always chosen before calling x509, so nothing should draw randomness here.
      throw new CertificateIssuanceError("signer-failure", "unexpected randomness request");
    },
  } as unknown as Crypto;
}

/** An opaque key handle: x509 reads only `algorithm` to pick ecdsa-with-SHA256 and the P-256 sizes. */
const SIGNING_KEY_HANDLE = {
  algorithm: { name: "ECDSA", namedCurve: "P-256" },
  type: "private",
  extractable: false,
  usages: ["sign"],
} as unknown as CryptoKey;

export interface CertificateTemplate {
  readonly subjectPublicKey: Uint8Array;
  readonly subject: readonly SubjectAttribute[];
  /** DER Name of the issuer; for a self-signed certificate, omit to reuse the subject. */
  readonly issuerName?: Uint8Array;
  readonly serialNumberHex: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly extensions: readonly x509.Extension[];
  readonly signer: DigestSigner;
  /** The key the signature must verify with (the issuer's). */
  readonly signerPublicKey: Uint8Array;
}

/**
 * Signs a fully specified template with exactly one signDigest call, then checks
 * the signature with `signerPublicKey`. It applies NO profile: services and
 * emulators call issueCertificate; this is exported for the profile layer and
 * for tests that must build deliberately non-conforming certificates.
 */
export async function signCertificateTemplate(template: CertificateTemplate): Promise<IssuedCertificate> {
  assertPublicKey(template.subjectPublicKey, "subjectPublicKey");
  const subject = new x509.Name(
    template.subject.map((a) => ({ [a.oid]: [{ [a.type]: a.value }] })) as x509.JsonNameParams,
  );
  const issuer = template.issuerName ? new x509.Name(owned(template.issuerName)) : subject;
  const record: { tbs?: Uint8Array; signature?: Uint8Array } = {};
  const certificate = await x509.X509CertificateGenerator.create(
    {
      serialNumber: template.serialNumberHex,
      subject,
      issuer,
      notBefore: template.notBefore,
      notAfter: template.notAfter,
      publicKey: owned(concatBytes(P256_SPKI_PREFIX, template.subjectPublicKey)),
      signingKey: SIGNING_KEY_HANDLE,
      signingAlgorithm: { name: "ECDSA", hash: "SHA-256" } as EcdsaParams,
      extensions: [...template.extensions],
    },
    digestSignerCrypto(template.signer, record),
  );
  if (!record.tbs || !record.signature)
    throw new CertificateIssuanceError("signer-failure", "nothing was signed");
  // verifyRaw accepts high-S: KMS and SEs may return either S.
  if (!verifyRaw(record.signature, record.tbs, template.signerPublicKey)) {
    throw new CertificateIssuanceError(
      "signer-failure",
      "the signature does not verify with the issuer's key",
    );
  }
  const der = new Uint8Array(certificate.rawData);
  return { der, pem: certificate.toString("pem"), serialNumber: certificate.serialNumber.toLowerCase() };
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
  if (!signer || typeof signer.signDigest !== "function" || typeof signer.publicKey !== "function") {
    throw new ProtocolInputError("issuer.signer must be a DigestSigner");
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

  const extensions: x509.Extension[] = [
    // Leaves carry an explicit critical cA FALSE too, so no verifier has to infer "not a CA".
    new x509.BasicConstraintsExtension(profile.ca, profile.pathLength, true),
    new x509.KeyUsagesExtension(profile.keyUsage, true),
    new x509.SubjectKeyIdentifierExtension(toHex(ownKeyId), false),
    new x509.AuthorityKeyIdentifierExtension(toHex(issuer.keyIdentifier), false),
    new x509.CertificatePolicyExtension([profile.policyOid], false),
  ];
  if (vehicleIdentifier !== undefined) {
    extensions.push(
      new x509.Extension(
        CARKEY_OID.vehicleIdentifier,
        false,
        owned(encodeVehicleIdentifierExtension(vehicleIdentifier)),
      ),
    );
  }
  if (keyRole !== undefined) {
    extensions.push(new x509.Extension(CARKEY_OID.keyRole, false, owned(encodeKeyRoleExtension(keyRole))));
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
