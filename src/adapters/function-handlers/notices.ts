// Lifecycle notices (docs/protocol.md §13): a device fetches its notices (device-signed
// by its instance key), the OEM fetches a vehicle's for the car, and the
// Device OEM's backend sets lost mode, which signs notices with the Device
// OEM root and publishes them as events.
import { NOTICES_ROUTES } from "../../api/routes/notices-routes.js";
import type { CarKeysService } from "../../service/car-keys-service.js";
import { createHttpHandler, type DependencySource } from "../../service/http/create-http-handler.js";
import type { ServiceDependencies } from "../service-assembly.js";

/** What this function uses: the parts of the service its routes call. */
export interface NoticesDependencies extends Pick<ServiceDependencies, "serverToServerMtls"> {
  readonly service: Pick<CarKeysService, "notices">;
}

export function makeHandler(dependencies: DependencySource<NoticesDependencies>) {
  return createHttpHandler(
    NOTICES_ROUTES,
    {
      "GET /v1/devices/{seId}/notices": ({ params, query, raw }, { service }) =>
        service.notices.forDevice(params.seId, Number(query.after ?? "0"), raw),
      "GET /v1/vehicles/{vehicleId}/notices": ({ params, query }, { service }) =>
        service.notices.forVehicle(params.vehicleId, Number(query.after ?? "0")),
      "POST /v1/devices/{seId}/lost-mode": ({ params, body, caller }, { service }) =>
        service.notices.setLostMode(params.seId, body.action, caller ?? "unknown"),
    },
    dependencies,
  );
}
