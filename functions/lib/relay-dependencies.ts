// Builds the TIGRESS relay (src/service/relay) from the environment, once
// per Lambda container, as dependencies.ts does for the rest of the service.
// The relay needs only the table: no signer, no OEM settings, so it is built
// on its own and a relay Lambda never gets key material it does not use.
//
//   TABLE_NAME                   the service's DynamoDB table (table-design.ts)
//   RELAY_LINK_BASE_URL          the origin put in urlLink, e.g.
//                                https://share.example.com (a custom domain in
//                                front of the API); the stack sets the API's
//                                endpoint, the local stack its own URL; unset:
//                                the API's own domain (requestContext.domainName),
//                                never the client's Host header
//
// The endpoint follows the SDK's standard settings (AWS_ENDPOINT_URL_DYNAMODB),
// and the built relay is dropped when TABLE_NAME or that endpoint change,
// so the local server and the tests, which set them per run, never reach a
// stale table.
import { DynamoDbRelayStore } from "../../src/adapters/dynamodb/dynamodb-relay-store.js";
import { ConfigurationError } from "../../src/service/errors.js";
import { TigressRelay } from "../../src/service/relay/relay-service.js";

type Environment = Readonly<Record<string, string | undefined>>;

/** What the relay cannot run without (the stack's infra test checks every relay function has it). */
export const RELAY_REQUIRED_ENVIRONMENT = ["TABLE_NAME"] as const;

let built: { readonly key: string; readonly relay: TigressRelay } | undefined;
let injected: TigressRelay | undefined;

/** The container's relay; ConfigurationError without TABLE_NAME. */
export function getRelay(env: Environment = process.env): TigressRelay {
  if (injected) return injected;
  const tableName = env.TABLE_NAME;
  if (!tableName) throw new ConfigurationError("missing environment: TABLE_NAME");
  const key = `${tableName}\n${env.AWS_ENDPOINT_URL_DYNAMODB ?? env.AWS_ENDPOINT_URL ?? ""}`;
  if (built?.key !== key) {
    built = { key, relay: new TigressRelay({ store: new DynamoDbRelayStore({ tableName }) }) };
  }
  return built.relay;
}

/** Tests: use this relay (e.g. with a test clock or tight rate limits) until called with undefined. */
export function setRelay(relay: TigressRelay | undefined): void {
  injected = relay;
}

/** The origin for urlLink when one is configured (RELAY_LINK_BASE_URL), validated. */
export function configuredLinkBase(env: Environment = process.env): string | undefined {
  const value = env.RELAY_LINK_BASE_URL;
  if (!value) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch (cause) {
    throw new ConfigurationError("RELAY_LINK_BASE_URL must be an absolute URL", { cause });
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ConfigurationError("RELAY_LINK_BASE_URL must be https (or http for local runs)");
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}
