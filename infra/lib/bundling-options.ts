// How a Lambda handler becomes a bundle, in one place: the CDK stack
// (NodejsFunction, which runs the esbuild CLI locally) and `npm run bench`
// (which runs esbuild's JS API) both derive their options from LAMBDA_BUNDLE,
// so the sizes and load times the bench prints are those of what we deploy.
// test/infra checks that both paths produce byte-identical bundles.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BundlingOptions, OutputFormat, SourceMapMode } from "aws-cdk-lib/aws-lambda-nodejs";
import type { BuildOptions } from "esbuild";

/** The repository root (this file is infra/lib/bundling-options.ts). */
export const PROJECT_ROOT = fileURLToPath(new URL("../..", import.meta.url));

/**
 * Node major version of the Lambda runtime: 24 (nodejs24.x), pinned rather
 * than CDK's `Runtime.NODEJS_LATEST`, so a CDK upgrade never moves the
 * runtime under a deployed stack without the tests having run on it (CI runs
 * the suite on Node 24 as well; scripts/install-deploy-emulator.sh installs
 * that Node). nodejs24.x no longer calls callback-style handlers; every
 * handler here is an async function (middy), so none needs one. nodejs20.x
 * is deprecated on Lambda (since 2026-04-30), and AWS SDK releases from
 * January 2027 need Node 22 or later.
 */
export const LAMBDA_NODE_MAJOR = 24;
/**
 * esbuild's target is the runtime's own Node: the bundle is built for what
 * runs it. (The bench also loads these bundles on the toolchain's Node;
 * our sources use no syntax newer than Node 20 parses.)
 */
export const BUNDLE_NODE_TARGET = LAMBDA_NODE_MAJOR;

export const LAMBDA_BUNDLE = {
  target: `node${BUNDLE_NODE_TARGET}`,
  // ESM loads faster than CJS (docs/toolchain.md "Lambda bundles": 67 ms against 107 ms for the same handler).
  format: "esm",
  minify: true,
  // A separate .map beside index.mjs; sources are left out of it because the
  // map is for turning minified positions into file:line, not for reading code.
  sourcemap: true,
  sourcesContent: false,
  // Prefer each package's ESM build, which esbuild can tree-shake.
  mainFields: ["module", "main"],
  // The AWS SDK is bundled, not taken from the runtime: the versions are the
  // ones in package-lock.json, tested against DynamoDB Local and the KMS
  // emulator, and a bundled, tree-shaken client loads faster than the
  // runtime's full copy from disk.
  external: [] as string[],
  // Bundled CommonJS code that calls require() on a Node built-in would
  // otherwise fail at run time ("Dynamic require of … is not supported") in an
  // ESM bundle; the alias keeps clear of a bundle's own `createRequire` import.
  banner:
    'import { createRequire as __carkeysCreateRequire } from "node:module"; const require = __carkeysCreateRequire(import.meta.url);',
  // Nothing is injected: @peculiar/x509 (through tsyringe) needs the Reflect
  // metadata polyfill before it loads, and every entry whose bundle holds it
  // imports "reflect-metadata" first (test/infra/lambda-bundle-inputs.test.ts
  // checks both ways), so the functions without certificates (openapi, relay,
  // revocation-list) do not carry its 13 KB.
  tsconfig: join(PROJECT_ROOT, "tsconfig.json"),
  // In a Lambda the credentials are in the environment, so the SDK's default
  // chain (SSO and STS clients, ini files) is replaced by its environment step
  // (src/adapters/lambda-credentials.ts says why). Relative to PROJECT_ROOT,
  // the working directory of both build paths.
  alias: { "@aws-sdk/credential-provider-node": "./src/adapters/lambda-credentials.ts" },
} as const;

/** The bundle file name NodejsFunction writes for ESM output (its handler is `index.handler`). */
export const BUNDLE_FILE = "index.mjs";

/** LAMBDA_BUNDLE as NodejsFunction bundling options (local esbuild; no Docker). */
export function nodejsFunctionBundling(): BundlingOptions {
  return {
    target: LAMBDA_BUNDLE.target,
    format: OutputFormat.ESM,
    minify: LAMBDA_BUNDLE.minify,
    sourceMap: LAMBDA_BUNDLE.sourcemap,
    sourceMapMode: SourceMapMode.DEFAULT,
    sourcesContent: LAMBDA_BUNDLE.sourcesContent,
    mainFields: [...LAMBDA_BUNDLE.mainFields],
    externalModules: [...LAMBDA_BUNDLE.external],
    banner: LAMBDA_BUNDLE.banner,
    tsconfig: LAMBDA_BUNDLE.tsconfig,
    esbuildArgs: {
      "--alias": Object.entries(LAMBDA_BUNDLE.alias).map(([name, path]) => `${name}=${path}`),
    },
    forceDockerBundling: false,
  };
}

/** LAMBDA_BUNDLE as esbuild JS API options, writing `<outdir>/index.mjs` (and its .map) as the stack does. */
export function esbuildBuildOptions(entry: string, outdir: string): BuildOptions {
  return {
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    target: LAMBDA_BUNDLE.target,
    format: LAMBDA_BUNDLE.format,
    minify: LAMBDA_BUNDLE.minify,
    sourcemap: LAMBDA_BUNDLE.sourcemap,
    sourcesContent: LAMBDA_BUNDLE.sourcesContent,
    mainFields: [...LAMBDA_BUNDLE.mainFields],
    external: [...LAMBDA_BUNDLE.external],
    banner: { js: LAMBDA_BUNDLE.banner },
    tsconfig: LAMBDA_BUNDLE.tsconfig,
    alias: { ...LAMBDA_BUNDLE.alias },
    outfile: join(outdir, BUNDLE_FILE),
    // NodejsFunction runs the CLI from the project root; the same working
    // directory keeps the source map's relative paths (and so the bytes) equal.
    absWorkingDir: PROJECT_ROOT,
    logLevel: "warning",
  };
}
