// The openapi Lambda as deployed: bundled with the stack's own esbuild options
// (bench/lambda-bundles.ts bundleLambda, the same as NodejsFunction), with
// the files the stack copies beside it (FUNCTION_STATIC_FILES) and no
// node_modules in reach, still serves GET /docs with Swagger UI inline, read
// from beside the bundle. Without those files it fails loudly instead of
// serving a page that renders nothing.
import { cpSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { bundleLambda } from "../../bench/lambda-bundles.js";
import { PROJECT_ROOT } from "../../infra/lib/bundling-options.js";
import { FUNCTION_STATIC_FILES } from "../../src/api/docs/swagger-ui-files.js";

// Outside the repository, so no node_modules folder above the bundle can answer for the copied files.
const work = mkdtempSync(join(tmpdir(), "carkeys-openapi-lambda-"));

afterAll(() => rmSync(work, { recursive: true, force: true }));

async function invoke(dir: string, routeKey: string) {
  const module = (await import(pathToFileURL(join(dir, "index.mjs")).href)) as {
    handler: (
      event: unknown,
      context: unknown,
    ) => Promise<{ statusCode: number; headers: Record<string, string>; body: string }>;
  };
  return module.handler({ routeKey, rawPath: routeKey.split(" ")[1], headers: {} }, {});
}

describe("the openapi Lambda bundle", () => {
  it("serves GET /docs from the files copied beside index.mjs", async () => {
    const dir = join(work, "with-files");
    const bundle = await bundleLambda(join(PROJECT_ROOT, "functions", "openapi.ts"), dir);
    const files = FUNCTION_STATIC_FILES.openapi ?? [];
    expect(files.length).toBeGreaterThan(0);
    for (const { from, to } of files) {
      mkdirSync(dirname(join(dir, to)), { recursive: true });
      cpSync(join(PROJECT_ROOT, from), join(dir, to));
    }
    const answer = await invoke(dir, "GET /docs");
    expect(answer.statusCode).toBe(200);
    expect(answer.headers["content-security-policy"]).toContain("default-src 'none'");
    expect(answer.body).toContain("SwaggerUIBundle");
    const shipped = files.reduce((sum, { to }) => sum + statSync(join(dir, to)).size, 0);
    // What the deployment package holds for the docs page, beside the handler's own bundle.
    console.info(
      `openapi Lambda: index.mjs ${bundle.bytes} B, Swagger UI files ${shipped} B, /docs page ${Buffer.byteLength(answer.body)} B`,
    );
    expect(Buffer.byteLength(answer.body)).toBeGreaterThan(shipped);
  });

  it("answers 500 for /docs when the files were not copied, and still serves the document", async () => {
    const dir = join(work, "without-files");
    await bundleLambda(join(PROJECT_ROOT, "functions", "openapi.ts"), dir);
    const answer = await invoke(dir, "GET /docs");
    expect(answer.statusCode).toBe(500);
    const document = await invoke(dir, "GET /openapi.json");
    expect(document.statusCode).toBe(200);
    expect(JSON.parse(document.body).openapi).toBe("3.1.0");
  });
});
