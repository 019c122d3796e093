// Lambda for `GET /openapi.json`: serves the OpenAPI 3.1 document generated
// from the route entries the other handlers validate with (src/api/openapi.ts). The document depends only on code, so it is built
// once per container, on first request, and served as the same bytes after.
// It touches no store and no key, so it needs no configuration.
import middy from "@middy/core";
import httpErrorHandler from "@middy/http-error-handler";
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from "aws-lambda";
import packageJson from "../package.json" with { type: "json" };
import { buildOpenApiDocument } from "../src/api/openapi.js";
import { ROUTES } from "../src/api/routes.js";

let body: string | undefined;

/** The serialized document (exported for tests and for writing it to a file). */
export function openApiJson(): string {
  body ??= JSON.stringify(buildOpenApiDocument(ROUTES, { version: packageJson.version }));
  return body;
}

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
  .use(httpErrorHandler({ fallbackMessage: "Internal Server Error" }))
  .handler(async () => ({
    statusCode: 200,
    headers: { "content-type": "application/json", "cache-control": "public, max-age=300" },
    body: openApiJson(),
  }));
