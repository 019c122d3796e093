// The TIGRESS relay (src/service/relay) assembled from adapters, as
// service-assembly.ts does for the rest of the service. The relay needs only
// the table: no signer, no OEM settings, so a relay Lambda never gets key
// material it does not use.
//
// The environment a relay Lambda reads:
//
//   TABLE_NAME                   the service's DynamoDB table (table-design.ts)
//   RELAY_LINK_BASE_URL          the origin put in urlLink, e.g.
//                                https://share.example.com (a custom domain in
//                                front of the API); the stack sets the API's
//                                endpoint, the local stack its own URL; unset:
//                                the API's own domain (requestContext.domainName),
//                                never the client's Host header
import { ConfigurationError } from "../service/errors.js";
import { buildOnce } from "../service/http/dependency-source.js";
import { TigressRelay } from "../service/relay/relay-service.js";
import { type AwsClientSettings, documentClientFor } from "./aws-client-settings.js";
import { DynamoDbRelayStore } from "./dynamodb/dynamodb-relay-store.js";

/** What the relay cannot run without (the stack's infra test checks every relay function has it). */
export const RELAY_REQUIRED_ENVIRONMENT = ["TABLE_NAME"] as const;

type Environment = Readonly<Record<string, string | undefined>>;

export interface RelaySettings {
  readonly tableName: string;
  /** The origin of urlLink and og:url; absent: the API's own domain. */
  readonly linkBase?: string;
  readonly aws?: AwsClientSettings;
}

/** The relay's settings from `env`; ConfigurationError without TABLE_NAME or with a bad RELAY_LINK_BASE_URL. */
export function relaySettingsFromEnvironment(env: Environment = process.env): RelaySettings {
  const tableName = env.TABLE_NAME;
  if (!tableName) throw new ConfigurationError("missing environment: TABLE_NAME");
  const linkBase = env.RELAY_LINK_BASE_URL ? relayLinkBase(env.RELAY_LINK_BASE_URL) : undefined;
  return { tableName, ...(linkBase ? { linkBase } : {}) };
}

/** `value` as the origin (and path) urlLink starts with, validated. */
export function relayLinkBase(value: string): string {
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

/** What the relay function's makeHandler takes. */
export interface RelayDependencies {
  readonly relay: TigressRelay;
  /** The origin of urlLink; absent: the API's own domain. */
  readonly linkBase?: string;
}

/** The relay function's dependencies for `settings` (tests build a TigressRelay of their own instead). */
export function assembleRelayDependencies(settings: RelaySettings): RelayDependencies {
  const store = new DynamoDbRelayStore({
    tableName: settings.tableName,
    client: documentClientFor(settings.aws),
  });
  return {
    relay: new TigressRelay({ store }),
    ...(settings.linkBase ? { linkBase: settings.linkBase } : {}),
  };
}

/** The relay function's dependencies from `env`, read and built on first use (a failed build is retried). */
export function relayDependenciesFromEnvironment(
  env: Environment = process.env,
): () => Promise<RelayDependencies> {
  return buildOnce(async () => assembleRelayDependencies(relaySettingsFromEnvironment(env)));
}
