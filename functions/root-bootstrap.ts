// The root-bootstrap Lambda's entry point, the file the stack bundles: the handler of
// src/adapters/function-handlers/root-bootstrap.ts (what it serves, and why), built
// from the Lambda's environment. Everything else (tests, the local server)
// builds the same handler with makeHandler and the dependencies it made.
import { makeHandler } from "../src/adapters/function-handlers/root-bootstrap.js";
import { assembleRootBootstrapParts } from "../src/adapters/root-certificates-assembly.js";
import { serviceSettingsFromEnvironment } from "../src/adapters/service-settings-from-environment.js";
import { buildOnce } from "../src/service/http/dependency-source.js";

export * from "../src/adapters/function-handlers/root-bootstrap.js";

/** Built from the Lambda's environment on the first invocation: the roots only. */
export const handler = makeHandler(
  buildOnce(async () => assembleRootBootstrapParts(serviceSettingsFromEnvironment())),
);
