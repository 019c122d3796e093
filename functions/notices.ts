// Lifecycle notices (docs/protocol.md §13): a device fetches its notices (device-signed
// by its instance key), the OEM fetches a vehicle's for the car, and the
// Device OEM's backend sets lost mode, which signs notices with the Device
// OEM root and publishes them as events.
import "reflect-metadata";
import { NOTICES_ROUTES } from "../src/api/routes/notices-routes.js";
import { createHttpHandler } from "./lib/http-handler.js";

export const handler = createHttpHandler(NOTICES_ROUTES, {
  "GET /v1/devices/{seId}/notices": ({ params, query, raw, service }) =>
    service.notices.forDevice(params.seId, Number(query.after ?? "0"), raw),
  "GET /v1/vehicles/{vehicleId}/notices": ({ params, query, service }) =>
    service.notices.forVehicle(params.vehicleId, Number(query.after ?? "0")),
  "POST /v1/devices/{seId}/lost-mode": ({ params, body, caller, service }) =>
    service.notices.setLostMode(params.seId, body.action, caller ?? "unknown"),
});
