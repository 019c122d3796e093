// GET /v1/vehicles/{vehicleId}/revocations?after=n (oem): the vehicle's
// revocation list after the car's cursor, signed by the Vehicle OEM root; the
// OEM's telematics hands it to the car (Vehicle.applyRevocationList).
import { REVOCATION_LIST_ROUTES } from "../../api/routes/revocation-list-routes.js";
import { createHttpHandler, type DependencySource } from "../../service/http/create-http-handler.js";
import type { RevocationLists } from "../../service/revocation-lists.js";
import type { ServiceDependencies } from "../service-assembly.js";

/** What this function uses: the parts of the service its routes call. */
export interface RevocationListDependencies extends Pick<ServiceDependencies, "serverToServerMtls"> {
  /** The whole service's `revocations` (KeyRevocation) or the revocation lists alone. */
  readonly service: { readonly revocations: Pick<RevocationLists, "revocationList"> };
}

export function makeHandler(dependencies: DependencySource<RevocationListDependencies>) {
  return createHttpHandler(
    REVOCATION_LIST_ROUTES,
    {
      "GET /v1/vehicles/{vehicleId}/revocations": ({ params, query }, { service }) =>
        service.revocations.revocationList(params.vehicleId, Number(query.after ?? "0")),
    },
    dependencies,
  );
}
