// Bad input on every route: malformed JSON, wrong types,
// unknown fields, oversize bodies, the wrong media type, missing OEM
// authorization, bad and stale signatures, replayed nonces, unknown and
// malformed ids, untrusted evidence. Each answers a 4xx
// application/problem+json with a clear `detail` — never a 500 — and the
// table is scanned before and after to prove nothing was written. A
// fast-check pass throws random bodies and headers at every POST route.
import "../support/quiet-logs.js";
import type { APIGatewayProxyEventV2, APIGatewayProxyHandlerV2 } from "aws-lambda";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { handler as deviceEnrollment } from "../../functions/device-enrollment.js";
import { handler as keyTracking } from "../../functions/key-tracking.js";
import { handler as trustAnchors } from "../../functions/trust-anchors.js";
import { handler as vehicleEnrollment } from "../../functions/vehicle-enrollment.js";
import { MAX_BODY_BYTES } from "../../src/api/route-contract.js";
import { toHex } from "../../src/protocol/bytes.js";
import { generateKeyPair } from "../../src/protocol/p256.js";
import { logger } from "../../src/service/logger.js";
import {
  deviceEnrollmentEvent,
  keyRegistrationBody,
  keyRegistrationEvent,
  ownerRegistrationEvent,
  signedEvent,
  vehicleEnrollmentEvent,
} from "../support/api-requests.js";
import { apiEvent, invoke, type LambdaHarness, startLambdaHarness } from "../support/lambda-harness.js";
import { enrollNewDevice } from "../support/lambda-parties.js";
import {
  attestFriendKey,
  confirmPairing,
  TestDevice,
  type TestEndpoint,
  testManufacturer,
  testVehicle,
} from "../support/test-device.js";

let harness: LambdaHarness;
let device: TestDevice;
let vehicle: ReturnType<typeof testVehicle>;
let owner: TestEndpoint;
let ownerlessVehicle: ReturnType<typeof testVehicle>;
/** The pairing material the owner's registration spent. */
let ownerPairingId: string;
let ownerlessPairingId: string;

/** Invokes, expects `status` as problem+json with a useful detail, and checks nothing was written. */
async function refused(
  handler: APIGatewayProxyHandlerV2,
  event: APIGatewayProxyEventV2,
  status: number,
  detail: string | RegExp,
): Promise<Record<string, unknown>> {
  const before = await harness.table.scan();
  const answer = await invoke(handler, event);
  expect(answer.status, JSON.stringify(answer.json)).toBe(status);
  expect(answer.headers["content-type"]).toBe("application/problem+json");
  expect(answer.json).toMatchObject({ status, type: expect.stringMatching(/^urn:carkeys:problem:/) });
  expect(answer.json.detail).toMatch(detail);
  expect(answer.json.title).toEqual(expect.any(String));
  expect(await harness.table.scan()).toEqual(before);
  return answer.json;
}

const oversize = "x".repeat(MAX_BODY_BYTES + 1);

/**
 * `pem` with its validity's first time retagged UTCTime → OCTET STRING (same length): every length still
 * right, so the splitter takes it, but not an X.509 Validity, which the DER reader refuses by name.
 */
function undecodable(pem: string): string {
  const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ""), "base64");
  const at = der.indexOf(Buffer.from([0x30, 0x1e, 0x17, 0x0d]));
  expect(at).toBeGreaterThan(0);
  der[at + 2] = 0x04;
  const lines = der
    .toString("base64")
    .match(/.{1,64}/g)!
    .join("\n");
  return `-----BEGIN CERTIFICATE-----\n${lines}\n-----END CERTIFICATE-----\n`;
}

beforeAll(async () => {
  harness = await startLambdaHarness();
  device = await enrollNewDevice(harness.manufacturer);
  vehicle = testVehicle();
  ownerlessVehicle = testVehicle();
  ownerlessPairingId = "";
  const car = await invoke(vehicleEnrollment, vehicleEnrollmentEvent(vehicle));
  expect(car.status).toBe(201);
  const ownerless = await invoke(vehicleEnrollment, vehicleEnrollmentEvent(ownerlessVehicle));
  expect(ownerless.status).toBe(201);
  ownerlessPairingId = ownerless.json.pairing.pairingId;
  owner = await device.newEndpoint(vehicle.id, "owner");
  ownerPairingId = car.json.pairing.pairingId;
  expect(
    (await invoke(keyTracking, ownerRegistrationEvent(device, owner, vehicle, ownerPairingId))).status,
  ).toBe(201);
});

