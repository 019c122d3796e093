// Tests of the five certificate profiles (docs/certificates.md): issuance with
// software MessageSigners, chain verification with every refusal reason, and
// OpenSSL as the independent judge that the certificates are strict RFC 5280.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { p256 } from "@noble/curves/nist.js";
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toHex } from "../../src/protocol/bytes.js";
import {
  createSelfSignedRoot,
  type IssuedCertificate,
  issueCertificate,
  signCertificateTemplate,
} from "../../src/protocol/certificate-issuer.js";
import {
  CARKEY_OID,
  CERTIFICATE_OID_ARC,
  CERTIFICATE_PROFILES,
  type CertificateProfileName,
  decodeKeyRoleExtension,
  decodeVehicleIdentifierExtension,
  encodeKeyRoleExtension,
  encodeVehicleIdentifierExtension,
  KEY_USAGE,
  type KeyRole,
  profileChain,
  type SubjectAttribute,
  subjectKeyIdentifier,
} from "../../src/protocol/certificate-profiles.js";
import {
  parseCertificate,
  type VerifyCertificateChainParams,
  verifyCertificateChain,
} from "../../src/protocol/certificate-verifier.js";
import {
  CertificateIssuanceError,
  CertificateVerificationError,
  type CertificateVerificationReason,
  ProtocolInputError,
} from "../../src/protocol/errors.js";
import { type SoftMessageSigner, softMessageSigner } from "../support/soft-message-signer.js";

const DAY = 86_400_000;
const YEAR = 365 * DAY;
// Whole seconds, as X.509 carries them; started a day ago so OpenSSL (which checks "now") accepts.
const NOW = new Date(Math.floor(Date.now() / 1000) * 1000);
const START = new Date(NOW.getTime() - DAY);
const startPlus = (ms: number) => new Date(START.getTime() + ms);

const DEVICE_OEM = { organization: "Example Phones Inc", country: "US" };
const VEHICLE_OEM = { organization: "Example Motors AG", country: "DE" };

interface DeviceChain {
  rootSigner: SoftMessageSigner;
  instanceSigner: SoftMessageSigner;
  endpointSigner: SoftMessageSigner;
  root: IssuedCertificate;
  instance: IssuedCertificate;
  endpoint: IssuedCertificate;
}

interface VehicleChain {
  rootSigner: SoftMessageSigner;
  vehicleSigner: SoftMessageSigner;
  root: IssuedCertificate;
  vehicle: IssuedCertificate;
}

const VEHICLE_ID = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);

async function makeDeviceChain(
  options: { instanceHighS?: boolean; keyRole?: KeyRole; organization?: string } = {},
): Promise<DeviceChain> {
  const rootSigner = softMessageSigner();
  const instanceSigner = softMessageSigner({ highS: options.instanceHighS ?? false });
  const endpointSigner = softMessageSigner();
  const subject = { ...DEVICE_OEM, organization: options.organization ?? DEVICE_OEM.organization };
  const root = await createSelfSignedRoot({
    profile: "device-oem-root",
    signer: rootSigner,
    subject,
    notBefore: START,
    notAfter: startPlus(20 * YEAR),
  });
  const instance = await issueCertificate({
    profile: "instance-ca",
    subjectPublicKey: instanceSigner.publicKeyBytes,
    subject,
    issuer: { signer: rootSigner, certificate: root.der },
    notBefore: START,
    notAfter: startPlus(15 * YEAR),
  });
  const endpoint = await issueCertificate({
    profile: "endpoint",
    subjectPublicKey: endpointSigner.publicKeyBytes,
    subject,
    issuer: { signer: instanceSigner, certificate: instance.pem },
    notBefore: START,
    notAfter: startPlus(5 * YEAR),
    vehicleIdentifier: VEHICLE_ID,
    keyRole: options.keyRole ?? "owner",
  });
  return { rootSigner, instanceSigner, endpointSigner, root, instance, endpoint };
}

