// What the Lambda bundles hold beside zod (lambda-bundle-zod.test.ts): each
// function bundled with the stack's own esbuild options, its metafile's inputs
// checked against what the function may carry (docs/toolchain.md "Lambda
// bundles"). The AWS SDK's default credential chain is replaced by its
// environment step (src/adapters/lambda-credentials.ts), whose SSO and STS
// clients and file loaders would otherwise be about 100 KB of every bundle.
import type { Metafile } from "esbuild";
import { beforeAll, describe, expect, it } from "vitest";
import {
  EXPIRY_SWEEP_ACCESS,
  FUNCTION_ACCESS,
  type FunctionAccess,
  ROOT_BOOTSTRAP_ACCESS,
} from "../../infra/lib/function-access.js";
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
/**
 * noble's curve arithmetic (its curves and the Weierstrass, modular and hash-to-curve code under them) and its
 * hashes other than the byte helpers: about 40 KB. The functions use OpenSSL's P-256 through node:crypto
 * (src/protocol/p256.ts), and every signer signs a message rather than a digest, so nothing they run needs noble;
 * only the strict ECDSA DER decoder (noble's abstract/der.js, 2 KB) remains, in ecdsa-der.ts.
 */
const NOBLE_CURVES =
  /node_modules\/@noble\/(?:curves\/(?!abstract\/der\.js|utils\.js)|hashes\/(?!utils\.js))/;

/**
 * The service's parts (src/service/car-keys-service.ts composes them all) and the functions whose
 * routes call each one: a function assembles only those (src/adapters/*-assembly.ts), so no other
 * bundle holds them. The whole service's factory is in none.
 */
const SERVICE_PARTS: Readonly<Record<string, readonly string[]>> = {
  "src/service/car-keys-service.ts": [],
  "src/service/secure-element-enrollment.ts": ["device-enrollment"],
  "src/service/vehicle-enrollment.ts": ["vehicle-enrollment"],
  "src/service/key-tracking.ts": ["key-tracking"],
  // The key lifecycle: notices and revocations; key tracking revokes a replaced owner phone's key.
  "src/service/notices.ts": ["key-tracking", "notices", "revocation", "partner-events", "expiry-sweep"],
  "src/service/key-revocation.ts": [
    "key-tracking",
    "notices",
    "revocation",
    "partner-events",
    "expiry-sweep",
  ],
  "src/service/partner-events.ts": ["partner-events"],
  "src/service/expiry-sweep.ts": ["expiry-sweep"],
  "src/service/webhook-signing-key.ts": ["trust-anchors"],
};
/** Certificate issuance: the issuer and its policy, which only RootCertificates calls. */
const ISSUANCE = /src\/protocol\/(?:certificate-issuer|issuance-policy)\.ts$/;
/** The functions that sign statements and issue no certificate (src/service/root-statement-keys.ts). */
const WITHOUT_ISSUANCE = [
  "notices",
  "revocation",
  "partner-events",
  "expiry-sweep",
  "revocation-list",
  "relay",
  "openapi",
];
const EVENTBRIDGE = /node_modules\/@aws-sdk\/client-eventbridge\//;
const KMS = /node_modules\/@aws-sdk\/client-kms\//;
/** The device pseudonym key's adapter (src/adapters/kms/mac-keys.ts). */
const PSEUDONYM_KEY = /src\/adapters\/kms\/mac-keys\.ts$/;

/** What the stack grants the function (infra/lib/function-access.ts). */
function accessOf(name: string): FunctionAccess {
  const access =
    name === "root-bootstrap"
      ? ROOT_BOOTSTRAP_ACCESS
      : name === "expiry-sweep"
        ? EXPIRY_SWEEP_ACCESS
        : FUNCTION_ACCESS[name];
  if (!access) throw new Error(`no access entry for ${name}`);
  return access;
}

/** The function may use a KMS key: a root's (to sign or read), the webhook key's, or the pseudonym key. */
const usesKms = (access: FunctionAccess): boolean =>
  (access.signsWith?.length ?? 0) > 0 ||
  (access.readsPublicKeyOf?.length ?? 0) > 0 ||
  access.readsWebhookKey === true ||
  access.pseudonymizesDevices === true;

let bundles: { name: string; inputs: Metafile["outputs"][string]["inputs"] }[];

beforeAll(async () => {
  bundles = (await bundleEveryFunction()).map(({ name, output }) => ({ name, inputs: output.inputs }));
}, 120_000);

describe("the Lambda bundles' inputs", () => {
  /** Fails naming each function whose bundle holds an input that `pattern` matches, and those inputs. */
  const expectNoBundleHolds = (pattern: RegExp) => {
    for (const { name, inputs } of bundles) {
      expect(
        Object.keys(inputs).filter((input) => pattern.test(input)),
        name,
      ).toEqual([]);
    }
  };

  it("bundles every function", () => {
    expect(bundles.length).toBe(FUNCTION_ENTRIES.length);
  });

  it("hold no step of the default credential chain but the environment's", () => {
    expectNoBundleHolds(DEFAULT_CHAIN);
  });

  it("take an AWS client's credentials from the environment, in every function that has one", () => {
    const withClients = bundles.filter(({ inputs }) => Object.keys(inputs).some((i) => AWS_CLIENT.test(i)));
    expect(withClients.map((b) => b.name)).toContain("relay");
    for (const { name, inputs } of withClients) expect(Object.keys(inputs), name).toContain(STAND_IN);
  });

  it("hold none of noble's curve arithmetic or hashes: P-256 is OpenSSL's, through node:crypto", () => {
    expectNoBundleHolds(NOBLE_CURVES);
  });

  it("hold no X.509 library, not even the functions that issue and verify certificates", () => {
    expect(bundles.map((b) => b.name)).toEqual(
      expect.arrayContaining(["device-enrollment", "trust-anchors"]),
    );
    expectNoBundleHolds(X509);
  });
});

describe("each Lambda bundle's parts of the service", () => {
  const holds = (inputs: Record<string, unknown>, pattern: RegExp): boolean =>
    Object.keys(inputs).some((input) => pattern.test(input));

  it("holds the parts its routes call and no other, and never the whole service", () => {
    for (const { name, inputs } of bundles) {
      const held = Object.keys(SERVICE_PARTS).filter((part) => part in inputs);
      const expected = Object.entries(SERVICE_PARTS)
        .filter(([, functions]) => functions.includes(name))
        .map(([part]) => part);
      expect(held, name).toEqual(expected);
    }
  });

  it("holds no certificate issuance in a function that signs only statements", () => {
    for (const name of WITHOUT_ISSUANCE) {
      const bundle = bundles.find((b) => b.name === name);
      expect(bundle, name).toBeDefined();
      expect(
        Object.keys(bundle!.inputs).filter((input) => ISSUANCE.test(input)),
        name,
      ).toEqual([]);
    }
  });

  it("holds the EventBridge client exactly where the function publishes events", () => {
    for (const { name, inputs } of bundles) {
      expect(holds(inputs, EVENTBRIDGE), name).toBe(accessOf(name).publishesEvents === true);
    }
  });

  it("holds the KMS client only where the function is granted a KMS key", () => {
    for (const { name, inputs } of bundles) {
      if (!usesKms(accessOf(name))) expect(holds(inputs, KMS), name).toBe(false);
    }
  });

  it("opens the device pseudonym key exactly where the function is granted it", () => {
    for (const { name, inputs } of bundles) {
      expect(holds(inputs, PSEUDONYM_KEY), name).toBe(accessOf(name).pseudonymizesDevices === true);
    }
  });
});