afterAll(async () => {
  await harness?.stop();
});

describe("every route", () => {
  it("refuses a route key the function does not serve (404)", async () => {
    await refused(
      trustAnchors,
      apiEvent("GET /v1/keys/{keyId}", { params: { keyId: "00" } }),
      404,
      "no route",
    );
  });

  it("refuses oversize bodies (413), before parsing, in text and in base64", async () => {
    const cases: [APIGatewayProxyHandlerV2, string][] = [
      [trustAnchors, "GET /v1/trust-anchors"],
      [deviceEnrollment, "POST /v1/devices"],
      [vehicleEnrollment, "POST /v1/vehicles"],
      [vehicleEnrollment, "POST /v1/vehicles/{vehicleId}/pairing"],
      [keyTracking, "POST /v1/keys"],
      [keyTracking, "GET /v1/keys/{keyId}"],
      [keyTracking, "GET /v1/vehicles/{vehicleId}/keys"],
    ];
    const params = { vehicleId: vehicle.idHex, keyId: owner.keyId };
    for (const [handler, routeKey] of cases) {
      await refused(
        handler,
        apiEvent(routeKey, { iam: true, params, body: oversize }),
        413,
        "over 65536 bytes",
      );
      await refused(
        handler,
        apiEvent(routeKey, { iam: true, params, body: oversize, base64: true }),
        413,
        "over 65536 bytes",
      );
    }
  });

  it("takes a body of exactly 64 KiB to the next check", async () => {
    const body = `{"seId":"${"a".repeat(MAX_BODY_BYTES - 11)}"}`;
    expect(body.length).toBe(MAX_BODY_BYTES);
    await refused(deviceEnrollment, apiEvent("POST /v1/devices", { body }), 400, "body.seId");
  });
});

