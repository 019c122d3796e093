// The OpenAPI generator on its own: that it renders the very schemas the
// handlers validate with, names shared schemas once, marks optional bodies,
// and refuses a route it has no schemas for instead of documenting it vaguely.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as z from "zod/mini";
import { openApiJson } from "../../functions/openapi.js";
import { OpenApiError } from "../../src/api/errors.js";
import { buildOpenApiDocument } from "../../src/api/openapi.js";
import type { RouteContract } from "../../src/api/route-contract.js";
import { functionNames, ROUTE_TABLE, ROUTES } from "../../src/api/routes.js";
import { canonicalRequest, REQUEST_SIGNATURE_PREFIX } from "../../src/protocol/request-signature.js";

// biome-ignore lint/suspicious/noExplicitAny: a generated JSON document, walked by the assertions themselves
type Json = Record<string, any>;
const doc = buildOpenApiDocument(ROUTES, { version: "9.9.9" }) as Json;

describe("buildOpenApiDocument", () => {
  it("renders each route's request and response schemas from its entry", () => {
    expect(doc.info.version).toBe("9.9.9");
    const vehicles = doc.paths["/v1/vehicles"].post;
    expect(vehicles.requestBody).toEqual({
      required: true,
      content: {
        "application/json": {
          schema: { $ref: "#/components/schemas/VehicleEnrollmentRequest" },
          examples: { captured: expect.objectContaining({ value: expect.any(Object) }) },
        },
      },
    });
    expect(vehicles.responses["201"].content["application/json"].schema).toEqual({
      $ref: "#/components/schemas/VehicleEnrollmentResponse",
    });
    expect(doc.components.schemas.VehicleEnrollmentRequest).toEqual(
      (() => {
        const json = z.toJSONSchema(ROUTE_TABLE["POST /v1/vehicles"].body.schema, { io: "input" }) as Json;
        return json.$defs.VehicleEnrollmentRequest;
      })(),
    );
    expect(vehicles.description).toBe(ROUTE_TABLE["POST /v1/vehicles"].description);
  });

  it("names shared schemas once and points every error at the Problem schema", () => {
    expect(doc.components.schemas.Key.additionalProperties).toBe(false);
    expect(doc.components.schemas.VehicleKeys.properties.keys.items).toEqual({
      $ref: "#/components/schemas/Key",
    });
    expect(doc.components.responses.Problem401.content["application/problem+json"].schema).toEqual({
      $ref: "#/components/schemas/Problem",
    });
    expect(JSON.stringify(doc)).not.toContain("#/$defs/");
    expect(JSON.stringify(doc)).not.toContain('"$schema"');
  });

  it("marks a body the schema lets be absent as optional, and types path parameters", () => {
    const pairing = doc.paths["/v1/vehicles/{vehicleId}/pairing"].post;
    expect(pairing.requestBody.required).toBe(false);
    expect(pairing.parameters).toEqual([
      expect.objectContaining({ name: "vehicleId", in: "path", required: true, schema: expect.any(Object) }),
    ]);
    expect(pairing.parameters[0].schema.pattern).toBeDefined();
  });

  it("describes the device signature as one security scheme, its other headers as parameters", () => {
    const schemes = doc.components.securitySchemes;
    expect(schemes.sigv4).toMatchObject({ type: "apiKey", in: "header", name: "Authorization" });
    expect(schemes.oemToken).toMatchObject({ type: "http", scheme: "bearer" });
    expect(schemes.deviceSignature).toMatchObject({ type: "apiKey", in: "header", name: "carkey-signature" });
    // No other scheme names a carkey-* header: the signature is one scheme, not four API keys.
    const carkeySchemes = Object.values(schemes as Json).filter((s) => String(s.name).startsWith("carkey-"));
    expect(carkeySchemes).toHaveLength(1);
    // How to compute it: the canonical string's prefix, its lines and the algorithm.
    const description = schemes.deviceSignature.description as string;
    expect(description).toContain(REQUEST_SIGNATURE_PREFIX);
    expect(description).toMatch(/ECDSA on P-256 with SHA-256/);
    for (const header of ["carkey-signer", "carkey-timestamp", "carkey-nonce"])
      expect(description).toContain(header);
    for (const route of ROUTES.filter((r) => r.auth === "device")) {
      const operation = doc.paths[route.path][route.method.toLowerCase()];
      expect(operation.security).toEqual([{ deviceSignature: [] }]);
      const headers = operation.parameters.filter((p: Json) => p.in === "header").map((p: Json) => p.name);
      expect(headers).toEqual(expect.arrayContaining(["carkey-signer", "carkey-timestamp", "carkey-nonce"]));
    }
  });

  it("the canonical string it describes is the one the service verifies", () => {
    const parts = {
      method: "POST",
      path: "/v1/keys",
      body: new TextEncoder().encode("{}"),
      timestamp: 1_700_000_000_000,
      nonce: "00112233445566778899aabbccddeeff",
      signer: "endpoint:0123456789ab" as const,
    };
    const described = [
      REQUEST_SIGNATURE_PREFIX,
      "POST",
      "/v1/keys",
      "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", // SHA-256 of "{}"
      "1700000000000",
      parts.nonce,
      parts.signer,
    ].join("\n");
    expect(new TextDecoder().decode(canonicalRequest(parts))).toBe(described);
  });

  it("names servers, contact, external docs, and a described tag for every operation", () => {
    expect(doc.servers.map((s: Json) => s.url)).toEqual([
      "http://127.0.0.1:3000",
      "https://{apiId}.execute-api.{region}.amazonaws.com",
      "https://{partnerDomain}",
    ]);
    expect(doc.info.contact.name).toBeTruthy();
    expect(doc.externalDocs.url).toBe("/docs");
    const tags = new Map(doc.tags.map((t: Json) => [t.name, t]));
    expect([...tags.keys()]).toEqual(functionNames());
    for (const tag of tags.values()) expect((tag as Json).description.length).toBeGreaterThan(20);
    for (const [path, item] of Object.entries(doc.paths as Json)) {
      for (const [method, operation] of Object.entries(item as Json)) {
        expect(operation.tags, `${method} ${path}`).toHaveLength(1);
        expect(tags.has(operation.tags[0]), `${method} ${path}`).toBe(true);
      }
    }
    expect(() =>
      buildOpenApiDocument([{ ...ROUTES[0]!, functionName: "untagged" }], { version: "1" }),
    ).toThrow(/no tag description/);
  });

  it("describes the service's events as a webhook whose body is the event JSON Schema", () => {
    const webhook = doc.webhooks.serviceEvent.post;
    const body = webhook.requestBody.content["application/json"].schema;
    expect(body).toMatchObject({
      $ref: "#/components/schemas/ServiceEvent",
      "x-json-schema-id": "urn:carkeys:event:v1",
      "x-json-schema-file": "docs/events/service-event.v1.schema.json",
    });
    const file = JSON.parse(
      readFileSync(new URL("../../docs/events/service-event.v1.schema.json", import.meta.url), "utf8"),
    ) as Json;
    expect(doc.components.schemas.ServiceEvent).toEqual(file.$defs.ServiceEvent);
    expect(webhook.parameters.map((p: Json) => p.name)).toEqual([
      "carkeys-webhook-id",
      "carkeys-webhook-timestamp",
      "carkeys-webhook-signature",
    ]);
  });

  it("refuses a route whose path parameters have no schema", () => {
    const extra: RouteContract = {
      key: "GET /v1/nothing/{id}",
      method: "GET",
      path: "/v1/nothing/{id}",
      functionName: "x",
      auth: "none",
      summary: "",
      description: "",
      response: { status: 200, content: { mediaType: "none" } },
      problems: [],
    };
    expect(() => buildOpenApiDocument([...ROUTES, extra], { version: "1" })).toThrow(OpenApiError);
  });

  it("is what functions/openapi.ts serves", () => {
    const served = JSON.parse(openApiJson()) as Json;
    expect(Object.keys(served.paths)).toEqual(Object.keys(doc.paths));
    expect(served.openapi).toBe("3.1.0");
  });
});
