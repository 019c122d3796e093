// The OpenAPI generator on its own: that it renders the very schemas the
// handlers validate with, names shared schemas once, marks optional bodies,
// and refuses a route it has no schemas for instead of documenting it vaguely.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { openApiJson } from "../../functions/openapi.js";
import { buildOpenApiDocument, OpenApiError } from "../../src/api/openapi.js";
import type { RouteContract } from "../../src/api/route-contract.js";
import { ROUTE_TABLE, ROUTES } from "../../src/api/routes.js";

// biome-ignore lint/suspicious/noExplicitAny: a generated JSON document, walked by the assertions themselves
type Json = Record<string, any>;
const doc = buildOpenApiDocument(ROUTES, { version: "9.9.9" }) as Json;

describe("buildOpenApiDocument", () => {
  it("renders each route's request and response schemas from its entry", () => {
    expect(doc.info.version).toBe("9.9.9");
    const vehicles = doc.paths["/v1/vehicles"].post;
    expect(vehicles.requestBody).toEqual({
      required: true,
      content: { "application/json": { schema: { $ref: "#/components/schemas/VehicleEnrollmentRequest" } } },
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

  it("describes device signing headers and OEM authorization as security schemes", () => {
    const schemes = doc.components.securitySchemes;
    expect(schemes.sigv4).toMatchObject({ type: "apiKey", in: "header", name: "Authorization" });
    expect(schemes.oemToken).toMatchObject({ type: "http", scheme: "bearer" });
    for (const header of ["carkey-signer", "carkey-timestamp", "carkey-nonce", "carkey-signature"]) {
      expect(Object.values(schemes)).toContainEqual(expect.objectContaining({ in: "header", name: header }));
    }
    expect(doc.paths["/v1/keys"].post.security).toEqual([
      { carkeySigner: [], carkeyTimestamp: [], carkeyNonce: [], carkeySignature: [] },
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
