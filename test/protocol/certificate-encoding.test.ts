// The issuer's hand-written DER (src/protocol/der-writer.ts) against the
// certificate @peculiar/x509 builds from the same inputs
// (test/support/x509-reference-certificate.ts): every profile, the time
// encodings either side of 2050, serial numbers that need a sign octet or
// carry leading zeros, names in and out of ASCII. Signers are deterministic
// (RFC 6979), so equal TBS bytes mean equal certificates, signature included.
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { toHex } from "../../src/protocol/bytes.js";
import {
  createSelfSignedRoot,
  type IssueCertificateParams,
  type IssuedCertificate,
  issueCertificate,
} from "../../src/protocol/certificate-issuer.js";
import {
  CERTIFICATE_PROFILES,
  getCertificateProfile,
  type SubjectNameFields,
  subjectAttributes,
} from "../../src/protocol/certificate-profiles.js";
import { type CertificateInput, parseCertificate } from "../../src/protocol/certificate-verifier.js";
import { ProtocolInputError } from "../../src/protocol/errors.js";
import { type SoftMessageSigner, softMessageSigner } from "../support/soft-message-signer.js";
import { referenceCertificate } from "../support/x509-reference-certificate.js";

const DAY = 86_400_000;
const key = (byte: number) => softMessageSigner({ privateKey: new Uint8Array(32).fill(byte) });
const deviceRootSigner = key(1);
const instanceSigner = key(2);
const vehicleRootSigner = key(3);
const leafSigner = key(4);
const VEHICLE_ID = Uint8Array.from({ length: 17 }, (_, i) => 0xf0 - i);
const DEVICE_OEM: SubjectNameFields = { organization: "Example Phones Inc", country: "US" };
// Beyond ASCII, with a character outside the BMP (a surrogate pair in JavaScript).
const VEHICLE_OEM: SubjectNameFields = { organization: "Motorenwerke Überlingen 株式会社 🚗" };
const T0 = new Date(Date.UTC(2026, 0, 15, 8, 30, 5));
const at = (days: number) => new Date(T0.getTime() + days * DAY);

let deviceRoot: IssuedCertificate;
let instance: IssuedCertificate;
let vehicleRoot: IssuedCertificate;

/** Issues with the project's issuer and with the reference, and requires the same bytes. */
async function expectIdentical(
  params: IssueCertificateParams,
  issuerPublicKey: Uint8Array,
): Promise<IssuedCertificate> {
  const issued = await issueCertificate(params);
  const profile = getCertificateProfile(params.profile);
  const certificate = params.issuer.certificate;
  const reference = await referenceCertificate({
    profile: params.profile,
    subjectPublicKey: params.subjectPublicKey,
    subject: subjectAttributes(profile, params.subject, {
      subjectPublicKey: params.subjectPublicKey,
      ...(params.vehicleIdentifier ? { vehicleIdentifier: params.vehicleIdentifier } : {}),
    }),
    ...(certificate === undefined
      ? {}
      : { issuerName: parseCertificate(certificate as CertificateInput).subjectName }),
    issuerPublicKey,
    // The same serial the issuer chose (drawn from `random` when not given).
    serialNumberHex: params.serialNumber ? toHex(params.serialNumber) : issued.serialNumber,
    notBefore: params.notBefore,
    notAfter: params.notAfter,
    ...(params.vehicleIdentifier ? { vehicleIdentifier: params.vehicleIdentifier } : {}),
    ...(params.keyRole ? { keyRole: params.keyRole } : {}),
    signer: params.issuer.signer,
  });
  expect(toHex(issued.der)).toBe(toHex(reference.der));
  expect(issued.pem).toBe(reference.pem);
  expect(issued.serialNumber).toBe(reference.serialNumber);
  return issued;
}

function rootParams(
  signer: SoftMessageSigner,
  profile: "device-oem-root" | "vehicle-oem-root",
  subject: SubjectNameFields,
  notBefore: Date,
  notAfter: Date,
  serialNumber?: Uint8Array,
): IssueCertificateParams {
  return {
    profile,
    subjectPublicKey: signer.publicKeyBytes,
    subject,
    issuer: { signer },
    notBefore,
    notAfter,
    ...(serialNumber ? { serialNumber } : {}),
  };
}

beforeAll(async () => {
  deviceRoot = await expectIdentical(
    rootParams(deviceRootSigner, "device-oem-root", DEVICE_OEM, at(-1), at(25 * 365)),
    deviceRootSigner.publicKeyBytes,
  );
  instance = await expectIdentical(
    {
      profile: "instance-ca",
      subjectPublicKey: instanceSigner.publicKeyBytes,
      subject: DEVICE_OEM,
      issuer: { signer: deviceRootSigner, certificate: deviceRoot.der },
      notBefore: at(0),
      notAfter: at(20 * 365),
      serialNumber: Uint8Array.of(0x01),
    },
    deviceRootSigner.publicKeyBytes,
  );
  vehicleRoot = await expectIdentical(
    rootParams(vehicleRootSigner, "vehicle-oem-root", VEHICLE_OEM, at(-1), at(30 * 365)),
    vehicleRootSigner.publicKeyBytes,
  );
});

