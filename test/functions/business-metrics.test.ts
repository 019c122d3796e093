// Business metrics through the real handlers: the EMF lines
// src/service/embedded-metrics.ts writes to stdout (what CloudWatch reads in Lambda, what the local
// server shows), parsed back. Pairings, registrations, shares, revocations,
// lost-mode notices, relay operations and refusals by problem kind are
// counted, creations once (a repeat is not counted), and no dimension or
// value carries an identifier.
import "../support/quiet-logs.js";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { handler as deviceEnrollment } from "../../functions/device-enrollment.js";
import { handler as keyTracking } from "../../functions/key-tracking.js";
import { handler as notices } from "../../functions/notices.js";
import { handler as partnerEvents } from "../../functions/partner-events.js";
import { handler as relayHandler } from "../../functions/relay.js";
import { handler as revocation } from "../../functions/revocation.js";
import { handler as vehicleEnrollment } from "../../functions/vehicle-enrollment.js";
import { toHex } from "../../src/protocol/bytes.js";
import { METRICS_NAMESPACE } from "../../src/service/embedded-metrics.js";
import {
  deviceEnrollmentEvent,
  keyRegistrationEvent,
  signedEvent,
  vehicleEnrollmentEvent,
} from "../support/api-requests.js";
import { apiEvent, invoke, type LambdaHarness, startLambdaHarness } from "../support/lambda-harness.js";
import { rvke } from "../support/lifecycle-statements.js";
import { attestFriendKey, confirmPairing, TestDevice, testVehicle } from "../support/test-device.js";

