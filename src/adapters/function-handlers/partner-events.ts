// Event notifications from partner servers (`POST /v1/events`,
// src/service/partner-events.ts): the authenticated sender is the caller the
// request parser found, the client certificate's subject over mutual TLS.
import { PARTNER_EVENTS_ROUTES } from "../../api/routes/partner-events-routes.js";
import type { CarKeysService } from "../../service/car-keys-service.js";
import { createHttpHandler, type DependencySource } from "../../service/http/create-http-handler.js";
import type { ServiceDependencies } from "../service-assembly.js";

/** What this function uses: the parts of the service its routes call. */
export interface PartnerEventsDependencies extends Pick<ServiceDependencies, "serverToServerMtls"> {
  readonly service: Pick<CarKeysService, "partnerEvents">;
}

export function makeHandler(dependencies: DependencySource<PartnerEventsDependencies>) {
  return createHttpHandler(
    PARTNER_EVENTS_ROUTES,
    {
      "POST /v1/events": ({ body, caller }, { service }) =>
        service.partnerEvents.receive(body, caller ?? "unknown"),
    },
    dependencies,
  );
}
