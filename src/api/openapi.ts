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
// server's static bearer token; `device` routes carry a device signature
// (one scheme, openapi/device-signature.ts, with its three companion headers
// as parameters). Every error is RFC 9457 problem+json, from the one
// catalogue (problems.ts). Around the paths: the servers (local and a
// deployed stack), one tag per function (openapi/tags.ts), the service's
// events as a webhook whose body is the event schema of
// docs/events/service-event.v1.schema.json, and for every body an example
// captured from a real exchange with the local stack (openapi/examples.ts).
import { STATUS_CODES } from "node:http";
import * as z from "zod/mini";
import { WEBHOOK_HEADERS } from "../protocol/webhook-signature.js";
import { OpenApiError } from "./errors.js";
import { EVENT_SCHEMA_FILE, EVENT_SCHEMA_ID, PublishedEventSchema } from "./event-schemas.js";
import {
  DEVICE_SIGNATURE_SCHEME,
  DEVICE_SIGNATURE_SECURITY_SCHEME,
  deviceSignatureParameters,
} from "./openapi/device-signature.js";
import { type ApiExamples, STORED_EXAMPLES } from "./openapi/examples.js";
import { FUNCTION_TAGS } from "./openapi/tags.js";
import { PROBLEM_KINDS, PROBLEM_MEDIA_TYPE, ProblemSchema } from "./problems.js";
import { pathParameterNames, type RouteContract, routeProblems } from "./route-contract.js";

export interface OpenApiOptions {
  /** `info.version`: the deployed package's version. */
  readonly version: string;
  /** Examples of bodies, captured from real exchanges; default the stored ones (src/api/examples/). */
  readonly examples?: ApiExamples;
  /** `info.contact`; default DEFAULT_CONTACT, a placeholder a deploying OEM replaces with its own. */
  readonly contact?: { readonly name: string; readonly url?: string; readonly email?: string };
}

/** Where an integrating OEM asks (a reserved `.example` domain: each deployment names its own team). */
export const DEFAULT_CONTACT = {
  name: "OEM integration team of the automaker operating this deployment",
  email: "oem-integration@carkeys.example",
} as const;

/** The servers: the local stack, a deployed stack's execute-api endpoint, and the partner domain with mTLS. */
export const SERVERS = [
  { url: "http://127.0.0.1:3000", description: "The local stack (`npm start`)" },
  {
    url: "https://{apiId}.execute-api.{region}.amazonaws.com",
    description: "A deployed stack (its `ApiUrl` output): API Gateway's default endpoint",
    variables: {
      apiId: { default: "abcde12345", description: "The HTTP API's id, from the stack's `ApiUrl` output" },
      region: { default: "eu-central-1", description: "The AWS Region the stack is deployed in" },
    },
  },
  {
    url: "https://{partnerDomain}",
    description:
      "A deployed stack's custom domain with mutual TLS (`PartnerApiUrl` output), where the server-to-server " +
      "routes are served",
    variables: {
      partnerDomain: {
        default: "partners.carkeys.example",
        description: "The `carkeys:mtlsDomainName` the stack was deployed with",
      },
    },
  },
] as const;

type JsonSchema = Record<string, unknown>;

const THROTTLED_STATUS = 429;
/** API Gateway's own answer when a stage's throttling limit is reached. */
const gatewayThrottled = {
  schema: {
    type: "object",
    properties: { message: { type: "string", const: "Too Many Requests" } },
    required: ["message"],
  },
  examples: {
    apiGateway: {
      summary: "API Gateway's answer (its documented body for a throttled request)",
      value: { message: "Too Many Requests" },
    },
  },
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
  [DEVICE_SIGNATURE_SCHEME]: DEVICE_SIGNATURE_SECURITY_SCHEME,
} as const;

const SECURITY_BY_AUTH: Readonly<Record<RouteContract["auth"], readonly Record<string, string[]>[]>> = {
  none: [],
  oem: [{ sigv4: [] }, { oemToken: [] }],
  device: [{ [DEVICE_SIGNATURE_SCHEME]: [] }],
};

