// Remote revocation (docs/protocol.md §12): the owner's device posts its SE's RVKE
// statement (device-signed by the owner endpoint key), the OEM backend
// revokes a key (oem), and the SE holding a revoked key confirms its deletion
// with the termination attestation (device-signed by its instance key). Each
// revocation signs a terminate-key notice with the Device OEM root.
import { REVOCATION_ROUTES } from "../../api/routes/revocation-routes.js";
import type { CarKeysService } from "../../service/car-keys-service.js";
import { createHttpHandler, type DependencySource } from "../../service/http/create-http-handler.js";
import type { ServiceDependencies } from "../service-assembly.js";

/** What this function uses: the parts of the service its routes call. */
export interface RevocationDependencies extends Pick<ServiceDependencies, "serverToServerMtls"> {
  readonly service: Pick<CarKeysService, "revocations">;
}

export function makeHandler(dependencies: DependencySource<RevocationDependencies>) {
  return createHttpHandler(
    REVOCATION_ROUTES,
    {
      "POST /v1/revocations": ({ body, raw }, { service }) => service.revocations.revokeByOwner(body, raw),
      "POST /v1/keys/{keyId}/revocation": ({ params, caller }, { service }) =>
        service.revocations.revokeByOem(params.keyId, caller ?? "unknown"),
      "POST /v1/keys/{keyId}/termination": ({ params, body, raw }, { service }) =>
        service.revocations.confirmTermination(params.keyId, body, raw),
    },
    dependencies,
  );
}
