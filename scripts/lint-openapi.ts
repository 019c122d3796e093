// `npm run lint:openapi`: lints the OpenAPI document the service serves
// (functions/openapi.ts, the same bytes as GET /openapi.json) with Redocly
// CLI and the project's redocly.yaml (the `recommended` ruleset), and fails
// on any error or warning. test/api/openapi-lint.test.ts runs the same
// function. Offline: telemetry and the update notice are off.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLI = join(createRequire(import.meta.url).resolve("@redocly/cli/package.json"), "..", "bin", "cli.js");

export interface LintResult {
  readonly errors: number;
  readonly warnings: number;
  /** Each problem as `<severity> <rule> at <location>: <message>`. */
  readonly problems: readonly string[];
}

interface RedoclyJson {
  totals: { errors: number; warnings: number };
  problems: {
    ruleId: string;
    severity: string;
    message: string;
    location: { pointer?: string }[];
  }[];
}

/** Lints `document` (a serialized OpenAPI document) with redocly.yaml. */
export async function lintOpenApi(document: string): Promise<LintResult> {
  const dir = mkdtempSync(join(tmpdir(), "carkeys-openapi-lint-"));
  try {
    const file = join(dir, "openapi.json");
    writeFileSync(file, document);
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        [CLI, "lint", "--config", join(ROOT, "redocly.yaml"), "--format", "json", file],
        {
          cwd: ROOT,
          env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
          maxBuffer: 16 * 1024 * 1024,
          timeout: 120_000,
        },
        // Exit code 1 means "problems found": the JSON on stdout says which.
        (error, out, stderr) => {
          if (out.trim().startsWith("{")) resolve(out);
          else reject(new Error(`redocly lint failed: ${error?.message ?? ""} ${stderr}`));
        },
      );
    });
    const result = JSON.parse(stdout) as RedoclyJson;
    return {
      errors: result.totals.errors,
      warnings: result.totals.warnings,
      problems: result.problems.map(
        (p) => `${p.severity} ${p.ruleId} at ${p.location[0]?.pointer ?? "?"}: ${p.message}`,
      ),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { openApiJson } = await import("../functions/openapi.js");
  const result = await lintOpenApi(openApiJson());
  for (const problem of result.problems) process.stdout.write(`${problem}\n`);
  process.stdout.write(`openapi.json: ${result.errors} errors, ${result.warnings} warnings\n`);
  if (result.errors + result.warnings > 0) process.exitCode = 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
