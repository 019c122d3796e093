// `carkey oem sweep-expired` against the local stack, as an operator runs it
// against `npm start`: the CLI invokes the stack's expiry-sweep function
// through the local server's Lambda Invoke API path with the OEM token from
// the data directory. A friend key registered with its end already past is
// revoked by the first run (revoked 1) and found by no second run (revoked
// 0). Refused: no token (a SigV4-signed call, which the local server does not
// take), a wrong token, an unknown function name; a function that fails (the
// real handler, whose sweep reports a failed key) is an error, exit 1, and so
// is a report with failed > 0.
import "../support/quiet-logs.js";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeHandler as expirySweepHandler } from "../../src/adapters/function-handlers/expiry-sweep.js";
import {
  EXPIRY_SWEEP_FUNCTION,
  type LocalDeployment,
  startLocalDeployment,
} from "../../src/adapters/local-server/local-deployment.js";
import { type LocalServer, startLocalServer } from "../../src/adapters/local-server/local-server.js";
import { signFactoryAttestation } from "../../src/protocol/factory-attestation.js";
import { publicKeyOf } from "../../src/protocol/p256.js";
import type { ExpirySweep, ExpirySweepReport } from "../../src/service/expiry-sweep.js";
import {
  deviceEnrollmentEvent,
  keyRegistrationEvent,
  ownerRegistrationEvent,
  vehicleEnrollmentEvent,
} from "../support/api-requests.js";
import { carkey } from "../support/carkey-process.js";
import { attestFriendKey, TestDevice, type TestManufacturer, testVehicle } from "../support/test-device.js";

let dataDir: string;
let emptyDir: string;
let stack: LocalDeployment;
let failing: LocalServer;
const TOKEN = "failing-server-token-0123456789";

const report = (overrides: Partial<ExpirySweepReport> = {}): ExpirySweepReport => ({
  examined: 1,
  revoked: 0,
  settled: 0,
  notEnded: 0,
  failed: 0,
  complete: true,
  ...overrides,
});

beforeAll(async () => {
  // The in-process handlers' business metrics are EMF lines on stdout; not wanted in a test's output.
  process.env.METRICS_DISABLED = "true";
  dataDir = await mkdtemp(join(tmpdir(), "carkey-sweep-"));
  emptyDir = await mkdtemp(join(tmpdir(), "carkey-sweep-empty-"));
  stack = await startLocalDeployment({ port: 0, inMemory: true, dataDir });
  // A server whose expiry-sweep is the real handler over a sweep that failed a key, and one that answers
  // a failed report as it is (what the command does with failed > 0 whatever the function does).
  failing = await startLocalServer({
    port: 0,
    oemCredential: TOKEN,
    routes: [],
    handlers: {},
    invocableFunctions: {
      "expiry-sweep": {
        handler: expirySweepHandler({
          service: { expiry: { run: async () => report({ failed: 1 }) } as unknown as ExpirySweep },
        }),
        timeoutMs: 10_000,
      },
      "reports-failed": { handler: async () => report({ failed: 2, examined: 2 }), timeoutMs: 10_000 },
    },
  });
}, 120_000);

afterAll(async () => {
  await failing?.close();
  await stack?.stop();
  for (const dir of [dataDir, emptyDir]) if (dir) await rm(dir, { recursive: true, force: true });
});

/** Sends a handler test's API Gateway event to the local server over HTTP. */
async function send(event: APIGatewayProxyEventV2, oem = false) {
  const response = await fetch(`${stack.url}${event.rawPath}`, {
    method: event.requestContext.http.method,
    headers: {
      ...(event.headers as Record<string, string>),
      ...(oem ? { authorization: `Bearer ${stack.oemToken}` } : {}),
    },
    ...(event.body === undefined ? {} : { body: event.body }),
  });
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
  return { status: response.status, json: (await response.json()) as Record<string, any> };
}

/** A friend key whose attested end passed an hour ago, registered at the stack (the service takes it). */
async function registerEndedKey(): Promise<string> {
  const manufacturer = await stackManufacturer(join(stack.keysDir, "se-manufacturer.json"));
  const device = new TestDevice(manufacturer);
  const enrolled = await send(deviceEnrollmentEvent(device));
  expect(enrolled.status, JSON.stringify(enrolled.json)).toBe(201);
  device.instanceCaCertificatePem = enrolled.json.instanceCaCertificate;
  const vehicle = testVehicle();
  const vehicleEnrolled = await send(vehicleEnrollmentEvent(vehicle), true);
  expect(vehicleEnrolled.status, JSON.stringify(vehicleEnrolled.json)).toBe(201);
  const owner = await device.newEndpoint(vehicle.id, "owner");
  const ownerRegistered = await send(
    ownerRegistrationEvent(device, owner, vehicle, vehicleEnrolled.json.pairing.pairingId),
  );
  expect(ownerRegistered.status, JSON.stringify(ownerRegistered.json)).toBe(201);
  const friend = await device.newEndpoint(vehicle.id, "friend");
  const validUntil = Math.floor(Date.now() / 1000) - 3600;
  const registered = await send(
    keyRegistrationEvent(
      device,
      friend,
      attestFriendKey(owner, friend, vehicle.id, { kind: "full", validUntil }),
    ),
  );
  expect(registered.status, JSON.stringify(registered.json)).toBe(201);
  return friend.keyId;
}

