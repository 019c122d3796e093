// The five X.509 certificate profiles of the key system, as data the issuer
// applies and the verifier enforces (docs/certificates.md; CCC public notes §2
// "Certificate chain": device.PK travels in an X.509 certificate whose chain a
// vehicle checks offline against a configured root). One table drives both
// sides so the issuer cannot produce what the verifier would refuse. Each
// certificate names its profile in a certificate-policies OID, so a verifier
// classifies a certificate by what its issuer asserted, not by guessing from
// its shape. The custom extension values have tiny DER codecs here because
// they are part of the profile, not of any general ASN.1 need.

import { parseTlvs } from "./ber-tlv.js";
import { toHex } from "./bytes.js";
import { MAX_VEHICLE_ID_LENGTH, MIN_VEHICLE_ID_LENGTH } from "./constants.js";
import { ProtocolInputError, TlvError } from "./errors.js";
import { assertPublicKey, keyIdentifier, sha256Digest } from "./p256.js";

/**
 * Private OID arc of the project. 61892 stands in for an IANA Private
 * Enterprise Number: an OEM deployment replaces this one constant with its own
 * PEN (and re-issues its roots), and every OID below follows.
 */
export const CERTIFICATE_OID_ARC = "1.3.6.1.4.1.61892";

/** Our extensions (arc .1) and the profile policy identifiers (arc .2). */
export const CARKEY_OID = {
  /** Vehicle identifier: DER OCTET STRING of the 8–32 raw bytes (docs/transaction.md tag 4D). Non-critical. */
  vehicleIdentifier: `${CERTIFICATE_OID_ARC}.1.1`,
  /** Key role: DER ENUMERATED { owner(0), friend(1) }. Non-critical. */
  keyRole: `${CERTIFICATE_OID_ARC}.1.2`,
  policyDeviceOemRoot: `${CERTIFICATE_OID_ARC}.2.1`,
  policyInstanceCa: `${CERTIFICATE_OID_ARC}.2.2`,
  policyEndpoint: `${CERTIFICATE_OID_ARC}.2.3`,
  policyVehicleOemRoot: `${CERTIFICATE_OID_ARC}.2.4`,
  policyVehicle: `${CERTIFICATE_OID_ARC}.2.5`,
} as const;

/** Standard identifiers the profiles use (RFC 5280, RFC 5480, RFC 5758). */
export const X509_OID = {
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  subjectKeyIdentifier: "2.5.29.14",
  authorityKeyIdentifier: "2.5.29.35",
  certificatePolicies: "2.5.29.32",
  ecPublicKey: "1.2.840.10045.2.1",
  prime256v1: "1.2.840.10045.3.1.7",
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  countryName: "2.5.4.6",
  organizationName: "2.5.4.10",
  commonName: "2.5.4.3",
} as const;

export type CertificateProfileName =
  | "device-oem-root"
  | "instance-ca"
  | "endpoint"
  | "vehicle-oem-root"
  | "vehicle";

export type KeyRole = "owner" | "friend";
export const KEY_ROLES: readonly KeyRole[] = ["owner", "friend"];

const DAY_MS = 86_400_000;
/** Calendar years as days, rounded up so a cap of N years admits N years over any leap days. */
const years = (n: number): number => Math.ceil(n * 365.25);

export interface CertificateProfile {
  readonly name: CertificateProfileName;
  readonly title: string;
  readonly side: "device" | "vehicle";
  /** The profile of the issuing certificate; null for a self-signed root (a trust anchor). */
  readonly issuer: CertificateProfileName | null;
  /** Certificate-policies OID that marks a certificate as issued under this profile. */
  readonly policyOid: string;
  readonly ca: boolean;
  /** pathLenConstraint for CAs; undefined for leaves (which carry cA FALSE and no pathLen). */
  readonly pathLength: number | undefined;
  /** Exact key usage bits (critical), as @peculiar/x509's KeyUsageFlags numbers them (KEY_USAGE). */
  readonly keyUsage: number;
  readonly keyUsageNames: readonly string[];
  readonly maxValidityDays: number;
  readonly requiresVehicleIdentifier: boolean;
  readonly requiresKeyRole: boolean;
  /** The naming convention, as written in docs/certificates.md. */
  readonly naming: string;
}

