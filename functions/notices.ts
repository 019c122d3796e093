// The notices Lambda's entry point, the file the stack bundles: the handler of
// src/adapters/function-handlers/notices.ts (what it serves, and why), built
// from the Lambda's environment. Everything else (tests, the local server)
// builds the same handler with makeHandler and the dependencies it made.
import { makeHandler } from "../src/adapters/function-handlers/notices.js";
import { assembleNoticesParts } from "../src/adapters/key-lifecycle-assembly.js";
import { baseServiceSettingsFromEnvironment } from "../src/adapters/service-settings.js";
import { buildOnce } from "../src/service/http/create-http-handler.js";

export * from "../src/adapters/function-handlers/notices.js";

/** Built from the Lambda's environment on the first invocation: the notices only. */
export const handler = makeHandler(
  buildOnce(async () => assembleNoticesParts(baseServiceSettingsFromEnvironment())),
);
