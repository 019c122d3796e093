// What a deployment of the Car Keys service chooses (table, root signers, OEM
// names, optional webhooks, trusted phone makers), checked, as one object;
// service-assembly.ts builds the service from it. A
// Lambda reads its settings from the environment (serviceSettingsFromEnvironment,
// called by each functions/<name>.ts on its first invocation); the local
// stack and the tests make the settings object themselves, so nothing
// between them goes through process.env and two stacks can run in one process.
//
// The environment a Lambda reads (infra/lib/car-keys-stack.ts sets it):
//
//   TABLE_NAME                    the DynamoDB table (table-design.ts)
//   DEVICE_OEM_SIGNER_URI         awskms:<key id|ARN|alias/…> or softkms:<dir>#<name>
//   VEHICLE_OEM_SIGNER_URI        same, for the Vehicle OEM root
//   SE_MANUFACTURER_PUBLIC_KEY    hex, 65-byte P-256 point trusted for factory attestations
//   DEVICE_OEM_NAME               O of the Device OEM root and instance CA certificates
//   VEHICLE_OEM_NAME              O of the Vehicle OEM root and vehicle certificates
//   DEVICE_OEM_COUNTRY, VEHICLE_OEM_COUNTRY   optional C (ISO 3166 alpha-2)
//   ROOT_CREATION                 optional: which roots this function may self-sign on first use,
//                                 comma-separated device-oem-root,vehicle-oem-root (the default), or
//                                 "none"; in AWS, exactly the roots whose key it may kms:Sign with
//   DEVICE_PSEUDONYM_KEY          optional: file:<path> or awskms:<HMAC key>, the secret that names
//                                 devices in the table (src/service/device-pseudonyms.ts)
//   EVENT_BUS_NAME                optional: publish service events (notices, revocations) to this
//                                 EventBridge bus; without it they are logged (one line each)
//   WEBHOOK_SIGNER_URI            optional: the key that signs webhook deliveries (awskms:… or softkms:…),
//                                 published at GET /v1/webhook-signing-key
//   WEBHOOK_URL                   optional (with WEBHOOK_SIGNER_URI): POST each event there, signed
//   FRIEND_KEY_SLOTS              optional: friend keys a vehicle holds at once (default 5)
//   TRUSTED_DEVICE_OEM_ROOTS      optional: other phone makers' Device OEM root certificates, a PEM
//                                 bundle; key chains ending at one of them register (src/service/device-oem-roots.ts)
//   SERVER_TO_SERVER_MTLS         optional: "required" refuses server-to-server routes without a
//                                 verified client certificate (src/service/http/client-certificate.ts)
//
// Endpoints follow the SDK's standard settings (AWS_ENDPOINT_URL_DYNAMODB,
// AWS_ENDPOINT_URL_KMS, AWS_REGION) unless the settings name them (`aws`), so
// nothing here knows whether it talks to AWS, LocalStack, DynamoDB Local or a
// KMS emulator.
import { fromHex } from "../protocol/bytes.js";
import type { SubjectNameFields } from "../protocol/certificate-profiles.js";
import type { ConfiguredDeviceOemRoot } from "../service/device-oem-roots.js";
import { ConfigurationError } from "../service/errors.js";
import { MTLS_SETTING } from "../service/http/client-certificate.js";
import { OEM_ROOT_PROFILES, type OemRootProfile } from "../service/ports.js";
import type { AwsClientSettings } from "./aws-client-settings.js";

export const REQUIRED_ENVIRONMENT = [
  "TABLE_NAME",
  "DEVICE_OEM_SIGNER_URI",
  "VEHICLE_OEM_SIGNER_URI",
  "SE_MANUFACTURER_PUBLIC_KEY",
  "DEVICE_OEM_NAME",
  "VEHICLE_OEM_NAME",
] as const;

type Environment = Readonly<Record<string, string | undefined>>;

/** Everything a deployment of the service chooses, checked. */
export interface ServiceSettings {
  readonly tableName: string;
  readonly deviceOemSignerUri: string;
  readonly vehicleOemSignerUri: string;
  /** The SE manufacturer's factory attestation key (checked as a P-256 point when the service is built). */
  readonly manufacturerPublicKey: Uint8Array;
  readonly deviceOem: SubjectNameFields;
  readonly vehicleOem: SubjectNameFields;
  /** The roots this process may self-sign on first use. */
  readonly creatableRoots: readonly OemRootProfile[];
  /** `file:<path>` or `awskms:<HMAC key>`; absent: routes that need a device's keys answer a configuration error. */
  readonly devicePseudonymKeyUri?: string;
  readonly eventBusName?: string;
  readonly webhook?: { readonly signerUri: string; readonly url?: string };
  readonly friendKeySlots?: number;
  readonly trustedDeviceOemRoots: readonly ConfiguredDeviceOemRoot[];
  readonly serverToServerMtls: boolean;
  /** Where the AWS clients connect; absent: the SDK's standard settings (environment, profile). */
  readonly aws?: AwsClientSettings;
}

