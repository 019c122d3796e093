// Other phone makers at the service, through the Lambda handlers on DynamoDB
// Local: the service is configured with another maker's Device OEM root
// certificate (TRUSTED_DEVICE_OEM_ROOTS, a trust anchor only), publishes it
// in GET /v1/trust-anchors beside its own, registers friend and owner keys
// whose SE that maker certified, and refuses (403, nothing written) keys from
// a maker it was not configured with. A bundle that is not Device OEM roots
// stops the service from being built, naming the variable.
import "../support/quiet-logs.js";
import type { Context } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handler as expirySweep } from "../../functions/expiry-sweep.js";
import { handler as keyTracking } from "../../functions/key-tracking.js";
import { handler as revocation } from "../../functions/revocation.js";
import { handler as trustAnchors } from "../../functions/trust-anchors.js";
import { handler as vehicleEnrollment } from "../../functions/vehicle-enrollment.js";
import {
  assembleCarKeysService,
  serviceSettingsFromEnvironment,
} from "../../src/adapters/service-assembly.js";
import { PublishedEventSchema } from "../../src/api/event-schemas.js";
import { TrustAnchorsSchema } from "../../src/api/issuance-schemas.js";
import { EmulatedOem } from "../../src/emulator/oem/emulated-oem.js";
import type { AccessProfile } from "../../src/protocol/access-profile.js";
import { toHex } from "../../src/protocol/bytes.js";
import { createSelfSignedRoot, issueCertificate } from "../../src/protocol/certificate-issuer.js";
import { parseCertificate } from "../../src/protocol/certificate-verifier.js";
import { generateKeyPair } from "../../src/protocol/p256.js";
import { ConfigurationError } from "../../src/service/errors.js";
import type { ServiceEvent } from "../../src/service/ports.js";
import { publishedEvent } from "../../src/service/published-event.js";
import {
  keyRegistrationEvent,
  ownerRegistrationEvent,
  vehicleEnrollmentEvent,
} from "../support/api-requests.js";
import { apiEvent, invoke, type LambdaHarness, startLambdaHarness } from "../support/lambda-harness.js";
import { enrollNewDevice, enrollNewVehicle } from "../support/lambda-parties.js";
import { publishedDuring } from "../support/published-events.js";
import { softMessageSigner } from "../support/soft-message-signer.js";
import { attestFriendKey, TestDevice, testVehicle } from "../support/test-device.js";

/** The service a Lambda with environment `env` builds. */
const buildService = async (env: Readonly<Record<string, string | undefined>>) =>
  assembleCarKeysService(serviceSettingsFromEnvironment(env));

/** Another phone maker: its own Device OEM root, which certifies its SEs' instance CAs. */
async function phoneMaker(name: string) {
  const key = generateKeyPair();
  const signer = softMessageSigner({ privateKey: key.privateKey });
  const now = Date.now();
  const root = await createSelfSignedRoot({
    profile: "device-oem-root",
    signer,
    subject: { organization: name },
    notBefore: new Date(now - 86_400_000),
    notAfter: new Date(now + 5 * 365 * 86_400_000),
  });
  /** A device of this maker: its instance CA certified by the maker, never enrolled at the service. */
  const device = async (harness: LambdaHarness) => {
    const se = new TestDevice(harness.manufacturer);
    se.instanceCaCertificatePem = (
      await issueCertificate({
        profile: "instance-ca",
        subjectPublicKey: se.instance.publicKey,
        subject: { organization: name },
        issuer: { signer, certificate: root.pem },
        notBefore: new Date(now - 3_600_000),
        notAfter: new Date(now + 2 * 365 * 86_400_000),
      })
    ).pem;
    return se;
  };
  const keyIdentifier = toHex(parseCertificate(root.pem).subjectKeyIdentifier!);
  return { name, rootPem: root.pem, keyIdentifier, device };
}

let harness: LambdaHarness;
let ownDevice: TestDevice;
let makerB: Awaited<ReturnType<typeof phoneMaker>>;
let makerC: Awaited<ReturnType<typeof phoneMaker>>;

