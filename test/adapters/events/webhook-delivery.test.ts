// The service's events as a receiver sees them: real events, made by the
// handlers against DynamoDB Local (lost mode, a partner event, a revocation
// and its termination), delivered as signed webhooks to a receiver on
// loopback. Each delivery verifies with the key the service publishes
// (GET /v1/webhook-signing-key), and each body validates against the
// published JSON Schema, docs/events/service-event.v1.schema.json, which must
// equal what src/api/event-schemas.ts generates. A replayed, stale or
// altered delivery is refused by the receiver's check.
import "../../support/quiet-logs.js";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handler as deviceEnrollment } from "../../../functions/device-enrollment.js";
import { handler as keyTracking } from "../../../functions/key-tracking.js";
import { handler as notices } from "../../../functions/notices.js";
import { handler as partnerEvents } from "../../../functions/partner-events.js";
import { handler as revocation } from "../../../functions/revocation.js";
import { handler as trustAnchors } from "../../../functions/trust-anchors.js";
import { handler as vehicleEnrollment } from "../../../functions/vehicle-enrollment.js";
import { PROJECT_ROOT } from "../../../infra/lib/bundling-options.js";
import { EVENT_SCHEMA_FILE, eventJsonSchema } from "../../../src/api/event-schemas.js";
import { fromHex, toHex } from "../../../src/protocol/bytes.js";
import { verifyWebhook, WEBHOOK_HEADERS } from "../../../src/protocol/webhook-signature.js";
import {
  deviceEnrollmentEvent,
  keyRegistrationEvent,
  signedEvent,
  vehicleEnrollmentEvent,
} from "../../support/api-requests.js";
import { apiEvent, invoke, type LambdaHarness, startLambdaHarness } from "../../support/lambda-harness.js";
import { term } from "../../support/lifecycle-statements.js";
import { confirmPairing, TestDevice, testVehicle } from "../../support/test-device.js";

interface Delivery {
  headers: Record<string, string | undefined>;
  body: Uint8Array;
}

let harness: LambdaHarness;
let receiver: Server;
const deliveries: Delivery[] = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const headers: Record<string, string | undefined> = {};
      for (const [name, value] of Object.entries(req.headers)) headers[name] = String(value);
      deliveries.push({ headers, body: new Uint8Array(Buffer.concat(chunks)) });
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  harness = await startLambdaHarness();
  process.env.WEBHOOK_URL = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/carkeys-events`;
  process.env.WEBHOOK_SIGNER_URI = `softkms:${harness.keysDir}#webhook-signing`;

  // A device, a vehicle and its owner key; then the events: lost mode, a partner event, revocation, termination.
  const device = new TestDevice(harness.manufacturer);
  const enrolled = await invoke(deviceEnrollment, deviceEnrollmentEvent(device));
  device.instanceCaCertificatePem = enrolled.json.instanceCaCertificate;
  const vehicle = testVehicle();
  const car = await invoke(vehicleEnrollment, vehicleEnrollmentEvent(vehicle));
  const owner = await device.newEndpoint(vehicle.id, "owner");
  const pairingConfirmation = confirmPairing(vehicle.keyPair, {
    pairingId: car.json.pairing.pairingId,
    vehicleId: vehicle.id,
    endpoint: owner,
  });
  expect(
    (await invoke(keyTracking, keyRegistrationEvent(device, owner, undefined, { pairingConfirmation })))
      .status,
  ).toBe(201);
  const lost = (action: string) =>
    invoke(
      notices,
      apiEvent("POST /v1/devices/{seId}/lost-mode", {
        iam: true,
        params: { seId: device.seId },
        body: { action },
      }),
    );
  expect((await lost("suspend")).status).toBe(201);
  expect((await lost("resume")).status).toBe(201);
  const partner = await invoke(
    partnerEvents,
    apiEvent("POST /v1/events", {
      iam: true,
      body: {
        eventId: randomUUID(),
        type: "device.lost",
        occurredAt: new Date().toISOString(),
        seId: device.seId,
      },
    }),
  );
  expect(partner.json.outcome).toBe("applied");
  expect((await lost("resume")).status).toBe(201);
  const revoked = await invoke(
    revocation,
    apiEvent("POST /v1/keys/{keyId}/revocation", { iam: true, params: { keyId: owner.keyId } }),
  );
  expect(revoked.status).toBe(201);
  const terminated = await invoke(
    revocation,
    signedEvent(
      "POST /v1/keys/{keyId}/termination",
      { attestation: toHex(term(owner, vehicle.id)) },
      (o) => device.signAsInstance(o),
      { params: { keyId: owner.keyId } },
    ),
  );
  expect(terminated.status, JSON.stringify(terminated.json)).toBe(201);
}, 180_000);