/** Builds the document for `routes`; throws OpenApiError when a route cannot be described. */
export function buildOpenApiDocument(routes: readonly RouteContract[], options: OpenApiOptions): JsonSchema {
  const examples = options.examples ?? STORED_EXAMPLES;
  const components = new Components();
  const problem = components.schema(ProblemSchema, "output");
  const paths: Record<string, Record<string, unknown>> = {};
  const problemResponses: Record<string, unknown> = {};
  const operationIds = new Set<string>();
  const functions: string[] = [];

  for (const route of routes) {
    const id = operationId(route);
    if (operationIds.has(id)) throw new OpenApiError(`two routes are ${route.method} ${route.path}`);
    operationIds.add(id);
    if (!FUNCTION_TAGS[route.functionName]) {
      throw new OpenApiError(
        `function ${route.functionName} has no tag description (src/api/openapi/tags.ts)`,
      );
    }
    if (!functions.includes(route.functionName)) functions.push(route.functionName);
    const exchange = examples.operations[route.key];
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
      ...(route.auth === "device" ? deviceSignatureParameters() : []),
    ];
    if (parameters.length > 0) operation.parameters = parameters;
    if (route.body) {
      const media: Record<string, unknown> = { schema: components.schema(route.body.schema, "input") };
      if (exchange?.request?.body !== undefined) media.examples = capturedExample(exchange.request.body);
      operation.requestBody = {
        // A body schema that accepts "nothing" (z.optional) makes the body optional.
        required: !route.body.schema.safeParse(undefined).success,
        content: { "application/json": media },
      };
    }
    operation.responses = responses(route, components, problem, problemResponses, examples);
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
        "device's secure element (the `deviceSignature` security scheme says how). Errors are RFC 9457 " +
        "problem details (application/problem+json). The service's events are described under `webhooks`. " +
        "Every example in this document was captured from a real exchange with the local stack.",
      contact: options.contact ?? DEFAULT_CONTACT,
      license: { name: "Apache-2.0", identifier: "Apache-2.0" },
    },
    externalDocs: {
      description:
        "The rendered API reference of this document, served beside it. The protocol behind the routes " +
        "(certificates, signed statements, the device request signature) is docs/protocol.md in the repository.",
      url: "/docs",
    },
    servers: SERVERS,
    tags: functions.map((name) => ({
      name,
      "x-displayName": FUNCTION_TAGS[name]!.displayName,
      description: FUNCTION_TAGS[name]!.description,
    })),
    paths,
    webhooks: { serviceEvent: serviceEventWebhook(components, examples) },
    components: {
      schemas: components.all(),
      responses: Object.fromEntries(Object.entries(problemResponses).sort(([a], [b]) => a.localeCompare(b))),
      securitySchemes: SECURITY_SCHEMES,
    },
  };
}

/** An `examples` map holding one example captured from the local stack. */
function capturedExample(value: unknown): Record<string, unknown> {
  return { captured: { summary: "Captured from a real exchange with the local stack", value } };
}

/**
 * The service's events as an OpenAPI 3.1 webhook: what the service POSTs to
 * the configured webhook URL, its body the event schema of
 * docs/events/service-event.v1.schema.json (the same zod schema, named
 * `ServiceEvent` in the components), its signature headers those of
 * src/protocol/webhook-signature.ts.
 */
function serviceEventWebhook(components: Components, examples: ApiExamples): Record<string, unknown> {
  const schema = components.schema(PublishedEventSchema, "output");
  const header = (name: string, description: string, pattern: string) => ({
    name,
    in: "header",
    required: true,
    description,
    schema: { type: "string", pattern },
  });
  const body: Record<string, unknown> = {
    schema: { ...schema, "x-json-schema-id": EVENT_SCHEMA_ID, "x-json-schema-file": EVENT_SCHEMA_FILE },
  };
  if (examples.webhook) body.examples = capturedExample(examples.webhook.body);
  return {
    post: {
      operationId: "serviceEvent",
      summary: "A service event, POSTed signed to the deployment's webhook URL",
      description:
        `Each event the service publishes, as JSON: one format, \`${EVENT_SCHEMA_ID}\`, whose JSON Schema ` +
        `2020-12 is ${EVENT_SCHEMA_FILE} in the repository (the \`ServiceEvent\` schema here is the same). ` +
        "The same events are the `detail` of the EventBridge entries (source `carkeys`). The signature is " +
        'ECDSA P-256 / SHA-256 over `"carkeys-webhook-v1" LF <id> LF <timestamp> LF <body bytes>`, with the ' +
        "key published at `GET /v1/webhook-signing-key`; refuse a timestamp more than 300 s from your clock " +
        "and an id you accepted in the last 300 s. A delivery is made once (2 s timeout), not retried.",
      tags: ["trust-anchors"],
      security: [],
      parameters: [
        header(WEBHOOK_HEADERS.id, "The delivery's id: a lower-case UUID", "^[0-9a-f-]{36}$"),
        header(WEBHOOK_HEADERS.timestamp, "When the delivery was signed: Unix seconds", "^[0-9]{1,16}$"),
        header(
          WEBHOOK_HEADERS.signature,
          "v1=<base64url of the raw r‖s signature>",
          "^v1=[A-Za-z0-9_-]{86}$",
        ),
      ],
      requestBody: { required: true, content: { "application/json": body } },
      responses: {
        "200": { description: "Accepted: any 2xx answer ends the delivery" },
        "401": { description: "The receiver refused the signature, the timestamp or a repeated id" },
      },
    },
  };
}