beforeAll(async () => {
  harness = await startLambdaHarness();
  makerB = await phoneMaker("Phone Maker B");
  makerC = await phoneMaker("Phone Maker C");
  // The deployment is configured with maker B's root only: a PEM, no key.
  process.env.TRUSTED_DEVICE_OEM_ROOTS = makerB.rootPem;
  ownDevice = await enrollNewDevice(harness.manufacturer);
}, 120_000);

afterAll(async () => {
  delete process.env.TRUSTED_DEVICE_OEM_ROOTS;
  await harness?.stop();
});

/** A vehicle whose owner key lives on `device` (of whichever maker). */
async function ownedVehicle(device: TestDevice) {
  const { vehicle, enrollment, pairingId } = await enrollNewVehicle();
  const owner = await device.newEndpoint(vehicle.id, "owner");
  const registered = await invoke(keyTracking, ownerRegistrationEvent(device, owner, vehicle, pairingId));
  return { vehicle, owner, registered, enrolled: { json: enrollment } };
}

const der = (pem: string) => toHex(parseCertificate(pem).der);

describe("GET /v1/trust-anchors with another phone maker configured", () => {
  it("keeps deviceOemRoot and vehicleOemRoot and lists every Device OEM root, the service's own first", async () => {
    const answer = await invoke(trustAnchors, apiEvent("GET /v1/trust-anchors"));
    expect(answer.status).toBe(200);
    expect(TrustAnchorsSchema.safeParse(answer.json).success).toBe(true);
    const { deviceOemRoot, vehicleOemRoot, deviceOemRoots } = answer.json;
    expect(parseCertificate(deviceOemRoot).profile).toBe("device-oem-root");
    expect(parseCertificate(vehicleOemRoot).profile).toBe("vehicle-oem-root");
    expect(deviceOemRoots).toHaveLength(2);
    expect(deviceOemRoots[0]).toMatchObject({ origin: "service", organization: "Test Device OEM" });
    expect(der(deviceOemRoots[0].certificate)).toBe(der(deviceOemRoot));
    expect(deviceOemRoots[1]).toMatchObject({ origin: "configured", organization: "Phone Maker B" });
    expect(der(deviceOemRoots[1].certificate)).toBe(der(makerB.rootPem));
    expect(deviceOemRoots[1].keyIdentifier).toBe(
      toHex(parseCertificate(makerB.rootPem).subjectKeyIdentifier!),
    );
  });

  it("gives a car enrolled now the same list, so it opens for phones of both makers", async () => {
    const vehicle = testVehicle();
    const enrolled = await invoke(vehicleEnrollment, vehicleEnrollmentEvent(vehicle));
    expect(enrolled.status).toBe(201);
    const roots = enrolled.json.trustAnchors.deviceOemRoots.map((r: { certificate: string }) =>
      der(r.certificate),
    );
    expect(roots).toContain(der(makerB.rootPem));
    expect(roots).not.toContain(der(makerC.rootPem));
  });
});

