// The Notifier adapters: EventBridge (one PutEvents entry per event on the
// configured bus, a refused entry is an error) with a recording client in
// place of AWS, which has no local emulator here; and the local log line.
import type { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { describe, expect, it, vi } from "vitest";
import { EventBridgeNotifier } from "../../../src/adapters/events/eventbridge-notifier.js";
import { LogNotifier } from "../../../src/adapters/events/log-notifier.js";
import { logger } from "../../../src/service/logger.js";
import type { ServiceEvent } from "../../../src/service/ports.js";

const event: ServiceEvent = {
  type: "device.notice-issued",
  occurredAt: "2025-01-01T00:00:00.000Z",
  detail: { seId: "00".repeat(16), counter: 1, action: "suspend" },
};

function recordingClient(answer: { FailedEntryCount?: number; Entries?: { ErrorCode?: string }[] }) {
  const sent: unknown[] = [];
  const client = {
    send: async (command: { input: unknown }) => {
      sent.push(command.input);
      return answer;
    },
  };
  return { sent, client: client as unknown as EventBridgeClient };
}

describe("EventBridgeNotifier", () => {
  it("puts one entry on the bus: source carkeys, detail-type the event type, the event as detail", async () => {
    const { sent, client } = recordingClient({ FailedEntryCount: 0 });
    await new EventBridgeNotifier({ eventBusName: "bus", client }).publish(event);
    expect(sent).toEqual([
      {
        Entries: [
          {
            EventBusName: "bus",
            Source: "carkeys",
            DetailType: "device.notice-issued",
            Time: new Date(event.occurredAt),
            Detail: JSON.stringify({ schema: "urn:carkeys:event:v1", ...event }),
          },
        ],
      },
    ]);
  });

  it("throws when EventBridge refuses the entry", async () => {
    const { client } = recordingClient({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: "ThrottlingException" }],
    });
    await expect(new EventBridgeNotifier({ eventBusName: "bus", client }).publish(event)).rejects.toThrow(
      "ThrottlingException",
    );
  });
});

describe("LogNotifier", () => {
  it("logs one line per event", async () => {
    const info = vi.spyOn(logger, "info").mockImplementation(() => {});
    await new LogNotifier().publish(event);
    expect(info).toHaveBeenCalledTimes(1);
    expect(info).toHaveBeenCalledWith("service event", {
      event: { schema: "urn:carkeys:event:v1", ...event },
    });
    info.mockRestore();
  });
});