afterAll(async () => {
  delete process.env.WEBHOOK_URL;
  delete process.env.WEBHOOK_SIGNER_URI;
  await harness?.stop();
  await new Promise<void>((resolve) => receiver?.close(() => resolve()));
});

async function publishedKey(): Promise<Uint8Array> {
  const answer = await invoke(trustAnchors, apiEvent("GET /v1/webhook-signing-key"));
  expect(answer.status, JSON.stringify(answer.json)).toBe(200);
  expect(answer.json.jwk).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256" });
  return fromHex(answer.json.publicKey);
}

describe("the event schema", () => {
  it("is published in the repository exactly as src/api/event-schemas.ts generates it", () => {
    const file = JSON.parse(readFileSync(join(PROJECT_ROOT, EVENT_SCHEMA_FILE), "utf8"));
    expect(file).toEqual(eventJsonSchema());
  });
});

describe("signed webhook deliveries of real events", () => {
  it("deliver every event type the story makes", () => {
    const types = new Set(deliveries.map((d) => JSON.parse(Buffer.from(d.body).toString()).type));
    expect([...types].sort()).toEqual(
      [
        "device.notice-issued",
        "device.resumed",
        "device.suspended",
        "key.revoked",
        "key.terminated",
        "partner.event-received",
        "vehicle.notice-issued",
      ].sort(),
    );
  });

  it("validate against docs/events/service-event.v1.schema.json", () => {
    const ajv = new Ajv2020({ allErrors: true, strict: true });
    addFormats.default(ajv);
    const validate = ajv.compile(JSON.parse(readFileSync(join(PROJECT_ROOT, EVENT_SCHEMA_FILE), "utf8")));
    for (const delivery of deliveries) {
      const event = JSON.parse(Buffer.from(delivery.body).toString());
      expect(validate(event), `${event.type}: ${JSON.stringify(validate.errors)}`).toBe(true);
      expect(event.schema).toBe("urn:carkeys:event:v1");
    }
    // The schema is not a tautology: a wrong field fails it.
    const sample = JSON.parse(Buffer.from(deliveries[0]!.body).toString());
    expect(validate({ ...sample, occurredAt: "yesterday" })).toBe(false);
    expect(validate({ ...sample, schema: "urn:carkeys:event:v2" })).toBe(false);
  });

  it("verify with the published key, each once, and only fresh and unaltered", async () => {
    const publicKey = await publishedKey();
    const seenIds = new Set<string>();
    for (const delivery of deliveries) {
      const now = Number(delivery.headers[WEBHOOK_HEADERS.timestamp]);
      expect(delivery.headers["content-type"]).toBe("application/json");
      expect(
        verifyWebhook({ publicKey, headers: delivery.headers, body: delivery.body, now, seenIds }),
      ).toEqual({
        ok: true,
        id: delivery.headers[WEBHOOK_HEADERS.id],
      });
    }
    const first = deliveries[0]!;
    const now = Number(first.headers[WEBHOOK_HEADERS.timestamp]);
    const check = (overrides: Partial<Parameters<typeof verifyWebhook>[0]>) =>
      verifyWebhook({ publicKey, headers: first.headers, body: first.body, now, ...overrides }).reason;
    expect(check({ seenIds })).toBe("replayed");
    expect(check({ now: now + 301 })).toBe("stale-timestamp");
    const altered = new Uint8Array(first.body);
    altered[altered.length - 2]! ^= 1;
    expect(check({ body: altered })).toBe("bad-signature");
    expect(check({ headers: { ...first.headers, [WEBHOOK_HEADERS.timestamp]: String(now - 1) } })).toBe(
      "bad-signature",
    );
    expect(check({ headers: { ...first.headers, [WEBHOOK_HEADERS.signature]: undefined } })).toBe(
      "missing-header",
    );
    expect(check({ publicKey: fromHex(`04${"11".repeat(64)}`) })).toBe("bad-signature");
  });
});
