// parseCertificate (our strict DER reader, src/protocol/der-reader.ts) against
// two independent readers, @peculiar/x509 and node:crypto's X509Certificate
// (OpenSSL), on every kind of certificate the tests know: ours (all five
// profiles, Unicode names), OpenSSL-made ones (P-256, P-384, RSA; policies
// with qualifiers, an AKI with issuer and serial, multi-valued RDNs,
// GeneralizedTime, long serials), @peculiar/x509-made ones (the mutual-TLS
// test PKI), and other makers' roots: the Mozilla store node carries. Serial,
// dates, names, every extension's bytes, basic constraints, key usage,
// SKI/AKI and policies must agree wherever our reader takes a certificate;
// where it refuses one, the refusal is listed here with its reason.
import { execFileSync } from "node:child_process";
import { X509Certificate as NodeCertificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rootCertificates } from "node:tls";
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toHex } from "../../src/protocol/bytes.js";
import { createSelfSignedRoot, issueCertificate } from "../../src/protocol/certificate-issuer.js";
import { certificatePemToDer } from "../../src/protocol/certificate-pem.js";
import { type ParsedCertificate, parseCertificate } from "../../src/protocol/certificate-verifier.js";
import { CertificateVerificationError } from "../../src/protocol/errors.js";
import { createTestCa } from "../support/mtls-pki.js";
import { softMessageSigner } from "../support/soft-message-signer.js";

interface Sample {
  readonly label: string;
  readonly der: Uint8Array;
}

const DAY = 86_400_000;
const NOW = new Date(Math.floor(Date.now() / 1000) * 1000);
const VEHICLE_ID = Uint8Array.from({ length: 16 }, (_, i) => 0x10 + i);

let dir: string;
const ours: Sample[] = [];
const openssl: Sample[] = [];
const peculiar: Sample[] = [];

