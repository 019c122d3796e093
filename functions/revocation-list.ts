// GET /v1/vehicles/{vehicleId}/revocations?after=n (oem): the vehicle's
// revocation list after the car's cursor, signed by the Vehicle OEM root; the
// OEM's telematics hands it to the car (Vehicle.applyRevocationList).
import "reflect-metadata";
import { createHttpHandler } from "./lib/http-handler.js";

export const handler = createHttpHandler("revocation-list", {
  "GET /v1/vehicles/{vehicleId}/revocations": async ({ params, query, service }) => ({
    status: 200,
    body: await service.revocations.revocationList(params.vehicleId, Number(query.after ?? "0")),
  }),
});
