// Lambda for `GET /openapi.json` and `GET /docs`: serves the OpenAPI 3.1
// document generated from the route entries the other handlers validate with
// (src/api/openapi.ts), and the API reference page that renders it
// (src/api/docs/docs-page.ts). Both depend only on code, so each is built once
// per container, on first request, and served as the same bytes after. It
// touches no store and no key, so it needs no configuration.
import middy from "@middy/core";
import httpErrorHandler from "@middy/http-error-handler";
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from "aws-lambda";
import packageJson from "../package.json" with { type: "json" };
import { buildDocsPage, type DocsPage } from "../src/api/docs/docs-page.js";
import { buildOpenApiDocument } from "../src/api/openapi.js";
import { ROUTES } from "../src/api/routes.js";

let body: string | undefined;
let page: DocsPage | undefined;

/** The serialized document (exported for tests and for writing it to a file). */
export function openApiJson(): string {
  body ??= JSON.stringify(buildOpenApiDocument(ROUTES, { version: packageJson.version }));
  return body;
}

/** The API reference page and its Content-Security-Policy. */
export function docsPage(): DocsPage {
  page ??= buildDocsPage();
  return page;
}

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
  .use(httpErrorHandler({ fallbackMessage: "Internal Server Error" }))
  .handler(async (event): Promise<APIGatewayProxyResultV2> => {
    if (event.routeKey === "GET /docs") {
      const { html, contentSecurityPolicy } = docsPage();
      return {
        statusCode: 200,
        headers: {
          "content-type": "text/html; charset=utf-8",
          "content-security-policy": contentSecurityPolicy,
          "x-content-type-options": "nosniff",
          "referrer-policy": "no-referrer",
          "cache-control": "public, max-age=300",
        },
        body: html,
      };
    }
    return {
      statusCode: 200,
      headers: { "content-type": "application/json", "cache-control": "public, max-age=300" },
      body: openApiJson(),
    };
  });
