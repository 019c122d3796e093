import { type CarKeysService, createCarKeysService } from "../service/car-keys-service.js";
import { buildOnce } from "../service/http/dependency-source.js";
import type { Clock } from "../service/ports.js";
import { documentClientFor } from "./aws-client-settings.js";
import { DynamoDbStore } from "./dynamodb/dynamodb-store.js";
import { notifierFor } from "./events/notifier-for.js";
import { macKeyFromUri } from "./kms/mac-keys.js";
import { rootSigners } from "./root-signers.js";
import type { ServiceSettings } from "./service-settings.js";
import { serviceSettingsFromEnvironment } from "./service-settings-from-environment.js";

export type { AwsClientSettings } from "./aws-client-settings.js";
export { REQUIRED_ENVIRONMENT, type ServiceSettings } from "./service-settings.js";
export { serviceSettingsFromEnvironment } from "./service-settings-from-environment.js";

/** What tests may put in beside the settings. */
export interface AssemblyOverrides {
  readonly clock?: Clock;
}

/** The service for `settings`: its store, signers, pseudonym key and notifier made from adapters. */
export async function assembleCarKeysService(
  settings: ServiceSettings,
  overrides: AssemblyOverrides = {},
): Promise<CarKeysService> {
  const { signer, webhookSigner, kms } = await rootSigners(settings, [settings.devicePseudonymKeyUri ?? ""]);
  return createCarKeysService({
    store: new DynamoDbStore({ tableName: settings.tableName, client: documentClientFor(settings.aws) }),
    ...(settings.friendKeySlots === undefined ? {} : { friendKeySlots: settings.friendKeySlots }),
    ...(settings.trustedDeviceOemRoots.length > 0
      ? { trustedDeviceOemRoots: settings.trustedDeviceOemRoots }
      : {}),
    signer,
    manufacturerPublicKey: settings.manufacturerPublicKey,
    deviceOem: settings.deviceOem,
    vehicleOem: settings.vehicleOem,
    creatableRoots: settings.creatableRoots,
    ...(overrides.clock ? { clock: overrides.clock } : {}),
    // Only the functions that file or find a device's keys get it (infra/lib/function-access.ts).
    ...(settings.devicePseudonymKeyUri
      ? { devicePseudonymKey: await macKeyFromUri(settings.devicePseudonymKeyUri, kms) }
      : {}),
    ...(webhookSigner ? { webhookSigner } : {}),
    notifier: notifierFor(settings, webhookSigner),
  });
}

/** What every service function's makeHandler takes: the service (or the parts it uses) and the mTLS rule. */
export interface ServiceDependencies {
  readonly service: CarKeysService;
  /** Server-to-server routes only with a verified client certificate; default false. */
  readonly serverToServerMtls?: boolean;
}

/** The service functions' dependencies for `settings`. */
export async function assembleServiceDependencies(
  settings: ServiceSettings,
  overrides: AssemblyOverrides = {},
): Promise<ServiceDependencies> {
  return {
    service: await assembleCarKeysService(settings, overrides),
    serverToServerMtls: settings.serverToServerMtls,
  };
}

/** The service functions' dependencies from `env`, read and built on first use (a failed build is retried). */
export function serviceDependenciesFromEnvironment(
  env: Readonly<Record<string, string | undefined>> = process.env,
): () => Promise<ServiceDependencies> {
  return buildOnce(() => assembleServiceDependencies(serviceSettingsFromEnvironment(env)));
}
