// The key-lifecycle story with the real emulators, in process, through the Lambda
// handlers against DynamoDB Local: the SE emulator signs its own requests
// (signServiceRequest) and applies the notices the service signs; the car
// emulator applies the revocation list and the lost-mode notices the OEM
// fetches for it. Owner pairs, two friends get keys, the owner revokes one
// remotely, the friend's SE syncs and terminates it (the service confirms),
// the car syncs and refuses it, lost mode suspends and resumes the owner's
// phone on the SE and in the car, a new phone takes over the owner key, and
// the other friend's key keeps working.
import "../support/quiet-logs.js";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { afterAll, beforeAll, expect, it } from "vitest";
import { handler as deviceEnrollment } from "../../functions/device-enrollment.js";
import { handler as keyTracking } from "../../functions/key-tracking.js";
import { handler as notices } from "../../functions/notices.js";
import { handler as revocation } from "../../functions/revocation.js";
import { handler as revocationList } from "../../functions/revocation-list.js";
import { handler as trustAnchors } from "../../functions/trust-anchors.js";
import { handler as vehicleEnrollment } from "../../functions/vehicle-enrollment.js";
import { signedRequestHeaders } from "../../src/client/signed-fetch.js";
import { SecureElement } from "../../src/emulator/secure-element/secure-element.js";
import { tap } from "../../src/emulator/tap.js";
import { Vehicle } from "../../src/emulator/vehicle/vehicle.js";
import { fromHex, toHex } from "../../src/protocol/bytes.js";
import type { RequestSigner } from "../../src/protocol/request-signature.js";
import { signedEvent } from "../support/api-requests.js";
import { createFriendKeyFor } from "../support/emulated-pki.js";
import { apiEvent, invoke, type LambdaHarness, startLambdaHarness } from "../support/lambda-harness.js";

let harness: LambdaHarness;

beforeAll(async () => {
  harness = await startLambdaHarness();
}, 120_000);

afterAll(async () => {
  await harness?.stop();
});

/** Signs as the SE does (the client's header builder): only the canonical request, with the key `signer` names. */
function seSigner(se: SecureElement, signer: RequestSigner) {
  return (o: { method: string; path: string; body: Uint8Array | string }) =>
    signedRequestHeaders(se, signer, {
      method: o.method,
      path: o.path,
      body: typeof o.body === "string" ? new TextEncoder().encode(o.body) : o.body,
    });
}

async function ok(handler: Parameters<typeof invoke>[0], event: APIGatewayProxyEventV2, status = [200, 201]) {
  const answer = await invoke(handler, event);
  expect(status, `${event.routeKey}: ${JSON.stringify(answer.json)}`).toContain(answer.status);
  return answer.json;
}

/** The wallet syncs: fetches its notices after its counter, applies each, posts any termination attestation. */
async function sync(se: SecureElement, after: number): Promise<{ actions: string[]; counter: number }> {
  const fetched = await ok(
    notices,
    signedEvent("GET /v1/devices/{seId}/notices", undefined, seSigner(se, `instance:${se.seId}`), {
      params: { seId: se.seId },
      query: `after=${after}`,
    }),
  );
  const actions: string[] = [];
  let counter = after;
  for (const n of fetched.notices as { notice: string; keyId?: string }[]) {
    const applied = se.applyNotice(fromHex(n.notice));
    actions.push(applied.action);
    counter = applied.counter;
    if (applied.terminationAttestation) {
      const confirmed = await ok(
        revocation,
        signedEvent(
          "POST /v1/keys/{keyId}/termination",
          { attestation: toHex(applied.terminationAttestation) },
          seSigner(se, `instance:${se.seId}`),
          { params: { keyId: n.keyId! } },
        ),
      );
      expect(confirmed.state).toBe("terminated");
    }
  }
  return { actions, counter };
}

