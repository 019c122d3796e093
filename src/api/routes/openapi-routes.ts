// The OpenAPI document's own route (functions/openapi.ts).
import { z } from "zod";
import { defineRouteSet } from "../route-contract.js";

export const OPENAPI_PATH = "/openapi.json";

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
          .meta({ description: "An OpenAPI 3.1 document" }),
      },
      headers: { "cache-control": "public, max-age=300: the document changes only with a deployment" },
    },
    problems: [],
  },
});
