// The cloud service assembled from its ports: one factory, no hidden wiring
// (docs/architecture.md "Conventions"). src/adapters/service-assembly.ts calls it once
// per Lambda container with adapters built from its settings; tests call
// it with DynamoDB Local and software signers. Each part is one concept of
// the service in its own file; this file only connects them, so that the roots'
// cache and the nonce check are shared by every route. The roots
// (rootCertificatesFor) and the key lifecycle (key-lifecycle.ts) are wired
// by factories a Lambda that needs only them calls too (src/adapters/*-assembly.ts).
import type { SubjectNameFields } from "../protocol/certificate-profiles.js";
import type { ScryptCost } from "../protocol/pairing-password.js";
import type { MessageSigner } from "../protocol/signer.js";
import type { ConfiguredDeviceOemRoot } from "./device-oem-roots.js";
import type { MacKey } from "./device-pseudonyms.js";
import type { DeviceRequestAuthenticator } from "./device-request-auth.js";
import { ExpirySweep } from "./expiry-sweep.js";
import { createKeyLifecycle } from "./key-lifecycle.js";
import type { KeyRevocation } from "./key-revocation.js";
import { KeyTracking } from "./key-tracking.js";
import type { Notices } from "./notices.js";
import { PartnerEvents } from "./partner-events.js";
import {
  type Clock,
  type Notifier,
  type OemRootProfile,
  type Signer,
  type Store,
  systemClock,
} from "./ports.js";
import { type RootCertificates, rootCertificatesFor } from "./root-certificates.js";
import { SecureElementEnrollment } from "./secure-element-enrollment.js";
import { VehicleEnrollment } from "./vehicle-enrollment.js";
import { WebhookSigningKey } from "./webhook-signing-key.js";

export interface CarKeysServiceConfig {
  readonly store: Store;
  readonly signer: Signer;
  readonly clock?: Clock;
  /** The service's events (revocations, notices); default: dropped. */
  readonly notifier?: Notifier;
  /** The SE manufacturer's factory attestation key: 65-byte uncompressed P-256 point. */
  readonly manufacturerPublicKey: Uint8Array;
  /** O (and optionally C, CN) of the Device OEM root and of instance CA certificates. */
  readonly deviceOem: SubjectNameFields;
  /** O (and optionally C, CN) of the Vehicle OEM root and of vehicle certificates. */
  readonly vehicleOem: SubjectNameFields;
  /** scrypt cost of pairing passwords; default RFC 9383's N = 32768, r = 8, p = 1. */
  readonly scryptCost?: ScryptCost;
  /**
   * The roots this process may self-sign on first use (default both): in AWS,
   * those whose KMS key the function may Sign with. Others are only read.
   */
  readonly creatableRoots?: readonly OemRootProfile[];
  /**
   * The deployment secret that names devices in the table (src/service/device-pseudonyms.ts).
   * Without it the service runs, and every route that needs a device's keys answers a configuration error.
   */
  readonly devicePseudonymKey?: MacKey;
  /** Friend keys a vehicle may hold at once (default 5); env FRIEND_KEY_SLOTS in the functions. */
  readonly friendKeySlots?: number;
  /** The key that signs webhook deliveries, published for receivers; absent without webhooks. */
  readonly webhookSigner?: MessageSigner;
  /**
   * Other phone makers' Device OEM roots (src/service/device-oem-roots.ts), trusted for key
   * registration beside the service's own; env TRUSTED_DEVICE_OEM_ROOTS in the functions.
   */
  readonly trustedDeviceOemRoots?: readonly ConfiguredDeviceOemRoot[];
}

export interface CarKeysService {
  readonly roots: RootCertificates;
  readonly auth: DeviceRequestAuthenticator;
  readonly secureElements: SecureElementEnrollment;
  readonly vehicles: VehicleEnrollment;
  readonly keys: KeyTracking;
  readonly notices: Notices;
  readonly revocations: KeyRevocation;
  /** Revokes keys whose profile ended (the scheduled functions/expiry-sweep.ts). */
  readonly expiry: ExpirySweep;
  /** Event notifications from partner servers (POST /v1/events). */
  readonly partnerEvents: PartnerEvents;
  readonly webhookKey: WebhookSigningKey;
}

export function createCarKeysService(config: CarKeysServiceConfig): CarKeysService {
  const clock = config.clock ?? systemClock;
  const { store } = config;
  const roots = rootCertificatesFor({ ...config, clock });
  // One lifecycle for every route, so the roots' cache and the nonce check are shared.
  const { pseudonyms, auth, notices, revocations } = createKeyLifecycle({
    store,
    clock,
    roots,
    ...(config.notifier ? { notifier: config.notifier } : {}),
    ...(config.devicePseudonymKey ? { devicePseudonymKey: config.devicePseudonymKey } : {}),
  });
  return {
    roots,
    auth,
    secureElements: new SecureElementEnrollment({
      store,
      clock,
      roots,
      auth,
      manufacturerPublicKey: config.manufacturerPublicKey,
    }),
    vehicles: new VehicleEnrollment({
      store,
      clock,
      roots,
      ...(config.scryptCost ? { scryptCost: config.scryptCost } : {}),
    }),
    keys: new KeyTracking({
      store,
      clock,
      roots,
      auth,
      notices,
      pseudonyms,
      ownerDevices: revocations,
      ...(config.friendKeySlots === undefined ? {} : { friendKeySlots: config.friendKeySlots }),
    }),
    notices,
    revocations,
    expiry: new ExpirySweep({ store, clock, revocations }),
    partnerEvents: new PartnerEvents({ clock, notices, revocations }),
    webhookKey: new WebhookSigningKey(config.webhookSigner),
  };
}
