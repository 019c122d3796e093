// The request and response types of each route, inferred from its entry in
// the contract (src/api/routes.ts), for the clients and the service: a type
// changes when its schema does, so nothing mirrors a schema by hand. Type-only:
// importing this module loads no schema at run time.
import type { BodyInputOf, ResponseOf } from "./route-contract.js";
import type { ApiRouteKey, RouteTable } from "./routes.js";

/** The body route `K` answers a success with. */
export type ResponseBody<K extends ApiRouteKey> = ResponseOf<RouteTable[K]>;
/** The body a client sends to route `K`. */
export type RequestBody<K extends ApiRouteKey> = BodyInputOf<RouteTable[K]>;