describe("the issuer's DER equals @peculiar/x509's for the same inputs", () => {
  it("covers both roots and the instance CA (built above), including a notAfter after 2049", () => {
    // 25 and 30 years from 2026: GeneralizedTime notAfter, UTCTime notBefore.
    expect(parseCertificate(deviceRoot.der).notAfter.getUTCFullYear()).toBeGreaterThan(2049);
    expect(parseCertificate(vehicleRoot.der).subject).toContain("株式会社");
    expect(instance.serialNumber).toBe("01");
  });

  it("endpoint, owner and friend", async () => {
    for (const keyRole of ["owner", "friend"] as const) {
      await expectIdentical(
        {
          profile: "endpoint",
          subjectPublicKey: leafSigner.publicKeyBytes,
          subject: DEVICE_OEM,
          issuer: { signer: instanceSigner, certificate: instance.pem },
          notBefore: at(1),
          notAfter: at(1 + 10 * 365),
          vehicleIdentifier: VEHICLE_ID,
          keyRole,
        },
        instanceSigner.publicKeyBytes,
      );
    }
  });

  it("vehicle, with a chosen common name", async () => {
    await expectIdentical(
      {
        profile: "vehicle",
        subjectPublicKey: leafSigner.publicKeyBytes,
        subject: { ...VEHICLE_OEM, commonName: "VIN WVWZZZ1JZXW000001 — Ölwechsel" },
        issuer: { signer: vehicleRootSigner, certificate: vehicleRoot.der },
        notBefore: at(0),
        notAfter: at(25 * 365),
        vehicleIdentifier: VEHICLE_ID,
      },
      vehicleRootSigner.publicKeyBytes,
    );
  });

  it("serial numbers: a sign octet, leading zeros, 20 octets, the random default", async () => {
    const serials = [
      Uint8Array.of(0x80),
      Uint8Array.of(0xff, 0x00),
      Uint8Array.of(0x00, 0x00, 0x05),
      Uint8Array.of(0x00, 0x9c),
      new Uint8Array(20).fill(0x7f),
      Uint8Array.of(0x00, ...new Uint8Array(19).fill(0xee)),
    ];
    for (const serialNumber of serials) {
      await expectIdentical(
        rootParams(deviceRootSigner, "device-oem-root", DEVICE_OEM, at(0), at(365), serialNumber),
        deviceRootSigner.publicKeyBytes,
      );
    }
    const drawn = await expectIdentical(
      {
        ...rootParams(deviceRootSigner, "device-oem-root", DEVICE_OEM, at(0), at(365)),
        random: (n) => new Uint8Array(n).fill(0xc3),
      },
      deviceRootSigner.publicKeyBytes,
    );
    expect(drawn.serialNumber).toBe(`43${"c3".repeat(15)}`);
  });

  it("times either side of RFC 5280's 2050 switch, and the ends of the range", async () => {
    const cases: [string, string][] = [
      ["1950-01-01T00:00:00Z", "1951-01-01T00:00:00Z"],
      ["2049-06-30T12:00:00Z", "2049-12-31T23:59:59Z"],
      ["2049-12-31T23:59:59Z", "2050-01-01T00:00:00Z"],
      ["2050-01-01T00:00:00Z", "2060-02-29T23:59:59Z"],
      ["9990-01-01T00:00:00Z", "9999-12-31T23:59:59Z"],
    ];
    for (const [from, to] of cases) {
      await expectIdentical(
        rootParams(vehicleRootSigner, "vehicle-oem-root", VEHICLE_OEM, new Date(from), new Date(to)),
        vehicleRootSigner.publicKeyBytes,
      );
    }
  });

  it("any root: names, country, dates and serials drawn at random", async () => {
    const nameText = fc
      .string({ unit: "binary", minLength: 1, maxLength: 64 })
      // biome-ignore lint/suspicious/noControlCharactersInRegex: names refuse control characters
      .filter((s) => s.length <= 64 && !/[\u0000-\u001f\u007f]/.test(s));
    const cap = CERTIFICATE_PROFILES["device-oem-root"].maxValidityDays * DAY;
    await fc.assert(
      fc.asyncProperty(
        nameText,
        fc.option(nameText, { nil: undefined }),
        fc.option(fc.constantFrom("US", "DE", "JP", "ZZ"), { nil: undefined }),
        // Whole seconds from 1950 to the last start a capped validity can have before 9999 ends.
        fc.integer({ min: Date.UTC(1950, 0, 1) / 1000, max: (Date.UTC(9999, 11, 31) - cap) / 1000 }),
        fc.integer({ min: 1, max: cap / 1000 }),
        fc.uint8Array({ minLength: 1, maxLength: 19 }).filter((b) => b.some((x) => x !== 0)),
        async (organization, commonName, country, start, seconds, serialNumber) => {
          const subject = {
            organization,
            ...(commonName === undefined ? {} : { commonName }),
            ...(country === undefined ? {} : { country }),
          };
          await expectIdentical(
            rootParams(
              deviceRootSigner,
              "device-oem-root",
              subject,
              new Date(start * 1000),
              new Date((start + seconds) * 1000),
              serialNumber,
            ),
            deviceRootSigner.publicKeyBytes,
          );
        },
      ),
      { numRuns: 60, seed: 5280 },
    );
  });
});

describe("where the issuer refuses", () => {
  // @peculiar/x509 threw a bare URIError here; the issuer names the problem before anything is signed.
  it("refuses a name with a lone surrogate, which has no UTF-8 form", async () => {
    const calls = deviceRootSigner.calls;
    await expect(
      createSelfSignedRoot({
        profile: "device-oem-root",
        signer: deviceRootSigner,
        subject: { organization: "Broken \ud83d Motors" },
        notBefore: at(0),
        notAfter: at(365),
      }),
    ).rejects.toBeInstanceOf(ProtocolInputError);
    expect(deviceRootSigner.calls).toBe(calls);
  });
});
