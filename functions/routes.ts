// The HTTP API's routes, in one table that three readers share: the CDK
// stack (one Lambda per function name, API Gateway routes and their
// authorizers), the local server (which routes requests to the same
// handlers), and the OpenAPI document. Adding a route here is the only wiring.

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/**
 * - `oem`: the automaker's backend; IAM (SigV4) on API Gateway in AWS, a
 *   configured static credential on the local server.
 * - `device`: a request signed by a key in the device's secure element
 *   (src/protocol/request-signature.ts), checked by the handler.
 * - `none`: public (trust anchors, the OpenAPI document).
 */
export type RouteAuth = "oem" | "device" | "none";

export interface RouteDefinition {
  readonly method: HttpMethod;
  /** API Gateway v2 path syntax: `/v1/keys/{keyId}`. */
  readonly path: string;
  /** The file `functions/<functionName>.ts` whose `handler` serves the route. */
  readonly functionName: string;
  readonly auth: RouteAuth;
  readonly summary: string;
  /**
   * An `oem` route that another automaker's server calls (track key, manage
   * key, event notifications). Where mutual TLS is configured (a custom domain
   * with a truststore in AWS, `npm start -- --mtls` locally) it is served only
   * to callers that presented a client certificate the truststore accepts
   * (functions/lib/client-certificate.ts).
   */
  readonly serverToServer?: true;
}

export const ROUTES: readonly RouteDefinition[] = [
  {
    method: "GET",
    path: "/openapi.json",
    functionName: "openapi",
    auth: "none",
    summary: "This API's OpenAPI 3.1 document",
  },
  {
    method: "GET",
    path: "/v1/trust-anchors",
    functionName: "trust-anchors",
    auth: "none",
    summary: "Device OEM and Vehicle OEM root certificates",
  },
  {
    method: "GET",
    path: "/v1/webhook-signing-key",
    functionName: "trust-anchors",
    auth: "none",
    summary: "The public key that verifies webhook deliveries of the service's events",
  },
  {
    method: "POST",
    path: "/v1/devices",
    functionName: "device-enrollment",
    auth: "device",
    summary: "Enroll a secure element: certify its instance CA",
  },
  {
    method: "POST",
    path: "/v1/vehicles",
    functionName: "vehicle-enrollment",
    auth: "oem",
    summary: "Enroll a vehicle: certificate, trust anchors, owner-pairing material",
  },
  {
    method: "POST",
    path: "/v1/vehicles/{vehicleId}/pairing",
    functionName: "vehicle-enrollment",
    auth: "oem",
    summary: "New owner-pairing material for an enrolled vehicle",
  },
  {
    method: "POST",
    path: "/v1/keys",
    functionName: "key-tracking",
    auth: "device",
    summary: "Register an owner or friend key; returns a signed receipt",
  },
  {
    method: "GET",
    path: "/v1/keys/{keyId}",
    functionName: "key-tracking",
    auth: "oem",
    serverToServer: true,
    summary: "One key's record",
  },
  {
    method: "GET",
    path: "/v1/vehicles/{vehicleId}/keys",
    functionName: "key-tracking",
    auth: "oem",
    serverToServer: true,
    summary: "The keys registered for a vehicle",
  },
  // The key lifecycle: remote revocation, termination, revocation lists, notices and lost mode.
  {
    method: "POST",
    path: "/v1/revocations",
    functionName: "revocation",
    auth: "device",
    summary: "The owner's device revokes a friend key (RVKE statement, signed by the owner endpoint key)",
  },
  {
    method: "POST",
    path: "/v1/keys/{keyId}/revocation",
    functionName: "revocation",
    auth: "oem",
    serverToServer: true,
    summary: "The OEM backend revokes a key",
  },
  {
    method: "POST",
    path: "/v1/keys/{keyId}/termination",
    functionName: "revocation",
    auth: "device",
    summary: "The SE holding a revoked key confirms its deletion with the termination attestation",
  },
  {
    method: "GET",
    path: "/v1/vehicles/{vehicleId}/revocations",
    functionName: "revocation-list",
    auth: "oem",
    summary: "The vehicle's revocation list after a cursor, signed by the Vehicle OEM root",
  },
  {
    method: "GET",
    path: "/v1/devices/{seId}/notices",
    functionName: "notices",
    auth: "device",
    summary: "A device's lifecycle notices after its counter (signed by its instance key)",
  },
  {
    method: "GET",
    path: "/v1/vehicles/{vehicleId}/notices",
    functionName: "notices",
    auth: "oem",
    summary: "A vehicle's lost-mode notices after its cursor, for the OEM's telematics",
  },
  {
    method: "POST",
    path: "/v1/devices/{seId}/lost-mode",
    functionName: "notices",
    auth: "oem",
    serverToServer: true,
    summary: "Suspend or resume a device's keys (lost mode): notices for its SE and its vehicles",
  },
  {
    method: "POST",
    path: "/v1/events",
    functionName: "partner-events",
    auth: "oem",
    serverToServer: true,
    summary:
      "Event notification intake from a partner server: device lost or found, key termination, heartbeat",
  },
  // The TIGRESS share-invitation relay (functions/relay.ts): authenticated inside the handler by the
  // Mailbox-Device-Claim header (draft-vinokurov-tigress-http-00 §5.2), so `none` to API Gateway.
  {
    method: "POST",
    path: "/v1/m",
    functionName: "relay",
    auth: "none",
    summary: "TIGRESS CreateMailbox: store an encrypted share invitation, get its link",
  },
  {
    method: "PUT",
    path: "/v1/m/{id}",
    functionName: "relay",
    auth: "none",
    summary: "TIGRESS UpdateMailbox: replace the mailbox's encrypted payload",
  },
  {
    method: "DELETE",
    path: "/v1/m/{id}",
    functionName: "relay",
    auth: "none",
    summary: "TIGRESS DeleteMailbox",
  },
  {
    method: "GET",
    path: "/v1/m/{id}",
    functionName: "relay",
    auth: "none",
    summary: "TIGRESS ReadDisplayInformationFromMailbox: the link preview page (HTML)",
  },
  {
    method: "POST",
    path: "/v1/m/{id}",
    functionName: "relay",
    auth: "none",
    summary: "TIGRESS ReadSecureContentFromMailbox: the encrypted payload; the first reader is bound",
  },
  {
    method: "PATCH",
    path: "/v1/m/{id}",
    functionName: "relay",
    auth: "none",
    summary: "TIGRESS RelinquishMailbox: the Recipient unbinds itself",
  },
];

export function functionNames(): string[] {
  return [...new Set(ROUTES.map((r) => r.functionName))];
}