describe("key registration from another maker's phone", () => {
  it("registers a friend key whose SE maker B certified (never enrolled here), attested by the owner", async () => {
    const { vehicle, owner, registered } = await ownedVehicle(ownDevice);
    expect(registered.status).toBe(201);
    const friendPhone = await makerB.device(harness);
    const friend = await friendPhone.newEndpoint(vehicle.id, "friend");
    const answer = await invoke(
      keyTracking,
      keyRegistrationEvent(friendPhone, friend, attestFriendKey(owner, friend, vehicle.id)),
    );
    expect(answer.status, JSON.stringify(answer.json)).toBe(201);
    expect(answer.json).toMatchObject({ keyId: friend.keyId, role: "friend", state: "active" });
    const items = await harness.table.scan();
    expect(items.find((i) => i.pk === `VEHICLE#${vehicle.idHex}` && i.sk === "VEHICLE")?.friendKeys).toBe(1);
  });

  it("registers an owner key on a phone of maker B, which then attests a friend on the service's own SE", async () => {
    const ownerPhone = await makerB.device(harness);
    const { vehicle, owner, registered } = await ownedVehicle(ownerPhone);
    expect(registered.status, JSON.stringify(registered.json)).toBe(201);
    expect(registered.json).toMatchObject({ keyId: owner.keyId, role: "owner" });
    const friend = await ownDevice.newEndpoint(vehicle.id, "friend");
    const answer = await invoke(
      keyTracking,
      keyRegistrationEvent(ownDevice, friend, attestFriendKey(owner, friend, vehicle.id)),
    );
    expect(answer.status, JSON.stringify(answer.json)).toBe(201);
  });

  it("refuses a friend key from maker C, whom the service does not trust: 403, typed, nothing written", async () => {
    const { vehicle, owner } = await ownedVehicle(ownDevice);
    const stranger = await makerC.device(harness);
    const friend = await stranger.newEndpoint(vehicle.id, "friend");
    const event = keyRegistrationEvent(stranger, friend, attestFriendKey(owner, friend, vehicle.id));
    const before = await harness.table.scan();
    const answer = await invoke(keyTracking, event);
    expect(answer.status).toBe(403);
    expect(answer.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(answer.json.type).toBe("urn:carkeys:problem:forbidden");
    expect(answer.json.detail).toMatch(/ends at no Device OEM root this service trusts \(2 configured;/);
    expect(await harness.table.scan()).toEqual(before);
    const owned = await invoke(
      keyTracking,
      apiEvent("GET /v1/keys/{keyId}", { iam: true, params: { keyId: friend.keyId } }),
    );
    expect(owned.status).toBe(404);
  });

  it("refuses an owner key from maker C the same way, and spends no pairing material", async () => {
    const stranger = await makerC.device(harness);
    const before = await harness.table.scan();
    const { registered, vehicle } = await ownedVehicle(stranger);
    expect(registered.status).toBe(403);
    expect(registered.json.detail).toMatch(/no Device OEM root this service trusts/);
    // Only the vehicle's enrollment was written: no key, no owner, the pairing material unspent.
    const after = await harness.table.scan();
    const written = after.filter((i) => !before.some((b) => b.pk === i.pk && b.sk === i.sk));
    expect(written.every((i) => String(i.pk).startsWith(`VEHICLE#${vehicle.idHex}`))).toBe(true);
    expect(written.find((i) => i.sk === "VEHICLE")?.owner).toBeUndefined();
  });
});

describe("revoking a key on another maker's phone", () => {
  /** A friend key on a phone of maker B, shared by an owner on the service's own SE, with `profile`. */
  async function foreignFriend(profile?: AccessProfile) {
    const { vehicle, owner } = await ownedVehicle(ownDevice);
    const phone = await makerB.device(harness);
    const friend = await phone.newEndpoint(vehicle.id, "friend");
    const answer = await invoke(
      keyTracking,
      keyRegistrationEvent(phone, friend, attestFriendKey(owner, friend, vehicle.id, profile)),
    );
    expect(answer.status, JSON.stringify(answer.json)).toBe(201);
    return { vehicle, owner, friend };
  }

  const itemsOf = async (keyId: string, vehicleHex: string) => {
    const items = await harness.table.scan();
    return {
      key: items.find((i) => i.sk === "KEY" && i.keyId === keyId),
      notices: items.filter((i) => i.type === "device-notice" && i.keyId === keyId),
      entries: items.filter(
        (i) =>
          i.pk === `VEHICLE#${vehicleHex}` && String(i.sk).startsWith("REVOCATION#") && i.keyId === keyId,
      ),
    };
  };

  const expectForwarded = (events: readonly ServiceEvent[], keyId: string, reason: string) => {
    for (const event of events) PublishedEventSchema.parse(publishedEvent(event));
    expect(events.filter((e) => e.type === "key.revoked" || e.type === "device.notice-issued")).toEqual([]);
    const forwarded = events.filter((e) => e.type === "key.revocation-to-forward");
    expect(forwarded).toHaveLength(1);
    expect(forwarded[0]).toMatchObject({
      keyId,
      detail: { reason, deviceOemRoot: makerB.keyIdentifier, listSequence: expect.any(Number) },
    });
  };

  it("records which maker certified the key, and none for a key on the service's own SE", async () => {
    const { vehicle, owner, friend } = await foreignFriend();
    expect((await itemsOf(friend.keyId, vehicle.idHex)).key?.deviceOemRoot).toBe(makerB.keyIdentifier);
    expect((await itemsOf(owner.keyId, vehicle.idHex)).key?.deviceOemRoot).toBeUndefined();
  });

  it("makes no terminate-key notice it cannot verify, lists the key for the car, and asks the OEM to forward it", async () => {
    const { vehicle, friend } = await foreignFriend();
    const { result: answer, events } = await publishedDuring(() =>
      invoke(
        revocation,
        apiEvent("POST /v1/keys/{keyId}/revocation", { iam: true, params: { keyId: friend.keyId } }),
      ),
    );
    expect(answer.status, JSON.stringify(answer.json)).toBe(201);
    expect(answer.json).toMatchObject({ keyId: friend.keyId, state: "revoked", reason: "oem" });
    expect(answer.json.noticeCounter).toBeUndefined();
    const written = await itemsOf(friend.keyId, vehicle.idHex);
    expect(written.key?.state).toBe("revoked");
    expect(written.notices).toEqual([]);
    expect(written.entries).toHaveLength(1);
    expectForwarded(events, friend.keyId, "oem");
    // A repeat answers the same and publishes nothing.
    const { result: again, events: none } = await publishedDuring(() =>
      invoke(
        revocation,
        apiEvent("POST /v1/keys/{keyId}/revocation", { iam: true, params: { keyId: friend.keyId } }),
      ),
    );
    expect(again.status).toBe(200);
    expect(none).toEqual([]);
  });

  it("stops such a key at its end by the sweep the same way: no notice, the forward with reason expired", async () => {
    const { vehicle, friend } = await foreignFriend({
      kind: "full",
      validUntil: Math.floor(Date.now() / 1000) - 60,
    });
    const context = { getRemainingTimeInMillis: () => 300_000 } as unknown as Context;
    const { result: report, events } = await publishedDuring(
      async () =>
        (await expirySweep({ source: "aws.events" }, context)) as { revoked: number; failed: number },
    );
    expect(report.failed).toBe(0);
    expect(report.revoked).toBeGreaterThanOrEqual(1);
    const written = await itemsOf(friend.keyId, vehicle.idHex);
    expect(written.key?.revocation).toMatchObject({ reason: "expired", revokedBy: "expiry-sweep" });
    expect((written.key!.revocation as { noticeCounter?: number }).noticeCounter).toBeUndefined();
    expect(written.notices).toEqual([]);
    expect(written.entries).toHaveLength(1);
    expectForwarded(
      events.filter((e) => e.keyId === friend.keyId),
      friend.keyId,
      "expired",
    );
  });
});

describe("TRUSTED_DEVICE_OEM_ROOTS", () => {
  const base = () => ({ ...process.env }) as Record<string, string | undefined>;

  it("refuses a bundle that is not Device OEM roots, naming the variable and the certificate", async () => {
    const oem = await EmulatedOem.create("Not A Phone Maker");
    await expect(
      buildService({ ...base(), TRUSTED_DEVICE_OEM_ROOTS: oem.trustAnchors.vehicleOemRoot }),
    ).rejects.toThrow(
      /TRUSTED_DEVICE_OEM_ROOTS certificate 1 .* is not a Device OEM root certificate: its policy names vehicle-oem-root/,
    );
    await expect(buildService({ ...base(), TRUSTED_DEVICE_OEM_ROOTS: "garbage" })).rejects.toThrow(
      ConfigurationError,
    );
    const tampered = makerB.rootPem.replace(/(\n[A-Za-z0-9+/]{10})[A-Za-z0-9+/]/, "$1A");
    await expect(buildService({ ...base(), TRUSTED_DEVICE_OEM_ROOTS: tampered })).rejects.toThrow(
      /TRUSTED_DEVICE_OEM_ROOTS certificate 1/,
    );
  });

  it("takes several roots, with or without newlines between them", async () => {
    const both = `${makerB.rootPem}${makerC.rootPem}`.replace(/\n/g, " ");
    const service = await buildService({ ...base(), TRUSTED_DEVICE_OEM_ROOTS: both });
    const anchors = await service.roots.trustAnchors();
    expect(anchors.deviceOemRoots.map((r) => r.organization)).toEqual([
      "Test Device OEM",
      "Phone Maker B",
      "Phone Maker C",
    ]);
  });
});
