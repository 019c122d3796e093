// The contract between the route entries (src/api), the handlers and the
// schemas: each function serves exactly its routes, and every route's schemas
// render as JSON Schema for the OpenAPI document. Then
// what the chain does outside the happy path, on the in-process service: an
// internal failure is a generic 500 problem that reveals nothing, missing
// configuration is named in the log and not in the answer, and the logs never
// carry a password, a verifier, a certificate, a signature or a body.
import { afterEach, describe, expect, it, vi } from "vitest";
import * as z from "zod/mini";
import { makeHandler as keyTrackingHandler } from "../../functions/key-tracking.js";
import {
  assembleCarKeysService,
  serviceDependenciesFromEnvironment,
  serviceSettingsFromEnvironment,
} from "../../src/adapters/service-assembly.js";
import { KEY_TRACKING_ROUTES } from "../../src/api/routes/key-tracking-routes.js";
import { ROUTES } from "../../src/api/routes.js";
import { toHex } from "../../src/protocol/bytes.js";
import { createCarKeysService } from "../../src/service/car-keys-service.js";
import { createHttpHandler } from "../../src/service/http/create-http-handler.js";
import {
  deviceEnrollmentEvent,
  keyRegistrationEvent,
  vehicleEnrollmentEvent,
} from "../support/api-requests.js";
import { apiEvent, invoke } from "../support/lambda-harness.js";
import { type ServiceHandlers, serviceHandlers } from "../support/service-handlers.js";
import { confirmPairing, TestDevice, testVehicle } from "../support/test-device.js";
import { testMacKey } from "../support/test-mac-key.js";
import { testService } from "../support/test-service.js";

let h: ServiceHandlers;

/** The service a Lambda with environment `env` builds. */
const buildService = async (env: Readonly<Record<string, string | undefined>>) =>
  assembleCarKeysService(serviceSettingsFromEnvironment(env));

