// The server-to-server interface over mutual TLS, as `npm start -- --mtls`
// runs it: an HTTPS listener that completes the handshake only for a client
// certificate chaining to the configured truststore, the verified certificate
// as the partner's identity, and the server-to-server routes refused on the
// plain listener. Certificates are made in the test (test/support/mtls-pki.ts).
import "../../support/quiet-logs.js";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type LocalDeployment,
  startLocalDeployment,
} from "../../../src/adapters/local-server/local-deployment.js";
import { createTestCa, type TestCa } from "../../support/mtls-pki.js";

let dataDir: string;
let stack: LocalDeployment;
let partnerCa: TestCa;
let partner: { certPem: string; keyPem: string };
let stranger: { certPem: string; keyPem: string };

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "carkeys-mtls-"));
  partnerCa = await createTestCa("CN=Partner OEM Server CA,O=Partner Motors");
  partner = await partnerCa.issueClient("CN=events.partner.example,O=Partner Motors");
  stranger = await (await createTestCa("CN=Someone Else CA")).issueClient(
    "CN=events.partner.example,O=Partner Motors",
  );
  stack = await startLocalDeployment({
    port: 0,
    inMemory: true,
    dataDir,
    mtls: { port: 0, ca: partnerCa.certPem },
  });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTPS request to the mTLS listener, trusting the local server's certificate, with or without a client certificate. */
function callMtls(
  method: string,
  path: string,
  options: { client?: { certPem: string; keyPem: string }; body?: unknown } = {},
): Promise<Answer> {
  const url = new URL(path, stack.mtls!.url);
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method,
        ca: stack.mtls!.serverCertPem,
        ...(options.client ? { cert: options.client.certPem, key: options.client.keyPem } : {}),
        headers: body === undefined ? {} : { "content-type": "application/json" },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const heartbeat = () => ({ eventId: randomUUID(), type: "heartbeat", occurredAt: new Date().toISOString() });

describe("npm start -- --mtls: the HTTPS listener", () => {
  it("serves HTTPS with its own certificate, kept under <dataDir>/tls with the key mode 0600", async () => {
    expect(stack.mtls?.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(stack.mtls?.serverCertFile).toBe(join(dataDir, "tls", "server-cert.pem"));
    expect((await stat(join(dataDir, "tls", "server-key.pem"))).mode & 0o777).toBe(0o600);
  });

  it("accepts a partner's event with a client certificate from the truststore and names the sender by it", async () => {
    const event = heartbeat();
    const answer = await callMtls("POST", "/v1/events", { client: partner, body: event });
    expect(answer.status, answer.body).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({
      eventId: event.eventId,
      type: "heartbeat",
      outcome: "acknowledged",
      from: "x509:CN=events.partner.example,O=Partner Motors",
    });
  });

  it("runs the manage-key action an event names (an unknown device is a 404 problem, not a silent success)", async () => {
    const answer = await callMtls("POST", "/v1/events", {
      client: partner,
      body: {
        eventId: randomUUID(),
        type: "device.lost",
        occurredAt: new Date().toISOString(),
        seId: "ab".repeat(16),
      },
    });
    expect(answer.status).toBe(404);
    expect(answer.headers["content-type"]).toBe("application/problem+json");
  });

  it("takes the client certificate as the OEM credential on track-key routes: no bearer token needed", async () => {
    const answer = await callMtls("GET", "/v1/keys/000000000000", { client: partner });
    expect(answer.status).toBe(404);
    expect(JSON.parse(answer.body).type).toBe("urn:carkeys:problem:not-found");
  });

  it("refuses the handshake without a client certificate", async () => {
    await expect(callMtls("POST", "/v1/events", { body: heartbeat() })).rejects.toThrow(
      /certificate|socket hang up|ECONNRESET|alert/i,
    );
  });

  it("refuses the handshake for a certificate from a CA outside the truststore", async () => {
    await expect(callMtls("POST", "/v1/events", { client: stranger, body: heartbeat() })).rejects.toThrow(
      /certificate|unknown ca|socket hang up|ECONNRESET|alert/i,
    );
  });

  it("rejects a validation error from a partner with a problem naming the field", async () => {
    const answer = await callMtls("POST", "/v1/events", {
      client: partner,
      body: { eventId: "not-a-uuid", type: "heartbeat", occurredAt: new Date().toISOString() },
    });
    expect(answer.status).toBe(400);
    expect(answer.body).toContain("body.eventId");
  });
});

describe("the plain listener beside it", () => {
  const oem = () => ({ authorization: `Bearer ${stack.oemToken}`, "content-type": "application/json" });

  it("refuses server-to-server routes even with the OEM token: they are served over mutual TLS only", async () => {
    for (const [method, path, body] of [
      ["POST", "/v1/events", heartbeat()],
      ["GET", "/v1/keys/000000000000", undefined],
      ["POST", `/v1/devices/${"ab".repeat(16)}/lost-mode`, { action: "suspend" }],
    ] as const) {
      const response = await fetch(`${stack.url}${path}`, {
        method,
        headers: oem(),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      expect(response.status, `${method} ${path}`).toBe(403);
      const problem = (await response.json()) as { type: string; detail: string };
      expect(problem.type).toBe("urn:carkeys:problem:forbidden");
      expect(problem.detail).toContain("mutual TLS");
    }
  });

  it("answers 404 for the webhook signing key: this stack delivers no webhooks", async () => {
    const response = await fetch(`${stack.url}/v1/webhook-signing-key`);
    expect(response.status).toBe(404);
    expect(((await response.json()) as { detail: string }).detail).toContain("no webhooks");
  });

  it("serves the other OEM routes with the token as before", async () => {
    const response = await fetch(`${stack.url}/v1/vehicles/${"0a".repeat(8)}/notices`, { headers: oem() });
    expect(response.status).toBe(404);
  });
});
