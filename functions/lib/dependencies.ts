// Builds the service from the environment, once per Lambda container (cold
// start) and reused by every invocation: the DynamoDB client, the two root
// signers and the roots' cache live as long as the container. The same code
// builds the service under the local server, which sets the same variables.
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
//   EVENT_BUS_NAME                optional: publish service events (notices, revocations) to this
//                                 EventBridge bus; without it they are logged (one line each)
//   WEBHOOK_SIGNER_URI            optional: the key that signs webhook deliveries (awskms:… or softkms:…),
//                                 published at GET /v1/webhook-signing-key
//   WEBHOOK_URL                   optional (with WEBHOOK_SIGNER_URI): POST each event there, signed
//   FRIEND_KEY_SLOTS              optional: friend keys a vehicle holds at once (default 5)
//   TRUSTED_DEVICE_OEM_ROOTS      optional: other phone makers' Device OEM root certificates, a PEM
//                                 bundle; key chains ending at one of them register (src/service/device-oem-roots.ts)
//
// Endpoints follow the SDK's standard settings (AWS_ENDPOINT_URL_DYNAMODB,
// AWS_ENDPOINT_URL_KMS, AWS_REGION), so nothing here knows whether it talks
// to AWS, LocalStack, DynamoDB Local or a KMS emulator.
import { KMSClient } from "@aws-sdk/client-kms";
import { DynamoDbStore } from "../../src/adapters/dynamodb/dynamodb-store.js";
import { EventBridgeNotifier } from "../../src/adapters/events/eventbridge-notifier.js";
import { LogNotifier } from "../../src/adapters/events/log-notifier.js";
import { FanOutNotifier, WebhookNotifier } from "../../src/adapters/events/webhook-notifier.js";
import { macKeyFromUri } from "../../src/adapters/kms/mac-keys.js";
import { signerFromUri } from "../../src/adapters/kms/signer-from-uri.js";
import { fromHex } from "../../src/protocol/bytes.js";
import type { SubjectNameFields } from "../../src/protocol/certificate-profiles.js";
import type { DigestSigner } from "../../src/protocol/signer.js";
import { type CarKeysService, createCarKeysService } from "../../src/service/car-keys-service.js";
import { parseDeviceOemRoots } from "../../src/service/device-oem-roots.js";
import { ConfigurationError } from "../../src/service/errors.js";
import {
  type Notifier,
  OEM_ROOT_PROFILES,
  type OemRootProfile,
  type Signer,
} from "../../src/service/ports.js";

export const REQUIRED_ENVIRONMENT = [
  "TABLE_NAME",
  "DEVICE_OEM_SIGNER_URI",
  "VEHICLE_OEM_SIGNER_URI",
  "SE_MANUFACTURER_PUBLIC_KEY",
  "DEVICE_OEM_NAME",
  "VEHICLE_OEM_NAME",
] as const;

type Environment = Readonly<Record<string, string | undefined>>;

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

/** The service for `env`; throws ConfigurationError naming every missing or malformed variable. */
export async function buildService(env: Environment = process.env): Promise<CarKeysService> {
  const missing = REQUIRED_ENVIRONMENT.filter((name) => !env[name]);
  if (missing.length > 0) throw new ConfigurationError(`missing environment: ${missing.join(", ")}`);
  let manufacturerPublicKey: Uint8Array;
  try {
    manufacturerPublicKey = fromHex(env.SE_MANUFACTURER_PUBLIC_KEY!, "SE_MANUFACTURER_PUBLIC_KEY");
  } catch (cause) {
    throw new ConfigurationError("SE_MANUFACTURER_PUBLIC_KEY must be hex", { cause });
  }
  const roots = creatableRoots(env.ROOT_CREATION);
  const uris = [env.DEVICE_OEM_SIGNER_URI!, env.VEHICLE_OEM_SIGNER_URI!];
  // One KMS client for both roots, made only when a root is in KMS.
  const pseudonymKeyUri = env.DEVICE_PSEUDONYM_KEY;
  const kmsClient = [...uris, pseudonymKeyUri ?? "", env.WEBHOOK_SIGNER_URI ?? ""].some((uri) =>
    uri.startsWith("awskms:"),
  )
    ? new KMSClient({})
    : undefined;
  const [device, vehicle] = await Promise.all(
    uris.map((uri) => signerFromUri(uri, kmsClient ? { kmsClient } : {})),
  );
  const signer: Signer = { root: (profile) => (profile === "device-oem-root" ? device! : vehicle!) };
  const friendKeySlots = env.FRIEND_KEY_SLOTS ? Number(env.FRIEND_KEY_SLOTS) : undefined;
  if (
    friendKeySlots !== undefined &&
    !(Number.isInteger(friendKeySlots) && friendKeySlots >= 0 && friendKeySlots <= 100)
  ) {
    throw new ConfigurationError("FRIEND_KEY_SLOTS must be an integer from 0 to 100");
  }
  const trustedDeviceOemRoots = parseDeviceOemRoots(
    env.TRUSTED_DEVICE_OEM_ROOTS ?? "",
    "TRUSTED_DEVICE_OEM_ROOTS",
  );
  const webhookSigner = env.WEBHOOK_SIGNER_URI
    ? await signerFromUri(env.WEBHOOK_SIGNER_URI, kmsClient ? { kmsClient } : {})
    : undefined;
  return createCarKeysService({
    store: new DynamoDbStore({ tableName: env.TABLE_NAME! }),
    ...(friendKeySlots === undefined ? {} : { friendKeySlots }),
    ...(trustedDeviceOemRoots.length > 0 ? { trustedDeviceOemRoots } : {}),
    signer,
    manufacturerPublicKey,
    deviceOem: subject(env, "DEVICE_OEM"),
    vehicleOem: subject(env, "VEHICLE_OEM"),
    creatableRoots: roots,
    // Only the functions that file or find a device's keys get it (infra/lib/function-access.ts).
    ...(pseudonymKeyUri
      ? { devicePseudonymKey: await macKeyFromUri(pseudonymKeyUri, kmsClient ? { kmsClient } : {}) }
      : {}),
    ...(webhookSigner ? { webhookSigner } : {}),
    notifier: notifierFor(env, webhookSigner),
  });
}

/** EventBridge (or the log), and a signed webhook beside it when one is configured. */
function notifierFor(env: Environment, webhookSigner: DigestSigner | undefined): Notifier {
  const bus: Notifier = env.EVENT_BUS_NAME
    ? new EventBridgeNotifier({ eventBusName: env.EVENT_BUS_NAME })
    : new LogNotifier();
  if (!env.WEBHOOK_URL) return bus;
  if (!webhookSigner)
    throw new ConfigurationError("WEBHOOK_URL needs WEBHOOK_SIGNER_URI, the key that signs deliveries");
  return new FanOutNotifier([bus, new WebhookNotifier({ url: env.WEBHOOK_URL, signer: webhookSigner })]);
}

let pending: Promise<CarKeysService> | undefined;

/** The container's service, built on first use; a failed build is retried by the next invocation. */
export function getService(): Promise<CarKeysService> {
  if (!pending) {
    pending = buildService();
    pending.catch(() => {
      pending = undefined;
    });
  }
  return pending;
}

/** Tests and the local server: use this service instead of one built from the environment. */
export function setService(service: CarKeysService | undefined): void {
  pending = service === undefined ? undefined : Promise.resolve(service);
}
