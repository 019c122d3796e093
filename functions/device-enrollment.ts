// POST /v1/devices (device-signed): secure element enrollment, the Instance CA
// certificate from the Device OEM root. The request signature is checked by
// the service over the raw body, with the key the body names.
import "reflect-metadata";
import { DEVICE_ENROLLMENT_ROUTES } from "../src/api/routes/device-enrollment-routes.js";
import { createHttpHandler } from "./lib/http-handler.js";

export const handler = createHttpHandler(DEVICE_ENROLLMENT_ROUTES, {
  "POST /v1/devices": ({ body, raw, service }) => service.secureElements.enroll(body, raw),
});
