// POST /v1/vehicles and POST /v1/vehicles/{vehicleId}/pairing (OEM-authorized):
// vehicle certificate, trust anchors and owner-pairing material; new pairing
// material for an enrolled vehicle.
import "reflect-metadata";
import { createHttpHandler } from "./lib/http-handler.js";

export const handler = createHttpHandler("vehicle-enrollment", {
  "POST /v1/vehicles": async ({ body, caller, service }) => {
    const outcome = await service.vehicles.enroll(body, caller ?? "unknown");
    return { status: outcome.created ? 201 : 200, body: outcome.response };
  },
  "POST /v1/vehicles/{vehicleId}/pairing": async ({ body, params, service }) => ({
    status: 201,
    body: await service.vehicles.newPairing(params.vehicleId, body),
  }),
});
