import { beforeAll, describe, expect, it } from "vitest";
import { functionNames } from "../../src/api/routes.js";
import { type BundleOutput, bundleEveryFunction, FUNCTION_NAMES } from "../support/lambda-bundle-outputs.js";

/** zod's classic build: its package entry points and everything under v4/classic. */
const CLASSIC_ZOD = /node_modules\/zod\/(?:index\.js$|v4\/index\.js$|v4\/classic\/)/;
const ZOD = /node_modules\/zod\//;
const ZOD_MINI = /node_modules\/zod\/v4\/mini\//;
const ZOD_ENGLISH = /node_modules\/zod\/v4\/locales\/en\.js$/;
/** What zod may add to one bundle: zod/mini with the checks and locale the schemas use is about 40 KB. */
const MAX_ZOD_BYTES = 80 * 1024;

let outputs: BundleOutput[];

beforeAll(async () => {
  outputs = await bundleEveryFunction();
}, 120_000);

describe("the Lambda bundles' zod", () => {
  it("bundles every function", () => {
    expect(outputs.map((o) => o.name).sort()).toEqual([...FUNCTION_NAMES].sort());
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
    const served = outputs.filter(({ name }) => routeFunctions.includes(name));
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
