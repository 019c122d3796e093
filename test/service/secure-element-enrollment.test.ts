// Secure element enrollment (certificate issuance): the factory
// attestation is verified with the configured manufacturer key, proof of
// possession is the request signature by the instance CA key named in the
// body, the Instance CA certificate comes from the Device OEM root with the
// "instance-ca" profile, and a retry returns the same certificate without
// signing again. Each refusal writes nothing.
import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "../../src/protocol/bytes.js";
import { verifyCertificateChain } from "../../src/protocol/certificate-verifier.js";
import { generateKeyPair } from "../../src/protocol/p256.js";
import {
  AuthenticationError,
  ConflictError,
  ForbiddenError,
  ReplayError,
  ValidationError,
} from "../../src/service/errors.js";
import { TestDevice, testManufacturer } from "../support/test-device.js";
import { deviceRequest, type TestService, testService } from "../support/test-service.js";

function enroll(t: TestService, device: TestDevice, body: object = device.enrollmentBody(), sign = device) {
  const { request } = deviceRequest("POST", "/v1/devices", body, (o) => sign.signAsInstance(o));
  return { run: () => t.service.secureElements.enroll(body as never, request), request };
}

describe("SecureElementEnrollment", () => {
  it("issues an instance CA certificate that chains to the Device OEM root", async () => {
    const t = testService();
    const device = new TestDevice(t.manufacturer);
    const outcome = await enroll(t, device).run();
    expect(outcome.created).toBe(true);
    const root = await t.service.roots.get("device-oem-root");
    expect(outcome.response.deviceOemRoot).toBe(root.pem);
    const chain = verifyCertificateChain({
      leaf: outcome.response.instanceCaCertificate,
      anchors: [root.pem],
      expectedLeafProfile: "instance-ca",
      at: new Date(),
    });
    expect(toHex(chain.publicKey)).toBe(toHex(device.instance.publicKey));
    expect(chain.profiles).toEqual(["instance-ca", "device-oem-root"]);
    expect(chain.serialNumber).toBe(outcome.response.serialNumber);
    expect(chain.subject).toContain("O=Test Device OEM");
    expect(t.store.secureElements.get(device.seId)?.instanceCaPublicKey).toBe(
      toHex(device.instance.publicKey),
    );
  });

  it("answers a retry (new nonce) with the stored certificate and no second Sign", async () => {
    const t = testService();
    const device = new TestDevice(t.manufacturer);
    const first = await enroll(t, device).run();
    const calls = t.signers["device-oem-root"].calls;
    const second = await enroll(t, device).run();
    expect(second.created).toBe(false);
    expect(second.response).toEqual(first.response);
    expect(t.signers["device-oem-root"].calls).toBe(calls);
  });

  it("refuses the same signed request twice (replay), also on the repeat path", async () => {
    const t = testService();
    const device = new TestDevice(t.manufacturer);
    const once = enroll(t, device);
    await once.run();
    await expect(once.run()).rejects.toThrow(ReplayError);
  });

  it("refuses a factory attestation signed by another manufacturer (403), writing nothing", async () => {
    const t = testService();
    const device = new TestDevice(testManufacturer());
    await expect(enroll(t, device).run()).rejects.toThrow(ForbiddenError);
    expect(t.store.writes).toBe(0);
  });

  it("refuses an attestation of another key or another SE", async () => {
    const t = testService();
    const device = new TestDevice(t.manufacturer);
    const other = new TestDevice(t.manufacturer);
    const swapped = { ...device.enrollmentBody(), factoryAttestation: toHex(other.factoryAttestation) };
    await expect(enroll(t, device, swapped).run()).rejects.toThrow("names another secure element");
    expect(t.store.writes).toBe(0);
  });

  it("refuses a factory attestation that does not parse (400)", async () => {
    const t = testService();
    const device = new TestDevice(t.manufacturer);
    const body = { ...device.enrollmentBody(), factoryAttestation: "7001" };
    await expect(enroll(t, device, body).run()).rejects.toThrow(ValidationError);
  });

  it("refuses a request not signed by the instance CA key in the body (no proof of possession)", async () => {
    const t = testService();
    const device = new TestDevice(t.manufacturer);
    const impostor = new TestDevice(t.manufacturer, generateKeyPair());
    // The impostor signs under the device's name: the signature does not verify with the body's key.
    const body = device.enrollmentBody();
    const { request } = deviceRequest("POST", "/v1/devices", body, (o) =>
      impostor.signAsInstance({ ...o, signer: device.signer }),
    );
    await expect(t.service.secureElements.enroll(body, request)).rejects.toThrow("does not verify");
    expect(t.store.writes).toBe(0);
  });

  it("refuses a request signed as another SE than body.seId", async () => {
    const t = testService();
    const device = new TestDevice(t.manufacturer);
    const other = new TestDevice(t.manufacturer);
    await expect(enroll(t, device, device.enrollmentBody(), other).run()).rejects.toThrow(
      AuthenticationError,
    );
  });

  it("refuses a seId that is not derived from the key", async () => {
    const t = testService();
    const device = new TestDevice(t.manufacturer);
    const body = { ...device.enrollmentBody(), seId: "00".repeat(16) };
    const { request } = deviceRequest("POST", "/v1/devices", body, (o) =>
      device.signAsInstance({ ...o, signer: "instance:00000000000000000000000000000000" }),
    );
    await expect(t.service.secureElements.enroll(body as never, request)).rejects.toThrow(
      "body.seId must be the first 16 bytes",
    );
  });

  it("refuses a public key that is not on the curve", async () => {
    const t = testService();
    const device = new TestDevice(t.manufacturer);
    const bad = fromHex(device.enrollmentBody().instanceCaPublicKey);
    bad[64] = bad[64]! ^ 1;
    const body = { ...device.enrollmentBody(), instanceCaPublicKey: toHex(bad) };
    await expect(enroll(t, device, body).run()).rejects.toThrow("not a valid P-256 public key");
  });

  it("refuses the same SE with another key as a conflict", async () => {
    const t = testService();
    const device = new TestDevice(t.manufacturer);
    await enroll(t, device).run();
    // Simulate the record holding another key (the derivation makes a real collision impossible).
    const record = t.store.secureElements.get(device.seId)!;
    t.store.secureElements.set(device.seId, { ...record, instanceCaPublicKey: "04".padEnd(130, "1") });
    await expect(enroll(t, device).run()).rejects.toThrow(ConflictError);
  });
});
