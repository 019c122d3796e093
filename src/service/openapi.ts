// The HTTP API's OpenAPI 3.1 document, generated from the very zod schemas
// the handlers validate with (src/service/schemas.ts `ROUTE_SCHEMAS`) and the
// route table, so the document cannot promise what the code does not check.
// OpenAPI 3.1 schemas are JSON Schema 2020-12, which is what z.toJSONSchema
// emits: request bodies are rendered as the input type, responses as the
// output type. Schemas with a zod `id` become `components/schemas` entries
// (their `$defs` refs are rewritten to point there), so Key, Problem and the
// rest are named once. The routes come in as a parameter, shaped like
// functions/routes.ts, so the service does not import from functions/
// (docs/architecture.md: functions → service, never back).
//
// Security: `oem` routes are IAM (SigV4) on API Gateway, or the local
// server's static bearer token; `device` routes carry the four carkey-*
// headers of a signed request (docs/protocol.md "Signed service requests").
// Every error is RFC 9457 problem+json.
import { STATUS_CODES } from "node:http";
import { z } from "zod";
import { REQUEST_HEADERS } from "../protocol/request-signature.js";
import { DeviceRequestHeadersSchema, ProblemSchema, ROUTE_SCHEMAS, type RouteSchemas } from "./schemas.js";

/** A route as functions/routes.ts declares it (structurally, see the header comment). */
export interface OpenApiRoute {
  readonly method: string;
  readonly path: string;
  readonly functionName: string;
  readonly auth: "oem" | "device" | "none";
  readonly summary: string;
}

export interface OpenApiOptions {
  /** `info.version`: the deployed package's version. */
  readonly version: string;
  /** Default: ROUTE_SCHEMAS plus this document's own route. */
  readonly schemas?: Readonly<Record<string, RouteSchemas>>;
}

/** The document cannot be built: a route has no schemas, or two schemas claim one component name. */
export class OpenApiError extends Error {
  override name = "OpenApiError";
}

type JsonSchema = Record<string, unknown>;

export const OPENAPI_PATH = "/openapi.json";
export const PROBLEM_MEDIA_TYPE = "application/problem+json";

/** The document's own entry, which schemas.ts (the API's resources) does not describe. */
const OPENAPI_ROUTE_SCHEMAS: RouteSchemas = {
  description: "This document: OpenAPI 3.1, generated from the schemas that validate requests.",
  response: z
    .looseObject({ openapi: z.literal("3.1.0"), info: z.looseObject({}), paths: z.looseObject({}) })
    .meta({ description: "An OpenAPI 3.1 document" }),
  successStatus: 200,
  problemStatuses: [],
};

const SECURITY_SCHEMES = {
  sigv4: {
    type: "apiKey",
    in: "header",
    name: "Authorization",
    description:
      "In AWS: IAM authorization on API Gateway. Sign the request with AWS Signature Version 4 " +
      "(service `execute-api`) using credentials allowed to call `execute-api:Invoke` on the route.",
    "x-amazon-apigateway-authtype": "awsSigv4",
  },
  oemToken: {
    type: "http",
    scheme: "bearer",
    description:
      "On the local server (`npm start`) only: the static OEM token, from OEM_API_TOKEN or the file " +
      "`.data/oem-token`, sent as `authorization: Bearer <token>`.",
  },
  carkeySigner: deviceHeaderScheme(REQUEST_HEADERS.signer),
  carkeyTimestamp: deviceHeaderScheme(REQUEST_HEADERS.timestamp),
  carkeyNonce: deviceHeaderScheme(REQUEST_HEADERS.nonce),
  carkeySignature: deviceHeaderScheme(REQUEST_HEADERS.signature),
} as const;

const SECURITY_BY_AUTH: Readonly<Record<OpenApiRoute["auth"], readonly Record<string, string[]>[]>> = {
  none: [],
  oem: [{ sigv4: [] }, { oemToken: [] }],
  // All four headers together: one requirement object lists schemes that must all be satisfied.
  device: [{ carkeySigner: [], carkeyTimestamp: [], carkeyNonce: [], carkeySignature: [] }],
};

/** Builds the document for `routes`; throws OpenApiError when a route has no schemas. */
export function buildOpenApiDocument(routes: readonly OpenApiRoute[], options: OpenApiOptions): JsonSchema {
  const table: Readonly<Record<string, RouteSchemas>> = options.schemas ?? {
    ...(ROUTE_SCHEMAS as Readonly<Record<string, RouteSchemas>>),
    [`GET ${OPENAPI_PATH}`]: OPENAPI_ROUTE_SCHEMAS,
  };
  const components = new Components();
  const problem = components.schema(ProblemSchema, "output");
  const paths: Record<string, Record<string, unknown>> = {};
  const problemResponses: Record<string, unknown> = {};

  for (const route of routes) {
    const key = `${route.method} ${route.path}`;
    const schemas = Object.hasOwn(table, key) ? table[key] : undefined;
    if (!schemas) throw new OpenApiError(`route ${key} has no entry in ROUTE_SCHEMAS`);
    const operation: Record<string, unknown> = {
      operationId: operationId(route),
      summary: route.summary,
      description: schemas.description,
      tags: [route.functionName],
      security: SECURITY_BY_AUTH[route.auth],
    };
    const parameters = pathParameters(route.path, schemas.params);
    if (parameters.length > 0) operation.parameters = parameters;
    if (schemas.body) {
      operation.requestBody = {
        // A body schema that accepts "nothing" (z.optional) makes the body optional.
        required: !schemas.body.safeParse(undefined).success,
        content: { "application/json": { schema: components.schema(schemas.body, "input") } },
      };
    }
    operation.responses = responses(
      route,
      schemas,
      components.schema(schemas.response, "output"),
      problem,
      problemResponses,
    );
    paths[route.path] = { ...paths[route.path], [route.method.toLowerCase()]: operation };
  }

  return {
    openapi: "3.1.0",
    info: {
      title: "Car Keys service API",
      version: options.version,
      description:
        "Certificate issuance and key tracking for digital car keys, deployed by an automaker (OEM) into its " +
        "own AWS account. OEM backend routes use IAM (SigV4); device routes are signed by a key in the " +
        "device's secure element. Errors are RFC 9457 problem details (application/problem+json).",
      license: { name: "Apache-2.0", identifier: "Apache-2.0" },
    },
    paths,
    components: {
      schemas: components.all(),
      responses: Object.fromEntries(Object.entries(problemResponses).sort(([a], [b]) => a.localeCompare(b))),
      securitySchemes: SECURITY_SCHEMES,
    },
  };
}

