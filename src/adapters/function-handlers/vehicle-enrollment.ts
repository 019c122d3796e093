// POST /v1/vehicles and POST /v1/vehicles/{vehicleId}/pairing (OEM-authorized):
// vehicle certificate, trust anchors and owner-pairing material; new pairing
// material for an enrolled vehicle.
import { VEHICLE_ENROLLMENT_ROUTES } from "../../api/routes/vehicle-enrollment-routes.js";
import type { CarKeysService } from "../../service/car-keys-service.js";
import { createHttpHandler, type DependencySource } from "../../service/http/create-http-handler.js";
import type { ServiceDependencies } from "../service-assembly.js";

/** What this function uses: the parts of the service its routes call. */
export interface VehicleEnrollmentDependencies extends Pick<ServiceDependencies, "serverToServerMtls"> {
  readonly service: Pick<CarKeysService, "vehicles">;
}

export function makeHandler(dependencies: DependencySource<VehicleEnrollmentDependencies>) {
  return createHttpHandler(
    VEHICLE_ENROLLMENT_ROUTES,
    {
      "POST /v1/vehicles": ({ body, caller }, { service }) =>
        service.vehicles.enroll(body, caller ?? "unknown"),
      "POST /v1/vehicles/{vehicleId}/pairing": ({ body, params }, { service }) =>
        service.vehicles.newPairing(params.vehicleId, body),
    },
    dependencies,
  );
}
