// Every Lambda bundle holds zod/mini and none of classic zod: classic zod's
// method chains keep the whole library, about 445 KB minified, in every
// bundle that validates requests, against about 20 KB for zod/mini
// (docs/toolchain.md "Lambda bundles"). One `import { z } from "zod"` in any
// file a function reaches brings it all back, so the functions are bundled
// with the stack's own esbuild options and the metafile's inputs are checked:
// no module of zod's classic build, zod's modules small in total, and its
// English locale present in each function that serves routes
// (src/api/validation-messages.ts: zod/mini installs none, and problem answers
// quote its messages).
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { build, type Metafile } from "esbuild";
import { beforeAll, describe, expect, it } from "vitest";
import { esbuildBuildOptions, PROJECT_ROOT } from "../../infra/lib/bundling-options.js";
import { functionNames } from "../../src/api/routes.js";

const FUNCTIONS_DIR = join(PROJECT_ROOT, "functions");
const ENTRIES = readdirSync(FUNCTIONS_DIR)
  .filter((name) => name.endsWith(".ts"))
  .map((name) => join(FUNCTIONS_DIR, name));

/** zod's classic build: its package entry points and everything under v4/classic. */
const CLASSIC_ZOD = /node_modules\/zod\/(?:index\.js$|v4\/index\.js$|v4\/classic\/)/;
const ZOD = /node_modules\/zod\//;
const ZOD_MINI = /node_modules\/zod\/v4\/mini\//;
const ZOD_ENGLISH = /node_modules\/zod\/v4\/locales\/en\.js$/;
/** What zod may add to one bundle: zod/mini with the checks and locale the schemas use is about 40 KB. */
const MAX_ZOD_BYTES = 80 * 1024;

let outputs: { name: string; output: Metafile["outputs"][string] }[];

beforeAll(async () => {
  // One build of every function (esbuild shares the parsing), written nowhere: only the metafile is read.
  const result = await build({
    ...esbuildBuildOptions(ENTRIES[0]!, "unused"),
    entryPoints: ENTRIES,
    outfile: undefined,
    outdir: join(PROJECT_ROOT, "cdk.out", "zod-check"),
    entryNames: "[name]",
    write: false,
    metafile: true,
  });
  outputs = Object.entries(result.metafile.outputs)
    .filter(([file]) => file.endsWith(".js") || file.endsWith(".mjs"))
    .map(([file, output]) => ({ name: file.split("/").pop()!, output }));
}, 120_000);

describe("the Lambda bundles' zod", () => {
  it("bundles every function", () => {
    expect(outputs.map((o) => o.name).sort()).toEqual(
      ENTRIES.map((entry) => `${entry.split("/").pop()!.replace(/\.ts$/, "")}.js`).sort(),
    );
  });

  it("holds no module of classic zod, in any function", () => {
    for (const { name, output } of outputs) {
      expect(
        Object.keys(output.inputs).filter((input) => CLASSIC_ZOD.test(input)),
        name,
      ).toEqual([]);
    }
  });

  it("holds zod/mini and its English messages in every function that serves routes", () => {
    const routeFunctions = functionNames();
    const served = outputs.filter(({ name }) => routeFunctions.includes(name.replace(/\.js$/, "")));
    expect(served.length).toBe(routeFunctions.length);
    for (const { name, output } of served) {
      const inputs = Object.keys(output.inputs);
      expect(
        inputs.some((input) => ZOD_MINI.test(input)),
        name,
      ).toBe(true);
      expect(
        inputs.some((input) => ZOD_ENGLISH.test(input)),
        name,
      ).toBe(true);
    }
  });

  it("keeps zod's share of each bundle small", () => {
    for (const { name, output } of outputs) {
      const inputs = Object.entries(output.inputs);
      const zodBytes = inputs
        .filter(([input]) => ZOD.test(input))
        .reduce((sum, [, i]) => sum + i.bytesInOutput, 0);
      console.info(`${name}: zod ${zodBytes} B of ${output.bytes} B`);
      expect(zodBytes, name).toBeLessThan(MAX_ZOD_BYTES);
    }
  });
});
