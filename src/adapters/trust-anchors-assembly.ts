// What the trust-anchors function needs and nothing more: the OEM roots
// (read, or self-signed on first use where this function may) and the
// webhook signing key. Built without the rest of the service, so its bundle
// carries no enrollment, key tracking, revocation, notices or EventBridge
// client (docs/toolchain.md "Lambda bundles").

import { systemClock } from "../service/ports.js";
import { RootCertificates } from "../service/root-certificates.js";
import { WebhookSigningKey } from "../service/webhook-signing-key.js";
import { documentClientFor } from "./aws-client-settings.js";
import { DynamoDbStore } from "./dynamodb/dynamodb-store.js";
import { rootSigners } from "./root-signers.js";
import type { ServiceSettings } from "./service-settings.js";

export interface TrustAnchorsParts {
  readonly service: { readonly roots: RootCertificates; readonly webhookKey: WebhookSigningKey };
  readonly serverToServerMtls?: boolean;
}

/** The roots and the webhook key for `settings`, configured as the whole service configures them. */
export async function assembleTrustAnchorsParts(settings: ServiceSettings): Promise<TrustAnchorsParts> {
  const { signer, webhookSigner } = await rootSigners(settings);
  const roots = new RootCertificates({
    store: new DynamoDbStore({ tableName: settings.tableName, client: documentClientFor(settings.aws) }),
    signer,
    clock: systemClock,
    subjects: { "device-oem-root": settings.deviceOem, "vehicle-oem-root": settings.vehicleOem },
    creatable: new Set(settings.creatableRoots),
    ...(settings.trustedDeviceOemRoots.length > 0
      ? { configuredDeviceOemRoots: settings.trustedDeviceOemRoots }
      : {}),
  });
  return {
    service: { roots, webhookKey: new WebhookSigningKey(webhookSigner) },
    serverToServerMtls: settings.serverToServerMtls,
  };
}
