// Every Lambda function's handler factory, by the function name the route
// table (src/api/routes.ts) and the stack use. The local server builds its
// handlers from this table with the dependencies it assembled, so it runs the
// very code each Lambda runs without importing the entry points in
// functions/, which only add the build from the Lambda's environment. The
// table is explicit: nothing is discovered from file names.
import { makeHandler as deviceEnrollment } from "./device-enrollment.js";
import { makeHandler as keyTracking } from "./key-tracking.js";
import { makeHandler as notices } from "./notices.js";
import { makeHandler as openapi } from "./openapi.js";
import { makeHandler as partnerEvents } from "./partner-events.js";
import { makeHandler as relay } from "./relay.js";
import { makeHandler as revocation } from "./revocation.js";
import { makeHandler as revocationList } from "./revocation-list.js";
import { makeHandler as trustAnchors } from "./trust-anchors.js";
import { makeHandler as vehicleEnrollment } from "./vehicle-enrollment.js";

/** A function's makeHandler; what it takes depends on the function (the service's parts, the relay's, none). */
export type HandlerFactory = (dependencies: never) => unknown;

/** The HTTP functions' factories (the scheduled sweep and the deploy-time bootstrap serve no route). */
export const HTTP_HANDLER_FACTORIES: Readonly<Record<string, HandlerFactory>> = {
  "device-enrollment": deviceEnrollment,
  "key-tracking": keyTracking,
  notices,
  openapi,
  "partner-events": partnerEvents,
  relay,
  revocation,
  "revocation-list": revocationList,
  "trust-anchors": trustAnchors,
  "vehicle-enrollment": vehicleEnrollment,
};