/** Everything the logger writes (INFO to stdout, ERROR to stderr) while the test runs. */
function captureLogs(): () => string {
  const out = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
  const err = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  return () => [...out.mock.calls, ...err.mock.calls].map((c) => String(c[0])).join("");
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("routes, handlers and schemas agree", () => {
  const served = ROUTES.filter((r) => r.functionName !== "openapi");

  it("has a handler module for every function name, serving exactly its routes", async () => {
    for (const name of new Set(served.map((r) => r.functionName))) {
      const module = (await import(`../../functions/${name}.ts`)) as {
        handler?: unknown;
        makeHandler?: unknown;
      };
      expect(typeof module.handler, name).toBe("function");
      expect(typeof module.makeHandler, name).toBe("function");
    }
  });

  it("refuses to build a handler that misses a route of its function", () => {
    expect(() =>
      createHttpHandler(
        KEY_TRACKING_ROUTES,
        { "POST /v1/keys": async () => ({ created: true, response: {} as never }) } as never,
        {},
      ),
    ).toThrow("its route set gives it");
  });

  it("has schemas for every route, and each renders as JSON Schema", () => {
    for (const route of ROUTES) {
      const parts = [
        "schema" in route.response.content ? route.response.content.schema : undefined,
        route.body?.schema,
        route.params,
        route.query,
        route.headers,
      ];
      for (const schema of parts) {
        if (schema) expect(() => z.toJSONSchema(schema as z.ZodMiniType), route.key).not.toThrow();
      }
      expect(route.description.length, route.key).toBeGreaterThan(10);
    }
  });
});

describe("failures inside the service", () => {
  it("answers an internal failure with a generic 500 problem and logs it", async () => {
    const t = testService();
    t.store.getVehicle = async () => {
      throw new Error("DynamoDB exploded at table carkeys-secret-internal");
    };
    h = serviceHandlers(t.service);
    const logs = captureLogs();
    const answer = await invoke(
      h.keyTracking,
      apiEvent("GET /v1/vehicles/{vehicleId}/keys", { iam: true, params: { vehicleId: "00".repeat(8) } }),
    );
    expect(answer.status).toBe(500);
    expect(answer.headers["content-type"]).toBe("application/problem+json");
    expect(answer.json).toEqual({
      type: "urn:carkeys:problem:internal",
      title: "Internal error",
      status: 500,
      detail: "The service could not complete the request; it has been logged.",
    });
    expect(logs()).toContain("DynamoDB exploded");
  });

  it("names missing configuration in the log, not in the answer, and reads it again on the next request", async () => {
    const env: Record<string, string | undefined> = { ...process.env, TABLE_NAME: undefined };
    const handler = keyTrackingHandler(serviceDependenciesFromEnvironment(env));
    const logs = captureLogs();
    const request = () =>
      invoke(handler, apiEvent("GET /v1/keys/{keyId}", { iam: true, params: { keyId: "0123456789ab" } }));
    const answer = await request();
    expect(answer.status).toBe(500);
    expect(JSON.stringify(answer.json)).not.toContain("TABLE_NAME");
    expect(logs()).toContain("missing environment: TABLE_NAME");
    const mentions = () => logs().match(/missing environment: TABLE_NAME/g)?.length ?? 0;
    const afterFirst = mentions();
    // A failed build is not kept: the next invocation reads the settings again (and fails again here).
    expect((await request()).status).toBe(500);
    expect(mentions()).toBe(2 * afterFirst);
  });
});

describe("roots that only another function may create", () => {
  it("answers 503 problem+json until the root exists", async () => {
    const t = testService();
    h = serviceHandlers(
      createCarKeysService({
        store: t.store,
        signer: { root: (profile) => t.signers[profile] },
        devicePseudonymKey: testMacKey(),
        manufacturerPublicKey: t.manufacturer.keyPair.publicKey,
        deviceOem: { organization: "D" },
        vehicleOem: { organization: "V" },
        creatableRoots: [],
      }),
    );
    const answer = await invoke(h.trustAnchors, apiEvent("GET /v1/trust-anchors"));
    expect(answer.status).toBe(503);
    expect(answer.headers["content-type"]).toBe("application/problem+json");
    expect(answer.json).toMatchObject({ type: "urn:carkeys:problem:unavailable", status: 503 });
    expect(answer.json.detail).toContain("Device OEM root certificate has not been created yet");
  });

  it("reads ROOT_CREATION from the environment and refuses unknown names", async () => {
    const env = {
      TABLE_NAME: "carkeys-test",
      DEVICE_OEM_SIGNER_URI: "softkms:/nonexistent#a",
      VEHICLE_OEM_SIGNER_URI: "softkms:/nonexistent#b",
      SE_MANUFACTURER_PUBLIC_KEY: "04",
      DEVICE_OEM_NAME: "D",
      VEHICLE_OEM_NAME: "V",
    };
    await expect(buildService({ ...env, ROOT_CREATION: "device-oem-root,admin" })).rejects.toThrow(
      "ROOT_CREATION names admin",
    );
    await expect(buildService({ ...env, SE_MANUFACTURER_PUBLIC_KEY: "xyz" })).rejects.toThrow(
      "SE_MANUFACTURER_PUBLIC_KEY must be hex",
    );
  });
});

describe("logs", () => {
  it("carry identifiers and outcomes, never passwords, verifiers, certificates, signatures or bodies", async () => {
    const t = testService();
    h = serviceHandlers(t.service);
    const logs = captureLogs();
    const secrets: string[] = [];

    const vehicle = testVehicle();
    const car = await invoke(h.vehicleEnrollment, vehicleEnrollmentEvent(vehicle));
    expect(car.status).toBe(201);
    secrets.push(car.json.pairing.password, car.json.pairing.verifier.w0, car.json.pairing.verifier.L);
    secrets.push(toHex(vehicle.keyPair.publicKey));

    const device = new TestDevice(t.manufacturer);
    const enrollment = deviceEnrollmentEvent(device);
    const enrolled = await invoke(h.deviceEnrollment, enrollment);
    expect(enrolled.status).toBe(201);
    device.instanceCaCertificatePem = enrolled.json.instanceCaCertificate;
    secrets.push(enrollment.headers["carkey-signature"]!, toHex(device.factoryAttestation));

    const owner = await device.newEndpoint(vehicle.id, "owner");
    const registration = keyRegistrationEvent(device, owner, undefined, {
      pairingConfirmation: confirmPairing(vehicle.keyPair, {
        pairingId: car.json.pairing.pairingId,
        vehicleId: vehicle.id,
        endpoint: owner,
      }),
    });
    const registered = await invoke(h.keyTracking, registration);
    expect(registered.status).toBe(201);
    secrets.push(registered.json.receipt, registration.headers["carkey-signature"]!);
    // A refusal too: the replay of the same request.
    expect((await invoke(h.keyTracking, registration)).status).toBe(401);

    const logged = logs();
    expect(logged).toContain("request served");
    expect(logged).toContain("request refused");
    expect(logged).not.toContain("BEGIN CERTIFICATE");
    for (const secret of secrets) expect(logged).not.toContain(secret);
  });
});
