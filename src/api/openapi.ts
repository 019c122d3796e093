// The HTTP API's OpenAPI 3.1 document, generated from the route entries
// (src/api/routes.ts): the very zod schemas the handlers validate with, so
// the document cannot promise what the code does not check. OpenAPI 3.1
// schemas are JSON Schema 2020-12, which is what z.toJSONSchema emits:
// request bodies, parameters and headers are rendered as the input type,
// responses as the output type. Schemas with a zod `id` become
// `components/schemas` entries (their `$defs` refs are rewritten to point
// there), so Key, Problem and the rest are named once.
//
// Security: `oem` routes are IAM (SigV4) on API Gateway, or the local
// server's static bearer token; `device` routes carry the four carkey-*
// headers of a signed request (docs/protocol.md "Signed service requests").
// Every error is RFC 9457 problem+json, from the one catalogue (problems.ts).
import { STATUS_CODES } from "node:http";
import { z } from "zod";
import { REQUEST_HEADERS } from "../protocol/request-signature.js";
import { DeviceRequestHeadersSchema } from "./device-request-headers.js";
import { PROBLEM_KINDS, PROBLEM_MEDIA_TYPE, ProblemSchema } from "./problems.js";
import { pathParameterNames, type RouteContract, routeProblems } from "./route-contract.js";

export interface OpenApiOptions {
  /** `info.version`: the deployed package's version. */
  readonly version: string;
}

/** The document cannot be built: a path parameter without a schema, or two schemas claim one component name. */
export class OpenApiError extends Error {
  override name = "OpenApiError";
}

type JsonSchema = Record<string, unknown>;

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

const SECURITY_BY_AUTH: Readonly<Record<RouteContract["auth"], readonly Record<string, string[]>[]>> = {
  none: [],
  oem: [{ sigv4: [] }, { oemToken: [] }],
  // All four headers together: one requirement object lists schemes that must all be satisfied.
  device: [{ carkeySigner: [], carkeyTimestamp: [], carkeyNonce: [], carkeySignature: [] }],
};

/** Builds the document for `routes`; throws OpenApiError when a route cannot be described. */
export function buildOpenApiDocument(routes: readonly RouteContract[], options: OpenApiOptions): JsonSchema {
  const components = new Components();
  const problem = components.schema(ProblemSchema, "output");
  const paths: Record<string, Record<string, unknown>> = {};
  const problemResponses: Record<string, unknown> = {};
  const operationIds = new Set<string>();

  for (const route of routes) {
    const id = operationId(route);
    if (operationIds.has(id)) throw new OpenApiError(`two routes are ${route.method} ${route.path}`);
    operationIds.add(id);
    const operation: Record<string, unknown> = {
      operationId: id,
      summary: route.summary,
      description: route.description,
      tags: [route.functionName],
      security: SECURITY_BY_AUTH[route.auth],
    };
    const parameters = [
      ...pathParameters(route),
      ...namedParameters(route.query, "query"),
      ...namedParameters(route.headers, "header"),
    ];
    if (parameters.length > 0) operation.parameters = parameters;
    if (route.body) {
      operation.requestBody = {
        // A body schema that accepts "nothing" (z.optional) makes the body optional.
        required: !route.body.schema.safeParse(undefined).success,
        content: { "application/json": { schema: components.schema(route.body.schema, "input") } },
      };
    }
    operation.responses = responses(route, components, problem, problemResponses);
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
  route: RouteContract,
  components: Components,
  problem: JsonSchema,
  problems: Record<string, unknown>,
): Record<string, unknown> {
  const { response } = route;
  const headers = response.headers
    ? Object.fromEntries(
        Object.entries(response.headers).map(([name, description]) => [
          name,
          { description, schema: { type: "string" } },
        ]),
      )
    : undefined;
  const content =
    response.content.mediaType === "none"
      ? undefined
      : {
          [response.content.mediaType]: {
            schema: components.schema(response.content.schema, "output"),
          },
        };
  const answer = (description: string) => ({
    description,
    ...(headers ? { headers } : {}),
    ...(content ? { content } : {}),
  });
  const result: Record<string, unknown> = {
    [String(response.status)]: answer(STATUS_CODES[response.status] ?? "Success"),
  };
  if (response.repeatStatus !== undefined) {
    // Idempotent routes answer a repeat with what the first request did.
    result[String(response.repeatStatus)] = answer(
      response.repeatStatus === 200
        ? "A repeat of an earlier request: what that request created"
        : "A repeat of an earlier request (the same request id): nothing is done again",
    );
  }
  const statuses = new Set(routeProblems(route).map((kind) => PROBLEM_KINDS[kind].status));
  for (const status of [...statuses].sort((a, b) => a - b)) {
    const kinds = Object.values(PROBLEM_KINDS).filter((kind) => kind.status === status);
    problems[`Problem${status}`] ??= {
      description:
        `${STATUS_CODES[status] ?? "Error"} (RFC 9457 problem details; type ` +
        `${[...new Set(kinds.map((kind) => kind.type))].join(" or ")})`,
      content: { [PROBLEM_MEDIA_TYPE]: { schema: problem } },
    };
    result[String(status)] = { $ref: `#/components/responses/Problem${status}` };
  }
  return result;
}

function pathParameters(route: RouteContract): Record<string, unknown>[] {
  const names = pathParameterNames(route.path);
  if (names.length === 0) return [];
  if (!route.params) throw new OpenApiError(`${route.key} has path parameters but no params schema`);
  const properties = propertiesOf(route.params);
  return names.map((name) => {
    const schema = properties[name];
    if (!schema) throw new OpenApiError(`${route.key}: the params schema has no ${name}`);
    return parameter(name, "path", true, schema);
  });
}

function namedParameters(
  schema: z.ZodType | undefined,
  where: "query" | "header",
): Record<string, unknown>[] {
  if (!schema) return [];
  const json = z.toJSONSchema(schema, { target: "draft-2020-12", io: "input" }) as JsonSchema;
  const required = new Set((json.required as string[] | undefined) ?? []);
  return Object.entries(propertiesOf(schema)).map(([name, property]) =>
    parameter(name, where, required.has(name), property),
  );
}

function propertiesOf(schema: z.ZodType): Record<string, JsonSchema> {
  const json = z.toJSONSchema(schema, { target: "draft-2020-12", io: "input" }) as JsonSchema;
  return (json.properties as Record<string, JsonSchema> | undefined) ?? {};
}

function parameter(
  name: string,
  where: string,
  required: boolean,
  property: JsonSchema,
): Record<string, unknown> {
  const schema = { ...property };
  const description = schema.description;
  delete schema.description;
  return {
    name,
    in: where,
    required,
    ...(typeof description === "string" ? { description } : {}),
    schema,
  };
}

/** `GET /v1/keys/{keyId}` → `getV1KeysByKeyId`. */
function operationId(route: RouteContract): string {
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