/**
 * The KeyUsage bits the profiles use (RFC 5280 §4.2.1.3), with the values of @peculiar/x509's
 * KeyUsageFlags (bit n of the BIT STRING is 1 << n), written out so that this file, which also
 * holds what signed statements check (vehicle identifiers, key roles), carries no X.509 library
 * into a function that handles no certificate (docs/toolchain.md "Lambda bundles").
 */
export const KEY_USAGE = { digitalSignature: 1, keyCertSign: 32, cRLSign: 64 } as const;

const CA_USAGE = KEY_USAGE.keyCertSign | KEY_USAGE.cRLSign;
const LEAF_USAGE = KEY_USAGE.digitalSignature;

export const CERTIFICATE_PROFILES: Readonly<Record<CertificateProfileName, CertificateProfile>> = {
  "device-oem-root": {
    name: "device-oem-root",
    title: "Device OEM root CA",
    side: "device",
    issuer: null,
    policyOid: CARKEY_OID.policyDeviceOemRoot,
    ca: true,
    // One CA below it: the instance CA of each secure element.
    pathLength: 1,
    keyUsage: CA_USAGE,
    keyUsageNames: ["keyCertSign", "cRLSign"],
    maxValidityDays: years(25),
    requiresVehicleIdentifier: false,
    requiresKeyRole: false,
    naming: 'O = device OEM; CN defaults to "<O> Device OEM Root CA"',
  },
  "instance-ca": {
    name: "instance-ca",
    title: "Instance CA (one per secure element)",
    side: "device",
    issuer: "device-oem-root",
    policyOid: CARKEY_OID.policyInstanceCa,
    ca: true,
    pathLength: 0,
    keyUsage: CA_USAGE,
    keyUsageNames: ["keyCertSign", "cRLSign"],
    // Outlives any phone's secure element.
    maxValidityDays: years(20),
    requiresVehicleIdentifier: false,
    requiresKeyRole: false,
    naming: 'O = device OEM; CN defaults to "Instance CA <subject key identifier, 40 hex digits>"',
  },
  endpoint: {
    name: "endpoint",
    title: "Endpoint (one per car key)",
    side: "device",
    issuer: "instance-ca",
    policyOid: CARKEY_OID.policyEndpoint,
    ca: false,
    pathLength: undefined,
    keyUsage: LEAF_USAGE,
    keyUsageNames: ["digitalSignature"],
    // A key outliving its phone is pointless; re-keying on a new phone issues a new endpoint.
    maxValidityDays: years(10),
    requiresVehicleIdentifier: true,
    requiresKeyRole: true,
    naming: 'O = device OEM; CN defaults to "Endpoint <key identifier (tag 4E), 12 hex digits>"',
  },
  "vehicle-oem-root": {
    name: "vehicle-oem-root",
    title: "Vehicle OEM root CA",
    side: "vehicle",
    issuer: null,
    policyOid: CARKEY_OID.policyVehicleOemRoot,
    ca: true,
    pathLength: 0,
    keyUsage: CA_USAGE,
    keyUsageNames: ["keyCertSign", "cRLSign"],
    // Cars stay on the road for decades with this root in the phones that open them.
    maxValidityDays: years(30),
    requiresVehicleIdentifier: false,
    requiresKeyRole: false,
    naming: 'O = vehicle OEM; CN defaults to "<O> Vehicle OEM Root CA"',
  },
  vehicle: {
    name: "vehicle",
    title: "Vehicle",
    side: "vehicle",
    issuer: "vehicle-oem-root",
    policyOid: CARKEY_OID.policyVehicle,
    ca: false,
    pathLength: undefined,
    keyUsage: LEAF_USAGE,
    keyUsageNames: ["digitalSignature"],
    // Installed at the factory, used offline for the car's life.
    maxValidityDays: years(25),
    requiresVehicleIdentifier: true,
    requiresKeyRole: false,
    naming: "O = vehicle OEM; CN defaults to the vehicle identifier in hex (at most 64 digits)",
  },
};

