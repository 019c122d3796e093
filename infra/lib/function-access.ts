// What each Lambda may touch, one entry per function name of src/api/routes.ts.
// The route table says which HTTP requests reach a function; this table says
// what the function can do once it runs, and the stack turns each entry into
// IAM grants. A function without an entry fails the synth, so a new route
// never runs with permissions nobody chose. Adding a function is one entry
// here (plus its routes); an entry with `publishesEvents` makes the stack
// create the EventBridge bus. A function's ROOT_CREATION (which roots it may
// self-sign on first use) follows from `signsWith` (rootCreation below): a
// function creates only roots it can sign with; the deploy-time bootstrap
// (functions/root-bootstrap.ts) creates both, so no route waits for another.

/** The two OEM root keys in KMS. */
export type RootKeyName = "deviceOem" | "vehicleOem";

export interface FunctionAccess {
  /** DynamoDB access to the service table (and its gsi1 index). */
  readonly table: "none" | "read" | "readWrite";
  /**
   * Root keys this function signs with (kms:Sign, ECDSA_SHA_256 over a
   * digest), granted in the key's own policy and in the role's. Only
   * functions that issue certificates or signed receipts belong here.
   */
  readonly signsWith?: readonly RootKeyName[];
  /**
   * Root keys whose public key the function reads (kms:GetPublicKey): every
   * function that loads a root certificate checks it against its key.
   * Public keys are public (the trust anchors route serves them).
   */
  readonly readsPublicKeyOf?: readonly RootKeyName[];
  /** events:PutEvents on the service's event bus, whose name arrives in EVENT_BUS_NAME. */
  readonly publishesEvents?: boolean;
  /**
   * Mints share links (the relay's urlLink): gets RELAY_LINK_BASE_URL, the API's own endpoint unless the
   * stack is given a custom domain's origin, so no link's origin ever comes from a request.
   */
  readonly mintsLinks?: boolean;
  /**
   * Files or finds a device's keys (src/service/device-pseudonyms.ts): kms:GenerateMac on the device
   * pseudonym key, whose URI arrives in DEVICE_PSEUDONYM_KEY. Only the functions that register keys,
   * revoke and confirm terminations, or run lost mode.
   */
  readonly pseudonymizesDevices?: boolean;
  /**
   * Serves the webhook signing key's public half (GET /v1/webhook-signing-key): kms:GetPublicKey on it,
   * and its URI in WEBHOOK_SIGNER_URI, when the stack delivers webhooks. Functions that publish events
   * sign the deliveries (kms:Sign on that key) instead.
   */
  readonly readsWebhookKey?: boolean;
  /** Memory (and so CPU share) when the default does not fit. */
  readonly memoryMiB?: number;
}

const BOTH_ROOTS: readonly RootKeyName[] = ["deviceOem", "vehicleOem"];

export const FUNCTION_ACCESS: Readonly<Record<string, FunctionAccess>> = {
  // Serves a document built from the schemas at load time: nothing else.
  openapi: { table: "none" },
  // Reads the stored root certificates.
  "trust-anchors": { table: "read", readsPublicKeyOf: BOTH_ROOTS, readsWebhookKey: true },
  // Certifies SE instance CAs with the Device OEM root; records devices and nonces.
  "device-enrollment": { table: "readWrite", signsWith: ["deviceOem"], readsPublicKeyOf: BOTH_ROOTS },
  // Certifies vehicles with the Vehicle OEM root; stores pairing verifiers.
  "vehicle-enrollment": { table: "readWrite", signsWith: ["vehicleOem"], readsPublicKeyOf: BOTH_ROOTS },
  // Verifies device chains (Device OEM root) and signs receipts with the Vehicle OEM root; a new owner
  // phone (migration) also makes a terminate-key notice for the old one, signed by the Device OEM root.
  "key-tracking": {
    table: "readWrite",
    signsWith: ["vehicleOem", "deviceOem"],
    readsPublicKeyOf: BOTH_ROOTS,
    publishesEvents: true,
    pseudonymizesDevices: true,
  },
  // The TIGRESS relay: mailboxes and rate-limit buckets in the table; no key of any kind.
  relay: { table: "readWrite", mintsLinks: true },
  // Remote revocation: records revocations and terminations; signs terminate-key notices with the Device OEM root.
  revocation: {
    table: "readWrite",
    signsWith: ["deviceOem"],
    readsPublicKeyOf: BOTH_ROOTS,
    publishesEvents: true,
    pseudonymizesDevices: true,
  },
  // Serves vehicles' revocation lists, signed by the Vehicle OEM root.
  "revocation-list": { table: "read", signsWith: ["vehicleOem"], readsPublicKeyOf: BOTH_ROOTS },
  // Serves notices (device nonces are written) and signs lost-mode notices with the Device OEM root.
  notices: {
    table: "readWrite",
    signsWith: ["deviceOem"],
    readsPublicKeyOf: BOTH_ROOTS,
    publishesEvents: true,
    pseudonymizesDevices: true,
  },
  // Partner event notifications: lost mode and revocations through the same service calls as notices and
  // revocation, so the same grants.
  "partner-events": {
    table: "readWrite",
    signsWith: ["deviceOem"],
    readsPublicKeyOf: BOTH_ROOTS,
    publishesEvents: true,
    pseudonymizesDevices: true,
  },
};

/**
 * The deploy-time root bootstrap (a CloudFormation custom resource, not a
 * route): creates both root certificates, so it signs with both keys.
 */
export const ROOT_BOOTSTRAP_ACCESS: FunctionAccess = {
  table: "readWrite",
  signsWith: BOTH_ROOTS,
  readsPublicKeyOf: BOTH_ROOTS,
};

/**
 * The scheduled expiry sweep (functions/expiry-sweep.ts, not a route): revokes ended keys as the OEM
 * would, so it signs terminate-key notices with the Device OEM root, unseals devices and publishes
 * events. Its table access is the stack's own narrow grant (Table.grantExpirySweep), not `readWrite`.
 */
export const EXPIRY_SWEEP_ACCESS: FunctionAccess = {
  table: "none",
  signsWith: ["deviceOem"],
  publishesEvents: true,
  pseudonymizesDevices: true,
};

const ROOT_PROFILES: Readonly<Record<RootKeyName, string>> = {
  deviceOem: "device-oem-root",
  vehicleOem: "vehicle-oem-root",
};

/** The function's ROOT_CREATION (src/adapters/service-assembly.ts): the roots it signs with, or "none". */
export function rootCreation(access: FunctionAccess): string {
  const roots = (access.signsWith ?? []).map((key) => ROOT_PROFILES[key]);
  return roots.length > 0 ? roots.join(",") : "none";
}
