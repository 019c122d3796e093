// Business metrics as CloudWatch Embedded Metric Format (src/service/embedded-metrics.ts):
// one middy middleware, first in every function's chain, so its `after` and
// `onError` see the final answer (status, body) once everything else ran. It
// counts what the service did, never who: the dimensions are closed sets
// (what was registered, who revoked, the lost-mode action, the relay
// operation, the problem kind), no key, device, vehicle or mailbox id, so a
// metric names no person's phone or car. Only creations (201) count, so a
// retried request is counted once. In Lambda the EMF lines go to the
// function's log and CloudWatch extracts the metrics; locally they are lines
// in the server's output. The stack alarms on refusal counts (infra/lib/constructs/refusal-alarms.ts).
//
//   Registrations {Subject: device|vehicle|key}   Pairings (owner keys registered)   Shares (friend keys)
//   PairingMaterialIssued   Revocations {By: owner|oem|partner}   Terminations
//   LostModeNotices {Action: suspend|resume}   PartnerEvents {Type}   RelayOperations {Operation}
//   Refusals {ProblemKind}: every problem answer, by the kind in its `type` (urn:carkeys:problem:<kind>)
import type { MiddlewareObj } from "@middy/core";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { emitMetricCounts, type MetricCount } from "../embedded-metrics.js";

const PROBLEM_PREFIX = "urn:carkeys:problem:";

type Body = Record<string, unknown> | undefined;

const RELAY_OPERATIONS: Readonly<Record<string, string>> = {
  "POST /v1/m": "create",
  "PUT /v1/m/{id}": "update",
  "DELETE /v1/m/{id}": "delete",
  "GET /v1/m/{id}": "preview",
  "POST /v1/m/{id}": "read",
  "PATCH /v1/m/{id}": "relinquish",
};

/** What a successful answer of `routeKey` counts; creations only (201), except the relay and partner events. */
export function successCounts(routeKey: string, status: number, body: Body): MetricCount[] {
  const operation = RELAY_OPERATIONS[routeKey];
  if (operation)
    return status < 300 ? [{ name: "RelayOperations", dimensions: { Operation: operation } }] : [];
  if (routeKey === "POST /v1/events") return partnerEventCounts(body);
  if (status !== 201) return [];
  switch (routeKey) {
    case "POST /v1/devices":
      return [{ name: "Registrations", dimensions: { Subject: "device" } }];
    case "POST /v1/vehicles":
      return [
        { name: "Registrations", dimensions: { Subject: "vehicle" } },
        { name: "PairingMaterialIssued" },
      ];
    case "POST /v1/vehicles/{vehicleId}/pairing":
      return [{ name: "PairingMaterialIssued" }];
    case "POST /v1/keys":
      return [
        { name: "Registrations", dimensions: { Subject: "key" } },
        { name: body?.role === "friend" ? "Shares" : "Pairings" },
      ];
    case "POST /v1/revocations":
      return [{ name: "Revocations", dimensions: { By: "owner" } }];
    case "POST /v1/keys/{keyId}/revocation":
      return [{ name: "Revocations", dimensions: { By: "oem" } }];
    case "POST /v1/keys/{keyId}/termination":
      return [{ name: "Terminations" }];
    case "POST /v1/devices/{seId}/lost-mode":
      return [lostModeNotice(body?.lostMode === "suspended" ? "suspend" : "resume")];
    default:
      return [];
  }
}

function lostModeNotice(action: "suspend" | "resume"): MetricCount {
  return { name: "LostModeNotices", dimensions: { Action: action } };
}

function partnerEventCounts(body: Body): MetricCount[] {
  const type = typeof body?.type === "string" ? body.type : undefined;
  if (!type) return [];
  const counts: MetricCount[] = [{ name: "PartnerEvents", dimensions: { Type: type } }];
  if (body?.outcome !== "applied") return counts;
  if (type === "device.lost") counts.push(lostModeNotice("suspend"));
  if (type === "device.found") counts.push(lostModeNotice("resume"));
  if (type === "key.termination-requested")
    counts.push({ name: "Revocations", dimensions: { By: "partner" } });
  return counts;
}

/** The refusal an answer is, by its problem kind; undefined for a success. */
export function refusalKind(response: APIGatewayProxyStructuredResultV2 | undefined): string | undefined {
  const status = response?.statusCode ?? 500;
  if (status < 400) return undefined;
  const type = (parseBody(response) as { type?: unknown } | undefined)?.type;
  if (typeof type === "string" && type.startsWith(PROBLEM_PREFIX)) {
    const kind = type.slice(PROBLEM_PREFIX.length);
    // A closed set by construction (problem-mapping.ts); anything else is one bucket.
    if (/^[a-z-]{1,40}$/.test(kind)) return kind;
  }
  return status >= 500 ? "internal" : "other";
}

function parseBody(response: APIGatewayProxyStructuredResultV2 | undefined): Body {
  const text = response?.body;
  if (typeof text !== "string" || text === "" || response?.isBase64Encoded) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === "object" && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The middleware: use it first in a chain, so it sees the final response. */
export function businessMetrics(): MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  const record = (event: APIGatewayProxyEventV2, response: APIGatewayProxyStructuredResultV2 | undefined) => {
    try {
      const kind = refusalKind(response);
      if (kind) emitMetricCounts([{ name: "Refusals", dimensions: { ProblemKind: kind } }]);
      else emitMetricCounts(successCounts(event.routeKey, response?.statusCode ?? 200, parseBody(response)));
    } catch {
      // Counting must never change an answer.
    }
  };
  return {
    name: "businessMetrics",
    after: (request) => record(request.event, request.response ?? undefined),
    onError: (request) => record(request.event, request.response ?? undefined),
  };
}
