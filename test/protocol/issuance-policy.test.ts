// The issuance policy every issuer follows (docs/certificates.md "Issuance
// policy"): roots a day back for their profile's cap, everything below them an
// hour back (never before the issuer) for the profile's cap cut at the issuer's
// end, an expired issuer refused; children named with their issuer's O and C
// and the profile's default CN. The chains it issues pass our verifier and
// `openssl verify -x509_strict`.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toHex } from "../../src/protocol/bytes.js";
import type { IssuedCertificate } from "../../src/protocol/certificate-issuer.js";
import {
  CERTIFICATE_PROFILES,
  type CertificateProfileName,
  maxValidityMs,
  subjectKeyIdentifier,
} from "../../src/protocol/certificate-profiles.js";
import {
  isParsedCertificate,
  parseCertificate,
  verifyCertificateChain,
} from "../../src/protocol/certificate-verifier.js";
import { CertificateIssuanceError, ProtocolInputError } from "../../src/protocol/errors.js";
import {
  createRootUnderPolicy,
  ISSUED_BACKDATE_MS,
  issuanceValidity,
  issueCertificateUnderPolicy,
  issuedSubject,
  ROOT_BACKDATE_MS,
} from "../../src/protocol/issuance-policy.js";
import { keyIdentifier } from "../../src/protocol/p256.js";
import { softMessageSigner } from "../support/soft-message-signer.js";

const DAY = 86_400_000;
const HOUR = 3_600_000;
/** Not on a whole second, so the truncation to X.509's whole seconds shows. */
const NOW = new Date(Date.UTC(2026, 5, 1, 12, 0, 0, 750));
const NOW_S = Date.UTC(2026, 5, 1, 12, 0, 0);
const cap = (profile: CertificateProfileName) => maxValidityMs(CERTIFICATE_PROFILES[profile]);

describe("issuanceValidity", () => {
  it("starts a root a day back, in whole seconds, for its profile's cap", () => {
    expect(ROOT_BACKDATE_MS).toBe(DAY);
    for (const profile of ["device-oem-root", "vehicle-oem-root"] as const) {
      const v = issuanceValidity(profile, NOW);
      expect(v.notBefore.getTime()).toBe(NOW_S - DAY);
      expect(v.notAfter.getTime() - v.notBefore.getTime()).toBe(cap(profile));
    }
  });

  it("starts an issued certificate an hour back for its cap when the issuer lasts longer", () => {
    expect(ISSUED_BACKDATE_MS).toBe(HOUR);
    const issuer = { notBefore: new Date(NOW_S - 10 * DAY), notAfter: new Date(NOW_S + 40 * 365 * DAY) };
    for (const profile of ["instance-ca", "endpoint", "vehicle"] as const) {
      const v = issuanceValidity(profile, NOW, issuer);
      expect(v.notBefore.getTime()).toBe(NOW_S - HOUR);
      expect(v.notAfter.getTime() - v.notBefore.getTime()).toBe(cap(profile));
    }
  });

  it("never starts before the issuer, and ends with it when the issuer ends sooner", () => {
    const issuer = { notBefore: new Date(NOW_S - 60_000), notAfter: new Date(NOW_S + 30 * DAY) };
    expect(issuanceValidity("endpoint", NOW, issuer)).toEqual({
      notBefore: issuer.notBefore,
      notAfter: issuer.notAfter,
    });
  });

  it("refuses an issuer that has expired, to the second", () => {
    const issuer = { notBefore: new Date(NOW_S - 30 * DAY), notAfter: new Date(NOW.getTime()) };
    const refusal = (() => {
      try {
        issuanceValidity("vehicle", NOW, issuer);
      } catch (error) {
        return error;
      }
    })();
    expect(refusal).toBeInstanceOf(CertificateIssuanceError);
    expect((refusal as CertificateIssuanceError).reason).toBe("issuer-expired");
    expect((refusal as Error).message).toContain("vehicle-oem-root certificate expired at");
  });

  it("refuses an issuer for a root and a missing issuer for anything else", () => {
    const issuer = { notBefore: new Date(NOW_S - DAY), notAfter: new Date(NOW_S + DAY) };
    expect(() => issuanceValidity("device-oem-root", NOW, issuer)).toThrow(ProtocolInputError);
    expect(() => issuanceValidity("instance-ca", NOW)).toThrow(ProtocolInputError);
    expect(() => issuanceValidity("endpoint", new Date(Number.NaN), issuer)).toThrow(ProtocolInputError);
  });
});