it("revocation, lost mode and migration, end to end with the emulators", async () => {
  const anchors = await ok(trustAnchors, apiEvent("GET /v1/trust-anchors"));
  const enrollPhone = async () => {
    const { se } = SecureElement.create({ manufacturer: harness.manufacturer });
    const body = {
      seId: se.seId,
      instanceCaPublicKey: toHex(se.instanceCaPublicKey),
      factoryAttestation: toHex(se.factoryAttestation!),
    };
    const answer = await ok(
      deviceEnrollment,
      signedEvent("POST /v1/devices", body, seSigner(se, `instance:${se.seId}`)),
    );
    se.installCertificates({
      instanceCaCertificate: answer.instanceCaCertificate,
      deviceOemRoot: anchors.deviceOemRoot,
      vehicleOemRoot: anchors.vehicleOemRoot,
    });
    return se;
  };
  const ownerPhone = await enrollPhone();
  const friendPhone = await enrollPhone();
  const friend2Phone = await enrollPhone();

  const car = Vehicle.create();
  const vehicleId = toHex(car.vehicleIdentifier);
  const enrolled = await ok(
    vehicleEnrollment,
    apiEvent("POST /v1/vehicles", { iam: true, body: { vehicleId, vehiclePublicKey: toHex(car.publicKey) } }),
  );
  car.installCertificates({
    vehicleCertificate: enrolled.vehicleCertificate,
    vehicleOemRoot: enrolled.trustAnchors.vehicleOemRoot,
    deviceOemRoots: [enrolled.trustAnchors.deviceOemRoot],
  });

  const pair = async (
    se: SecureElement,
    material: { password: string; pairingId: string; verifier: Record<string, string | number> },
  ) => {
    const v = material.verifier;
    car.provisionPairingVerifier(
      {
        w0: fromHex(v.w0 as string),
        L: fromHex(v.L as string),
        salt: fromHex(v.salt as string),
        N: v.N as number,
        r: v.r as number,
        p: v.p as number,
      },
      material.pairingId,
    );
    se.enterPairingPassword(material.password);
    const paired = await car.pair((command) => se.transceive(command));
    se.fieldLost();
    await ok(
      keyTracking,
      signedEvent(
        "POST /v1/keys",
        {
          ...se.certificateChain(paired.keyId),
          pairingConfirmation: toHex(se.pairingConfirmation(paired.keyId)!),
        },
        seSigner(se, `endpoint:${paired.keyId}`),
      ),
    );
    return paired.keyId;
  };
  const ownerKeyId = await pair(ownerPhone, enrolled.pairing);
  expect(await tap(ownerPhone, car.doorHandle, { intent: "unlock" })).toMatchObject({ decision: "unlocked" });

  const share = async (friendSe: SecureElement) => {
    const request = await createFriendKeyFor(ownerPhone, ownerKeyId, friendSe, { kind: "unlock-only" });
    ownerPhone.authenticateUser();
    const attestation = ownerPhone.attestFriendKey(ownerKeyId, request, { kind: "unlock-only" });
    friendSe.installKeyAttestation(request.keyId, attestation);
    await ok(
      keyTracking,
      signedEvent(
        "POST /v1/keys",
        { ...friendSe.certificateChain(request.keyId), keyAttestation: toHex(attestation) },
        seSigner(friendSe, `endpoint:${request.keyId}`),
      ),
    );
    return request.keyId;
  };
  const friendKeyId = await share(friendPhone);
  const friend2KeyId = await share(friend2Phone);
  expect(await tap(friendPhone, car.doorHandle, { intent: "unlock" })).toMatchObject({
    decision: "unlocked",
    keyId: friendKeyId,
  });

  // The owner revokes the friend's key remotely: the SE signs, the service records.
  const statement = ownerPhone.revokeFriendKey(ownerKeyId, friendKeyId);
  const revoked = await ok(
    revocation,
    signedEvent(
      "POST /v1/revocations",
      { revocation: toHex(statement) },
      seSigner(ownerPhone, `endpoint:${ownerKeyId}`),
    ),
  );
  expect(revoked).toMatchObject({ keyId: friendKeyId, state: "revoked" });

  // The friend's phone syncs: its SE deletes the key and the service records the termination.
  expect(await sync(friendPhone, 0)).toEqual({ actions: ["terminate-key"], counter: 1 });
  expect(friendPhone.listKeys().map((k) => k.keyId)).not.toContain(friendKeyId);

  // The car syncs through the OEM's telematics and drops the key; the same list again is refused.
  const listed = await ok(
    revocationList,
    apiEvent("GET /v1/vehicles/{vehicleId}/revocations", {
      iam: true,
      params: { vehicleId },
      query: "after=0",
    }),
  );
  expect(car.applyRevocationList(fromHex(listed.list))).toEqual({ sequence: 1, keyIds: [friendKeyId] });
  expect(() => car.applyRevocationList(fromHex(listed.list))).toThrow("stale revocation list");
  expect(car.keys().map((k) => k.keyId)).not.toContain(friendKeyId);
  expect(car.exportState().revoked).toContainEqual(
    expect.objectContaining({ keyId: friendKeyId, reason: "revocation-list" }),
  );
  expect(await tap(friendPhone, car.doorHandle, { intent: "unlock" })).toMatchObject({ decision: "refused" });

  // Lost mode: the owner's phone is suspended on the SE and in the car, then resumed.
  const lostMode = (action: string) =>
    ok(
      notices,
      apiEvent("POST /v1/devices/{seId}/lost-mode", {
        iam: true,
        params: { seId: ownerPhone.seId },
        body: { action },
      }),
    );
  let vehicleCursor = 0;
  const carSync = async () => {
    const fetched = await ok(
      notices,
      apiEvent("GET /v1/vehicles/{vehicleId}/notices", {
        iam: true,
        params: { vehicleId },
        query: `after=${vehicleCursor}`,
      }),
    );
    for (const n of fetched.notices as { notice: string; sequence: number }[]) {
      car.applyNotice(fromHex(n.notice));
      vehicleCursor = n.sequence;
    }
  };
  await lostMode("suspend");
  expect((await sync(ownerPhone, 0)).actions).toEqual(["suspend"]);
  expect(ownerPhone.isLocked).toBe(true);
  await carSync();
  ownerPhone.unlock(); // even a phone that ignored the notice is refused by the car
  expect(await tap(ownerPhone, car.doorHandle, { intent: "lock" })).toMatchObject({
    decision: "refused",
    reason: "key suspended (lost mode)",
  });
  ownerPhone.lock();
  await lostMode("resume");
  expect((await sync(ownerPhone, 1)).actions).toEqual(["resume"]);
  await carSync();
  expect(await tap(ownerPhone, car.doorHandle, { intent: "lock" })).toMatchObject({ decision: "locked" });

  // Migration: a new phone pairs with new material; the old owner key is terminated through its notice.
  const newPhone = await enrollPhone();
  const material = await ok(
    vehicleEnrollment,
    apiEvent("POST /v1/vehicles/{vehicleId}/pairing", { iam: true, params: { vehicleId } }),
  );
  const newOwnerKeyId = await pair(newPhone, material.pairing);
  expect((await sync(ownerPhone, 2)).actions).toEqual(["terminate-key"]);
  expect(ownerPhone.listKeys()).toEqual([]);
  const oldOwner = await ok(
    keyTracking,
    apiEvent("GET /v1/keys/{keyId}", { iam: true, params: { keyId: ownerKeyId } }),
  );
  expect(oldOwner.keyId).toBe(ownerKeyId);
  expect(await tap(newPhone, car.doorHandle, { intent: "unlock" })).toMatchObject({
    decision: "unlocked",
    keyId: newOwnerKeyId,
  });
  // The other friend never did anything: its key still works.
  expect(await tap(friend2Phone, car.doorHandle, { intent: "lock" })).toMatchObject({
    decision: "locked",
    keyId: friend2KeyId,
  });
}, 120_000);
