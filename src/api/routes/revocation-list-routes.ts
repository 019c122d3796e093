// The vehicle's signed revocation list (functions/revocation-list.ts).
import { AfterQuerySchema, RevocationListSchema } from "../lifecycle-schemas.js";
import { defineRouteSet } from "../route-contract.js";
import { VehicleIdParamsSchema } from "../schema-primitives.js";

export const REVOCATION_LIST_ROUTES = defineRouteSet("revocation-list", {
  "GET /v1/vehicles/{vehicleId}/revocations": {
    auth: "oem",
    summary: "The vehicle's revocation list after a cursor, signed by the Vehicle OEM root",
    description:
      "The vehicle's revocation list after a cursor, signed by the Vehicle OEM root (the car fetches it through " +
      "the OEM's telematics). 409 when the cursor is beyond the latest sequence.",
    params: VehicleIdParamsSchema,
    query: AfterQuerySchema,
    response: { status: 200, content: { mediaType: "application/json", schema: RevocationListSchema } },
    problems: ["validation", "not-found", "conflict", "unavailable", "storage-unavailable"],
  },
});
