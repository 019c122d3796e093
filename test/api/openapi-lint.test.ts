// The served OpenAPI document passes Redocly CLI's `recommended` ruleset
// (redocly.yaml) with no error and no warning, run as `npm run
// lint:openapi` runs it: the CLI as a child process, offline.
import { describe, expect, it } from "vitest";
import { openApiJson } from "../../functions/openapi.js";
import { lintOpenApi } from "../../scripts/lint-openapi.js";

describe("the OpenAPI document under Redocly's recommended ruleset", () => {
  it("has 0 errors and 0 warnings", async () => {
    const result = await lintOpenApi(openApiJson());
    expect(result.problems).toEqual([]);
    expect({ errors: result.errors, warnings: result.warnings }).toEqual({ errors: 0, warnings: 0 });
  });

  it("reports what it finds: an operation without a summary or a 4xx answer", async () => {
    const document = JSON.parse(openApiJson()) as {
      paths: Record<string, Record<string, Record<string, unknown>>>;
    };
    const trustAnchors = document.paths["/v1/trust-anchors"]!.get!;
    delete trustAnchors.summary;
    trustAnchors.responses = { "200": { description: "OK" } };
    const result = await lintOpenApi(JSON.stringify(document));
    expect(result.errors).toBeGreaterThan(0);
    expect(result.problems.join("\n")).toMatch(/operation-summary/);
    expect(result.problems.join("\n")).toMatch(/operation-4xx-response/);
  });
});
