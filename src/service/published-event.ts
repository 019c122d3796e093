// The form every notifier sends an event in (src/api/event-schemas.ts is its
// contract): the event as the service made it, labelled with the identifier of
// this version of the format, so a receiver knows which schema to read it by.
import { EVENT_SCHEMA_ID } from "../api/event-schemas.js";
import type { ServiceEvent } from "./ports.js";

/** What every notifier sends for `event`: the event, labelled with this format's identifier. */
export function publishedEvent(event: ServiceEvent): Record<string, unknown> {
  return { schema: EVENT_SCHEMA_ID, ...event };
}
