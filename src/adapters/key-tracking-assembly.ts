// What the key-tracking function needs and nothing more: the roots'
// certificates (it checks device chains and signs receipts), the key
// lifecycle on them (a new owner phone revokes the old one's key, with its
// notice and events), and the tracking itself. No enrollment
// (docs/toolchain.md "Lambda bundles").
import { KeyTracking } from "../service/key-tracking.js";
import { systemClock } from "../service/ports.js";
import type { KeyTrackingDependencies } from "./function-handlers/key-tracking.js";
import { assembleKeyLifecycle } from "./key-lifecycle-assembly.js";
import { assembleRootCertificates } from "./root-certificates-assembly.js";
import type { ServiceSettings } from "./service-settings.js";

/** Key tracking for `settings`, on the roots and the lifecycle the whole service uses. */
export async function assembleKeyTrackingParts(settings: ServiceSettings): Promise<KeyTrackingDependencies> {
  const adapters = await assembleRootCertificates(settings, [settings.devicePseudonymKeyUri ?? ""]);
  const { store, roots } = adapters;
  const { auth, notices, pseudonyms, revocations } = await assembleKeyLifecycle(settings, adapters);
  return {
    service: {
      keys: new KeyTracking({
        store,
        clock: systemClock,
        roots,
        auth,
        notices,
        pseudonyms,
        ownerDevices: revocations,
        ...(settings.friendKeySlots === undefined ? {} : { friendKeySlots: settings.friendKeySlots }),
      }),
    },
    serverToServerMtls: settings.serverToServerMtls,
  };
}
