// The document's examples (src/api/examples/exchanges.json, captured by
// scripts/capture-api-examples.ts from real exchanges with the local stack):
// every request and response body of every operation has one, each one
// validates against the schema the document gives it (Ajv, JSON Schema
// 2020-12), and the server accepts again every request example that can be
// replayed on a fresh stack. Those that cannot are listed with the reason.
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { coverageLost, NOT_CAPTURED } from "../../scripts/capture-api-examples.js";
import {
  type LocalDeployment,
  startLocalDeployment,
} from "../../src/adapters/local-server/local-deployment.js";
import { type ApiExamples, STORED_EXAMPLES } from "../../src/api/openapi/examples.js";
import { buildOpenApiDocument } from "../../src/api/openapi.js";
import { INTERNAL_PROBLEM, PROBLEM_KINDS, PROBLEM_MEDIA_TYPE } from "../../src/api/problems.js";
import { ROUTES } from "../../src/api/routes.js";

// biome-ignore lint/suspicious/noExplicitAny: the generated document, walked by the assertions
type Json = Record<string, any>;

const doc = buildOpenApiDocument(ROUTES, { version: "0.0.0" }) as Json;
const COMPONENTS_ID = "urn:carkeys:openapi-components";

/** `#/components/schemas/X` → a ref into one schema that holds every component as a `$defs` entry. */
function pointAtComponents(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(pointAtComponents);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) =>
      key === "$ref" && typeof inner === "string"
        ? [key, inner.replace("#/components/schemas/", `${COMPONENTS_ID}#/$defs/`)]
        : [key, pointAtComponents(inner)],
    ),
  );
}

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema({ $id: COMPONENTS_ID, $defs: pointAtComponents(doc.components.schemas) as Json });

