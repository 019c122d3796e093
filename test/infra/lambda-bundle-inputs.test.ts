// What the Lambda bundles hold beside zod (lambda-bundle-zod.test.ts): each
// function bundled with the stack's own esbuild options, its metafile's inputs
// checked against what the function may carry (docs/toolchain.md "Lambda
// bundles"). The AWS SDK's default credential chain is replaced by its
// environment step (src/adapters/lambda-credentials.ts), whose SSO and STS
// clients and file loaders would otherwise be about 100 KB of every bundle.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Metafile } from "esbuild";
import { beforeAll, describe, expect, it } from "vitest";
import { bundleEveryFunction, FUNCTION_ENTRIES, FUNCTIONS_DIR } from "../support/lambda-bundle-outputs.js";

/** The default chain's steps other than the environment, and the SDK clients its SSO and STS steps use. */
const DEFAULT_CHAIN =
  /node_modules\/@aws-sdk\/(?:credential-provider-(?:node|sso|ini|process|web-identity|http|login)|nested-clients|token-providers)\/|node_modules\/@smithy\/credential-provider-imds\//;
const AWS_CLIENT = /node_modules\/@aws-sdk\/client-/;
const STAND_IN = "src/adapters/lambda-credentials.ts";
/** @peculiar/x509 and the ASN.1 libraries under it: about 220 KB of a bundle. */
const X509 = /node_modules\/(?:@peculiar\/|asn1js\/|tsyringe\/)/;
/**
 * The functions that parse, check or issue no certificate: the relay and the document have no key; the
 * revocation lists are statements signed by a root's key (src/service/root-statement-keys.ts).
 */
const WITHOUT_CERTIFICATES = ["openapi", "relay", "revocation-list"];
const REFLECT_METADATA = /node_modules\/reflect-metadata\//;
/** The first import statement of an entry point's source. */
const firstImport = (name: string): string | undefined =>
  /^import[^;]*;/m.exec(readFileSync(join(FUNCTIONS_DIR, `${name}.ts`), "utf8"))?.[0];

let bundles: { name: string; inputs: Metafile["outputs"][string]["inputs"] }[];

beforeAll(async () => {
  bundles = (await bundleEveryFunction()).map(({ name, output }) => ({ name, inputs: output.inputs }));
}, 120_000);

describe("the Lambda bundles' inputs", () => {
  it("bundles every function", () => {
    expect(bundles.length).toBe(FUNCTION_ENTRIES.length);
  });

  it("hold no step of the default credential chain but the environment's", () => {
    for (const { name, inputs } of bundles) {
      expect(
        Object.keys(inputs).filter((input) => DEFAULT_CHAIN.test(input)),
        name,
      ).toEqual([]);
    }
  });

  it("take an AWS client's credentials from the environment, in every function that has one", () => {
    const withClients = bundles.filter(({ inputs }) => Object.keys(inputs).some((i) => AWS_CLIENT.test(i)));
    expect(withClients.map((b) => b.name)).toContain("relay");
    for (const { name, inputs } of withClients) expect(Object.keys(inputs), name).toContain(STAND_IN);
  });

  it("hold no X.509 code in a function that handles no certificate", () => {
    for (const name of WITHOUT_CERTIFICATES) {
      const bundle = bundles.find((b) => b.name === name);
      expect(bundle, name).toBeDefined();
      expect(
        Object.keys(bundle!.inputs).filter((input) => X509.test(input)),
        name,
      ).toEqual([]);
    }
  });

  it("load the Reflect polyfill first where @peculiar/x509 needs it, and carry it nowhere else", () => {
    for (const { name, inputs } of bundles) {
      const files = Object.keys(inputs);
      if (files.some((input) => X509.test(input))) {
        // Nothing is injected (infra/lib/bundling-options.ts): the entry's own first import must load it.
        expect(firstImport(name), name).toBe('import "reflect-metadata";');
      } else {
        expect(
          files.filter((input) => REFLECT_METADATA.test(input)),
          name,
        ).toEqual([]);
      }
    }
  });
});
