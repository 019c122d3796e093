// Device OEM roots of other phone makers, as configured trust anchors
// (docs/protocol.md §27 "At the service"). The service certifies SEs only
// under its own Device OEM root, whose key it holds in KMS; another maker's
// SEs are certified by that maker, and all the service needs of it is its
// root certificate, to verify those SEs' endpoint certificate chains when a
// friend or owner key is registered. So these are PEM certificates from
// configuration (TRUSTED_DEVICE_OEM_ROOTS, CDK context
// carkeys:trustedDeviceOemRoots, `npm start -- --trust-device-oem FILE`),
// never keys: the service signs nothing under them. Each is checked once, at
// start-up, to be a self-signed Device OEM root of the certificate profile
// (docs/certificates.md "Device OEM root CA"): a misconfigured bundle fails
// the container's start with a message naming the certificate, not a
// registration later.
import { toHex } from "../protocol/bytes.js";
import { getCertificateProfile } from "../protocol/certificate-profiles.js";
import {
  checkProfileConformance,
  type ParsedCertificate,
  parseCertificate,
} from "../protocol/certificate-verifier.js";
import { derToRawSignature } from "../protocol/ecdsa-der.js";
import { verifyRaw } from "../protocol/p256.js";
import { ConfigurationError } from "./errors.js";

/** A Device OEM root the service trusts but does not hold: another phone maker's. */
export interface ConfiguredDeviceOemRoot {
  readonly pem: string;
  readonly der: Uint8Array;
  /** O of its subject (the maker's name), else the whole subject. */
  readonly organization: string;
  /** Its subject key identifier, hex: names the root in logs and in GET /v1/trust-anchors. */
  readonly keyIdentifier: string;
  readonly notAfter: Date;
}

/** How many other makers' roots one deployment takes: each is a ~700-byte PEM in every function's environment (4 KB in all). */
export const MAX_CONFIGURED_DEVICE_OEM_ROOTS = 4;

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;

/**
 * The certificates of a PEM bundle (any whitespace between and inside the
 * blocks, so an environment variable that lost its newlines still reads),
 * each a Device OEM root: self-signed, the profile's extensions, unexpired at
 * `now`. `setting` names where the bundle came from, for the error messages.
 * An empty bundle is no configured root.
 */
export function parseDeviceOemRoots(
  bundle: string,
  setting: string,
  now: Date = new Date(),
): ConfiguredDeviceOemRoot[] {
  const text = bundle.trim();
  if (text === "") return [];
  const blocks = [...text.matchAll(PEM_BLOCK)];
  const outside = text.replace(PEM_BLOCK, "").trim();
  if (blocks.length === 0 || outside !== "") {
    throw new ConfigurationError(
      `${setting} must be PEM certificates (-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----) and nothing else`,
    );
  }
  if (blocks.length > MAX_CONFIGURED_DEVICE_OEM_ROOTS) {
    throw new ConfigurationError(
      `${setting} holds ${blocks.length} certificates; at most ${MAX_CONFIGURED_DEVICE_OEM_ROOTS} other Device OEM roots`,
    );
  }
  const roots = blocks.map((block, index) =>
    parseRoot(block[1]!, `${setting} certificate ${index + 1}`, now),
  );
  const seen = new Set<string>();
  for (const root of roots) {
    if (seen.has(root.keyIdentifier)) {
      throw new ConfigurationError(`${setting} names the root ${root.keyIdentifier} twice`);
    }
    seen.add(root.keyIdentifier);
  }
  return roots;
}

function parseRoot(base64: string, which: string, now: Date): ConfiguredDeviceOemRoot {
  const body = base64.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) throw new ConfigurationError(`${which} is not base64`);
  let parsed: ParsedCertificate;
  try {
    parsed = parseCertificate(new Uint8Array(Buffer.from(body, "base64")));
  } catch (cause) {
    throw new ConfigurationError(`${which} does not parse: ${(cause as Error).message}`, { cause });
  }
  if (parsed.profile !== "device-oem-root") {
    throw new ConfigurationError(
      `${which} (${parsed.subject}) is not a Device OEM root certificate: its policy names ${parsed.profile ?? "no Car Keys profile"}`,
    );
  }
  try {
    checkProfileConformance(parsed, getCertificateProfile("device-oem-root"));
  } catch (cause) {
    throw new ConfigurationError(`${which} (${parsed.subject}): ${(cause as Error).message}`, { cause });
  }
  let signed = false;
  try {
    signed = verifyRaw(derToRawSignature(parsed.signatureValue), parsed.tbs, parsed.subjectPublicKey);
  } catch {
    signed = false;
  }
  if (!signed) throw new ConfigurationError(`${which} (${parsed.subject}) is not signed by its own key`);
  if (parsed.notAfter.getTime() <= now.getTime()) {
    throw new ConfigurationError(`${which} (${parsed.subject}) expired at ${parsed.notAfter.toISOString()}`);
  }
  const organization = parsed.organization ?? parsed.subject;
  return {
    pem: `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)!.join("\n")}\n-----END CERTIFICATE-----\n`,
    der: parsed.der,
    organization,
    keyIdentifier: toHex(parsed.subjectKeyIdentifier!),
    notAfter: parsed.notAfter,
  };
}
