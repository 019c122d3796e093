// GET /v1/vehicles/{vehicleId}/revocations?after=n (oem): the vehicle's
// revocation list after the car's cursor, signed by the Vehicle OEM root; the
// OEM's telematics hands it to the car (Vehicle.applyRevocationList).
import "reflect-metadata";
import { REVOCATION_LIST_ROUTES } from "../src/api/routes/revocation-list-routes.js";
import { createHttpHandler } from "./lib/http-handler.js";

export const handler = createHttpHandler(REVOCATION_LIST_ROUTES, {
  "GET /v1/vehicles/{vehicleId}/revocations": ({ params, query, service }) =>
    service.revocations.revocationList(params.vehicleId, Number(query.after ?? "0")),
});
