// The key-tracking Lambda's entry point, the file the stack bundles: the handler of
// src/adapters/function-handlers/key-tracking.ts (what it serves, and why), built
// from the Lambda's environment. Everything else (tests, the local server)
// builds the same handler with makeHandler and the dependencies it made.
import { makeHandler } from "../src/adapters/function-handlers/key-tracking.js";
import { assembleKeyTrackingParts } from "../src/adapters/key-tracking-assembly.js";
import { serviceSettingsFromEnvironment } from "../src/adapters/service-settings-from-environment.js";
import { buildOnce } from "../src/service/http/create-http-handler.js";

export * from "../src/adapters/function-handlers/key-tracking.js";

/** Built from the Lambda's environment on the first invocation: key tracking, the roots and the key lifecycle only. */
export const handler = makeHandler(
  buildOnce(async () => assembleKeyTrackingParts(serviceSettingsFromEnvironment())),
);
