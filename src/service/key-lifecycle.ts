// A registered key's life after registration, wired once: the pseudonyms that
// name its device, the check of device-signed requests, the lifecycle notices
// and the revocations that send them (docs/protocol.md §12, §13). The whole
// service (car-keys-service.ts) builds it beside enrollment and tracking; the
// functions that serve only notices, revocations, partner events or the
// expiry sweep build it alone (src/adapters/key-lifecycle-assembly.ts), with a
// root that signs statements and issues no certificate, so their bundles carry
// no issuance code (docs/toolchain.md "Lambda bundles").
import { DevicePseudonyms, type MacKey, unconfiguredMacKey } from "./device-pseudonyms.js";
import { DeviceRequestAuthenticator } from "./device-request-auth.js";
import { KeyRevocation } from "./key-revocation.js";
import { Notices } from "./notices.js";
import type { Clock, Notifier, Store } from "./ports.js";
import type { StatementRoots } from "./root-statement-keys.js";

export interface KeyLifecycleConfig {
  readonly store: Store;
  readonly clock: Clock;
  /** Signs the notices and revocation lists: RootCertificates, or RootStatementKeys where nothing is issued. */
  readonly roots: StatementRoots;
  /** The service's events (revocations, notices); default: dropped. */
  readonly notifier?: Notifier;
  /** The deployment secret that names devices (device-pseudonyms.ts); without it, routes that need it refuse. */
  readonly devicePseudonymKey?: MacKey;
}

export interface KeyLifecycle {
  readonly pseudonyms: DevicePseudonyms;
  readonly auth: DeviceRequestAuthenticator;
  readonly notices: Notices;
  readonly revocations: KeyRevocation;
}

const dropEvents: Notifier = { publish: async () => {} };

export function createKeyLifecycle(config: KeyLifecycleConfig): KeyLifecycle {
  const { store, clock, roots } = config;
  const pseudonyms = new DevicePseudonyms(config.devicePseudonymKey ?? unconfiguredMacKey);
  const auth = new DeviceRequestAuthenticator({ store, clock, pseudonyms });
  const notices = new Notices({
    store,
    clock,
    roots,
    auth,
    notifier: config.notifier ?? dropEvents,
    pseudonyms,
  });
  const revocations = new KeyRevocation({ store, clock, roots, auth, notices, pseudonyms });
  return { pseudonyms, auth, notices, revocations };
}