describe("POST /v1/devices", () => {
  const route = "POST /v1/devices";

  it("refuses malformed JSON, wrong types, missing and unknown fields (400)", async () => {
    const fresh = new TestDevice(harness.manufacturer);
    await refused(
      deviceEnrollment,
      signedEvent(route, '{"seId":', (o) => fresh.signAsInstance(o)),
      400,
      "not valid JSON",
    );
    const notAnObject = await refused(
      deviceEnrollment,
      signedEvent(route, "[1,2]", (o) => fresh.signAsInstance(o)),
      400,
      "expected object",
    );
    // zod's own English message (src/api/validation-messages.ts), not zod/mini's bare "Invalid input".
    expect(notAnObject.errors).toEqual([
      { path: "body", message: "Invalid input: expected object, received array" },
    ]);
    await refused(
      deviceEnrollment,
      deviceEnrollmentEvent(fresh, { ...fresh.enrollmentBody(), seId: 42 }),
      400,
      "body.seId",
    );
    await refused(
      deviceEnrollment,
      deviceEnrollmentEvent(fresh, { seId: fresh.seId }),
      400,
      /body\.instanceCaPublicKey.*body\.factoryAttestation|body\.factoryAttestation/,
    );
    await refused(
      deviceEnrollment,
      deviceEnrollmentEvent(fresh, { ...fresh.enrollmentBody(), admin: true }),
      400,
      "unknown field(s): admin",
    );
    await refused(deviceEnrollment, apiEvent(route, {}), 400, "a JSON request body is required");
    await refused(
      deviceEnrollment,
      signedEvent(route, Uint8Array.of(0x7b, 0xff, 0x7d), (o) => fresh.signAsInstance(o), { base64: true }),
      400,
      "not valid UTF-8",
    );
  });

  it("refuses a body that is not declared JSON (415)", async () => {
    const fresh = new TestDevice(harness.manufacturer);
    await refused(
      deviceEnrollment,
      deviceEnrollmentEvent(fresh, undefined, { headers: { "content-type": "text/plain" } }),
      415,
      "must be JSON",
    );
  });

  it("refuses missing, bad and stale signatures (401)", async () => {
    const fresh = new TestDevice(harness.manufacturer);
    await refused(
      deviceEnrollment,
      apiEvent(route, { body: fresh.enrollmentBody() }),
      401,
      "missing carkey-signer",
    );
    const event = deviceEnrollmentEvent(fresh);
    event.headers["carkey-signature"] = "00".repeat(64);
    await refused(deviceEnrollment, event, 401, "does not verify");
    await refused(
      deviceEnrollment,
      deviceEnrollmentEvent(fresh, undefined, { sign: { timestamp: Date.now() - 6 * 60_000 } }),
      401,
      "more than 5 minutes",
    );
    // Signed over another body than the one sent.
    const swapped = deviceEnrollmentEvent(fresh);
    swapped.body = JSON.stringify({ ...fresh.enrollmentBody(), factoryAttestation: "00" });
    await refused(deviceEnrollment, swapped, 401, "does not verify");
    // Signed over another path.
    await refused(
      deviceEnrollment,
      deviceEnrollmentEvent(fresh, undefined, { query: "a=1", sign: { path: "/v1/devices" } }),
      401,
      "does not verify",
    );
  });

  it("refuses a replayed request (401), even one that succeeded", async () => {
    const fresh = new TestDevice(harness.manufacturer);
    const event = deviceEnrollmentEvent(fresh);
    expect((await invoke(deviceEnrollment, structuredClone(event))).status).toBe(201);
    const json = await refused(deviceEnrollment, event, 401, "already used");
    expect(json.type).toBe("urn:carkeys:problem:replay");
  });

  it("refuses untrusted evidence (403) and impossible values (400)", async () => {
    const stranger = new TestDevice(testManufacturer());
    await refused(deviceEnrollment, deviceEnrollmentEvent(stranger), 403, "not signed by the configured");
    const fresh = new TestDevice(harness.manufacturer);
    const offCurve = `04${"00".repeat(64)}`;
    await refused(
      deviceEnrollment,
      deviceEnrollmentEvent(fresh, { ...fresh.enrollmentBody(), instanceCaPublicKey: offCurve }),
      400,
      "not a valid P-256 public key",
    );
    await refused(
      deviceEnrollment,
      deviceEnrollmentEvent(fresh, { ...fresh.enrollmentBody(), factoryAttestation: "7000" }),
      400,
      "body.factoryAttestation",
    );
  });
});

describe("POST /v1/vehicles", () => {
  const route = "POST /v1/vehicles";

  it("refuses a request without OEM authorization (401)", async () => {
    const v = testVehicle();
    const event = vehicleEnrollmentEvent(v);
    delete (event.requestContext as { authorizer?: unknown }).authorizer;
    await refused(vehicleEnrollment, event, 401, "needs OEM authorization");
  });

  it("refuses malformed JSON, wrong types and bad values (400)", async () => {
    const key = toHex(generateKeyPair().publicKey);
    await refused(vehicleEnrollment, apiEvent(route, { iam: true, body: "{,}" }), 400, "not valid JSON");
    await refused(
      vehicleEnrollment,
      apiEvent(route, { iam: true, body: { vehicleId: 12, vehiclePublicKey: key } }),
      400,
      "body.vehicleId",
    );
    await refused(
      vehicleEnrollment,
      apiEvent(route, { iam: true, body: { vehicleId: "00".repeat(7), vehiclePublicKey: key } }),
      400,
      "8 to 32 bytes",
    );
    await refused(
      vehicleEnrollment,
      apiEvent(route, { iam: true, body: { vehicleId: "AB".repeat(8), vehiclePublicKey: key } }),
      400,
      "lower-case hex",
    );
    await refused(
      vehicleEnrollment,
      apiEvent(route, {
        iam: true,
        body: { vehicleId: "00".repeat(8), vehiclePublicKey: key, pairingValidityHours: 10_000 },
      }),
      400,
      "body.pairingValidityHours",
    );
    await refused(
      vehicleEnrollment,
      apiEvent(route, {
        iam: true,
        body: { vehicleId: "00".repeat(8), vehiclePublicKey: `04${"00".repeat(64)}` },
      }),
      400,
      "not a valid P-256 public key",
    );
  });

  it("refuses the same vehicle with another key (409)", async () => {
    await refused(
      vehicleEnrollment,
      vehicleEnrollmentEvent({ idHex: vehicle.idHex, keyPair: generateKeyPair() }),
      409,
      "already enrolled with another public key",
    );
  });
});