async function makeVehicleChain(): Promise<VehicleChain> {
  const rootSigner = softMessageSigner();
  const vehicleSigner = softMessageSigner();
  const root = await createSelfSignedRoot({
    profile: "vehicle-oem-root",
    signer: rootSigner,
    subject: VEHICLE_OEM,
    notBefore: START,
    notAfter: startPlus(30 * YEAR),
  });
  const vehicle = await issueCertificate({
    profile: "vehicle",
    subjectPublicKey: vehicleSigner.publicKeyBytes,
    subject: VEHICLE_OEM,
    issuer: { signer: rootSigner, certificate: root.der },
    notBefore: START,
    notAfter: startPlus(25 * YEAR),
    vehicleIdentifier: VEHICLE_ID,
  });
  return { rootSigner, vehicleSigner, root, vehicle };
}

function expectReason(run: () => unknown, reason: CertificateVerificationReason): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected a CertificateVerificationError(${reason})`).toBeInstanceOf(
    CertificateVerificationError,
  );
  expect((caught as CertificateVerificationError).reason, (caught as Error).message).toBe(reason);
}

async function expectIssuanceReason(run: Promise<unknown>, reason: CertificateIssuanceError["reason"]) {
  const error = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CertificateIssuanceError);
  expect((error as CertificateIssuanceError).reason, (error as Error).message).toBe(reason);
}

function deviceParams(chain: DeviceChain, overrides: Partial<VerifyCertificateChainParams> = {}) {
  return {
    leaf: chain.endpoint.der,
    intermediates: [chain.instance.der],
    anchors: [chain.root.der],
    expectedLeafProfile: "endpoint" as const,
    at: NOW,
    ...overrides,
  };
}

/** The extensions issueCertificate would give an endpoint-shaped certificate, for crafting variants. */
function endpointLikeExtensions(subjectKey: Uint8Array, issuerKey: Uint8Array): x509.Extension[] {
  return [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.SubjectKeyIdentifierExtension(toHex(subjectKeyIdentifier(subjectKey)), false),
    new x509.AuthorityKeyIdentifierExtension(toHex(subjectKeyIdentifier(issuerKey)), false),
    new x509.CertificatePolicyExtension([CARKEY_OID.policyEndpoint], false),
    new x509.Extension(
      CARKEY_OID.vehicleIdentifier,
      false,
      new Uint8Array(encodeVehicleIdentifierExtension(VEHICLE_ID)),
    ),
    new x509.Extension(CARKEY_OID.keyRole, false, new Uint8Array(encodeKeyRoleExtension("friend"))),
  ];
}

function instanceLikeExtensions(subjectKey: Uint8Array, issuerKey: Uint8Array, ca = true): x509.Extension[] {
  return [
    new x509.BasicConstraintsExtension(ca, ca ? 0 : undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    new x509.SubjectKeyIdentifierExtension(toHex(subjectKeyIdentifier(subjectKey)), false),
    new x509.AuthorityKeyIdentifierExtension(toHex(subjectKeyIdentifier(issuerKey)), false),
    new x509.CertificatePolicyExtension([CARKEY_OID.policyInstanceCa], false),
  ];
}

function names(cn: string): SubjectAttribute[] {
  return [
    { oid: "2.5.4.10", value: DEVICE_OEM.organization, type: "utf8String" },
    { oid: "2.5.4.3", value: cn, type: "utf8String" },
  ];
}

/** Crafts a certificate the issuer would refuse, signed by `signer` as issuer `issuerCert`. */
async function craft(options: {
  subjectKey: Uint8Array;
  cn: string;
  issuerCert: IssuedCertificate;
  signer: SoftMessageSigner;
  extensions: x509.Extension[];
  notBefore?: Date;
  notAfter?: Date;
}): Promise<IssuedCertificate> {
  return signCertificateTemplate({
    subjectPublicKey: options.subjectKey,
    subject: names(options.cn),
    issuerName: parseCertificate(options.issuerCert.der).subjectName,
    serialNumberHex: "4a11",
    notBefore: options.notBefore ?? START,
    notAfter: options.notAfter ?? startPlus(YEAR),
    // The template takes extnValue bytes; x509's extension classes are a convenient way to write odd ones.
    extensions: options.extensions.map((e) => ({
      oid: e.type,
      critical: e.critical,
      value: new Uint8Array(e.value),
    })),
    signer: options.signer,
    signerPublicKey: options.signer.publicKeyBytes,
  });
}

let dir: string;
let a: DeviceChain;
let b: DeviceChain;
let v: VehicleChain;

function openssl(args: string[]): string {
  return execFileSync("openssl", args, { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function writePem(name: string, cert: IssuedCertificate | string): string {
  writeFileSync(join(dir, name), typeof cert === "string" ? cert : cert.pem);
  return name;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "carkeys-certs-"));
  a = await makeDeviceChain();
  b = await makeDeviceChain();
  v = await makeVehicleChain();
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the profiles' key usage bits", () => {
  // Written out in certificate-profiles.ts rather than taken from the library, so they must stay its numbers.
  it("are @peculiar/x509's KeyUsageFlags, which the issuer and the verifier read them as", () => {
    for (const [name, bit] of Object.entries(KEY_USAGE)) {
      expect(bit, name).toBe(x509.KeyUsageFlags[name as keyof typeof KEY_USAGE]);
    }
  });
});

describe("issuance", () => {
  it("issues every profile and the chains verify with the leaf facts", () => {
    const device = verifyCertificateChain(deviceParams(a));
    expect(device.profile).toBe("endpoint");
    expect(device.publicKey).toEqual(a.endpointSigner.publicKeyBytes);
    expect(device.vehicleIdentifier).toEqual(VEHICLE_ID);
    expect(device.keyRole).toBe("owner");
    expect(device.profiles).toEqual(["endpoint", "instance-ca", "device-oem-root"]);
    expect(device.notAfter).toEqual(startPlus(5 * YEAR));
    expect(device.serialNumber).toMatch(/^[4-7][0-9a-f]{31}$/);

    const vehicle = verifyCertificateChain({
      leaf: v.vehicle.pem,
      anchors: [v.root.pem],
      expectedLeafProfile: "vehicle",
      at: NOW,
    });
    expect(vehicle.profiles).toEqual(["vehicle", "vehicle-oem-root"]);
    expect(vehicle.publicKey).toEqual(v.vehicleSigner.publicKeyBytes);
    expect(vehicle.vehicleIdentifier).toEqual(VEHICLE_ID);
    expect(vehicle.keyRole).toBeUndefined();

    const instance = verifyCertificateChain({
      leaf: a.instance.der,
      anchors: [a.root.der],
      expectedLeafProfile: "instance-ca",
      at: NOW,
    });
    expect(instance.publicKey).toEqual(a.instanceSigner.publicKeyBytes);
  });

  it("makes exactly one sign call per certificate", async () => {
    const chain = await makeDeviceChain();
    // root signs itself and the instance CA; the instance CA signs the endpoint.
    expect(chain.rootSigner.calls).toBe(2);
    expect(chain.instanceSigner.calls).toBe(1);
    expect(chain.endpointSigner.calls).toBe(0);
  });

  it("follows the naming convention and records the profile policy", () => {
    const endpoint = parseCertificate(a.endpoint.der);
    expect(endpoint.organization).toBe(DEVICE_OEM.organization);
    expect(endpoint.commonName).toMatch(/^Endpoint [0-9A-F]{12}$/);
    expect(endpoint.policies).toEqual([CARKEY_OID.policyEndpoint]);
    expect(endpoint.profile).toBe("endpoint");
    const root = parseCertificate(a.root.der);
    expect(root.commonName).toBe(`${DEVICE_OEM.organization} Device OEM Root CA`);
    expect(root.selfIssued).toBe(true);
    const vehicle = parseCertificate(v.vehicle.der);
    expect(vehicle.commonName).toBe(toHex(VEHICLE_ID).toUpperCase());
    expect(CARKEY_OID.vehicleIdentifier.startsWith(`${CERTIFICATE_OID_ARC}.`)).toBe(true);
  });

  it("refuses a validity beyond the profile's cap", async () => {
    await expectIssuanceReason(
      issueCertificate({
        profile: "endpoint",
        subjectPublicKey: softMessageSigner().publicKeyBytes,
        subject: DEVICE_OEM,
        issuer: { signer: a.instanceSigner, certificate: a.instance.der },
        notBefore: START,
        notAfter: new Date(START.getTime() + (CERTIFICATE_PROFILES.endpoint.maxValidityDays + 1) * DAY),
        vehicleIdentifier: VEHICLE_ID,
        keyRole: "owner",
      }),
      "validity-exceeds-cap",
    );
  });

  it("refuses a validity beyond the issuer's notAfter", async () => {
    const shortLived = await issueCertificate({
      profile: "instance-ca",
      subjectPublicKey: a.instanceSigner.publicKeyBytes,
      subject: DEVICE_OEM,
      issuer: { signer: a.rootSigner, certificate: a.root.der },
      notBefore: START,
      notAfter: startPlus(YEAR),
    });
    await expectIssuanceReason(
      issueCertificate({
        profile: "endpoint",
        subjectPublicKey: softMessageSigner().publicKeyBytes,
        subject: DEVICE_OEM,
        issuer: { signer: a.instanceSigner, certificate: shortLived.der },
        notBefore: START,
        notAfter: startPlus(2 * YEAR),
        vehicleIdentifier: VEHICLE_ID,
        keyRole: "friend",
      }),
      "validity-exceeds-issuer",
    );
  });

  it("refuses missing or misplaced vehicle identifiers and key roles", async () => {
    const base = {
      subjectPublicKey: softMessageSigner().publicKeyBytes,
      subject: DEVICE_OEM,
      issuer: { signer: a.instanceSigner, certificate: a.instance.der },
      notBefore: START,
      notAfter: startPlus(YEAR),
    };
    await expectIssuanceReason(
      issueCertificate({ ...base, profile: "endpoint", keyRole: "owner" }),
      "vehicle-identifier",
    );
    await expectIssuanceReason(
      issueCertificate({ ...base, profile: "endpoint", vehicleIdentifier: VEHICLE_ID }),
      "key-role",
    );
    await expectIssuanceReason(
      issueCertificate({
        ...base,
        profile: "vehicle",
        issuer: { signer: v.rootSigner, certificate: v.root.der },
        vehicleIdentifier: VEHICLE_ID,
        keyRole: "owner",
      }),
      "key-role",
    );
    await expectIssuanceReason(
      issueCertificate({
        ...base,
        profile: "instance-ca",
        issuer: { signer: a.rootSigner, certificate: a.root.der },
        vehicleIdentifier: VEHICLE_ID,
      }),
      "vehicle-identifier",
    );
    await expect(
      issueCertificate({
        ...base,
        profile: "endpoint",
        vehicleIdentifier: new Uint8Array(7),
        keyRole: "owner",
      }),
    ).rejects.toBeInstanceOf(ProtocolInputError);
  });

  it("refuses an issuer of the wrong profile or a signer that is not the issuer's key", async () => {
    const base = {
      profile: "endpoint" as const,
      subjectPublicKey: softMessageSigner().publicKeyBytes,
      subject: DEVICE_OEM,
      notBefore: START,
      notAfter: startPlus(YEAR),
      vehicleIdentifier: VEHICLE_ID,
      keyRole: "owner" as const,
    };
    await expectIssuanceReason(
      issueCertificate({ ...base, issuer: { signer: a.rootSigner, certificate: a.root.der } }),
      "wrong-issuer-profile",
    );
    await expectIssuanceReason(
      issueCertificate({ ...base, issuer: { signer: a.rootSigner } }),
      "wrong-issuer-profile",
    );
    await expectIssuanceReason(
      issueCertificate({ ...base, issuer: { signer: b.instanceSigner, certificate: a.instance.der } }),
      "issuer-key-mismatch",
    );
    await expectIssuanceReason(
      issueCertificate({
        ...base,
        issuer: { signer: a.instanceSigner, certificate: Uint8Array.of(1, 2, 3) },
      }),
      "invalid-issuer-certificate",
    );
    await expectIssuanceReason(
      issueCertificate({
        profile: "device-oem-root",
        subjectPublicKey: softMessageSigner().publicKeyBytes,
        subject: DEVICE_OEM,
        issuer: { signer: a.rootSigner },
        notBefore: START,
        notAfter: startPlus(YEAR),
      }),
      "issuer-key-mismatch",
    );
  });

  it("refuses a signer whose signature does not verify", async () => {
    const liar = softMessageSigner();
    const wrongKey = { publicKey: a.instanceSigner.publicKey, sign: liar.sign };
    await expectIssuanceReason(
      issueCertificate({
        profile: "endpoint",
        subjectPublicKey: softMessageSigner().publicKeyBytes,
        subject: DEVICE_OEM,
        issuer: { signer: wrongKey, certificate: a.instance.der },
        notBefore: START,
        notAfter: startPlus(YEAR),
        vehicleIdentifier: VEHICLE_ID,
        keyRole: "owner",
      }),
      "signer-failure",
    );
  });
});

describe("OpenSSL agrees", () => {
  it("verifies the device chain with -x509_strict", () => {
    const out = openssl([
      "verify",
      "-x509_strict",
      "-CAfile",
      writePem("root.pem", a.root),
      "-untrusted",
      writePem("instance.pem", a.instance),
      writePem("endpoint.pem", a.endpoint),
    ]);
    expect(out.trim()).toBe("endpoint.pem: OK");
  });

  it("verifies the vehicle chain with -x509_strict", () => {
    const out = openssl([
      "verify",
      "-x509_strict",
      "-CAfile",
      writePem("vehicle-root.pem", v.root),
      writePem("vehicle.pem", v.vehicle),
    ]);
    expect(out.trim()).toBe("vehicle.pem: OK");
  });

  it("refuses a device chain under another root", () => {
    expect(() =>
      openssl([
        "verify",
        "-x509_strict",
        "-CAfile",
        writePem("root-b.pem", b.root),
        "-untrusted",
        writePem("instance.pem", a.instance),
        writePem("endpoint.pem", a.endpoint),
      ]),
    ).toThrow();
  });

  it("shows the key usage, basic constraints and our extensions", () => {
    const root = openssl(["x509", "-noout", "-text", "-in", writePem("root.pem", a.root)]);
    expect(root).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:1/);
    expect(root).toMatch(/X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(root).toContain("ecdsa-with-SHA256");
    expect(root).toContain("NIST CURVE: P-256");

    const instance = openssl(["x509", "-noout", "-text", "-in", writePem("instance.pem", a.instance)]);
    expect(instance).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    expect(instance).toContain("X509v3 Authority Key Identifier");

    const endpoint = openssl(["x509", "-noout", "-text", "-in", writePem("endpoint.pem", a.endpoint)]);
    expect(endpoint).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
    expect(endpoint).toMatch(/X509v3 Key Usage: critical\s+Digital Signature\n/);
    expect(endpoint).toContain(`Policy: ${CARKEY_OID.policyEndpoint}`);
    expect(endpoint).toContain(`${CARKEY_OID.vehicleIdentifier}:`);
    expect(endpoint).toContain(`${CARKEY_OID.keyRole}:`);
    expect(endpoint).not.toMatch(new RegExp(`${CARKEY_OID.keyRole.replaceAll(".", "\\.")}: critical`));

    const vroot = openssl(["x509", "-noout", "-text", "-in", writePem("vehicle-root.pem", v.root)]);
    expect(vroot).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
  });

  it("accepts a high-S signature, as we do", async () => {
    const chain = await makeDeviceChain({ instanceHighS: true });
    const signature = parseCertificate(chain.endpoint.der).signatureValue;
    const s = p256.Signature.fromBytes(signature, "der").s;
    expect(s > p256.Point.CURVE().n >> 1n).toBe(true);
    expect(verifyCertificateChain(deviceParams(chain)).keyRole).toBe("owner");
    const out = openssl([
      "verify",
      "-x509_strict",
      "-CAfile",
      writePem("hs-root.pem", chain.root),
      "-untrusted",
      writePem("hs-instance.pem", chain.instance),
      writePem("hs-endpoint.pem", chain.endpoint),
    ]);
    expect(out.trim()).toBe("hs-endpoint.pem: OK");
  });
});

describe("verification refusals", () => {
  it("expired", () => {
    expectReason(
      () => verifyCertificateChain(deviceParams(a, { at: startPlus(5 * YEAR + 1000) })),
      "expired",
    );
  });

  it("not yet valid", () => {
    expectReason(
      () => verifyCertificateChain(deviceParams(a, { at: new Date(START.getTime() - 1000) })),
      "not-yet-valid",
    );
  });

  it("wrong issuer: the endpoint of one chain with the instance CA of another", () => {
    expectReason(
      () =>
        verifyCertificateChain(deviceParams(a, { intermediates: [b.instance.der], anchors: [b.root.der] })),
      "wrong-issuer",
    );
    expectReason(() => verifyCertificateChain(deviceParams(a, { intermediates: [] })), "wrong-issuer");
  });

  it("bad signature: a flipped byte in the signature or in the signed part", () => {
    const flipped = a.endpoint.der.slice();
    flipped[flipped.length - 1]! ^= 0x01;
    expectReason(() => verifyCertificateChain(deviceParams(a, { leaf: flipped })), "bad-signature");
    // The last byte of the CN, inside the TBS: still well-formed, no longer what was signed.
    const tampered = a.endpoint.der.slice();
    const cn = new TextEncoder().encode(parseCertificate(a.endpoint.der).commonName!);
    const at = Buffer.from(tampered).indexOf(Buffer.from(cn)) + cn.length - 1;
    tampered[at] = tampered[at] === 0x41 ? 0x42 : 0x41;
    expectReason(() => verifyCertificateChain(deviceParams(a, { leaf: tampered })), "bad-signature");
  });

  it("wrong key usage: a leaf used as a CA", async () => {
    const victim = softMessageSigner();
    const fake = await craft({
      subjectKey: victim.publicKeyBytes,
      cn: "Endpoint under an endpoint",
      issuerCert: a.endpoint,
      signer: a.endpointSigner,
      extensions: endpointLikeExtensions(victim.publicKeyBytes, a.endpointSigner.publicKeyBytes),
    });
    expectReason(
      () =>
        verifyCertificateChain(
          deviceParams(a, { leaf: fake.der, intermediates: [a.endpoint.der, a.instance.der] }),
        ),
      "wrong-key-usage",
    );
  });

  it("not a CA: keyCertSign without cA", async () => {
    const caKey = softMessageSigner();
    const notCa = await craft({
      subjectKey: caKey.publicKeyBytes,
      cn: "Instance CA without cA",
      issuerCert: a.root,
      signer: a.rootSigner,
      extensions: instanceLikeExtensions(caKey.publicKeyBytes, a.rootSigner.publicKeyBytes, false),
    });
    const leafKey = softMessageSigner();
    const leaf = await craft({
      subjectKey: leafKey.publicKeyBytes,
      cn: "Endpoint under a non-CA",
      issuerCert: notCa,
      signer: caKey,
      extensions: endpointLikeExtensions(leafKey.publicKeyBytes, caKey.publicKeyBytes),
    });
    expectReason(
      () => verifyCertificateChain(deviceParams(a, { leaf: leaf.der, intermediates: [notCa.der] })),
      "not-a-ca",
    );
  });

  it("path too long: an extra CA level under the instance CA", async () => {
    const subKey = softMessageSigner();
    const subCa = await craft({
      subjectKey: subKey.publicKeyBytes,
      cn: "Sub-instance CA",
      issuerCert: a.instance,
      signer: a.instanceSigner,
      extensions: instanceLikeExtensions(subKey.publicKeyBytes, a.instanceSigner.publicKeyBytes),
    });
    const leafKey = softMessageSigner();
    const leaf = await craft({
      subjectKey: leafKey.publicKeyBytes,
      cn: "Endpoint too deep",
      issuerCert: subCa,
      signer: subKey,
      extensions: endpointLikeExtensions(leafKey.publicKeyBytes, subKey.publicKeyBytes),
    });
    expectReason(
      () =>
        verifyCertificateChain(
          deviceParams(a, { leaf: leaf.der, intermediates: [subCa.der, a.instance.der] }),
        ),
      "path-too-long",
    );
  });

  it("untrusted anchor: the right chain against another root, or no root", () => {
    expectReason(
      () => verifyCertificateChain(deviceParams(a, { anchors: [b.root.der] })),
      "untrusted-anchor",
    );
    expectReason(() => verifyCertificateChain(deviceParams(a, { anchors: [] })), "untrusted-anchor");
    // Presenting the root among the intermediates does not make it trusted.
    expectReason(
      () =>
        verifyCertificateChain(deviceParams(a, { intermediates: [a.instance.der, a.root.der], anchors: [] })),
      "untrusted-anchor",
    );
  });

  it("untrusted anchor: a root of the same name but another key", async () => {
    const twin = await makeDeviceChain();
    expect(parseCertificate(twin.root.der).subjectName).toEqual(parseCertificate(a.root.der).subjectName);
    expectReason(
      () => verifyCertificateChain(deviceParams(a, { anchors: [twin.root.der] })),
      "untrusted-anchor",
    );
  });

  it("malformed bytes, PEM and inputs", () => {
    const cases: unknown[] = [
      new Uint8Array(0),
      Uint8Array.of(0x30, 0x03, 0x02, 0x01),
      a.endpoint.der.subarray(0, a.endpoint.der.length - 5),
      new Uint8Array([...a.endpoint.der, 0x00]),
      "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
      "not a certificate",
      42,
    ];
    for (const input of cases) {
      expectReason(() => parseCertificate(input as Uint8Array), "malformed");
      expectReason(() => verifyCertificateChain(deviceParams(a, { leaf: input as Uint8Array })), "malformed");
    }
    expectReason(
      () => verifyCertificateChain(deviceParams(a, { intermediates: [Uint8Array.of(5)] })),
      "malformed",
    );
  });

  it("malformed: random and mutated bytes never escape as anything else", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        try {
          parseCertificate(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(CertificateVerificationError);
          expect((error as CertificateVerificationError).reason).toBe("malformed");
        }
      }),
    );
    const der = a.endpoint.der;
    fc.assert(
      fc.property(fc.nat(der.length - 1), fc.integer({ min: 1, max: 255 }), (index, mask) => {
        const mutated = der.slice();
        mutated[index]! ^= mask;
        try {
          verifyCertificateChain(deviceParams(a, { leaf: mutated }));
        } catch (error) {
          expect(error).toBeInstanceOf(CertificateVerificationError);
          return;
        }
        // A mutation that still verifies must have changed nothing signed (e.g. a BIT STRING pad bit).
        expect(parseCertificate(mutated).tbs).toEqual(parseCertificate(der).tbs);
      }),
      { numRuns: 300 },
    );
  });

  it("wrong profile: a vehicle certificate where an endpoint is expected", () => {
    expectReason(
      () =>
        verifyCertificateChain({
          leaf: v.vehicle.der,
          anchors: [v.root.der],
          expectedLeafProfile: "endpoint",
          at: NOW,
        }),
      "wrong-profile",
    );
    expectReason(
      () =>
        verifyCertificateChain({
          leaf: a.instance.der,
          anchors: [a.root.der],
          expectedLeafProfile: "endpoint",
          at: NOW,
        }),
      "wrong-profile",
    );
  });

  it("missing extension: an endpoint without its vehicle identifier, or without a profile", async () => {
    const key = softMessageSigner();
    const withoutVehicleId = await craft({
      subjectKey: key.publicKeyBytes,
      cn: "Endpoint without vehicle id",
      issuerCert: a.instance,
      signer: a.instanceSigner,
      extensions: endpointLikeExtensions(key.publicKeyBytes, a.instanceSigner.publicKeyBytes).filter(
        (e) => e.type !== CARKEY_OID.vehicleIdentifier,
      ),
    });
    expectReason(
      () => verifyCertificateChain(deviceParams(a, { leaf: withoutVehicleId.der })),
      "missing-extension",
    );
    const withoutPolicy = await craft({
      subjectKey: key.publicKeyBytes,
      cn: "Endpoint without policy",
      issuerCert: a.instance,
      signer: a.instanceSigner,
      extensions: endpointLikeExtensions(key.publicKeyBytes, a.instanceSigner.publicKeyBytes).filter(
        (e) => e.type !== "2.5.29.32",
      ),
    });
    expectReason(
      () => verifyCertificateChain(deviceParams(a, { leaf: withoutPolicy.der })),
      "missing-extension",
    );
  });

  it("validity not nested in the issuer's", async () => {
    const key = softMessageSigner();
    const outliving = await craft({
      subjectKey: key.publicKeyBytes,
      cn: "Endpoint outliving its CA",
      issuerCert: a.instance,
      signer: a.instanceSigner,
      extensions: endpointLikeExtensions(key.publicKeyBytes, a.instanceSigner.publicKeyBytes),
      notAfter: startPlus(16 * YEAR),
    });
    expectReason(
      () => verifyCertificateChain(deviceParams(a, { leaf: outliving.der })),
      "validity-not-nested",
    );
  });

  it("unsupported critical extension", async () => {
    const key = softMessageSigner();
    const extensions = endpointLikeExtensions(key.publicKeyBytes, a.instanceSigner.publicKeyBytes);
    extensions.push(new x509.Extension(`${CERTIFICATE_OID_ARC}.1.99`, true, Uint8Array.of(0x05, 0x00)));
    const cert = await craft({
      subjectKey: key.publicKeyBytes,
      cn: "Endpoint with a critical unknown",
      issuerCert: a.instance,
      signer: a.instanceSigner,
      extensions,
    });
    expectReason(
      () => verifyCertificateChain(deviceParams(a, { leaf: cert.der })),
      "unsupported-critical-extension",
    );
  });

  it("unsupported algorithm: OpenSSL-made P-384 and SHA-384 certificates", () => {
    openssl(["ecparam", "-name", "secp384r1", "-genkey", "-noout", "-out", "p384.key"]);
    openssl([
      "req",
      "-x509",
      "-new",
      "-key",
      "p384.key",
      "-sha256",
      "-subj",
      "/CN=p384",
      "-days",
      "1",
      "-out",
      "p384.pem",
    ]);
    const p384 = readFileSync(join(dir, "p384.pem"), "utf8");
    expectReason(
      () => verifyCertificateChain({ leaf: p384, anchors: [p384], expectedLeafProfile: "endpoint", at: NOW }),
      "unsupported-algorithm",
    );
    openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "p256.key"]);
    openssl([
      "req",
      "-x509",
      "-new",
      "-key",
      "p256.key",
      "-sha384",
      "-subj",
      "/CN=sha384",
      "-days",
      "1",
      "-out",
      "sha384.pem",
    ]);
    const sha384 = readFileSync(join(dir, "sha384.pem"), "utf8");
    expectReason(
      () =>
        verifyCertificateChain({ leaf: sha384, anchors: [sha384], expectedLeafProfile: "endpoint", at: NOW }),
      "unsupported-algorithm",
    );
  });

  it("names the bad parameter for a root profile expected as leaf", () => {
    expect(() =>
      verifyCertificateChain(
        deviceParams(a, { expectedLeafProfile: "device-oem-root" as CertificateProfileName }),
      ),
    ).toThrow(ProtocolInputError);
  });
});

describe("profile data and extension codecs", () => {
  it("describes each chain from leaf to root", () => {
    expect(profileChain("endpoint")).toEqual(["endpoint", "instance-ca", "device-oem-root"]);
    expect(profileChain("vehicle")).toEqual(["vehicle", "vehicle-oem-root"]);
    expect(CERTIFICATE_PROFILES["device-oem-root"].pathLength).toBe(1);
    expect(CERTIFICATE_PROFILES["instance-ca"].pathLength).toBe(0);
    expect(CERTIFICATE_PROFILES["vehicle-oem-root"].pathLength).toBe(0);
  });

  it("round-trips vehicle identifiers and key roles", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 32 }), (id) => {
        expect(decodeVehicleIdentifierExtension(encodeVehicleIdentifierExtension(id))).toEqual(id);
      }),
    );
    for (const role of ["owner", "friend"] as const) {
      expect(decodeKeyRoleExtension(encodeKeyRoleExtension(role))).toBe(role);
    }
    expect(toHex(encodeKeyRoleExtension("friend"))).toBe("0a0101");
    expect(() => encodeVehicleIdentifierExtension(new Uint8Array(33))).toThrow(ProtocolInputError);
    expect(() => decodeKeyRoleExtension(Uint8Array.of(0x0a, 0x01, 0x02))).toThrow();
    expect(() => decodeKeyRoleExtension(Uint8Array.of(0x0a, 0x02, 0x00, 0x01))).toThrow();
    expect(() => decodeVehicleIdentifierExtension(Uint8Array.of(0x04, 0x02, 1, 2))).toThrow();
  });

  it("parses PEM and DER to the same facts", () => {
    const fromPem = parseCertificate(a.endpoint.pem);
    const fromDer = parseCertificate(a.endpoint.der);
    expect(fromPem.tbs).toEqual(fromDer.tbs);
    expect(fromPem.keyRole).toBe("owner");
    expect(fromPem.serialNumber).toBe(a.endpoint.serialNumber);
  });
});
