// What every issuer of the key system chooses beyond a profile's shape
// (docs/certificates.md "Issuance policy"): when a certificate starts, how long
// it lasts and what it is named. The cloud service (over KMS), the SE's
// instance CA (inside the SE) and the emulated OEMs (over software keys) all
// issue through the two functions below, so a certificate issued offline is
// the one the cloud would have issued, down to its dates and names.
//
// - Validity: the profile's cap (certificate-profiles.ts), cut at the
//   issuer's notAfter, so a certificate never outlives what vouches for it.
// - Backdating: roots start a day back, everything they certify an hour back
//   (never before the issuer), so a phone or a car whose clock lags behind the
//   issuer's still accepts a certificate issued a moment ago.
// - Names: a root is named by its OEM (O, optional C and CN); a certificate
//   below it carries its issuer's O and C and the profile's default CN.

import {
  createSelfSignedRoot,
  type IssuedCertificate,
  type IssuerParams,
  issueCertificate,
} from "./certificate-issuer.js";
import {
  type CertificateProfileName,
  getCertificateProfile,
  type KeyRole,
  maxValidityMs,
  type SubjectNameFields,
} from "./certificate-profiles.js";
import type { ParsedCertificate } from "./certificate-verifier.js";
import { CertificateIssuanceError, ProtocolInputError } from "./errors.js";
import type { RandomSource } from "./p256.js";
import type { MessageSigner } from "./signer.js";

/** How far back a root's validity starts. */
export const ROOT_BACKDATE_MS = 24 * 3600 * 1000;
/** How far back a certificate issued under a root (or an instance CA) starts, never before its issuer. */
export const ISSUED_BACKDATE_MS = 3600 * 1000;

export type RootProfileName = "device-oem-root" | "vehicle-oem-root";
export type IssuedProfileName = Exclude<CertificateProfileName, RootProfileName>;

export interface Validity {
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** Whole seconds, as X.509 Time carries them, so the dates returned are the dates issued. */
function wholeSeconds(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}

/**
 * The validity of a certificate of `profile` issued at `now`: backdated, for the
 * profile's cap, and for a non-root inside `issuer`'s validity. An issuer that
 * has expired by `now` is refused (`issuer-expired`): nothing it signs would verify.
 */
export function issuanceValidity(profile: CertificateProfileName, now: Date, issuer?: Validity): Validity {
  const definition = getCertificateProfile(profile);
  if (!(now instanceof Date) || Number.isNaN(now.getTime()))
    throw new ProtocolInputError("now must be a Date");
  const cap = maxValidityMs(definition);
  if (definition.issuer === null) {
    if (issuer !== undefined) throw new ProtocolInputError(`${profile} certificates are self-signed`);
    const notBefore = wholeSeconds(now.getTime() - ROOT_BACKDATE_MS);
    return { notBefore, notAfter: new Date(notBefore.getTime() + cap) };
  }
  if (issuer === undefined)
    throw new ProtocolInputError(`${profile} certificates need their issuer's validity`);
  if (issuer.notAfter.getTime() <= now.getTime()) {
    throw new CertificateIssuanceError(
      "issuer-expired",
      `the ${definition.issuer} certificate expired at ${issuer.notAfter.toISOString()}`,
    );
  }
  const notBefore = wholeSeconds(Math.max(now.getTime() - ISSUED_BACKDATE_MS, issuer.notBefore.getTime()));
  return {
    notBefore,
    notAfter: wholeSeconds(Math.min(notBefore.getTime() + cap, issuer.notAfter.getTime())),
  };
}

/** O and C of the issuer's subject; the CN is left to the profile's default. */
export function issuedSubject(issuer: ParsedCertificate): SubjectNameFields {
  const { organization, country } = issuer;
  if (organization === undefined) {
    throw new CertificateIssuanceError(
      "invalid-issuer-certificate",
      `${issuer.subject} names no organization`,
    );
  }
  return { organization, ...(country === undefined ? {} : { country }) };
}

export interface CreateRootParams {
  readonly profile: RootProfileName;
  readonly signer: MessageSigner;
  /** The OEM's name: O, and optionally C and CN (default per profile). */
  readonly subject: SubjectNameFields;
  readonly now: Date;
  readonly random?: RandomSource;
}

/** A self-signed root under the policy: a day back, for the profile's cap. */
export async function createRootUnderPolicy(params: CreateRootParams): Promise<IssuedCertificate> {
  return createSelfSignedRoot({
    profile: params.profile,
    signer: params.signer,
    subject: params.subject,
    ...issuanceValidity(params.profile, params.now),
    ...(params.random ? { random: params.random } : {}),
  });
}

export interface PolicyIssuer {
  readonly signer: MessageSigner;
  /** The issuer's certificate, parsed once by the caller (a root is kept parsed for a process's life). */
  readonly certificate: ParsedCertificate;
}

export interface IssueUnderPolicyParams {
  readonly profile: IssuedProfileName;
  readonly issuer: PolicyIssuer;
  readonly subjectPublicKey: Uint8Array;
  readonly now: Date;
  /** Required by the endpoint and vehicle profiles. */
  readonly vehicleIdentifier?: Uint8Array;
  /** Required by the endpoint profile. */
  readonly keyRole?: KeyRole;
  readonly random?: RandomSource;
}

/** A certificate of `profile` under `issuer`, with the policy's validity and names. */
export async function issueCertificateUnderPolicy(
  params: IssueUnderPolicyParams,
): Promise<IssuedCertificate> {
  const { issuer } = params;
  // Handed over parsed: parsing a certificate costs more than checking it (several ms on a busy core).
  const issuerParams: IssuerParams = { signer: issuer.signer, certificate: issuer.certificate };
  return issueCertificate({
    profile: params.profile,
    subjectPublicKey: params.subjectPublicKey,
    subject: issuedSubject(issuer.certificate),
    issuer: issuerParams,
    ...issuanceValidity(params.profile, params.now, issuer.certificate),
    ...(params.vehicleIdentifier === undefined ? {} : { vehicleIdentifier: params.vehicleIdentifier }),
    ...(params.keyRole === undefined ? {} : { keyRole: params.keyRole }),
    ...(params.random ? { random: params.random } : {}),
  });
}