function run(args: string[]): string {
  return execFileSync("openssl", args, { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function opensslSample(label: string, file: string): Sample {
  return { label, der: certificatePemToDer(readFileSync(join(dir, file), "utf8")) };
}

async function makeOurs(): Promise<void> {
  const deviceRoot = softMessageSigner();
  const instance = softMessageSigner();
  const vehicleRoot = softMessageSigner();
  const notBefore = new Date(NOW.getTime() - DAY);
  const root = await createSelfSignedRoot({
    profile: "device-oem-root",
    signer: deviceRoot,
    subject: { organization: "Example Phones, Inc.", country: "US" },
    notBefore,
    notAfter: new Date(NOW.getTime() + 20 * 365 * DAY),
  });
  const ca = await issueCertificate({
    profile: "instance-ca",
    subjectPublicKey: instance.publicKeyBytes,
    subject: { organization: "Example Phones, Inc." },
    issuer: { signer: deviceRoot, certificate: root.der },
    notBefore,
    notAfter: new Date(NOW.getTime() + 15 * 365 * DAY),
  });
  const endpoint = await issueCertificate({
    profile: "endpoint",
    subjectPublicKey: softMessageSigner().publicKeyBytes,
    subject: { organization: "Example Phones, Inc.", commonName: "#1 key + spare; <Bob's> " },
    issuer: { signer: instance, certificate: ca.der },
    notBefore,
    notAfter: new Date(NOW.getTime() + 5 * 365 * DAY),
    vehicleIdentifier: VEHICLE_ID,
    keyRole: "friend",
  });
  const vroot = await createSelfSignedRoot({
    profile: "vehicle-oem-root",
    signer: vehicleRoot,
    subject: { organization: "株式会社 Example Motors", country: "JP" },
    notBefore,
    // Past 2049: GeneralizedTime.
    notAfter: new Date(Date.UTC(2055, 0, 1)),
  });
  const vehicle = await issueCertificate({
    profile: "vehicle",
    subjectPublicKey: softMessageSigner().publicKeyBytes,
    subject: { organization: "株式会社 Example Motors" },
    issuer: { signer: vehicleRoot, certificate: vroot.der },
    notBefore,
    notAfter: new Date(Date.UTC(2050, 0, 1)),
    vehicleIdentifier: VEHICLE_ID,
    serialNumber: Uint8Array.of(0x80, 1, 2, 3),
  });
  ours.push(
    { label: "ours: device OEM root", der: root.der },
    { label: "ours: instance CA", der: ca.der },
    { label: "ours: endpoint", der: endpoint.der },
    { label: "ours: vehicle OEM root", der: vroot.der },
    { label: "ours: vehicle", der: vehicle.der },
  );
}

function makeOpenssl(): void {
  writeFileSync(
    join(dir, "ca.cnf"),
    [
      "[ ca_ext ]",
      "basicConstraints = critical, CA:TRUE, pathlen:1",
      "keyUsage = critical, keyCertSign, cRLSign",
      "subjectKeyIdentifier = hash",
      "certificatePolicies = 2.23.140.1.2.1, @cps",
      "[ cps ]",
      "policyIdentifier = 1.3.6.1.4.1.61892.2.1",
      "CPS.1 = https://example.com/cps",
      "[ leaf_ext ]",
      "basicConstraints = CA:FALSE",
      "keyUsage = critical, digitalSignature, keyAgreement, decipherOnly",
      "subjectKeyIdentifier = hash",
      "authorityKeyIdentifier = keyid:always, issuer:always",
      "extendedKeyUsage = clientAuth",
      "subjectAltName = DNS:car.example, email:a@example.com",
      "certificatePolicies = 1.2.3.4.5.6.7.8.9.1000000.2.25.329800735698586629295641978511506172918",
      "",
    ].join("\n"),
  );
  run(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key"]);
  run([
    "req",
    "-x509",
    "-new",
    "-key",
    "ca.key",
    "-sha256",
    "-days",
    "3650",
    "-utf8",
    "-subj",
    "/C=DE/ST=Bayern/L=München/O=Größe & Söhne, GmbH/OU=PKI+CN=Test CA \\+ Root",
    "-multivalue-rdn",
    "-set_serial",
    "0x7fffffffffffffffffffffffffffffffffffffff",
    "-config",
    "ca.cnf",
    "-extensions",
    "ca_ext",
    "-out",
    "ca.pem",
  ]);
  run(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "leaf.key"]);
  run(["req", "-new", "-key", "leaf.key", "-subj", "/CN=leaf/O=Example", "-out", "leaf.csr"]);
  run([
    "x509",
    "-req",
    "-in",
    "leaf.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-set_serial",
    "1",
    "-days",
    "12000",
    "-sha256",
    "-extfile",
    "ca.cnf",
    "-extensions",
    "leaf_ext",
    "-out",
    "leaf.pem",
  ]);
  run(["ecparam", "-name", "secp384r1", "-genkey", "-noout", "-out", "p384.key"]);
  run([
    "req",
    "-x509",
    "-new",
    "-key",
    "p384.key",
    "-sha384",
    "-subj",
    "/CN=p384",
    "-days",
    "1",
    "-out",
    "p384.pem",
  ]);
  run(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", "rsa.key"]);
  run([
    "req",
    "-x509",
    "-new",
    "-key",
    "rsa.key",
    "-subj",
    "/DC=example/DC=com/UID=jdoe/CN=rsa",
    "-days",
    "2",
    "-out",
    "rsa.pem",
  ]);
  openssl.push(
    opensslSample("openssl: P-256 CA, multi-valued RDN, policy qualifiers, 20-octet serial", "ca.pem"),
    opensslSample("openssl: leaf with AKI issuer+serial, EKU, SAN, GeneralizedTime", "leaf.pem"),
    opensslSample("openssl: P-384 self-signed", "p384.pem"),
    opensslSample("openssl: RSA self-signed, DC and UID", "rsa.pem"),
  );
}

async function makePeculiar(): Promise<void> {
  const ca = await createTestCa("CN=Partner OEM Server CA,O=Partner Motors");
  const client = await ca.issueClient("CN=events.partner.example,O=Partner Motors");
  peculiar.push(
    { label: "@peculiar/x509: mutual-TLS CA", der: certificatePemToDer(ca.certPem) },
    { label: "@peculiar/x509: mutual-TLS client", der: certificatePemToDer(client.certPem) },
  );
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "carkeys-differential-"));
  await makeOurs();
  makeOpenssl();
  await makePeculiar();
}, 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const hex = (bytes: ArrayBuffer | Uint8Array): string => toHex(new Uint8Array(bytes));

/**
 * asn1js (under @peculiar/x509) writes an arc beyond 2^53 as {its base-128 digits in hex}; the
 * arc's decimal value, so such OIDs are compared too.
 */
const wideArcs = (oid: string): string =>
  oid.replace(/\{([0-9a-f]+)\}/g, (_, digits: string) =>
    String(digits.match(/../g)!.reduce((n, d) => (n << 7n) | BigInt(`0x${d}`), 0n)),
  );

/** What @peculiar/x509 reads, in our field shapes. */
function peculiarFacts(der: Uint8Array) {
  const cert = new x509.X509Certificate(new Uint8Array(der));
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension);
  const policies = cert.getExtension(x509.CertificatePolicyExtension);
  return {
    serialNumber: cert.serialNumber.toLowerCase().replace(/^00(?=[89a-f])/, ""),
    notBefore: cert.notBefore.getTime(),
    notAfter: cert.notAfter.getTime(),
    subject: cert.subject,
    issuer: cert.issuer,
    organization: cert.subjectName.getField("O")[0],
    commonName: cert.subjectName.getField("CN")[0],
    country: cert.subjectName.getField("C")[0],
    extensions: cert.extensions.map((e) => ({ oid: e.type, critical: e.critical, value: hex(e.value) })),
    basicConstraints: bc
      ? {
          ca: bc.ca,
          critical: bc.critical,
          ...(bc.pathLength === undefined ? {} : { pathLength: bc.pathLength }),
        }
      : undefined,
    keyUsage: ku ? { flags: ku.usages as number, critical: ku.critical } : undefined,
    subjectKeyIdentifier: ski?.keyId.toLowerCase(),
    authorityKeyIdentifier: aki?.keyId?.toLowerCase(),
    policies: policies ? policies.policies.map(wideArcs) : [],
  };
}

/** RFC 4514's UID and STREET, which @peculiar/x509 writes as dotted OIDs. */
const peculiarNames = (text: string): string =>
  text.replace(/(^|, |\+)UID=/g, "$10.9.2342.19200300.100.1.1=").replace(/(^|, |\+)STREET=/g, "$12.5.4.9=");

function ourFacts(parsed: ParsedCertificate): ReturnType<typeof peculiarFacts> {
  return {
    serialNumber: parsed.serialNumber,
    notBefore: parsed.notBefore.getTime(),
    notAfter: parsed.notAfter.getTime(),
    subject: peculiarNames(parsed.subject),
    issuer: peculiarNames(parsed.issuer),
    organization: parsed.organization,
    commonName: parsed.commonName,
    country: parsed.country,
    extensions: parsed.extensions.map((e) => ({ oid: e.oid, critical: e.critical, value: hex(e.value) })),
    basicConstraints: parsed.basicConstraints,
    keyUsage: parsed.keyUsage,
    subjectKeyIdentifier: parsed.subjectKeyIdentifier && hex(parsed.subjectKeyIdentifier),
    authorityKeyIdentifier: parsed.authorityKeyIdentifier && hex(parsed.authorityKeyIdentifier),
    policies: [...parsed.policies],
  };
}

/** node's one-attribute-per-line subject: the first value of `type`, its backslash escapes undone. */
function nodeField(text: string, type: string): string | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${type}=`));
  return line?.slice(type.length + 1).replace(/\\(.)/g, "$1");
}

function expectAgreement(sample: Sample): void {
  const parsed = parseCertificate(sample.der);
  const facts = ourFacts(parsed);
  expect(facts, sample.label).toEqual(peculiarFacts(sample.der));

  const node = new NodeCertificate(sample.der);
  expect(BigInt(`0x${parsed.serialNumber}`), sample.label).toBe(BigInt(`0x${node.serialNumber}`));
  expect(parsed.notBefore.getTime(), sample.label).toBe(Date.parse(node.validFrom));
  expect(parsed.notAfter.getTime(), sample.label).toBe(Date.parse(node.validTo));
  expect(parsed.basicConstraints?.ca ?? false, sample.label).toBe(node.ca);
  // node prints a multi-valued RDN's attributes on one line joined by "+": only single ones compared.
  if (!node.subject.includes("+")) {
    expect(parsed.commonName, sample.label).toBe(nodeField(node.subject, "CN"));
    expect(parsed.country, sample.label).toBe(nodeField(node.subject, "C"));
  }
  expect(parsed.selfIssued, sample.label).toBe(node.subject === node.issuer);
  // The subjectPublicKey bits end node's SPKI export.
  const spki = new Uint8Array(node.publicKey.export({ type: "spki", format: "der" }));
  expect(hex(spki.subarray(spki.length - parsed.subjectPublicKey.length)), sample.label).toBe(
    hex(parsed.subjectPublicKey),
  );
}

describe("parseCertificate agrees with @peculiar/x509 and node:crypto", () => {
  it("on our certificates, all five profiles", () => {
    expect(ours).toHaveLength(5);
    for (const sample of ours) expectAgreement(sample);
    // The vehicle root's notAfter lies past 2049, so it is a GeneralizedTime.
    expect(parseCertificate(ours[3]!.der).notAfter.toISOString()).toBe("2055-01-01T00:00:00.000Z");
  });

  it("on OpenSSL-made certificates", () => {
    for (const sample of openssl) expectAgreement(sample);
    const [ca, leaf] = openssl.map((s) => parseCertificate(s.der));
    expect(ca!.serialNumber).toBe("7f".padEnd(40, "f"));
    expect(ca!.policies).toEqual(["2.23.140.1.2.1", "1.3.6.1.4.1.61892.2.1"]);
    expect(ca!.organization).toBe("Größe & Söhne, GmbH");
    expect(leaf!.keyUsage?.flags).toBe(1 | 16 | 256);
    expect(leaf!.notAfter.getUTCFullYear()).toBeGreaterThan(2049);
    expect(leaf!.policies).toEqual([
      "1.2.3.4.5.6.7.8.9.1000000.2.25.329800735698586629295641978511506172918",
    ]);
    expect(leaf!.authorityKeyIdentifier).toEqual(ca!.subjectKeyIdentifier);
  });

  it("on @peculiar/x509-made certificates", () => {
    for (const sample of peculiar) expectAgreement(sample);
  });

  it("on other makers' roots: every certificate of node's Mozilla store", () => {
    const refused: string[] = [];
    let taken = 0;
    for (const pem of rootCertificates) {
      const sample = {
        label: new NodeCertificate(pem).subject.replace(/\n/g, ", "),
        der: certificatePemToDer(pem),
      };
      try {
        parseCertificate(sample.der);
      } catch (error) {
        expect(error, sample.label).toBeInstanceOf(CertificateVerificationError);
        refused.push(`${sample.label}: ${(error as Error).message}`);
        continue;
      }
      expectAgreement(sample);
      taken++;
    }
    // Node 20's store: all 144 taken, Go Daddy G2's serial 0 and Trustwave's padded key usage included.
    expect(refused).toEqual([]);
    expect(taken).toBe(rootCertificates.length);
  });
});