function creatableRoots(value: string | undefined): readonly OemRootProfile[] {
  if (value === undefined || value.trim() === "") return OEM_ROOT_PROFILES;
  if (value.trim() === "none") return [];
  const names = value.split(",").map((name) => name.trim());
  const unknown = names.filter((name) => !OEM_ROOT_PROFILES.includes(name as OemRootProfile));
  if (unknown.length > 0) {
    throw new ConfigurationError(
      `ROOT_CREATION names ${unknown.join(", ")}; use ${OEM_ROOT_PROFILES.join(", ")} or none`,
    );
  }
  return names as OemRootProfile[];
}

function subject(env: Environment, prefix: "DEVICE_OEM" | "VEHICLE_OEM"): SubjectNameFields {
  const country = env[`${prefix}_COUNTRY`];
  return { organization: env[`${prefix}_NAME`]!, ...(country ? { country } : {}) };
}

/**
 * ServiceSettings but the trusted Device OEM roots, which take X.509 code to read: what a function
 * that checks no device's chain builds from (revocation-list-assembly.ts), so its bundle carries none.
 */
export type BaseServiceSettings = Omit<ServiceSettings, "trustedDeviceOemRoots">;

/**
 * The settings `env` names but TRUSTED_DEVICE_OEM_ROOTS (service-settings-from-environment.ts reads
 * all of them); throws ConfigurationError naming every missing or malformed variable.
 */
export function baseServiceSettingsFromEnvironment(env: Environment = process.env): BaseServiceSettings {
  const missing = REQUIRED_ENVIRONMENT.filter((name) => !env[name]);
  if (missing.length > 0) throw new ConfigurationError(`missing environment: ${missing.join(", ")}`);
  let manufacturerPublicKey: Uint8Array;
  try {
    manufacturerPublicKey = fromHex(env.SE_MANUFACTURER_PUBLIC_KEY!, "SE_MANUFACTURER_PUBLIC_KEY");
  } catch (cause) {
    throw new ConfigurationError("SE_MANUFACTURER_PUBLIC_KEY must be hex", { cause });
  }
  const roots = creatableRoots(env.ROOT_CREATION);
  const friendKeySlots = env.FRIEND_KEY_SLOTS ? Number(env.FRIEND_KEY_SLOTS) : undefined;
  if (
    friendKeySlots !== undefined &&
    !(Number.isInteger(friendKeySlots) && friendKeySlots >= 0 && friendKeySlots <= 100)
  ) {
    throw new ConfigurationError("FRIEND_KEY_SLOTS must be an integer from 0 to 100");
  }
  if (env.WEBHOOK_URL && !env.WEBHOOK_SIGNER_URI) {
    throw new ConfigurationError("WEBHOOK_URL needs WEBHOOK_SIGNER_URI, the key that signs deliveries");
  }
  return {
    tableName: env.TABLE_NAME!,
    deviceOemSignerUri: env.DEVICE_OEM_SIGNER_URI!,
    vehicleOemSignerUri: env.VEHICLE_OEM_SIGNER_URI!,
    manufacturerPublicKey,
    deviceOem: subject(env, "DEVICE_OEM"),
    vehicleOem: subject(env, "VEHICLE_OEM"),
    creatableRoots: roots,
    ...(env.DEVICE_PSEUDONYM_KEY ? { devicePseudonymKeyUri: env.DEVICE_PSEUDONYM_KEY } : {}),
    ...(env.EVENT_BUS_NAME ? { eventBusName: env.EVENT_BUS_NAME } : {}),
    ...(env.WEBHOOK_SIGNER_URI
      ? {
          webhook: {
            signerUri: env.WEBHOOK_SIGNER_URI,
            ...(env.WEBHOOK_URL ? { url: env.WEBHOOK_URL } : {}),
          },
        }
      : {}),
    ...(friendKeySlots === undefined ? {} : { friendKeySlots }),
    serverToServerMtls: env[MTLS_SETTING] === "required",
  };
}