function problemsOf(schema: Json, value: unknown): string[] {
  const validate = ajv.compile(pointAtComponents(schema) as Json);
  return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

/** Every example of the document, beside the schema it illustrates. */
function examplesInDocument(): { where: string; schema: Json; value: unknown }[] {
  const found: { where: string; schema: Json; value: unknown }[] = [];
  const media = (where: string, content: Json | undefined) => {
    for (const [type, entry] of Object.entries(content ?? {})) {
      for (const [name, example] of Object.entries((entry as Json).examples ?? {})) {
        found.push({
          where: `${where} ${type} ${name}`,
          schema: (entry as Json).schema,
          value: (example as Json).value,
        });
      }
    }
  };
  const operations = [
    ...Object.entries(doc.paths as Json).flatMap(([path, item]) =>
      Object.entries(item as Json).map(([method, op]) => [`${method.toUpperCase()} ${path}`, op] as const),
    ),
    ["webhook serviceEvent", doc.webhooks.serviceEvent.post] as const,
  ];
  for (const [name, operation] of operations) {
    media(`${name} request`, operation.requestBody?.content);
    for (const [status, response] of Object.entries(operation.responses as Json)) {
      if (!(response as Json).$ref) media(`${name} ${status}`, (response as Json).content);
    }
  }
  for (const [name, response] of Object.entries(doc.components.responses as Json))
    media(name, response.content);
  return found;
}

describe("the document's examples", () => {
  it("cover every request body and every success response body, except the document and page themselves", () => {
    const missing: string[] = [];
    for (const route of ROUTES) {
      if ((NOT_CAPTURED as readonly string[]).includes(route.key)) continue;
      const operation = doc.paths[route.path][route.method.toLowerCase()];
      if (route.body && !operation.requestBody.content["application/json"].examples)
        missing.push(`${route.key} request`);
      const success = operation.responses[String(route.response.status)];
      for (const entry of Object.values((success.content ?? {}) as Json)) {
        if (!entry.examples) missing.push(`${route.key} ${route.response.status}`);
      }
    }
    expect(missing).toEqual([]);
    expect(doc.webhooks.serviceEvent.post.requestBody.content["application/json"].examples).toBeDefined();
  });

  it("cover every problem status the document answers with, each from a real refusal", () => {
    const statuses = Object.keys(doc.components.responses as Json)
      .filter((name) => /^Problem\d{3}$/.test(name))
      .map((name) => name.slice("Problem".length));
    expect(statuses).toEqual(["400", "401", "403", "404", "409", "413", "415", "429", "500", "503"]);
    const withoutExample = statuses.filter(
      (status) => !doc.components.responses[`Problem${status}`].content[PROBLEM_MEDIA_TYPE].examples,
    );
    expect(withoutExample).toEqual([]);
    for (const status of statuses) {
      expect((STORED_EXAMPLES.problems[status] as Json).status, status).toBe(Number(status));
    }
    // The relay's own limit, not API Gateway's throttling; the 500 says nothing about its cause.
    expect((STORED_EXAMPLES.problems["429"] as Json).type).toBe(PROBLEM_KINDS["rate-limited"].type);
    expect(STORED_EXAMPLES.problems["500"]).toEqual(INTERNAL_PROBLEM);
  });

  it("each validate against the schema they illustrate", () => {
    const examples = examplesInDocument();
    expect(examples.length).toBeGreaterThan(30);
    const failures = examples.flatMap(({ where, schema, value }) =>
      problemsOf(schema, value).map((problem) => `${where}: ${problem}`),
    );
    expect(failures).toEqual([]);
  });

  it("the webhook example is a valid event of docs/events/service-event.v1.schema.json", () => {
    const file = JSON.parse(
      readFileSync(new URL("../../docs/events/service-event.v1.schema.json", import.meta.url), "utf8"),
    ) as Json;
    const validate = new Ajv2020({ strict: false });
    addFormats.default(validate);
    expect(validate.validate(file, STORED_EXAMPLES.webhook?.body)).toBe(true);
  });

  it("the validation can fail: a body with a field of the wrong type is refused", () => {
    const request = doc.paths["/v1/vehicles"].post.requestBody.content["application/json"];
    const value = structuredClone(request.examples.captured.value) as Json;
    value.vehicleId = 42;
    expect(problemsOf(request.schema, value)).not.toEqual([]);
  });
});

describe("a recapture (npm run capture-examples)", () => {
  it("may replace the stored examples with the same coverage", () => {
    expect(coverageLost(STORED_EXAMPLES, STORED_EXAMPLES)).toEqual([]);
  });

  it("is refused when it would drop a route, a success status, a problem status or the webhook", () => {
    const next = structuredClone(STORED_EXAMPLES) as {
      -readonly [K in keyof ApiExamples]: Json;
    };
    delete next.operations["POST /v1/keys/{keyId}/revocation"];
    delete next.operations["POST /v1/m"].responses["201"];
    delete next.problems["429"];
    delete next.webhook;
    expect(coverageLost(STORED_EXAMPLES, next as ApiExamples)).toEqual([
      "POST /v1/keys/{keyId}/revocation: no exchange",
      "POST /v1/m: no 201 answer",
      "problem 429: none",
      "webhook: no delivery",
    ]);
  });

  it("is refused when a route of the contract has no success answer, even one the stored file lacks", () => {
    const next = structuredClone(STORED_EXAMPLES) as { -readonly [K in keyof ApiExamples]: Json };
    delete next.operations["GET /v1/trust-anchors"];
    const previous = structuredClone(next);
    expect(coverageLost(previous as ApiExamples, next as ApiExamples)).toEqual([
      "GET /v1/trust-anchors: no 200 answer",
    ]);
  });

  it("does not hold on to a route the contract no longer has", () => {
    const previous = structuredClone(STORED_EXAMPLES) as { -readonly [K in keyof ApiExamples]: Json };
    previous.operations["GET /v1/retired"] = { responses: { "200": {} } };
    expect(coverageLost(previous as ApiExamples, STORED_EXAMPLES)).toEqual([]);
  });
});

/**
 * Request examples that cannot be sent again to a fresh stack, and why. A
 * device route's request is signed by a key in an emulated secure element
 * that existed only while the examples were captured (its private key never
 * left it), and is accepted only from a device enrolled in that capture's
 * database; a fresh signature needs that key. The OEM routes here act on
 * keys and devices that only those device requests create.
 */
const NOT_REPLAYABLE: Readonly<Record<string, string>> = {
  "POST /v1/devices": "signed by the capture's emulated SE (instance key), attested by its factory",
  "POST /v1/keys": "signed by the capture's emulated SE (endpoint key), with the car's pairing confirmation",
  "POST /v1/revocations": "signed by the capture's owner endpoint key, over the capture's friend key",
  "POST /v1/keys/{keyId}/termination": "signed by the capture's SE that held the key",
  "GET /v1/devices/{seId}/notices": "signed by the capture's SE instance key",
  "GET /v1/keys/{keyId}": "reads a key that only a device-signed registration creates",
  "POST /v1/keys/{keyId}/revocation": "revokes a key that only a device-signed registration creates",
  "POST /v1/devices/{seId}/lost-mode":
    "acts on a secure element that only a device-signed enrollment creates",
  "PUT /v1/m/{id}": "acts on the capture's mailbox with its initiator's claim after the friend's read",
  "POST /v1/m/{id}": "binds the capture's friend to the capture's mailbox",
  "DELETE /v1/m/{id}": "deletes the capture's mailbox, bound to the capture's claims",
};

/**
 * The body as captured, but a mailbox's expiration (an absolute time, a day or two after the capture)
 * moved a day past now: the relay rightly refuses a mailbox that has already expired, and the replay
 * checks the example's shape, not the day it was captured on.
 */
function withFutureExpiration(body: unknown): unknown {
  const configuration = (body as { mailboxConfiguration?: { expiration?: unknown } } | null)
    ?.mailboxConfiguration;
  if (typeof configuration?.expiration !== "string") return body;
  const tomorrow = new Date(Date.now() + 24 * 3600_000).toISOString().replace(/\.\d{3}Z$/, "Z");
  return {
    ...(body as object),
    mailboxConfiguration: { ...configuration, expiration: tomorrow },
  };
}

/** In order: each may act on what the ones before it created (the vehicle, the mailbox). */
const REPLAYED = [
  "GET /v1/trust-anchors",
  "GET /v1/webhook-signing-key",
  "POST /v1/vehicles",
  "POST /v1/vehicles/{vehicleId}/pairing",
  "GET /v1/vehicles/{vehicleId}/keys",
  "GET /v1/vehicles/{vehicleId}/revocations",
  "GET /v1/vehicles/{vehicleId}/notices",
  "POST /v1/events",
  "POST /v1/m",
  "GET /v1/m/{id}",
  "PATCH /v1/m/{id}",
] as const;

describe("the request examples, replayed on a fresh stack", () => {
  let stack: LocalDeployment;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "carkeys-examples-replay-"));
    // A webhook URL nobody listens on: deliveries fail (logged, not retried); the key route then answers.
    stack = await startLocalDeployment({
      port: 0,
      inMemory: true,
      dataDir,
      webhookUrl: "http://127.0.0.1:9/events",
    });
  });

  afterAll(async () => {
    await stack?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("classifies every captured route as replayed or not, with a reason", () => {
    const captured = Object.keys(STORED_EXAMPLES.operations).sort();
    expect([...REPLAYED, ...Object.keys(NOT_REPLAYABLE)].sort()).toEqual(captured);
  });

  it("accepts each replayable request example (2xx)", async () => {
    const route = (key: string) => ROUTES.find((r) => r.key === key)!;
    const ids: Record<string, string> = {};
    const answers: string[] = [];
    for (const key of REPLAYED) {
      const request = STORED_EXAMPLES.operations[key]!.request!;
      // Path parameters are those of what this replay created (the same vehicle id; a new mailbox id).
      let path = request.path;
      if (ids.vehicleId) path = path.replace(/\/v1\/vehicles\/[0-9a-f]+/, `/v1/vehicles/${ids.vehicleId}`);
      if (ids.mailbox) path = path.replace(/\/v1\/m\/[0-9a-f-]{36}/, `/v1/m/${ids.mailbox}`);
      const headers: Record<string, string> = { ...request.headers };
      if (key === "PATCH /v1/m/{id}") {
        // Relinquishing needs a bound Recipient: its read of the mailbox comes first, as in the capture.
        const claim = { "mailbox-device-claim": headers["mailbox-device-claim"]! };
        const read = await fetch(`${stack.url}${path}`, { method: "POST", headers: claim });
        expect(read.status).toBe(200);
      }
      if (route(key).auth === "oem") headers.authorization = `Bearer ${stack.oemToken}`;
      const response = await fetch(`${stack.url}${path}`, {
        method: request.method,
        headers,
        ...(request.body === undefined ? {} : { body: JSON.stringify(withFutureExpiration(request.body)) }),
      });
      const text = await response.text();
      answers.push(`${key} ${response.status}${response.ok ? "" : ` ${text.slice(0, 200)}`}`);
      if (key === "POST /v1/vehicles") ids.vehicleId = (JSON.parse(text) as Json).vehicleId;
      if (key === "POST /v1/m")
        ids.mailbox = new URL((JSON.parse(text) as Json).urlLink).pathname.split("/").pop()!;
    }
    expect(answers.filter((a) => !/ 2\d\d$/.test(a))).toEqual([]);
  });
});
