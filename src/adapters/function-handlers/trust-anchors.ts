// GET /v1/trust-anchors (public): the Device OEM and Vehicle OEM root
// certificates, self-signed through the Signer port on first use; and
// GET /v1/webhook-signing-key (public): the key receivers verify webhooks with.
import { TRUST_ANCHORS_ROUTES } from "../../api/routes/trust-anchors-routes.js";
import type { CarKeysService } from "../../service/car-keys-service.js";
import { createHttpHandler, type DependencySource } from "../../service/http/create-http-handler.js";
import type { ServiceDependencies } from "../service-assembly.js";

/** What this function uses: the parts of the service its routes call. */
export interface TrustAnchorsDependencies extends Pick<ServiceDependencies, "serverToServerMtls"> {
  readonly service: Pick<CarKeysService, "roots" | "webhookKey">;
}

export function makeHandler(dependencies: DependencySource<TrustAnchorsDependencies>) {
  return createHttpHandler(
    TRUST_ANCHORS_ROUTES,
    {
      "GET /v1/trust-anchors": async (_, { service }) => service.roots.trustAnchors(),
      "GET /v1/webhook-signing-key": async (_, { service }) => service.webhookKey.view(),
    },
    dependencies,
  );
}
