// Every Lambda function bundled with the stack's own esbuild options
// (infra/lib/bundling-options.ts) in one build, written nowhere: the bundle
// tests read only the metafile, to check what each function carries.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { build, type Metafile } from "esbuild";
import { esbuildBuildOptions, PROJECT_ROOT } from "../../infra/lib/bundling-options.js";

export const FUNCTIONS_DIR = join(PROJECT_ROOT, "functions");

/** The entry points the stack bundles, functions/<name>.ts. */
export const FUNCTION_ENTRIES = readdirSync(FUNCTIONS_DIR)
  .filter((name) => name.endsWith(".ts"))
  .map((name) => join(FUNCTIONS_DIR, name));

/** The function names, as the entry files name them. */
export const FUNCTION_NAMES = FUNCTION_ENTRIES.map((entry) => entry.split("/").pop()!.replace(/\.ts$/, ""));

export interface BundleOutput {
  /** The function's name (functions/<name>.ts). */
  readonly name: string;
  readonly output: Metafile["outputs"][string];
}

/** One build of every function (esbuild shares the parsing). */
export async function bundleEveryFunction(): Promise<BundleOutput[]> {
  const result = await build({
    ...esbuildBuildOptions(FUNCTION_ENTRIES[0]!, "unused"),
    entryPoints: FUNCTION_ENTRIES,
    outfile: undefined,
    outdir: join(PROJECT_ROOT, "cdk.out", "bundle-check"),
    entryNames: "[name]",
    write: false,
    metafile: true,
  });
  return Object.entries(result.metafile.outputs)
    .filter(([file]) => /\.m?js$/.test(file))
    .map(([file, output]) => ({
      name: file
        .split("/")
        .pop()!
        .replace(/\.m?js$/, ""),
      output,
    }));
}