describe("POST /v1/vehicles/{vehicleId}/pairing", () => {
  const route = "POST /v1/vehicles/{vehicleId}/pairing";

  it("refuses unknown (404) and malformed (400) vehicles, and no authorization (401)", async () => {
    await refused(
      vehicleEnrollment,
      apiEvent(route, { iam: true, params: { vehicleId: "00".repeat(8) } }),
      404,
      "not enrolled",
    );
    await refused(
      vehicleEnrollment,
      apiEvent(route, { iam: true, params: { vehicleId: "xyz" } }),
      400,
      "params.vehicleId",
    );
    await refused(
      vehicleEnrollment,
      apiEvent(route, { params: { vehicleId: ownerlessVehicle.idHex } }),
      401,
      "OEM authorization",
    );
  });

  it("refuses malformed JSON and wrong types in its optional body (400)", async () => {
    const params = { vehicleId: ownerlessVehicle.idHex };
    await refused(
      vehicleEnrollment,
      apiEvent(route, { iam: true, params, body: "{" }),
      400,
      "not valid JSON",
    );
    await refused(
      vehicleEnrollment,
      apiEvent(route, { iam: true, params, body: { pairingValidityHours: "1" } }),
      400,
      "body.pairingValidityHours",
    );
  });
});

describe("POST /v1/keys", () => {
  const route = "POST /v1/keys";

  it("refuses malformed JSON, wrong types and unknown fields (400)", async () => {
    const key = await device.newEndpoint(ownerlessVehicle.id, "owner");
    await refused(
      keyTracking,
      signedEvent(route, "nope", (o) => key.sign(o)),
      400,
      "not valid JSON",
    );
    await refused(
      keyTracking,
      signedEvent(route, { endpointCertificate: 1 }, (o) => key.sign(o)),
      400,
      "body.endpointCertificate",
    );
    await refused(
      keyTracking,
      signedEvent(route, { ...keyRegistrationBody(device, key), role: "owner" }, (o) => key.sign(o)),
      400,
      "unknown field(s): role",
    );
    await refused(
      keyTracking,
      signedEvent(route, { ...keyRegistrationBody(device, key), endpointCertificate: "not a pem" }, (o) =>
        key.sign(o),
      ),
      400,
      "one PEM CERTIFICATE block",
    );
  });

  it("names the certificate that does not decode and the field of it that is not DER, and logs the refusal", async () => {
    const key = await device.newEndpoint(ownerlessVehicle.id, "owner");
    const info = vi.spyOn(logger, "info");
    try {
      for (const [field, body] of [
        [
          "body.endpointCertificate",
          { ...keyRegistrationBody(device, key), endpointCertificate: undecodable(key.certificatePem) },
        ],
        [
          "body.instanceCaCertificate",
          {
            ...keyRegistrationBody(device, key),
            instanceCaCertificate: undecodable(device.instanceCaCertificatePem!),
          },
        ],
      ] as const) {
        info.mockClear();
        const problem = await refused(
          keyTracking,
          signedEvent(route, body, (o) => key.sign(o)),
          400,
          `${field}: malformed: notBefore must be a UTCTime or GeneralizedTime`,
        );
        // The reader's words name the certificate's field, and nothing of a decoder's internals reaches the client ...
        expect(JSON.stringify(problem)).not.toMatch(/ASN\.?1|schema|DataView|offset|buffer|stack/i);
        expect(problem.errors).toEqual([
          { path: field, message: "malformed: notBefore must be a UTCTime or GeneralizedTime" },
        ]);
        // ... and the refusal is in the log, for the operator.
        const refusal = info.mock.calls.find(([message]) => message === "request refused");
        expect(JSON.stringify(refusal?.[1])).toMatch(/notBefore must be a UTCTime/);
      }
    } finally {
      info.mockRestore();
    }
  });

  it("refuses bad, stale and replayed signatures (401)", async () => {
    const key = await device.newEndpoint(ownerlessVehicle.id, "owner");
    const forged = keyRegistrationEvent(device, key);
    forged.headers["carkey-signature"] = "11".repeat(64);
    await refused(keyTracking, forged, 401, "does not verify");
    await refused(
      keyTracking,
      keyRegistrationEvent(device, key, undefined, { sign: { timestamp: Date.now() + 10 * 60_000 } }),
      401,
      "more than 5 minutes",
    );
    const other = await device.newEndpoint(ownerlessVehicle.id, "owner");
    await refused(
      keyTracking,
      signedEvent(route, keyRegistrationBody(device, key), (o) => other.sign(o)),
      401,
      `carkey-signer must be endpoint:${key.keyId}`,
    );
    const replayed = ownerRegistrationEvent(device, key, ownerlessVehicle, ownerlessPairingId);
    expect((await invoke(keyTracking, structuredClone(replayed))).status).toBe(201);
    await refused(keyTracking, replayed, 401, "already used");
  });

  it("refuses an owner key the car did not confirm: none (400), another key's, another signer's (403)", async () => {
    const car = testVehicle();
    const enrolled = await invoke(vehicleEnrollment, vehicleEnrollmentEvent(car));
    const pairingId: string = enrolled.json.pairing.pairingId;
    const key = await device.newEndpoint(car.id, "owner");
    await refused(
      keyTracking,
      keyRegistrationEvent(device, key),
      400,
      "needs the vehicle's pairingConfirmation",
    );
    const honest = await device.newEndpoint(car.id, "owner");
    await refused(
      keyTracking,
      keyRegistrationEvent(device, key, undefined, {
        pairingConfirmation: confirmPairing(car.keyPair, { pairingId, vehicleId: car.id, endpoint: honest }),
      }),
      403,
      "for another key than the endpoint certificate",
    );
    await refused(
      keyTracking,
      ownerRegistrationEvent(device, key, { id: car.id, keyPair: testVehicle().keyPair }, pairingId),
      403,
      "not from the vehicle",
    );
    await refused(
      keyTracking,
      keyRegistrationEvent(device, key, undefined, { pairingConfirmation: Uint8Array.of(0x70, 0x00) }),
      400,
      "body.pairingConfirmation",
    );
    // The car's own confirmation for this key registers it.
    expect((await invoke(keyTracking, ownerRegistrationEvent(device, key, car, pairingId))).status).toBe(201);
  });

  it("refuses unknown vehicles (404), untrusted chains (403) and a second owner (409)", async () => {
    const unknown = await device.newEndpoint(new Uint8Array(16).fill(0xee), "owner");
    const stranger = { id: new Uint8Array(16).fill(0xee), keyPair: testVehicle().keyPair };
    await refused(
      keyTracking,
      ownerRegistrationEvent(device, unknown, stranger, "00".repeat(8)),
      404,
      "is not enrolled",
    );
    const other = new TestDevice(harness.manufacturer);
    const otherEnrolled = await invoke(deviceEnrollment, deviceEnrollmentEvent(other));
    other.instanceCaCertificatePem = otherEnrolled.json.instanceCaCertificate;
    const key = await other.newEndpoint(vehicle.id, "owner");
    // The endpoint with the instance CA of another SE: no path to the root.
    const mixed = signedEvent(
      route,
      { endpointCertificate: key.certificatePem, instanceCaCertificate: device.instanceCaCertificatePem },
      (o) => key.sign(o),
    );
    await refused(keyTracking, mixed, 403, "wrong-issuer");
    // The pairing material was spent by the owner: a second owner needs new material (a new phone).
    await refused(
      keyTracking,
      ownerRegistrationEvent(other, key, vehicle, ownerPairingId),
      409,
      "no unexpired owner-pairing material",
    );
  });

  it("refuses friend keys without a valid attestation from the owner on record", async () => {
    const friend = await device.newEndpoint(vehicle.id, "friend");
    await refused(keyTracking, keyRegistrationEvent(device, friend), 400, "needs the owner's keyAttestation");
    const notOwner = await device.newEndpoint(vehicle.id, "owner");
    await refused(
      keyTracking,
      keyRegistrationEvent(device, friend, attestFriendKey(notOwner, friend, vehicle.id)),
      403,
      "neither the vehicle's owner key nor one of its co-owners",
    );
    await refused(
      keyTracking,
      keyRegistrationEvent(device, friend, Uint8Array.of(1, 2, 3)),
      400,
      "body.keyAttestation",
    );
    const unowned = testVehicle();
    expect((await invoke(vehicleEnrollment, vehicleEnrollmentEvent(unowned))).status).toBe(201);
    const orphan = await device.newEndpoint(unowned.id, "friend");
    await refused(
      keyTracking,
      keyRegistrationEvent(device, orphan, attestFriendKey(owner, orphan, unowned.id)),
      409,
      "no owner key on record",
    );
  });
});

