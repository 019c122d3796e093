// The Notifier port over Amazon EventBridge: each service event becomes one
// PutEvents entry on the stack's bus (EVENT_BUS_NAME), source "carkeys",
// detail-type the event's type, so the OEM's own rules (telematics pushing a
// notice to a car, a support dashboard) subscribe by type. A rejected entry
// is an error: PutEvents answers 200 with FailedEntryCount for those.
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import type { Notifier, ServiceEvent } from "../../service/ports.js";
import { publishedEvent } from "../../service/published-event.js";

export const EVENT_SOURCE = "carkeys";

export interface EventBridgeNotifierOptions {
  readonly eventBusName: string;
  readonly client?: EventBridgeClient;
}

export class EventBridgeNotifier implements Notifier {
  private readonly eventBusName: string;
  private readonly client: EventBridgeClient;

  constructor(options: EventBridgeNotifierOptions) {
    if (!options.eventBusName) throw new Error("eventBusName is required");
    this.eventBusName = options.eventBusName;
    this.client = options.client ?? new EventBridgeClient({});
  }

  async publish(event: ServiceEvent): Promise<void> {
    const out = await this.client.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: this.eventBusName,
            Source: EVENT_SOURCE,
            DetailType: event.type,
            Time: new Date(event.occurredAt),
            // The published form: docs/events/service-event.v1.schema.json.
            Detail: JSON.stringify(publishedEvent(event)),
          },
        ],
      }),
    );
    if ((out.FailedEntryCount ?? 0) > 0) {
      const entry = out.Entries?.[0];
      throw new Error(`EventBridge refused the ${event.type} event: ${entry?.ErrorCode ?? "unknown"}`);
    }
  }
}
