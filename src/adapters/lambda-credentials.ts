// What a Lambda bundle has in place of @aws-sdk/credential-provider-node
// (infra/lib/bundling-options.ts aliases the package to this file). Every
// AWS SDK client's Node runtime configuration imports that package's
// `defaultProvider`, the default credential chain: environment, SSO, the
// shared ini files, credential processes, web identity tokens, the container
// and instance metadata services. Its SSO and STS steps carry whole SDK
// clients of their own (@aws-sdk/nested-clients), about 100 KB of each
// minified bundle, and a Lambda never takes those steps: the runtime puts the
// execution role's credentials in AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
// and AWS_SESSION_TOKEN ("Defined runtime environment variables", AWS Lambda
// Developer Guide), which the chain's first step reads. So a bundle's chain
// is that first step alone; the local server and the tests, which run the
// sources, keep the SDK's whole chain. docs/toolchain.md "Lambda bundles".
import { fromEnv } from "@aws-sdk/credential-provider-env";

/** The environment credentials, under the name and signature the SDK clients import. */
export const defaultProvider: typeof fromEnv = (init) => fromEnv(init);
