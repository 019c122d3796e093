// The device-enrollment Lambda's entry point, the file the stack bundles: the handler of
// src/adapters/function-handlers/device-enrollment.ts (what it serves, and why), built
// from the Lambda's environment. Everything else (tests, the local server)
// builds the same handler with makeHandler and the dependencies it made.
import { assembleDeviceEnrollmentParts } from "../src/adapters/device-enrollment-assembly.js";
import { makeHandler } from "../src/adapters/function-handlers/device-enrollment.js";
import { serviceSettingsFromEnvironment } from "../src/adapters/service-settings-from-environment.js";
import { buildOnce } from "../src/service/http/create-http-handler.js";

export * from "../src/adapters/function-handlers/device-enrollment.js";

/** Built from the Lambda's environment on the first invocation: SE enrollment and the roots only. */
export const handler = makeHandler(
  buildOnce(async () => assembleDeviceEnrollmentParts(serviceSettingsFromEnvironment())),
);
