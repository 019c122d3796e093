// The partner-events Lambda's entry point, the file the stack bundles: the handler of
// src/adapters/function-handlers/partner-events.ts (what it serves, and why), built
// from the Lambda's environment. Everything else (tests, the local server)
// builds the same handler with makeHandler and the dependencies it made.
import { makeHandler } from "../src/adapters/function-handlers/partner-events.js";
import { serviceDependenciesFromEnvironment } from "../src/adapters/service-assembly.js";

export * from "../src/adapters/function-handlers/partner-events.js";

/** Built from the Lambda's environment on the first invocation. */
export const handler = makeHandler(serviceDependenciesFromEnvironment());
