// The HTTP contract tested from outside: Schemathesis generates requests for
// every operation of /openapi.json and checks each answer against the
// document (no 5xx, only documented statuses, content types, headers and
// schemas), against the local stack on loopback, with the OEM token for OEM
// routes and device routes signed by the signing proxy
// (scripts/contract/run-schemathesis.ts). Locally it is skipped with a note
// when Schemathesis is not installed (scripts/install-schemathesis.sh); under
// CI it must run. Before that, the proxy itself: without its signature a
// device route refuses the request, with it the service accepts it, and a
// request without the signature headers goes on unsigned.
import "../support/quiet-logs.js";
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeContractFixture } from "../../scripts/contract/contract-fixture.js";
import {
  DEVICE_ROUTE_SIGNERS,
  type DeviceSigningProxy,
  DeviceSigningProxyError,
  startDeviceSigningProxy,
} from "../../scripts/contract/device-signing-proxy.js";
import { runContractTest, SCHEMATHESIS_BIN } from "../../scripts/contract/run-schemathesis.js";
import { ROUTES } from "../../src/api/routes.js";
import { startTestStack, type TestStack } from "../client/stack-fixtures.js";

const MISSING = `Schemathesis is not installed at ${SCHEMATHESIS_BIN}: run bash scripts/install-schemathesis.sh`;
const installed = existsSync(SCHEMATHESIS_BIN);
if (!installed) {
  if (process.env.CI) throw new Error(`${MISSING} (CI must run the contract test)`);
  console.warn(`note: ${MISSING}; the contract test is skipped`);
}

describe("the device-signing proxy", () => {
  let t: TestStack;
  let proxy: DeviceSigningProxy;
  let seId: string;

  beforeAll(async () => {
    t = await startTestStack();
    const fixture = await makeContractFixture(t.stack);
    seId = fixture.seId;
    proxy = await startDeviceSigningProxy({
      upstream: t.stack.url,
      se: fixture.se,
      signers: fixture.signers,
    });
  });

  afterAll(async () => {
    await proxy?.close();
    await t?.stop();
  });

  it("signs device routes with the fixture SE, so the service accepts what it refuses unsigned", async () => {
    const path = `/v1/devices/${seId}/notices?after=0`;
    const unsigned = await fetch(`${t.stack.url}${path}`);
    expect(unsigned.status).toBe(401);
    // What a tester sends: the four headers with values of the right shape, which no key signed.
    const forged = {
      "carkey-signer": `instance:${seId}`,
      "carkey-timestamp": "0",
      "carkey-nonce": "00".repeat(16),
      "carkey-signature": "00".repeat(64),
    };
    expect((await fetch(`${t.stack.url}${path}`, { headers: forged })).status).toBe(401);
    const signed = await fetch(`${proxy.url}${path}`, { headers: forged });
    expect(signed.status).toBe(200);
    expect(await signed.json()).toEqual({ seId, latestCounter: 0, notices: [] });
    expect(proxy.signed.get("GET /v1/devices/{seId}/notices")).toBe(1);
    // A second request is a new signature with a new nonce: no replay refusal.
    expect((await fetch(`${proxy.url}${path}`, { headers: forged })).status).toBe(200);
    // Without the headers the request goes on unsigned, and is refused: a tester checking that sees it.
    const { "carkey-signature": _signature, ...partial } = forged;
    expect((await fetch(`${proxy.url}${path}`, { headers: partial })).status).toBe(401);
    expect((await fetch(`${proxy.url}${path}`)).status).toBe(401);
    expect(proxy.signed.get("GET /v1/devices/{seId}/notices")).toBe(2);
    expect(t.handlerErrors).toEqual([]);
  });

  it("passes other routes through unchanged: an OEM route still wants the token", async () => {
    const refused = await fetch(`${proxy.url}/v1/vehicles/${"00".repeat(16)}/keys`);
    expect(refused.status).toBe(401);
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
    const anchors = await fetch(`${proxy.url}/v1/trust-anchors`);
    expect(anchors.status).toBe(200);
    expect(proxy.signed.has("GET /v1/trust-anchors")).toBe(false);
  });

  it("knows the signer of every device route, and refuses to start without one", async () => {
    const deviceRoutes = ROUTES.filter((r) => r.auth === "device").map((r) => r.key);
    expect(Object.keys(DEVICE_ROUTE_SIGNERS).sort()).toEqual([...deviceRoutes].sort());
    const unknown = {
      ...ROUTES[0]!,
      method: "POST" as const,
      path: "/v1/new-device-route",
      auth: "device" as const,
    };
    await expect(
      startDeviceSigningProxy({
        upstream: t.stack.url,
        se: { signServiceRequest: () => new Uint8Array(64) },
        signers: { instance: `instance:${seId}`, endpoint: "endpoint:000000000000" },
        routes: [...ROUTES, unknown],
      }),
    ).rejects.toThrow(DeviceSigningProxyError);
  });
});

describe.skipIf(!installed)("Schemathesis against the local server", () => {
  it("finds no failure in any operation of /openapi.json", async () => {
    const result = await runContractTest({ maxExamples: 20 });
    const at = result.output.lastIndexOf("FAILURES");
    const failures = at < 0 ? "no failure listed" : result.output.slice(at);
    expect(result.handlerErrors, "handler errors (500s)").toEqual([]);
    expect(result.exitCode, failures).toBe(0);
    expect(result.cases.failed).toBe(0);
    expect(result.cases.generated).toBeGreaterThan(500);
    // Every operation of the document, GET /openapi.json included.
    expect(result.operations.total).toBe(ROUTES.length);
    expect(result.operations.tested).toBe(ROUTES.length);
    expect([...result.testedOperations].sort()).toEqual(ROUTES.map((r) => r.key).sort());
    expect(result.failedOperations).toEqual([]);
    // Device routes were reached signed, each of them.
    for (const route of Object.keys(DEVICE_ROUTE_SIGNERS)) {
      expect(result.signed[route] ?? 0, route).toBeGreaterThan(0);
    }
  }, 900_000);
});
