// The vehicle-enrollment Lambda's entry point, the file the stack bundles: the handler of
// src/adapters/function-handlers/vehicle-enrollment.ts (what it serves, and why), built
// from the Lambda's environment. Everything else (tests, the local server)
// builds the same handler with makeHandler and the dependencies it made.
import { makeHandler } from "../src/adapters/function-handlers/vehicle-enrollment.js";
import { serviceSettingsFromEnvironment } from "../src/adapters/service-settings-from-environment.js";
import { assembleVehicleEnrollmentParts } from "../src/adapters/vehicle-enrollment-assembly.js";
import { buildOnce } from "../src/service/http/create-http-handler.js";

export * from "../src/adapters/function-handlers/vehicle-enrollment.js";

/** Built from the Lambda's environment on the first invocation: vehicle enrollment and the roots only. */
export const handler = makeHandler(
  buildOnce(async () => assembleVehicleEnrollmentParts(serviceSettingsFromEnvironment())),
);
