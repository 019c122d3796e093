// Lifecycle notices (docs/protocol.md §13): a device fetches its notices (device-signed
// by its instance key), the OEM fetches a vehicle's for the car, and the
// Device OEM's backend sets lost mode, which signs notices with the Device
// OEM root and publishes them as events.
import "reflect-metadata";
import { createHttpHandler } from "./lib/http-handler.js";

export const handler = createHttpHandler("notices", {
  "GET /v1/devices/{seId}/notices": async ({ params, query, raw, service }) => ({
    status: 200,
    body: await service.notices.forDevice(params.seId, Number(query.after ?? "0"), raw),
  }),
  "GET /v1/vehicles/{vehicleId}/notices": async ({ params, query, service }) => ({
    status: 200,
    body: await service.notices.forVehicle(params.vehicleId, Number(query.after ?? "0")),
  }),
  "POST /v1/devices/{seId}/lost-mode": async ({ params, body, caller, service }) => {
    const outcome = await service.notices.setLostMode(params.seId, body.action, caller ?? "unknown");
    return { status: outcome.created ? 201 : 200, body: outcome.response };
  },
});
