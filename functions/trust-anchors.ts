// The trust-anchors Lambda's entry point, the file the stack bundles: the handler of
// src/adapters/function-handlers/trust-anchors.ts (what it serves, and why), built
// from the Lambda's environment. Everything else (tests, the local server)
// builds the same handler with makeHandler and the dependencies it made.
import { makeHandler } from "../src/adapters/function-handlers/trust-anchors.js";
import { serviceSettingsFromEnvironment } from "../src/adapters/service-settings-from-environment.js";
import { assembleTrustAnchorsParts } from "../src/adapters/trust-anchors-assembly.js";
import { buildOnce } from "../src/service/http/create-http-handler.js";

export * from "../src/adapters/function-handlers/trust-anchors.js";

/** Built from the Lambda's environment on the first invocation: the roots and the webhook key only. */
export const handler = makeHandler(
  buildOnce(async () => assembleTrustAnchorsParts(serviceSettingsFromEnvironment())),
);