describe("GET /v1/keys/{keyId} and GET /v1/vehicles/{vehicleId}/keys", () => {
  it("refuses unknown (404) and malformed (400) ids, and no authorization (401)", async () => {
    await refused(
      keyTracking,
      apiEvent("GET /v1/keys/{keyId}", { iam: true, params: { keyId: "0123456789ab" } }),
      404,
      "not registered",
    );
    await refused(
      keyTracking,
      apiEvent("GET /v1/keys/{keyId}", { iam: true, params: { keyId: "0123" } }),
      400,
      "params.keyId",
    );
    await refused(
      keyTracking,
      apiEvent("GET /v1/keys/{keyId}", { params: { keyId: owner.keyId } }),
      401,
      "OEM authorization",
    );
    const list = "GET /v1/vehicles/{vehicleId}/keys";
    await refused(
      keyTracking,
      apiEvent(list, { iam: true, params: { vehicleId: "ff".repeat(8) } }),
      404,
      "not enrolled",
    );
    await refused(
      keyTracking,
      apiEvent(list, { iam: true, params: { vehicleId: "f" } }),
      400,
      "params.vehicleId",
    );
    await refused(
      keyTracking,
      apiEvent(list, { params: { vehicleId: vehicle.idHex } }),
      401,
      "OEM authorization",
    );
  });
});