interface EmfLine {
  _aws: {
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
  [key: string]: unknown;
}

// The relay's chain is typed by its own result shape; the harness calls it like any other handler.
const relay = relayHandler as unknown as Parameters<typeof invoke>[0];
let harness: LambdaHarness;
const lines: EmfLine[] = [];
const identifiers: string[] = [];

/** The metrics a block of work emitted: `name{dim=value,…}` per line, in order. */
async function metricsOf(work: () => Promise<unknown>): Promise<string[]> {
  const start = lines.length;
  await work();
  return lines.slice(start).map((line) => {
    const directive = line._aws.CloudWatchMetrics[0]!;
    const name = directive.Metrics[0]!.Name;
    const dims = directive.Dimensions[0]!.filter((d) => d !== "service").map(
      (d) => `${d}=${String(line[d])}`,
    );
    return dims.length > 0 ? `${name}{${dims.join(",")}}` : name;
  });
}

beforeAll(async () => {
  const write = process.stdout.write.bind(process.stdout);
  vi.spyOn(process.stdout, "write").mockImplementation(((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
    for (const line of text.split("\n")) {
      if (line.includes('"CloudWatchMetrics"')) lines.push(JSON.parse(line) as EmfLine);
    }
    return (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write);
  process.env.METRICS_DISABLED = "false";
  harness = await startLambdaHarness();
}, 120_000);

afterAll(async () => {
  process.env.METRICS_DISABLED = "true";
  vi.restoreAllMocks();
  await harness?.stop();
});

describe("business metrics (EMF)", () => {
  it("count registrations, a pairing, a share, revocations and lost-mode notices, each creation once", async () => {
    const owner = new TestDevice(harness.manufacturer);
    const friend = new TestDevice(harness.manufacturer);
    for (const device of [owner, friend]) {
      const enrolled = await metricsOf(async () => {
        const answer = await invoke(deviceEnrollment, deviceEnrollmentEvent(device));
        device.instanceCaCertificatePem = answer.json.instanceCaCertificate;
      });
      expect(enrolled).toEqual(["Registrations{Subject=device}"]);
      identifiers.push(device.seId);
    }
    const vehicle = testVehicle();
    identifiers.push(vehicle.idHex);
    let pairingId = "";
    expect(
      await metricsOf(async () => {
        pairingId = (await invoke(vehicleEnrollment, vehicleEnrollmentEvent(vehicle))).json.pairing.pairingId;
      }),
    ).toEqual(["Registrations{Subject=vehicle}", "PairingMaterialIssued"]);
    const ownerKey = await owner.newEndpoint(vehicle.id, "owner");
    const friendKey = await friend.newEndpoint(vehicle.id, "friend");
    identifiers.push(ownerKey.keyId, friendKey.keyId);
    const registerOwner = () =>
      invoke(
        keyTracking,
        keyRegistrationEvent(owner, ownerKey, undefined, {
          pairingConfirmation: confirmPairing(vehicle.keyPair, {
            pairingId,
            vehicleId: vehicle.id,
            endpoint: ownerKey,
          }),
        }),
      );
    expect(await metricsOf(registerOwner)).toEqual(["Registrations{Subject=key}", "Pairings"]);
    expect(await metricsOf(registerOwner), "a repeat (200) is not counted").toEqual([]);
    expect(
      await metricsOf(() =>
        invoke(
          keyTracking,
          keyRegistrationEvent(friend, friendKey, attestFriendKey(ownerKey, friendKey, vehicle.id)),
        ),
      ),
    ).toEqual(["Registrations{Subject=key}", "Shares"]);
    expect(
      await metricsOf(() =>
        invoke(
          revocation,
          signedEvent(
            "POST /v1/revocations",
            { revocation: toHex(rvke(ownerKey, friendKey, vehicle.id)) },
            (o) => ownerKey.sign(o),
          ),
        ),
      ),
    ).toEqual(["Revocations{By=owner}"]);
    const lost = (action: string) =>
      invoke(
        notices,
        apiEvent("POST /v1/devices/{seId}/lost-mode", {
          iam: true,
          params: { seId: owner.seId },
          body: { action },
        }),
      );
    expect(await metricsOf(() => lost("suspend"))).toEqual(["LostModeNotices{Action=suspend}"]);
    expect(
      await metricsOf(() =>
        invoke(
          partnerEvents,
          apiEvent("POST /v1/events", {
            iam: true,
            body: {
              eventId: randomUUID(),
              type: "device.found",
              occurredAt: new Date().toISOString(),
              seId: owner.seId,
            },
          }),
        ),
      ),
    ).toEqual(["PartnerEvents{Type=device.found}", "LostModeNotices{Action=resume}"]);
    expect(
      await metricsOf(() =>
        invoke(
          revocation,
          apiEvent("POST /v1/keys/{keyId}/revocation", { iam: true, params: { keyId: ownerKey.keyId } }),
        ),
      ),
    ).toEqual(["Revocations{By=oem}"]);
  });

  it("count refusals by problem kind", async () => {
    expect(
      await metricsOf(() =>
        invoke(keyTracking, apiEvent("GET /v1/keys/{keyId}", { iam: true, params: { keyId: "zz" } })),
      ),
    ).toEqual(["Refusals{ProblemKind=validation}"]);
    expect(
      await metricsOf(() =>
        invoke(
          keyTracking,
          apiEvent("GET /v1/keys/{keyId}", { iam: true, params: { keyId: "0".repeat(12) } }),
        ),
      ),
    ).toEqual(["Refusals{ProblemKind=not-found}"]);
    expect(
      await metricsOf(() =>
        invoke(keyTracking, apiEvent("GET /v1/keys/{keyId}", { params: { keyId: "0".repeat(12) } })),
      ),
    ).toEqual(["Refusals{ProblemKind=authentication}"]);
  });

  it("count relay operations by operation, and the relay's own refusals", async () => {
    const claim = randomUUID();
    const created = await metricsOf(() =>
      invoke(
        relay,
        apiEvent("POST /v1/m", {
          headers: { "mailbox-device-claim": claim, "mailbox-request-id": randomUUID() },
          body: {
            payload: { type: "AEAD_AES_128_GCM", data: Buffer.alloc(64, 1).toString("base64") },
            displayInformation: {
              title: "Car key invitation",
              description: "Open on your phone",
              imageURL: "",
            },
          },
        }),
      ),
    );
    expect(created).toEqual(["RelayOperations{Operation=create}"]);
    expect(
      await metricsOf(() =>
        invoke(
          relay,
          apiEvent("POST /v1/m/{id}", {
            params: { id: randomUUID() },
            headers: { "mailbox-device-claim": claim },
          }),
        ),
      ),
    ).toEqual(["Refusals{ProblemKind=not-found}"]);
  });

  it("name no identifier: dimensions are closed sets, and no line holds a key, device or vehicle id", () => {
    expect(lines.length).toBeGreaterThan(10);
    for (const line of lines) {
      const directive = line._aws.CloudWatchMetrics[0]!;
      expect(directive.Namespace).toBe(METRICS_NAMESPACE);
      for (const dimension of directive.Dimensions.flat()) {
        expect(["service", "Subject", "By", "Action", "Type", "Operation", "ProblemKind"]).toContain(
          dimension,
        );
      }
      const text = JSON.stringify(line);
      for (const id of identifiers) expect(text).not.toContain(id);
    }
  });
});
