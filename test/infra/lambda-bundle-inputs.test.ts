// What the Lambda bundles hold beside zod (lambda-bundle-zod.test.ts): each
// function bundled with the stack's own esbuild options, its metafile's inputs
// checked against what the function may carry (docs/toolchain.md "Lambda
// bundles"). The AWS SDK's default credential chain is replaced by its
// environment step (src/adapters/lambda-credentials.ts), whose SSO and STS
// clients and file loaders would otherwise be about 100 KB of every bundle.
import type { Metafile } from "esbuild";
import { beforeAll, describe, expect, it } from "vitest";
import { bundleEveryFunction, FUNCTION_ENTRIES } from "../support/lambda-bundle-outputs.js";

/** The default chain's steps other than the environment, and the SDK clients its SSO and STS steps use. */
const DEFAULT_CHAIN =
  /node_modules\/@aws-sdk\/(?:credential-provider-(?:node|sso|ini|process|web-identity|http|login)|nested-clients|token-providers)\/|node_modules\/@smithy\/credential-provider-imds\//;
const AWS_CLIENT = /node_modules\/@aws-sdk\/client-/;
const STAND_IN = "src/adapters/lambda-credentials.ts";
/**
 * @peculiar/x509, the ASN.1 libraries under it and the Reflect polyfill its dependency injection needs: about
 * 220 KB of a bundle. No function carries them: certificates are read by src/protocol/der-reader.ts and written
 * by der-writer.ts, both ours; the library is left to the tests, which hold our reader and writer to it.
 */
const X509 = /node_modules\/(?:@peculiar\/|asn1js\/|tsyringe\/|reflect-metadata\/|pvtsutils\/|pvutils\/)/;
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

  it("hold no X.509 library, not even the functions that issue and verify certificates", () => {
    expect(bundles.map((b) => b.name)).toEqual(
      expect.arrayContaining(["device-enrollment", "trust-anchors"]),
    );
    for (const { name, inputs } of bundles) {
      expect(
        Object.keys(inputs).filter((input) => X509.test(input)),
        name,
      ).toEqual([]);
    }
  });
});