const sweep = (...extra: string[]) =>
  carkey([
    "oem",
    "sweep-expired",
    "--function",
    EXPIRY_SWEEP_FUNCTION,
    "--endpoint",
    stack.url,
    "--data-dir",
    dataDir,
    ...extra,
  ]);

describe("carkey oem sweep-expired against the local stack", () => {
  it("revokes a key past its end, and a second run revokes nothing", async () => {
    const keyId = await registerEndedKey();
    const first = await sweep();
    expect(first.code, first.stderr).toBe(0);
    const firstReport = JSON.parse(first.stdout) as ExpirySweepReport;
    expect(firstReport).toMatchObject({ failed: 0, complete: true });
    expect(firstReport.revoked).toBeGreaterThanOrEqual(1);
    const key = await fetch(`${stack.url}/v1/keys/${keyId}`, {
      headers: { authorization: `Bearer ${stack.oemToken}` },
    });
    // Swept: the one end state a time-boxed key reports (src/service/reported-key-state.ts).
    expect(((await key.json()) as { state: string }).state).toBe("expired");

    const second = await sweep();
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toEqual({
      examined: 0,
      revoked: 0,
      settled: 0,
      notEnded: 0,
      failed: 0,
      complete: true,
    });
  }, 180_000);

  it("refuses a call without the OEM token, with a wrong one, and for an unknown function", async () => {
    const [unsigned, wrong, unknown] = await Promise.all([
      // No token in this data directory: the command signs with SigV4, which the local server does not take.
      carkey(
        [
          "oem",
          "sweep-expired",
          "--function",
          EXPIRY_SWEEP_FUNCTION,
          "--endpoint",
          stack.url,
          "--data-dir",
          emptyDir,
        ],
        "",
        { ...process.env, AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_REGION: "eu-west-2" },
      ),
      sweep("--oem-token", "not-the-token-0123456789"),
      sweep("--function", "no-such-function"),
    ]);
    expect(unsigned.code).toBe(1);
    expect(unsigned.stderr).toMatch(/403 MissingAuthenticationTokenException: .*OEM API token/);
    expect(unsigned.stdout).toBe("");
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/403 UnrecognizedClientException: the OEM API token is not valid/);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/404 ResourceNotFoundException: Function not found: .*no-such-function/);
    for (const run of [unsigned, wrong, unknown]) expect(run.stderr.trim().split("\n")).toHaveLength(1);
  }, 180_000);

  it("fails on a function error and on a report with failed keys", async () => {
    const common = ["oem", "sweep-expired", "--endpoint", failing.url, "--oem-token", TOKEN];
    const [functionError, failedReport] = await Promise.all([
      carkey([...common, "--function", "expiry-sweep"]),
      carkey([...common, "--function", "reports-failed"]),
    ]);
    expect(functionError.code).toBe(1);
    expect(functionError.stdout).toBe("");
    expect(functionError.stderr).toMatch(
      /the function failed \(Unhandled\) with Error: expiry sweep: 1 of 1 keys were not revoked/,
    );
    expect(failedReport.code).toBe(1);
    expect(JSON.parse(failedReport.stdout)).toMatchObject({ failed: 2, examined: 2 });
    expect(failedReport.stderr).toMatch(/2 of 2 keys were not revoked/);
  }, 180_000);
});

/** The stack's emulated SE manufacturer (its JWK file), as the test device's factory attester. */
async function stackManufacturer(path: string): Promise<TestManufacturer> {
  const jwk = JSON.parse(await readFile(path, "utf8")) as { d: string };
  const privateKey = new Uint8Array(Buffer.from(jwk.d, "base64url"));
  const keyPair = { privateKey, publicKey: publicKeyOf(privateKey) };
  return {
    keyPair,
    attest: (deviceId, instanceCaPublicKey, issuedAt = Date.now()) =>
      signFactoryAttestation(privateKey, { deviceId, instanceCaPublicKey, issuedAt }),
  };
}
