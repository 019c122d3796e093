// The OEM roots (docs/certificates.md "Device OEM root CA", "Vehicle OEM root
// CA"): self-signed through the Signer port on first use, stored, then read
// back and cached; exactly one Sign per certificate issued, the root
// included; the public key asked of the signer once; a key rotation makes a
// new root; a race between two containers ends with one stored root.
import { describe, expect, it } from "vitest";
import { toHex } from "../../src/protocol/bytes.js";
import { subjectKeyIdentifier } from "../../src/protocol/certificate-profiles.js";
import { parseCertificate } from "../../src/protocol/certificate-verifier.js";
import { ServiceUnavailableError } from "../../src/service/errors.js";
import { RootCertificates } from "../../src/service/root-certificates.js";
import { MemoryStore } from "../support/memory-store.js";
import { softMessageSigner } from "../support/soft-message-signer.js";
import { enrollDevice, enrollVehicle, SettableClock, testService } from "../support/test-service.js";

function countingPublicKey(signer: ReturnType<typeof softMessageSigner>) {
  let publicKeyCalls = 0;
  return {
    signer: {
      publicKey: () => {
        publicKeyCalls++;
        return signer.publicKey();
      },
      sign: (m: Uint8Array) => signer.sign(m),
    },
    get publicKeyCalls() {
      return publicKeyCalls;
    },
  };
}

function roots(store = new MemoryStore(), device = softMessageSigner(), vehicle = softMessageSigner()) {
  return new RootCertificates({
    store,
    signer: { root: (p) => (p === "device-oem-root" ? device : vehicle) },
    clock: new SettableClock(),
    subjects: {
      "device-oem-root": { organization: "Test Device OEM" },
      "vehicle-oem-root": { organization: "Test Vehicle OEM" },
    },
  });
}