export const CERTIFICATE_PROFILE_NAMES = Object.keys(CERTIFICATE_PROFILES) as CertificateProfileName[];

export function getCertificateProfile(name: CertificateProfileName): CertificateProfile {
  const profile = Object.hasOwn(CERTIFICATE_PROFILES, name) ? CERTIFICATE_PROFILES[name] : undefined;
  if (!profile)
    throw new ProtocolInputError(`profile must be one of ${CERTIFICATE_PROFILE_NAMES.join(", ")}`);
  return profile;
}

/** The profile whose policy OID this is, or undefined. */
export function profileForPolicy(oid: string): CertificateProfile | undefined {
  return Object.values(CERTIFICATE_PROFILES).find((p) => p.policyOid === oid);
}

/** Profiles from `leaf` up to its root, e.g. endpoint → instance-ca → device-oem-root. */
export function profileChain(leaf: CertificateProfileName): CertificateProfileName[] {
  const chain: CertificateProfileName[] = [];
  for (let p: CertificateProfileName | null = leaf; p !== null; p = CERTIFICATE_PROFILES[p].issuer)
    chain.push(p);
  return chain;
}

/** Largest validity the profile admits, in milliseconds. */
export function maxValidityMs(profile: CertificateProfile): number {
  return profile.maxValidityDays * DAY_MS;
}

// ---- naming -------------------------------------------------------------------------------

/** RFC 5280 upper bounds (ub-common-name, ub-organization-name). */
const MAX_NAME_LENGTH = 64;

export interface SubjectNameFields {
  /** O: the OEM that operates this side of the PKI. */
  readonly organization: string;
  /** CN; omitted, the profile's default (see `naming`). */
  readonly commonName?: string;
  /** C: ISO 3166 alpha-2, optional. */
  readonly country?: string;
}

export interface SubjectAttribute {
  readonly oid: string;
  readonly value: string;
  /** PrintableString for C (RFC 5280 Appendix A), UTF8String otherwise (RFC 5280 §4.1.2.4). */
  readonly type: "printableString" | "utf8String";
}

function checkNameText(value: unknown, name: string): string {
  if (typeof value !== "string" || value.length < 1 || value.length > MAX_NAME_LENGTH) {
    throw new ProtocolInputError(`${name} must be a string of 1..${MAX_NAME_LENGTH} characters`);
  }
  // Control characters in names break log lines and some DN printers.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to refuse them
  if (/[\u0000-\u001f\u007f]/.test(value))
    throw new ProtocolInputError(`${name} must not contain control characters`);
  return value;
}

/** The CN a profile gives when the caller does not choose one. */
export function defaultCommonName(
  profile: CertificateProfile,
  context: { organization: string; subjectPublicKey: Uint8Array; vehicleIdentifier?: Uint8Array },
): string {
  switch (profile.name) {
    case "device-oem-root":
      return `${context.organization} Device OEM Root CA`;
    case "vehicle-oem-root":
      return `${context.organization} Vehicle OEM Root CA`;
    case "instance-ca":
      return `Instance CA ${toHex(subjectKeyIdentifier(context.subjectPublicKey)).toUpperCase()}`;
    case "endpoint":
      return `Endpoint ${toHex(keyIdentifier(context.subjectPublicKey)).toUpperCase()}`;
    case "vehicle":
      if (!context.vehicleIdentifier)
        throw new ProtocolInputError("vehicleIdentifier is needed for the vehicle CN");
      return toHex(context.vehicleIdentifier).toUpperCase();
  }
}

