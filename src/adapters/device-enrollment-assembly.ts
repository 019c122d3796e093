// What the device-enrollment function needs and nothing more: the roots, the
// check of the SE's own signature, and the enrollment itself. No notices,
// revocations or EventBridge client, and no device pseudonym key: an
// enrolling SE signs with its instance key and names itself, and the function
// is granted no such key (infra/lib/function-access.ts; docs/toolchain.md
// "Lambda bundles").
import { DevicePseudonyms, unconfiguredMacKey } from "../service/device-pseudonyms.js";
import { DeviceRequestAuthenticator } from "../service/device-request-auth.js";
import { systemClock } from "../service/ports.js";
import { SecureElementEnrollment } from "../service/secure-element-enrollment.js";
import type { DeviceEnrollmentDependencies } from "./function-handlers/device-enrollment.js";
import { assembleRootCertificates } from "./root-certificates-assembly.js";
import type { ServiceSettings } from "./service-settings.js";

/** SE enrollment for `settings`, certified by the roots the whole service uses. */
export async function assembleDeviceEnrollmentParts(
  settings: ServiceSettings,
): Promise<DeviceEnrollmentDependencies> {
  const { store, roots } = await assembleRootCertificates(settings);
  const clock = systemClock;
  const auth = new DeviceRequestAuthenticator({
    store,
    clock,
    pseudonyms: new DevicePseudonyms(unconfiguredMacKey),
  });
  return {
    service: {
      secureElements: new SecureElementEnrollment({
        store,
        clock,
        roots,
        auth,
        manufacturerPublicKey: settings.manufacturerPublicKey,
      }),
    },
    serverToServerMtls: settings.serverToServerMtls,
  };
}