describe("issuing under the policy", () => {
  let dir: string;
  const deviceRootSigner = softMessageSigner();
  const instanceSigner = softMessageSigner();
  const vehicleRootSigner = softMessageSigner();
  const endpointKey = softMessageSigner().publicKeyBytes;
  const vehicleKey = softMessageSigner().publicKeyBytes;
  const vehicleId = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
  let deviceRoot: IssuedCertificate;
  let instance: IssuedCertificate;
  let endpoint: IssuedCertificate;
  let vehicleRoot: IssuedCertificate;
  let vehicle: IssuedCertificate;
  const now = new Date();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "carkeys-policy-"));
    deviceRoot = await createRootUnderPolicy({
      profile: "device-oem-root",
      signer: deviceRootSigner,
      subject: { organization: "Acme Devices", country: "SE", commonName: "Acme Root" },
      now,
    });
    instance = await issueCertificateUnderPolicy({
      profile: "instance-ca",
      subjectPublicKey: instanceSigner.publicKeyBytes,
      issuer: { signer: deviceRootSigner, certificate: parseCertificate(deviceRoot.der) },
      now,
    });
    endpoint = await issueCertificateUnderPolicy({
      profile: "endpoint",
      subjectPublicKey: endpointKey,
      issuer: { signer: instanceSigner, certificate: parseCertificate(instance.der) },
      now,
      vehicleIdentifier: vehicleId,
      keyRole: "friend",
    });
    vehicleRoot = await createRootUnderPolicy({
      profile: "vehicle-oem-root",
      signer: vehicleRootSigner,
      subject: { organization: "Acme Cars" },
      now,
    });
    vehicle = await issueCertificateUnderPolicy({
      profile: "vehicle",
      subjectPublicKey: vehicleKey,
      issuer: { signer: vehicleRootSigner, certificate: parseCertificate(vehicleRoot.der) },
      now,
      vehicleIdentifier: vehicleId,
    });
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("names children with the issuer's O and C and the profile's default CN", () => {
    expect(parseCertificate(deviceRoot.der).subject).toBe("C=SE, O=Acme Devices, CN=Acme Root");
    const ski = toHex(subjectKeyIdentifier(instanceSigner.publicKeyBytes)).toUpperCase();
    expect(parseCertificate(instance.der).subject).toBe(`C=SE, O=Acme Devices, CN=Instance CA ${ski}`);
    const keyId = toHex(keyIdentifier(endpointKey)).toUpperCase();
    expect(parseCertificate(endpoint.der).subject).toBe(`C=SE, O=Acme Devices, CN=Endpoint ${keyId}`);
    expect(parseCertificate(vehicle.der).subject).toBe(`O=Acme Cars, CN=${toHex(vehicleId).toUpperCase()}`);
    expect(issuedSubject(parseCertificate(vehicleRoot.der))).toEqual({ organization: "Acme Cars" });
  });

  it("dates every certificate by the policy", () => {
    const nowS = Math.floor(now.getTime() / 1000) * 1000;
    const root = parseCertificate(deviceRoot.der);
    expect(root.notBefore.getTime()).toBe(nowS - DAY);
    const ca = parseCertificate(instance.der);
    expect(ca.notBefore.getTime()).toBe(nowS - HOUR);
    expect(ca.notAfter.getTime() - ca.notBefore.getTime()).toBe(cap("instance-ca"));
    const leaf = parseCertificate(endpoint.der);
    expect(leaf.notBefore.getTime()).toBe(nowS - HOUR);
    expect(leaf.notAfter.getTime() - leaf.notBefore.getTime()).toBe(cap("endpoint"));
  });

  it("issues chains our verifier accepts at once, by a clock up to an hour behind", () => {
    for (const at of [now, new Date(now.getTime() - HOUR + 1000)]) {
      const chain = verifyCertificateChain({
        leaf: endpoint.der,
        intermediates: [instance.der],
        anchors: [deviceRoot.der],
        expectedLeafProfile: "endpoint",
        at,
      });
      expect(chain.keyRole).toBe("friend");
      expect(
        verifyCertificateChain({
          leaf: vehicle.der,
          anchors: [vehicleRoot.der],
          expectedLeafProfile: "vehicle",
          at,
        }).vehicleIdentifier,
      ).toEqual(vehicleId);
    }
  });

  it("issues chains `openssl verify -x509_strict` accepts", () => {
    const write = (name: string, cert: IssuedCertificate) => {
      writeFileSync(join(dir, name), cert.pem);
      return name;
    };
    const openssl = (args: string[]) =>
      execFileSync("openssl", args, { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
    expect(
      openssl([
        "verify",
        "-x509_strict",
        "-CAfile",
        write("root.pem", deviceRoot),
        "-untrusted",
        write("instance.pem", instance),
        write("endpoint.pem", endpoint),
      ]),
    ).toBe("endpoint.pem: OK");
    expect(
      openssl([
        "verify",
        "-x509_strict",
        "-CAfile",
        write("vroot.pem", vehicleRoot),
        write("vehicle.pem", vehicle),
      ]),
    ).toBe("vehicle.pem: OK");
  });

  it("takes the issuer as parsed once, and only what parseCertificate returned", async () => {
    const parsed = parseCertificate(vehicleRoot.der);
    expect(isParsedCertificate(parsed)).toBe(true);
    expect(isParsedCertificate({ ...parsed })).toBe(false);
    expect(isParsedCertificate(vehicleRoot.der)).toBe(false);
    const params = {
      profile: "vehicle" as const,
      subjectPublicKey: vehicleKey,
      issuer: { signer: vehicleRootSigner, certificate: parsed },
      now,
      vehicleIdentifier: vehicleId,
    };
    const again = await issueCertificateUnderPolicy(params);
    expect(parseCertificate(again.der).notAfter).toEqual(parseCertificate(vehicle.der).notAfter);
    // A look-alike copy is not trusted as parsed: it is read as an input, and is none.
    await expect(
      issueCertificateUnderPolicy({ ...params, issuer: { ...params.issuer, certificate: { ...parsed } } }),
    ).rejects.toMatchObject({ reason: "invalid-issuer-certificate" });
  });

  it("refuses to issue under an expired issuer", async () => {
    await expect(
      issueCertificateUnderPolicy({
        profile: "vehicle",
        subjectPublicKey: vehicleKey,
        issuer: { signer: vehicleRootSigner, certificate: parseCertificate(vehicleRoot.der) },
        now: new Date(parseCertificate(vehicleRoot.der).notAfter.getTime() + 1000),
        vehicleIdentifier: vehicleId,
      }),
    ).rejects.toMatchObject({ name: "CertificateIssuanceError", reason: "issuer-expired" });
  });
});
