// POST /v1/devices (device-signed): secure element enrollment, the Instance CA
// certificate from the Device OEM root. The request signature is checked by
// the service over the raw body, with the key the body names.
import "reflect-metadata";
import { createHttpHandler } from "./lib/http-handler.js";

export const handler = createHttpHandler("device-enrollment", {
  "POST /v1/devices": async ({ body, raw, service }) => {
    const outcome = await service.secureElements.enroll(body, raw);
    return { status: outcome.created ? 201 : 200, body: outcome.response };
  },
});
