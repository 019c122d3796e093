// Key tracking: POST /v1/keys (device-signed by the endpoint key being
// registered; returns a receipt signed by the Vehicle OEM root), and the OEM's
// reads GET /v1/keys/{keyId} and GET /v1/vehicles/{vehicleId}/keys.
import { KEY_TRACKING_ROUTES } from "../../api/routes/key-tracking-routes.js";
import type { CarKeysService } from "../../service/car-keys-service.js";
import { createHttpHandler, type DependencySource } from "../../service/http/create-http-handler.js";
import type { ServiceDependencies } from "../service-assembly.js";

/** What this function uses: the parts of the service its routes call. */
export interface KeyTrackingDependencies extends Pick<ServiceDependencies, "serverToServerMtls"> {
  readonly service: Pick<CarKeysService, "keys">;
}

export function makeHandler(dependencies: DependencySource<KeyTrackingDependencies>) {
  return createHttpHandler(
    KEY_TRACKING_ROUTES,
    {
      "POST /v1/keys": ({ body, raw }, { service }) => service.keys.register(body, raw),
      "GET /v1/keys/{keyId}": ({ params }, { service }) => service.keys.get(params.keyId),
      "GET /v1/vehicles/{vehicleId}/keys": ({ params }, { service }) =>
        service.keys.listForVehicle(params.vehicleId),
    },
    dependencies,
  );
}