function responses(
  route: RouteContract,
  components: Components,
  problem: JsonSchema,
  problems: Record<string, unknown>,
  examples: ApiExamples,
): Record<string, unknown> {
  const { response } = route;
  const captured = examples.operations[route.key]?.responses ?? {};
  const headers = response.headers
    ? Object.fromEntries(
        Object.entries(response.headers).map(([name, description]) => [
          name,
          { description, schema: { type: "string" } },
        ]),
      )
    : undefined;
  const content = (status: number) => {
    if (response.content.mediaType === "none") return undefined;
    const media: Record<string, unknown> = { schema: components.schema(response.content.schema, "output") };
    const example = captured[String(status)];
    if (example?.body !== undefined) media.examples = capturedExample(example.body);
    return { [response.content.mediaType]: media };
  };
  const answer = (status: number, description: string) => {
    const body = content(status);
    return { description, ...(headers ? { headers } : {}), ...(body ? { content: body } : {}) };
  };
  const result: Record<string, unknown> = {
    [String(response.status)]: answer(response.status, STATUS_CODES[response.status] ?? "Success"),
  };
  if (response.repeatStatus !== undefined) {
    // Idempotent routes answer a repeat with what the first request did.
    result[String(response.repeatStatus)] = answer(
      response.repeatStatus,
      response.repeatStatus === 200
        ? "A repeat of an earlier request: what that request created"
        : "A repeat of an earlier request (the same request id): nothing is done again",
    );
  }
  const statuses = new Set(routeProblems(route).map((kind) => PROBLEM_KINDS[kind].status));
  // In AWS every route may be throttled by API Gateway's stage limits (the stack's `throttle`).
  statuses.add(THROTTLED_STATUS);
  for (const status of [...statuses].sort((a, b) => a - b)) {
    const kinds = Object.values(PROBLEM_KINDS).filter((kind) => kind.status === status);
    const types = [...new Set(kinds.map((kind) => kind.type))].join(" or ");
    problems[`Problem${status}`] ??= {
      description:
        status === THROTTLED_STATUS
          ? `${STATUS_CODES[status]}: in AWS, API Gateway's stage throttling (the stack's \`throttle\`, by ` +
            'default 100 requests/s, burst 200) answers `{"message":"Too Many Requests"}` (application/json) ' +
            `before any function runs; the relay's own limits answer RFC 9457 problem details (type ${types}). ` +
            "Retry later."
          : `${STATUS_CODES[status] ?? "Error"} (RFC 9457 problem details; type ${types})`,
      content: {
        ...(status === THROTTLED_STATUS ? { "application/json": gatewayThrottled } : {}),
        [PROBLEM_MEDIA_TYPE]: {
          schema: problem,
          ...(examples.problems[String(status)]
            ? { examples: capturedExample(examples.problems[String(status)]) }
            : {}),
        },
      },
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
  schema: z.ZodMiniType | undefined,
  where: "query" | "header",
): Record<string, unknown>[] {
  if (!schema) return [];
  const json = z.toJSONSchema(schema, { target: "draft-2020-12", io: "input" }) as JsonSchema;
  const required = new Set((json.required as string[] | undefined) ?? []);
  return Object.entries(propertiesOf(schema)).map(([name, property]) =>
    parameter(name, where, required.has(name), property),
  );
}

function propertiesOf(schema: z.ZodMiniType): Record<string, JsonSchema> {
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

/** Collects named schemas into `components/schemas`, refusing two different schemas under one name. */
class Components {
  readonly #schemas = new Map<string, { json: JsonSchema; text: string }>();

  /** The JSON Schema of `schema`, with its named parts moved into the components. */
  schema(schema: z.ZodMiniType, io: "input" | "output"): JsonSchema {
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
