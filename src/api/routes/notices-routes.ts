// Lifecycle notices and lost mode (functions/notices.ts).
import {
  AfterQuerySchema,
  DeviceNoticesSchema,
  LostModeRequestSchema,
  LostModeSchema,
  VehicleNoticesSchema,
} from "../lifecycle-schemas.js";
import { defineRouteSet } from "../route-contract.js";
import { SeIdParamsSchema, VehicleIdParamsSchema } from "../schema-primitives.js";
import { OEM_WRITE_PROBLEMS } from "./problem-groups.js";

export const NOTICES_ROUTES = defineRouteSet("notices", {
  "GET /v1/devices/{seId}/notices": {
    auth: "device",
    summary: "A device's lifecycle notices after its counter (signed by its instance key)",
    description:
      "A device's notices after its counter (terminate-key, suspend, resume), signed by the Device OEM root; the " +
      "request is signed by that SE's instance key. 409 when the cursor is beyond the latest counter.",
    params: SeIdParamsSchema,
    query: AfterQuerySchema,
    response: { status: 200, content: { mediaType: "application/json", schema: DeviceNoticesSchema } },
    problems: ["validation", "replay", "forbidden", "conflict", "unavailable", "storage-unavailable"],
  },
  "GET /v1/vehicles/{vehicleId}/notices": {
    auth: "oem",
    summary: "A vehicle's lost-mode notices after its cursor, for the OEM's telematics",
    description:
      "A vehicle's lost-mode notices after its cursor (the car fetches them through the OEM's telematics).",
    params: VehicleIdParamsSchema,
    query: AfterQuerySchema,
    response: { status: 200, content: { mediaType: "application/json", schema: VehicleNoticesSchema } },
    problems: ["validation", "not-found", "conflict", "storage-unavailable"],
  },
  "POST /v1/devices/{seId}/lost-mode": {
    auth: "oem",
    serverToServer: true,
    summary: "Suspend or resume a device's keys (lost mode): notices for its SE and its vehicles",
    description:
      "The Device OEM suspends or resumes a device: a notice for its SE and one for each vehicle holding one of " +
      "its keys. An owner reports a lost phone through the OEM's account system, which calls this route. A " +
      "repeat of the current mode answers 200 and issues nothing.",
    params: SeIdParamsSchema,
    body: { schema: LostModeRequestSchema },
    response: {
      status: 201,
      repeatStatus: 200,
      content: { mediaType: "application/json", schema: LostModeSchema },
    },
    problems: [...OEM_WRITE_PROBLEMS, "unavailable"],
  },
});
