// The openapi Lambda's entry point, the file the stack bundles: the handler of
// src/adapters/function-handlers/openapi.ts (what it serves, and why), built
// from the Lambda's environment. Everything else (tests, the local server)
// builds the same handler with makeHandler and the dependencies it made.
import { makeHandler } from "../src/adapters/function-handlers/openapi.js";

export * from "../src/adapters/function-handlers/openapi.js";

export const handler = makeHandler();
