// The emulated OEM issues what the cloud service issues: for the same OEM name,
// the same keys and the same clock, its roots, instance CA and vehicle
// certificates have the service's subject, dates and extensions byte for byte;
// only the serial numbers, the signatures and what names the root's key
// (authority key identifier) differ, since the roots are other keys.
import { describe, expect, it } from "vitest";
import { EmulatedOem } from "../../src/emulator/oem/emulated-oem.js";
import { equalBytes, toHex } from "../../src/protocol/bytes.js";
import { X509_OID } from "../../src/protocol/certificate-profiles.js";
import { type ParsedCertificate, parseCertificate } from "../../src/protocol/certificate-verifier.js";
import { deviceIdFromInstanceKey } from "../../src/protocol/device-identity.js";
import { generateKeyPair } from "../../src/protocol/p256.js";
import { createCarKeysService } from "../../src/service/car-keys-service.js";
import { MemoryStore } from "../support/memory-store.js";
import { softMessageSigner } from "../support/soft-message-signer.js";
import { TestDevice, testManufacturer } from "../support/test-device.js";
import { testMacKey } from "../support/test-mac-key.js";
import { deviceRequest, SettableClock, TEST_SCRYPT_COST } from "../support/test-service.js";

const NAME = "Emulated Motors";

/** What must agree: everything but serial, signature and the root-specific key identifier. */
function shape(certificate: ParsedCertificate) {
  return {
    profile: certificate.profile,
    subjectName: toHex(certificate.subjectName),
    issuerName: toHex(certificate.issuerName),
    notBefore: certificate.notBefore.toISOString(),
    notAfter: certificate.notAfter.toISOString(),
    subjectPublicKey: toHex(certificate.subjectPublicKey),
    extensions: certificate.extensions
      .filter(
        (e) =>
          e.oid !== X509_OID.authorityKeyIdentifier &&
          !(certificate.selfIssued && e.oid === X509_OID.subjectKeyIdentifier),
      )
      .map((e) => ({ oid: e.oid, critical: e.critical, value: toHex(e.value) })),
  };
}

async function both() {
  // One frozen clock for both issuers (the service checks request timestamps against it).
  const clock = new SettableClock();
  const manufacturer = testManufacturer();
  const service = createCarKeysService({
    store: new MemoryStore(),
    clock,
    signer: { root: () => softMessageSigner() },
    devicePseudonymKey: testMacKey(),
    manufacturerPublicKey: manufacturer.keyPair.publicKey,
    deviceOem: { organization: NAME },
    vehicleOem: { organization: NAME },
    scryptCost: TEST_SCRYPT_COST,
  });
  const oem = await EmulatedOem.create(NAME, clock.now());
  return { clock, manufacturer, service, oem };
}

describe("the emulated OEM issues what the cloud issues", () => {
  it("the same roots but for their keys", async () => {
    const { service, oem } = await both();
    const cloud = await service.roots.trustAnchors();
    for (const which of ["deviceOemRoot", "vehicleOemRoot"] as const) {
      const a = parseCertificate(cloud[which]);
      const b = parseCertificate(oem.trustAnchors[which]);
      expect(shape(b)).toEqual({ ...shape(a), subjectPublicKey: shape(b).subjectPublicKey });
      expect(b.subject).toBe(a.subject);
    }
  });

  it("the same instance CA certificate for the same SE key", async () => {
    const { clock, manufacturer, service, oem } = await both();
    const device = new TestDevice(manufacturer);
    const { body, request } = deviceRequest("POST", "/v1/devices", device.enrollmentBody(), (o) =>
      device.signAsInstance(o),
    );
    const cloud = parseCertificate(
      (await service.secureElements.enroll(body, request)).response.instanceCaCertificate,
    );
    const attestation = oem.manufacturer.attest(
      deviceIdFromInstanceKey(device.instance.publicKey),
      device.instance.publicKey,
      clock.time,
    );
    const offline = parseCertificate(await oem.certifyInstanceCa(attestation, clock.now()));
    expect(shape(offline)).toEqual(shape(cloud));
    expect(offline.subject).toBe(cloud.subject);
    expect(equalBytes(offline.der, cloud.der)).toBe(false);
  });

  it("the same vehicle certificate for the same car", async () => {
    const { clock, service, oem } = await both();
    const car = generateKeyPair();
    const vehicleId = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
    const enrolled = await service.vehicles.enroll(
      { vehicleId: toHex(vehicleId), vehiclePublicKey: toHex(car.publicKey) },
      "arn:aws:iam::123456789012:user/oem",
    );
    const cloud = parseCertificate(enrolled.response.vehicleCertificate);
    const offline = parseCertificate(await oem.certifyVehicle(vehicleId, car.publicKey, clock.now()));
    expect(shape(offline)).toEqual(shape(cloud));
  });
});