describe("RootCertificates", () => {
  it("self-signs each root once, stores it and answers later calls from the cache", async () => {
    const store = new MemoryStore();
    const device = softMessageSigner();
    const r = roots(store, device);
    const first = await r.get("device-oem-root");
    const again = await Promise.all([r.get("device-oem-root"), r.get("device-oem-root")]);
    expect(device.calls).toBe(1);
    expect(again.map((x) => x.pem)).toEqual([first.pem, first.pem]);
    expect(store.roots.size).toBe(1);
    const parsed = parseCertificate(first.pem);
    expect(parsed.profile).toBe("device-oem-root");
    expect(parsed.selfIssued).toBe(true);
    expect(parsed.subject).toContain("Test Device OEM");
  });

  it("backdates a root a day and gives it the profile's whole validity", async () => {
    const r = roots();
    const root = await r.get("vehicle-oem-root");
    expect(root.notBefore.getTime()).toBeLessThan(Date.now() - 23 * 3600 * 1000);
    expect(root.pem).toContain("BEGIN CERTIFICATE");
    expect(root.notAfter.getTime() - root.notBefore.getTime()).toBe(10958 * 86_400_000);
  });

  it("reads a stored root in a new process (new cache) without signing again", async () => {
    const store = new MemoryStore();
    const device = softMessageSigner();
    const pem = (await roots(store, device).get("device-oem-root")).pem;
    const again = await roots(store, device).get("device-oem-root");
    expect(again.pem).toBe(pem);
    expect(device.calls).toBe(1);
  });

  it("asks the signer for its public key once per process", async () => {
    const counted = countingPublicKey(softMessageSigner());
    const r = new RootCertificates({
      store: new MemoryStore(),
      signer: { root: () => counted.signer },
      clock: new SettableClock(),
      subjects: {
        "device-oem-root": { organization: "D" },
        "vehicle-oem-root": { organization: "V" },
      },
    });
    await r.get("device-oem-root");
    await r.get("device-oem-root");
    expect(counted.publicKeyCalls).toBe(1);
  });

  it("makes a new root when the key changes (rotation), keyed by the key identifier", async () => {
    const store = new MemoryStore();
    const oldKey = softMessageSigner();
    const newKey = softMessageSigner();
    const a = await roots(store, oldKey).get("device-oem-root");
    const b = await roots(store, newKey).get("device-oem-root");
    expect(a.pem).not.toBe(b.pem);
    expect([...store.roots.keys()].sort()).toEqual(
      [
        `device-oem-root#${toHex(subjectKeyIdentifier(oldKey.publicKeyBytes))}`,
        `device-oem-root#${toHex(subjectKeyIdentifier(newKey.publicKeyBytes))}`,
      ].sort(),
    );
  });

  it("adopts the stored root when another container created it first", async () => {
    const store = new MemoryStore();
    const device = softMessageSigner();
    const winner = await roots(store, device).get("device-oem-root");
    // The loser read nothing, signed its own, then lost the conditional write.
    const loserStore = Object.create(store) as MemoryStore;
    let reads = 0;
    loserStore.getRootCertificate = async (profile, keyId) =>
      reads++ === 0 ? undefined : store.getRootCertificate(profile, keyId);
    const loser = await roots(loserStore, device).get("device-oem-root");
    expect(loser.pem).toBe(winner.pem);
    expect(store.roots.size).toBe(1);
  });

  it("only creates the roots it may (503 for the others) and reads those stored by others", async () => {
    const store = new MemoryStore();
    const device = softMessageSigner();
    const vehicle = softMessageSigner();
    const readOnly = (creatable: ("device-oem-root" | "vehicle-oem-root")[]) =>
      new RootCertificates({
        store,
        signer: { root: (p) => (p === "device-oem-root" ? device : vehicle) },
        clock: new SettableClock(),
        subjects: { "device-oem-root": { organization: "D" }, "vehicle-oem-root": { organization: "V" } },
        creatable: new Set(creatable),
      });
    const anchors = readOnly([]);
    await expect(anchors.get("device-oem-root")).rejects.toThrow(ServiceUnavailableError);
    await expect(anchors.trustAnchors()).rejects.toThrow("has not been created yet");
    expect(device.calls + vehicle.calls).toBe(0);
    await readOnly(["device-oem-root"]).get("device-oem-root");
    await readOnly(["vehicle-oem-root"]).get("vehicle-oem-root");
    await expect(anchors.trustAnchors()).resolves.toBeDefined();
    expect(device.calls + vehicle.calls).toBe(2);
  });

  it("does not remember a failure: the next call tries again", async () => {
    const device = softMessageSigner();
    let fail = true;
    const flaky = {
      publicKey: () => (fail ? Promise.reject(new Error("KMS unreachable")) : device.publicKey()),
      sign: (m: Uint8Array) => device.sign(m),
    };
    const r = new RootCertificates({
      store: new MemoryStore(),
      signer: { root: () => flaky },
      clock: new SettableClock(),
      subjects: { "device-oem-root": { organization: "D" }, "vehicle-oem-root": { organization: "V" } },
    });
    await expect(r.get("device-oem-root")).rejects.toThrow("KMS unreachable");
    fail = false;
    await expect(r.get("device-oem-root")).resolves.toBeDefined();
  });
});

describe("one Sign per certificate issued", () => {
  it("counts: two roots, one instance CA, one vehicle certificate, nothing on repeats", async () => {
    const t = testService();
    const device = t.signers["device-oem-root"];
    const vehicle = t.signers["vehicle-oem-root"];
    await enrollDevice(t);
    expect(device.calls).toBe(2); // the root on first use, then the instance CA
    await enrollDevice(t);
    expect(device.calls).toBe(3); // a second SE: one more
    await enrollVehicle(t);
    expect(vehicle.calls).toBe(2); // the Vehicle OEM root, then the vehicle certificate
    expect(device.calls).toBe(3); // the trust anchors reuse the cached Device OEM root
  });
});
