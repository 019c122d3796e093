// Event notifications from partner servers (`POST /v1/events`): each event
// type is carried out by the very operation an OEM route runs for it —
// lost mode (Notices.setLostMode) or a revocation (KeyRevocation.revokeByOem)
// — so the intake adds no second way to change a key. Those operations are
// idempotent conditional writes, which makes the intake idempotent too: a
// repeated event (same id or not) finds the state already so and answers
// `already-applied`. Every accepted event is also published for the OEM's
// own rules, with the authenticated sender.

import type { PartnerEventReceipt, PartnerEventRequest } from "../api/partner-event-schemas.js";
import type { KeyRevocation } from "./key-revocation.js";
import type { Notices } from "./notices.js";
import type { Clock } from "./ports.js";

export interface PartnerEventsOptions {
  readonly clock: Clock;
  readonly notices: Notices;
  readonly revocations: KeyRevocation;
}

export class PartnerEvents {
  constructor(private readonly options: PartnerEventsOptions) {}

  /** Applies `event` from the authenticated sender `from`. */
  async receive(event: PartnerEventRequest, from: string): Promise<PartnerEventReceipt> {
    const { clock, notices, revocations } = this.options;
    const receivedAt = clock.now().toISOString();
    let outcome: PartnerEventReceipt["outcome"];
    switch (event.type) {
      case "device.lost":
      case "device.found": {
        const action = event.type === "device.lost" ? "suspend" : "resume";
        const result = await notices.setLostMode(event.seId, action, from);
        outcome = result.created ? "applied" : "already-applied";
        break;
      }
      case "key.termination-requested": {
        const result = await revocations.revokeByOem(event.keyId, from);
        outcome = result.created ? "applied" : "already-applied";
        break;
      }
      case "heartbeat":
        outcome = "acknowledged";
        break;
    }
    if (event.type !== "heartbeat") {
      await notices.publishAll([
        {
          type: "partner.event-received",
          ...("keyId" in event ? { keyId: event.keyId } : {}),
          occurredAt: receivedAt,
          detail: { eventId: event.eventId, eventType: event.type, outcome, from, sentAt: event.occurredAt },
        },
      ]);
    }
    return { eventId: event.eventId, type: event.type, outcome, receivedAt, from };
  }
}
