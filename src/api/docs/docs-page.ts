// GET /docs: the API reference, rendered in the browser by Swagger UI from
// the live OpenAPI document (`openapi.json`, relative to the page, so it also
// works under a path prefix). Everything the page runs and loads comes from
// this one answer: Swagger UI's bundle, its stylesheet and a few lines that
// start it, inline, each allowed by its SHA-256 in the Content-Security-Policy
// (no 'unsafe-inline', no eval, no other origin). The page only reads: Swagger
// UI's "Try it out" is off (device routes need a secure element's signature,
// OEM routes SigV4), and connect-src 'self' lets it fetch nothing but the
// document.
import { createHash } from "node:crypto";
import { readSwaggerUiFile } from "./swagger-ui-files.js";

export interface DocsPage {
  readonly html: string;
  readonly contentSecurityPolicy: string;
}

/** The script that starts Swagger UI on the page (options: swagger-ui's documented configuration). */
const START_SCRIPT = `window.ui = SwaggerUIBundle({
  url: new URL("openapi.json", document.baseURI).href,
  dom_id: "#swagger-ui",
  deepLinking: true,
  docExpansion: "list",
  defaultModelsExpandDepth: 0,
  displayOperationId: true,
  supportedSubmitMethods: [],
  validatorUrl: null,
  tryItOutEnabled: false,
});`;

const PAGE_STYLE = "body { margin: 0; }";

function sha256Source(text: string): string {
  return `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;
}

/** `</script` inside inline script text would end the element early; Swagger UI's bundle must not contain it. */
function inlineScript(text: string): string {
  if (/<\/script/i.test(text)) throw new Error("an inline script contains </script");
  return `<script>${text}</script>`;
}

/** Builds the page from Swagger UI's files (read once per container by the caller). */
export function buildDocsPage(
  files: { readonly bundle: string; readonly css: string } = {
    bundle: readSwaggerUiFile("swagger-ui-bundle.js"),
    css: readSwaggerUiFile("swagger-ui.css"),
  },
): DocsPage {
  if (/<\/style/i.test(files.css)) throw new Error("the stylesheet contains </style");
  const contentSecurityPolicy = [
    "default-src 'none'",
    `script-src ${sha256Source(files.bundle)} ${sha256Source(START_SCRIPT)}`,
    `style-src ${sha256Source(files.css)} ${sha256Source(PAGE_STYLE)}`,
    // Swagger UI's stylesheet draws its icons as data: SVGs.
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
  const html = [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    "<title>Car Keys service API reference</title>",
    // No icon to fetch: browsers otherwise ask for /favicon.ico, which no route serves.
    '<link rel="icon" href="data:,">',
    `<style>${files.css}</style>`,
    `<style>${PAGE_STYLE}</style>`,
    "</head>",
    "<body>",
    '<div id="swagger-ui"></div>',
    inlineScript(files.bundle),
    inlineScript(START_SCRIPT),
    "</body>",
    "</html>",
  ].join("\n");
  return { html, contentSecurityPolicy };
}