/** Subject attributes in DN order (C, O, CN), checked against RFC 5280's bounds. */
export function subjectAttributes(
  profile: CertificateProfile,
  fields: SubjectNameFields,
  context: { subjectPublicKey: Uint8Array; vehicleIdentifier?: Uint8Array },
): SubjectAttribute[] {
  if (typeof fields !== "object" || fields === null)
    throw new ProtocolInputError("subject must be an object");
  const organization = checkNameText(fields.organization, "subject.organization");
  const commonName = checkNameText(
    fields.commonName ?? defaultCommonName(profile, { organization, ...context }),
    "subject.commonName",
  );
  const out: SubjectAttribute[] = [];
  if (fields.country !== undefined) {
    if (typeof fields.country !== "string" || !/^[A-Z]{2}$/.test(fields.country)) {
      throw new ProtocolInputError("subject.country must be two upper-case letters (ISO 3166 alpha-2)");
    }
    out.push({ oid: X509_OID.countryName, value: fields.country, type: "printableString" });
  }
  out.push({ oid: X509_OID.organizationName, value: organization, type: "utf8String" });
  out.push({ oid: X509_OID.commonName, value: commonName, type: "utf8String" });
  return out;
}

// ---- key identifiers ----------------------------------------------------------------------

/**
 * Subject key identifier: the leftmost 160 bits of SHA-256 over the 65-byte
 * subjectPublicKey (RFC 7093 §2 method 1), avoiding SHA-1 while keeping the
 * customary 20-byte length.
 */
export function subjectKeyIdentifier(publicKey: Uint8Array): Uint8Array {
  assertPublicKey(publicKey, "publicKey");
  return sha256Digest(publicKey).slice(0, 20);
}

// ---- custom extension values --------------------------------------------------------------

const DER_OCTET_STRING = 0x04;
const DER_ENUMERATED = 0x0a;

export function checkVehicleIdentifier(value: unknown, name = "vehicleIdentifier"): Uint8Array {
  if (
    !(value instanceof Uint8Array) ||
    value.length < MIN_VEHICLE_ID_LENGTH ||
    value.length > MAX_VEHICLE_ID_LENGTH
  ) {
    throw new ProtocolInputError(`${name} must be ${MIN_VEHICLE_ID_LENGTH}..${MAX_VEHICLE_ID_LENGTH} bytes`);
  }
  return value;
}

/** extnValue of the vehicle identifier extension: DER OCTET STRING of the raw bytes. */
export function encodeVehicleIdentifierExtension(vehicleIdentifier: Uint8Array): Uint8Array {
  const id = checkVehicleIdentifier(vehicleIdentifier);
  // 8..32 bytes: always the short length form.
  return Uint8Array.of(DER_OCTET_STRING, id.length, ...id);
}

export function decodeVehicleIdentifierExtension(extnValue: Uint8Array): Uint8Array {
  const items = parseTlvs(extnValue);
  if (items.length !== 1 || items[0]!.tag !== DER_OCTET_STRING) {
    throw new TlvError("vehicle identifier extension must be one OCTET STRING");
  }
  const id = items[0]!.value;
  if (id.length < MIN_VEHICLE_ID_LENGTH || id.length > MAX_VEHICLE_ID_LENGTH) {
    throw new TlvError(`vehicle identifier must be ${MIN_VEHICLE_ID_LENGTH}..${MAX_VEHICLE_ID_LENGTH} bytes`);
  }
  return id.slice();
}

/** extnValue of the key role extension: DER ENUMERATED, owner = 0, friend = 1. */
export function encodeKeyRoleExtension(role: KeyRole): Uint8Array {
  const index = KEY_ROLES.indexOf(role);
  if (index < 0) throw new ProtocolInputError(`keyRole must be one of ${KEY_ROLES.join(", ")}`);
  return Uint8Array.of(DER_ENUMERATED, 1, index);
}

export function decodeKeyRoleExtension(extnValue: Uint8Array): KeyRole {
  // Exactly three bytes: a longer ENUMERATED would be non-minimal DER for 0 or 1.
  if (extnValue.length !== 3 || extnValue[0] !== DER_ENUMERATED || extnValue[1] !== 1) {
    throw new TlvError("key role extension must be a one-byte ENUMERATED");
  }
  const role = KEY_ROLES[extnValue[2]!];
  if (!role) throw new TlvError(`unknown key role ${extnValue[2]}`);
  return role;
}
