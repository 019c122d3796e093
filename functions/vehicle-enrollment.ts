// POST /v1/vehicles and POST /v1/vehicles/{vehicleId}/pairing (OEM-authorized):
// vehicle certificate, trust anchors and owner-pairing material; new pairing
// material for an enrolled vehicle.
import "reflect-metadata";
import { VEHICLE_ENROLLMENT_ROUTES } from "../src/api/routes/vehicle-enrollment-routes.js";
import { createHttpHandler } from "./lib/http-handler.js";

export const handler = createHttpHandler(VEHICLE_ENROLLMENT_ROUTES, {
  "POST /v1/vehicles": ({ body, caller, service }) => service.vehicles.enroll(body, caller ?? "unknown"),
  "POST /v1/vehicles/{vehicleId}/pairing": ({ body, params, service }) =>
    service.vehicles.newPairing(params.vehicleId, body),
});