function responses(
  route: OpenApiRoute,
  schemas: RouteSchemas,
  success: JsonSchema,
  problem: JsonSchema,
  problems: Record<string, unknown>,
): Record<string, unknown> {
  const result: Record<string, unknown> = {
    [String(schemas.successStatus)]: {
      description: STATUS_CODES[schemas.successStatus] ?? "Success",
      content: { "application/json": { schema: success } },
    },
  };
  if (schemas.successStatus === 201) {
    // Idempotent creations answer a repeat with the record already made.
    result["200"] = {
      description: "A repeat of an earlier request: what that request created",
      content: { "application/json": { schema: success } },
    };
  }
  const statuses = new Set<number>(schemas.problemStatuses);
  if (route.auth !== "none") statuses.add(401);
  if (schemas.body) statuses.add(413);
  statuses.add(500);
  for (const status of [...statuses].sort((a, b) => a - b)) {
    problems[`Problem${status}`] ??= {
      description: `${STATUS_CODES[status] ?? "Error"} (RFC 9457 problem details)`,
      content: { [PROBLEM_MEDIA_TYPE]: { schema: problem } },
    };
    result[String(status)] = { $ref: `#/components/responses/Problem${status}` };
  }
  return result;
}

function pathParameters(path: string, params: z.ZodType | undefined): Record<string, unknown>[] {
  const names = [...path.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)\+?\}/g)].map((m) => m[1]!);
  if (names.length === 0) return [];
  const properties =
    params === undefined
      ? {}
      : ((z.toJSONSchema(params, { target: "draft-2020-12", io: "input" }) as JsonSchema).properties as
          | Record<string, JsonSchema>
          | undefined);
  return names.map((name) => {
    const schema = { ...(properties?.[name] ?? { type: "string" }) };
    const description = schema.description;
    delete schema.description;
    return {
      name,
      in: "path",
      required: true,
      ...(typeof description === "string" ? { description } : {}),
      schema,
    };
  });
}

/** `GET /v1/keys/{keyId}` → `getV1KeysByKeyId`. */
function operationId(route: OpenApiRoute): string {
  const words = route.path
    .split("/")
    .filter((s) => s !== "")
    .map((segment) => {
      const param = /^\{(\w+)\+?\}$/.exec(segment);
      const text = param ? `by-${param[1]}` : segment;
      return text
        .split(/[^A-Za-z0-9]+/)
        .filter((w) => w !== "")
        .map((w) => w[0]!.toUpperCase() + w.slice(1))
        .join("");
    });
  return route.method.toLowerCase() + words.join("");
}

function deviceHeaderScheme(header: string): Record<string, string> {
  const shape = DeviceRequestHeadersSchema.shape as Record<string, z.ZodType>;
  const described = shape[header] ? z.toJSONSchema(shape[header]!).description : undefined;
  return {
    type: "apiKey",
    in: "header",
    name: header,
    description:
      `Part of a signed device request (docs/protocol.md "Signed service requests"): ${described ?? header}. ` +
      "The signature covers method, path and query, SHA-256 of the body, timestamp, nonce and signer.",
  };
}

/** Collects named schemas into `components/schemas`, refusing two different schemas under one name. */
class Components {
  readonly #schemas = new Map<string, { json: JsonSchema; text: string }>();

  /** The JSON Schema of `schema`, with its named parts moved into the components. */
  schema(schema: z.ZodType, io: "input" | "output"): JsonSchema {
    const json = z.toJSONSchema(schema, { target: "draft-2020-12", io }) as JsonSchema;
    const defs = (json.$defs ?? {}) as Record<string, JsonSchema>;
    delete json.$defs;
    delete json.$schema;
    for (const [name, def] of Object.entries(defs)) this.#add(name, rewriteRefs(def) as JsonSchema);
    return rewriteRefs(json) as JsonSchema;
  }

  all(): Record<string, JsonSchema> {
    const sorted = [...this.#schemas.entries()].sort(([a], [b]) => a.localeCompare(b));
    return Object.fromEntries(sorted.map(([name, { json }]) => [name, json]));
  }

  #add(name: string, json: JsonSchema): void {
    const text = JSON.stringify(json);
    const existing = this.#schemas.get(name);
    if (existing && existing.text !== text) {
      throw new OpenApiError(`two different schemas are named ${name} (input and output types differ?)`);
    }
    this.#schemas.set(name, { json, text });
  }
}

function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (value === null || typeof value !== "object") return value;
  const result: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (key === "$ref" && typeof inner === "string") {
      if (!inner.startsWith("#/$defs/"))
        throw new OpenApiError(`unsupported $ref ${inner} in a generated schema`);
      result[key] = `#/components/schemas/${inner.slice("#/$defs/".length)}`;
    } else {
      result[key] = rewriteRefs(inner);
    }
  }
  return result;
}
