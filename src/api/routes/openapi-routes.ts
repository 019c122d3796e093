// The OpenAPI document and the API reference page rendered from it
// (functions/openapi.ts; the page is src/api/docs/docs-page.ts).
import * as z from "zod/mini";
import { defineRouteSet } from "../route-contract.js";

export const OPENAPI_PATH = "/openapi.json";
export const DOCS_PATH = "/docs";

/** On every answer of GET /docs. */
export const DOCS_RESPONSE_HEADERS = {
  "content-security-policy":
    "default-src 'none'; scripts and styles allowed by their SHA-256 only, connect-src 'self': the page " +
    "runs only the Swagger UI it carries and fetches only /openapi.json",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "public, max-age=300: the page changes only with a deployment",
} as const;

export const OPENAPI_ROUTES = defineRouteSet("openapi", {
  "GET /openapi.json": {
    auth: "none",
    summary: "This API's OpenAPI 3.1 document",
    description: "This document: OpenAPI 3.1, generated from the schemas that validate requests.",
    response: {
      status: 200,
      content: {
        mediaType: "application/json",
        schema: z
          .looseObject({ openapi: z.literal("3.1.0"), info: z.looseObject({}), paths: z.looseObject({}) })
          .check(z.meta({ description: "An OpenAPI 3.1 document" })),
      },
      headers: { "cache-control": "public, max-age=300: the document changes only with a deployment" },
    },
    problems: [],
  },
  "GET /docs": {
    auth: "none",
    summary: "The API reference: this document rendered as a web page",
    description:
      "An HTML page that renders this document (fetched from `openapi.json` beside it) with Swagger UI. " +
      "Everything it runs comes in this one answer, allowed by a strict Content-Security-Policy; it loads " +
      "nothing from another origin.",
    response: {
      status: 200,
      content: {
        mediaType: "text/html",
        schema: z
          .string()
          .check(z.meta({ description: "An HTML page (Swagger UI and the script that starts it)" })),
      },
      headers: DOCS_RESPONSE_HEADERS,
    },
    problems: [],
  },
});