describe("random input never causes a 500", () => {
  const posts: [APIGatewayProxyHandlerV2, string][] = [
    [deviceEnrollment, "POST /v1/devices"],
    [vehicleEnrollment, "POST /v1/vehicles"],
    [vehicleEnrollment, "POST /v1/vehicles/{vehicleId}/pairing"],
    [keyTracking, "POST /v1/keys"],
  ];

  it("answers 4xx problem+json to arbitrary bodies and headers", async () => {
    const jsonish = fc.oneof(
      fc.string(),
      fc.json(),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc
        .record({ seId: fc.string(), instanceCaPublicKey: fc.string(), factoryAttestation: fc.string() })
        .map((v) => JSON.stringify(v)),
      fc
        .record({ endpointCertificate: fc.string(), instanceCaCertificate: fc.string() })
        .map((v) => JSON.stringify(v)),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...posts),
        jsonish,
        fc.dictionary(
          fc.constantFrom("carkey-signer", "carkey-timestamp", "carkey-nonce", "carkey-signature"),
          fc.string(),
        ),
        fc.boolean(),
        async ([handler, routeKey], body, headers, base64) => {
          const answer = await invoke(
            handler,
            apiEvent(routeKey, { iam: true, params: { vehicleId: "ab".repeat(8) }, body, headers, base64 }),
          );
          expect(answer.status).toBeGreaterThanOrEqual(400);
          expect(answer.status).toBeLessThan(500);
          expect(answer.headers["content-type"]).toBe("application/problem+json");
          expect(answer.json.detail).toEqual(expect.any(String));
        },
      ),
      { numRuns: 60 },
    );
  });
});
