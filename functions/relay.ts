// The relay Lambda's entry point, the file the stack bundles: the handler of
// src/adapters/function-handlers/relay.ts (what it serves, and why), built
// from the Lambda's environment. Everything else (tests, the local server)
// builds the same handler with makeHandler and the dependencies it made.
import { makeHandler } from "../src/adapters/function-handlers/relay.js";
import { relayDependenciesFromEnvironment } from "../src/adapters/relay-assembly.js";

export * from "../src/adapters/function-handlers/relay.js";

/** Built from the Lambda's environment on the first invocation. */
export const handler = makeHandler(relayDependenciesFromEnvironment());
