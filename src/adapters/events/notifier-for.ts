// Where a deployment's service events go: EventBridge, or the
// log without a bus, and a signed webhook beside it when one is configured.
// Only the functions that publish events import this (infra/lib/function-access.ts
// `publishesEvents`), so only their bundles carry the EventBridge client.
import type { MessageSigner } from "../../protocol/signer.js";
import type { Notifier } from "../../service/ports.js";
import type { BaseServiceSettings } from "../service-settings.js";
import { EventBridgeNotifier } from "./eventbridge-notifier.js";
import { LogNotifier } from "./log-notifier.js";
import { FanOutNotifier, WebhookNotifier } from "./webhook-notifier.js";

/** The notifier `settings` name; a webhook needs `webhookSigner`, the key that signs deliveries. */
export function notifierFor(
  settings: BaseServiceSettings,
  webhookSigner: MessageSigner | undefined,
): Notifier {
  const bus: Notifier = settings.eventBusName
    ? new EventBridgeNotifier({ eventBusName: settings.eventBusName })
    : new LogNotifier();
  if (!settings.webhook?.url || !webhookSigner) return bus;
  return new FanOutNotifier([bus, new WebhookNotifier({ url: settings.webhook.url, signer: webhookSigner })]);
}
