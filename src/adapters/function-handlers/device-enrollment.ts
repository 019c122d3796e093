// POST /v1/devices (device-signed): secure element enrollment, the Instance CA
// certificate from the Device OEM root. The request signature is checked by
// the service over the raw body, with the key the body names.
import { DEVICE_ENROLLMENT_ROUTES } from "../../api/routes/device-enrollment-routes.js";
import type { CarKeysService } from "../../service/car-keys-service.js";
import { createHttpHandler, type DependencySource } from "../../service/http/create-http-handler.js";
import type { ServiceDependencies } from "../service-assembly.js";

/** What this function uses: the parts of the service its routes call. */
export interface DeviceEnrollmentDependencies extends Pick<ServiceDependencies, "serverToServerMtls"> {
  readonly service: Pick<CarKeysService, "secureElements">;
}

export function makeHandler(dependencies: DependencySource<DeviceEnrollmentDependencies>) {
  return createHttpHandler(
    DEVICE_ENROLLMENT_ROUTES,
    {
      "POST /v1/devices": ({ body, raw }, { service }) => service.secureElements.enroll(body, raw),
    },
    dependencies,
  );
}
