// The HTTP API's routes: every function's route set (src/api/routes/), in
// one table that the CDK stack (one Lambda per function, API Gateway routes
// and their authorizers), the local server (which routes requests to the
// same handlers) and the OpenAPI document read. A Lambda imports only its own
// route set, so its bundle carries only its own routes' schemas. Adding a
// route to a route set is the only wiring.
import type { RouteContract, RouteKey, RouteSet } from "./route-contract.js";
import { DEVICE_ENROLLMENT_ROUTES } from "./routes/device-enrollment-routes.js";
import { KEY_TRACKING_ROUTES } from "./routes/key-tracking-routes.js";
import { NOTICES_ROUTES } from "./routes/notices-routes.js";
import { OPENAPI_ROUTES } from "./routes/openapi-routes.js";
import { PARTNER_EVENTS_ROUTES } from "./routes/partner-events-routes.js";
import { RELAY_ROUTES } from "./routes/relay-routes.js";
import { REVOCATION_LIST_ROUTES } from "./routes/revocation-list-routes.js";
import { REVOCATION_ROUTES } from "./routes/revocation-routes.js";
import { TRUST_ANCHORS_ROUTES } from "./routes/trust-anchors-routes.js";
import { VEHICLE_ENROLLMENT_ROUTES } from "./routes/vehicle-enrollment-routes.js";

export type { HttpMethod, RouteAuth, RouteContract, RouteKey } from "./route-contract.js";

/** Every function's routes, in the order the document lists them. */
export const ROUTE_SETS = [
  OPENAPI_ROUTES,
  TRUST_ANCHORS_ROUTES,
  DEVICE_ENROLLMENT_ROUTES,
  VEHICLE_ENROLLMENT_ROUTES,
  KEY_TRACKING_ROUTES,
  REVOCATION_ROUTES,
  REVOCATION_LIST_ROUTES,
  NOTICES_ROUTES,
  PARTNER_EVENTS_ROUTES,
  RELAY_ROUTES,
] as const satisfies readonly RouteSet[];

type AllRoutes = (typeof ROUTE_SETS)[number]["routes"];
type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void
  ? I
  : never;

/** Every route entry by its key, with its literal types (the client infers its response types from it). */
export type RouteTable = UnionToIntersection<AllRoutes>;

/** A route's entry by key. */
export const ROUTE_TABLE = Object.assign({}, ...ROUTE_SETS.map((set) => set.routes)) as RouteTable;

/** Every route, as a list. */
export const ROUTES: readonly RouteContract[] = ROUTE_SETS.flatMap(
  (set) => Object.values(set.routes) as RouteContract[],
);

/**
 * What a front door needs of a route to deliver requests to its function:
 * API Gateway in the CDK stack, the local server. Every RouteContract is one.
 */
export type RouteDefinition = Pick<
  RouteContract,
  "method" | "path" | "functionName" | "auth" | "summary" | "serverToServer"
>;

export type ApiRouteKey = keyof RouteTable & RouteKey;

export function functionNames(): string[] {
  return ROUTE_SETS.map((set) => set.functionName);
}
