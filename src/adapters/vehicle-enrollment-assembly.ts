// What the vehicle-enrollment function needs and nothing more: the roots and
// the enrollment (vehicle certificates, pairing material). No device requests,
// notices, revocations or EventBridge client (docs/toolchain.md "Lambda bundles").
import { systemClock } from "../service/ports.js";
import { VehicleEnrollment } from "../service/vehicle-enrollment.js";
import type { VehicleEnrollmentDependencies } from "./function-handlers/vehicle-enrollment.js";
import { assembleRootCertificates } from "./root-certificates-assembly.js";
import type { ServiceSettings } from "./service-settings.js";

/** Vehicle enrollment for `settings`, certified by the roots the whole service uses. */
export async function assembleVehicleEnrollmentParts(
  settings: ServiceSettings,
): Promise<VehicleEnrollmentDependencies> {
  const { store, roots } = await assembleRootCertificates(settings);
  return {
    service: { vehicles: new VehicleEnrollment({ store, clock: systemClock, roots }) },
    serverToServerMtls: settings.serverToServerMtls,
  };
}
