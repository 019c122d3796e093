// The Notifier port on a laptop (npm start, tests): one structured log line
// per event, through the service's logger, so a local run shows what would
// go to EventBridge. Events carry public facts only (ports.ts ServiceEvent).

import { logger } from "../../service/logger.js";
import type { Notifier, ServiceEvent } from "../../service/ports.js";
import { publishedEvent } from "../../service/published-event.js";

export class LogNotifier implements Notifier {
  async publish(event: ServiceEvent): Promise<void> {
    logger.info("service event", { event: publishedEvent(event) });
  }
}
