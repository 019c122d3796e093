// What the trust-anchors function needs and nothing more: the OEM roots
// (read, or self-signed on first use where this function may) and the
// webhook signing key. Built without the rest of the service, so its bundle
// carries no enrollment, key tracking, revocation, notices or EventBridge
// client (docs/toolchain.md "Lambda bundles").
import { WebhookSigningKey } from "../service/webhook-signing-key.js";
import type { TrustAnchorsDependencies } from "./function-handlers/trust-anchors.js";
import { assembleRootCertificates } from "./root-certificates-assembly.js";
import type { ServiceSettings } from "./service-settings.js";

/** The roots and the webhook key for `settings`, configured as the whole service configures them. */
export async function assembleTrustAnchorsParts(
  settings: ServiceSettings,
): Promise<TrustAnchorsDependencies> {
  const { roots, webhookSigner } = await assembleRootCertificates(settings);
  return {
    service: { roots, webhookKey: new WebhookSigningKey(webhookSigner) },
    serverToServerMtls: settings.serverToServerMtls,
  };
}
