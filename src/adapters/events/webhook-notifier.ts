// The Notifier port as a signed webhook: each event is POSTed as JSON (its
// published form, src/api/event-schemas.ts) to the OEM's endpoint,
// signed as src/protocol/webhook-signature.ts describes, with a key used for
// nothing else (WEBHOOK_SIGNER_URI: KMS in AWS, a software key locally). It
// is delivered from the request that made the event, once, with a short
// timeout (the request's own answer waits for it): a refused or failed
// delivery is an error, which the service logs and does not retry. An
// integration that needs every event subscribes to the EventBridge bus, which
// carries the same events.
import { randomUUID } from "node:crypto";
import type { MessageSigner } from "../../protocol/signer.js";
import { signWebhook } from "../../protocol/webhook-signature.js";
import type { Notifier, ServiceEvent } from "../../service/ports.js";
import { publishedEvent } from "../../service/published-event.js";

export interface WebhookNotifierOptions {
  /** The receiver, https: (or http: on loopback, for local runs and tests). */
  readonly url: string;
  readonly signer: MessageSigner;
  /** Default 2 s. */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
  readonly now?: () => Date;
}

export class WebhookNotifier implements Notifier {
  private readonly url: URL;

  constructor(private readonly options: WebhookNotifierOptions) {
    this.url = new URL(options.url);
    const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(this.url.hostname);
    if (this.url.protocol !== "https:" && !(this.url.protocol === "http:" && loopback)) {
      throw new Error(`the webhook URL must be https (http only on loopback), not ${options.url}`);
    }
  }

  async publish(event: ServiceEvent): Promise<void> {
    const body = new TextEncoder().encode(JSON.stringify(publishedEvent(event)));
    const timestamp = Math.floor((this.options.now?.() ?? new Date()).getTime() / 1000);
    const headers = await signWebhook(this.options.signer, body, randomUUID(), timestamp);
    const response = await (this.options.fetch ?? fetch)(this.url, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body,
      redirect: "error",
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 2000),
    });
    await response.body?.cancel();
    if (!response.ok) throw new Error(`the webhook receiver answered ${response.status} to ${event.type}`);
  }
}

/** Publishes every event to each notifier in turn; a failure of one does not stop the others. */
export class FanOutNotifier implements Notifier {
  constructor(private readonly notifiers: readonly Notifier[]) {}

  async publish(event: ServiceEvent): Promise<void> {
    const results = await Promise.allSettled(this.notifiers.map((n) => n.publish(event)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
  }
}
