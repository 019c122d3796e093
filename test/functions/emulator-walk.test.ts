// The cloud service issuing the real emulators' PKI, through the handlers:
// the SE emulator enrolls with its factory attestation and signs its requests
// itself (signServiceRequest), the vehicle emulator installs the certificate
// and the pairing verifier the service returns, the owner pairs over NFC
// with the password the service returned, and both the owner's and a
// friend's key (shared offline, attested by the owner's SE) are registered.
// It proves the formats agree end to end; the store is the in-process fake
// here (the DynamoDB adapter has its own tests against DynamoDB Local).
import "../support/quiet-logs.js";
import { describe, expect, it } from "vitest";
import { signedRequestHeaders } from "../../src/client/signed-fetch.js";
import { SecureElement } from "../../src/emulator/secure-element/secure-element.js";
import { Vehicle } from "../../src/emulator/vehicle/vehicle.js";
import { fromHex, toHex } from "../../src/protocol/bytes.js";
import type { RequestSigner } from "../../src/protocol/request-signature.js";
import { signedEvent } from "../support/api-requests.js";
import { createFriendKeyFor } from "../support/emulated-pki.js";
import { apiEvent, invoke } from "../support/lambda-harness.js";
import { serviceHandlers } from "../support/service-handlers.js";
import { testService } from "../support/test-service.js";

/** Signs as the SE does (the client's header builder): only the canonical request, with the key `signer` names. */
function seSigner(se: SecureElement, signer: RequestSigner) {
  return (o: { method: string; path: string; body: Uint8Array | string }) =>
    signedRequestHeaders(se, signer, {
      method: o.method,
      path: o.path,
      body: typeof o.body === "string" ? new TextEncoder().encode(o.body) : o.body,
    });
}

describe("the service and the emulators", () => {
  it("enrolls SEs and a vehicle, pairs the owner with the returned password, registers owner and friend keys", async () => {
    const t = testService();
    const { deviceEnrollment, keyTracking, trustAnchors, vehicleEnrollment } = serviceHandlers(t.service);
    const anchors = (await invoke(trustAnchors, apiEvent("GET /v1/trust-anchors"))).json;

    const enroll = async () => {
      const { se } = SecureElement.create({ manufacturer: t.manufacturer });
      const body = {
        seId: se.seId,
        instanceCaPublicKey: toHex(se.instanceCaPublicKey),
        factoryAttestation: toHex(se.factoryAttestation!),
      };
      const answer = await invoke(
        deviceEnrollment,
        signedEvent("POST /v1/devices", body, seSigner(se, `instance:${se.seId}`)),
      );
      expect(answer.status).toBe(201);
      se.installCertificates({
        instanceCaCertificate: answer.json.instanceCaCertificate,
        deviceOemRoot: anchors.deviceOemRoot,
        vehicleOemRoot: anchors.vehicleOemRoot,
      });
      return se;
    };
    const ownerPhone = await enroll();
    const friendPhone = await enroll();

    const car = Vehicle.create();
    const enrolled = await invoke(
      vehicleEnrollment,
      apiEvent("POST /v1/vehicles", {
        iam: true,
        body: { vehicleId: toHex(car.vehicleIdentifier), vehiclePublicKey: toHex(car.publicKey) },
      }),
    );
    expect(enrolled.status).toBe(201);
    car.installCertificates({
      vehicleCertificate: enrolled.json.vehicleCertificate,
      vehicleOemRoot: enrolled.json.trustAnchors.vehicleOemRoot,
      deviceOemRoots: [enrolled.json.trustAnchors.deviceOemRoot],
    });
    const v = enrolled.json.pairing.verifier;
    car.provisionPairingVerifier(
      {
        w0: fromHex(v.w0),
        L: fromHex(v.L),
        salt: fromHex(v.salt),
        N: v.N,
        r: v.r,
        p: v.p,
      },
      enrolled.json.pairing.pairingId,
    );
    ownerPhone.enterPairingPassword(enrolled.json.pairing.password);
    const paired = await car.pair((command) => ownerPhone.transceive(command));
    ownerPhone.fieldLost();

    const register = (se: SecureElement, keyId: string, keyAttestation?: Uint8Array) =>
      invoke(
        keyTracking,
        signedEvent(
          "POST /v1/keys",
          {
            ...se.certificateChain(keyId),
            ...(keyAttestation ? { keyAttestation: toHex(keyAttestation) } : {}),
            // An owner key carries the car's confirmation, which the SE kept from pairing.
            ...(se.pairingConfirmation(keyId)
              ? { pairingConfirmation: toHex(se.pairingConfirmation(keyId)!) }
              : {}),
          },
          seSigner(se, `endpoint:${keyId}`),
        ),
      );
    const owner = await register(ownerPhone, paired.keyId);
    expect(owner.status).toBe(201);
    expect(owner.json).toMatchObject({
      keyId: paired.keyId,
      role: "owner",
      vehicleId: toHex(car.vehicleIdentifier),
    });

    const request = await createFriendKeyFor(ownerPhone, paired.keyId, friendPhone, { kind: "unlock-only" });
    ownerPhone.authenticateUser();
    const attestation = ownerPhone.attestFriendKey(paired.keyId, request, { kind: "unlock-only" });
    friendPhone.installKeyAttestation(request.keyId, attestation);
    const friend = await register(friendPhone, request.keyId, attestation);
    expect(friend.status).toBe(201);
    expect(friend.json).toMatchObject({
      role: "friend",
      profile: { kind: "unlock-only" },
    });
    expect(friend.json).not.toHaveProperty("ownerKeyId");
  });
});
