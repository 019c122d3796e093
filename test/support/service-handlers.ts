// Every service function's handler built with `makeHandler` around one
// service the test made (test-service.ts: in-process fakes, or its own
// adapters), as the local stack builds them: no process.env, no module state.
import type { APIGatewayProxyHandlerV2 } from "aws-lambda";
import { makeHandler as deviceEnrollment } from "../../functions/device-enrollment.js";
import { makeHandler as keyTracking } from "../../functions/key-tracking.js";
import { makeHandler as notices } from "../../functions/notices.js";
import { makeHandler as partnerEvents } from "../../functions/partner-events.js";
import { makeHandler as revocation } from "../../functions/revocation.js";
import { makeHandler as revocationList } from "../../functions/revocation-list.js";
import { makeHandler as trustAnchors } from "../../functions/trust-anchors.js";
import { makeHandler as vehicleEnrollment } from "../../functions/vehicle-enrollment.js";
import type { CarKeysService } from "../../src/service/car-keys-service.js";

export interface ServiceHandlers {
  readonly deviceEnrollment: APIGatewayProxyHandlerV2;
  readonly keyTracking: APIGatewayProxyHandlerV2;
  readonly notices: APIGatewayProxyHandlerV2;
  readonly partnerEvents: APIGatewayProxyHandlerV2;
  readonly revocation: APIGatewayProxyHandlerV2;
  readonly revocationList: APIGatewayProxyHandlerV2;
  readonly trustAnchors: APIGatewayProxyHandlerV2;
  readonly vehicleEnrollment: APIGatewayProxyHandlerV2;
}

export function serviceHandlers(
  service: CarKeysService | Promise<CarKeysService>,
  options: { readonly serverToServerMtls?: boolean } = {},
): ServiceHandlers {
  const dependencies = async () => ({ service: await service, ...options });
  return {
    deviceEnrollment: deviceEnrollment(dependencies),
    keyTracking: keyTracking(dependencies),
    notices: notices(dependencies),
    partnerEvents: partnerEvents(dependencies),
    revocation: revocation(dependencies),
    revocationList: revocationList(dependencies),
    trustAnchors: trustAnchors(dependencies),
    vehicleEnrollment: vehicleEnrollment(dependencies),
  };
}
