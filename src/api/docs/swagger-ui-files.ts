// The API reference page's renderer, Swagger UI (the npm package
// swagger-ui-dist, pinned in package.json): its browser bundle and its
// stylesheet, served by us from our own origin, never from a CDN. Locally
// (`npm start`, tests) they are read from node_modules; a Lambda has no
// node_modules, so the stack copies them beside the function's bundle
// (FUNCTION_STATIC_FILES, read by infra/lib/constructs/route-function.ts),
// where they are read from at run time.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DocsAssetMissingError } from "../errors.js";

export const SWAGGER_UI_PACKAGE = "swagger-ui-dist";
export const SWAGGER_UI_FILES = ["swagger-ui-bundle.js", "swagger-ui.css"] as const;
export type SwaggerUiFile = (typeof SWAGGER_UI_FILES)[number];
/** The folder beside a Lambda's index.mjs that holds the files. */
const BESIDE_BUNDLE = "swagger-ui";

/** A file a function ships beside its bundle: copied from `from` (relative to the repository root) to `to`. */
export interface StaticFile {
  readonly from: string;
  readonly to: string;
}

/** Function name → the files its Lambda needs at run time beside index.mjs. */
export const FUNCTION_STATIC_FILES: Readonly<Record<string, readonly StaticFile[]>> = {
  openapi: SWAGGER_UI_FILES.map((file) => ({
    from: `node_modules/${SWAGGER_UI_PACKAGE}/${file}`,
    to: `${BESIDE_BUNDLE}/${file}`,
  })),
};

/** The text of one of Swagger UI's files: beside the running bundle (Lambda), else from node_modules. */
export function readSwaggerUiFile(file: SwaggerUiFile, moduleUrl: string = import.meta.url): string {
  const beside = join(dirname(fileURLToPath(moduleUrl)), BESIDE_BUNDLE, file);
  if (existsSync(beside)) return readFileSync(beside, "utf8");
  let installed: string;
  try {
    installed = join(dirname(createRequire(moduleUrl).resolve(`${SWAGGER_UI_PACKAGE}/package.json`)), file);
  } catch (cause) {
    throw new DocsAssetMissingError(`${SWAGGER_UI_PACKAGE} is not installed (${file} not found)`, { cause });
  }
  if (!existsSync(installed)) throw new DocsAssetMissingError(`${installed} does not exist`);
  return readFileSync(installed, "utf8");
}
