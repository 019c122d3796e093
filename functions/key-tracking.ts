// Key tracking: POST /v1/keys (device-signed by the endpoint key being
// registered; returns a receipt signed by the Vehicle OEM root), and the OEM's
// reads GET /v1/keys/{keyId} and GET /v1/vehicles/{vehicleId}/keys.
import "reflect-metadata";
import { createHttpHandler } from "./lib/http-handler.js";

export const handler = createHttpHandler("key-tracking", {
  "POST /v1/keys": async ({ body, raw, service }) => {
    const outcome = await service.keys.register(body, raw);
    return { status: outcome.created ? 201 : 200, body: outcome.response };
  },
  "GET /v1/keys/{keyId}": async ({ params, service }) => ({
    status: 200,
    body: await service.keys.get(params.keyId),
  }),
  "GET /v1/vehicles/{vehicleId}/keys": async ({ params, service }) => ({
    status: 200,
    body: await service.keys.listForVehicle(params.vehicleId),
  }),
});
