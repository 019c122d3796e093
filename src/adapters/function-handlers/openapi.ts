// Lambda for `GET /openapi.json` and `GET /docs`: serves the OpenAPI 3.1
// document generated from the route entries the other handlers validate with
// (src/api/openapi.ts), and the API reference page that renders it
// (src/api/docs/docs-page.ts). Both depend only on code, so each is built once
// per container, on first request, and served as the same bytes after. It
// touches no store and no key, so it needs no dependencies.
import packageJson from "../../../package.json" with { type: "json" };
import { buildDocsPage, type DocsPage } from "../../api/docs/docs-page.js";
import { buildOpenApiDocument } from "../../api/openapi.js";
import { OPENAPI_ROUTES } from "../../api/routes/openapi-routes.js";
import { ROUTES } from "../../api/routes.js";
import { createHttpHandler } from "../../service/http/create-http-handler.js";

let document: ReturnType<typeof buildOpenApiDocument> | undefined;
let body: string | undefined;
let page: DocsPage | undefined;

function openApiDocument(): ReturnType<typeof buildOpenApiDocument> {
  document ??= buildOpenApiDocument(ROUTES, { version: packageJson.version });
  return document;
}

/** The serialized document (exported for tests and for writing it to a file). */
export function openApiJson(): string {
  body ??= JSON.stringify(openApiDocument());
  return body;
}

/** The API reference page and its Content-Security-Policy. */
export function docsPage(): DocsPage {
  page ??= buildDocsPage();
  return page;
}

const CACHE = { "cache-control": "public, max-age=300" } as const;

export function makeHandler() {
  return createHttpHandler(
    OPENAPI_ROUTES,
    {
      "GET /openapi.json": async () => openApiDocument() as never,
      "GET /docs": async () => docsPage().html,
    },
    {},
    {
      replyHeaders: {
        "GET /openapi.json": () => CACHE,
        "GET /docs": () => ({
          "content-security-policy": docsPage().contentSecurityPolicy,
          "x-content-type-options": "nosniff",
          "referrer-policy": "no-referrer",
          ...CACHE,
        }),
      },
    },
  );
}
