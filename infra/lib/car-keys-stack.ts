// The Car Keys service as one CloudFormation stack, assembled from two tables:
// src/api/routes.ts (which requests reach which function) and
// function-access.ts (what each function may touch). Everything per-function
// (Lambda, role, grants, alarms, routes) comes from iterating them, so a new
// route or function is a table entry, not a new block here.
//
// Every function gets the same environment: the service has one config
// loader, the signer URIs are not secrets, and what a function can actually
// do is decided by IAM and the key policies, not by which variables it sees.
import { join } from "node:path";
import { CfnOutput, CfnParameter, CustomResource, Duration, Stack, type StackProps } from "aws-cdk-lib";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import * as events from "aws-cdk-lib/aws-events";
import * as sns from "aws-cdk-lib/aws-sns";
import type { Construct } from "constructs";
import { FUNCTION_STATIC_FILES } from "../../src/api/docs/swagger-ui-files.js";
import { ROUTES, type RouteDefinition } from "../../src/api/routes.js";
import { parseDeviceOemRoots } from "../../src/service/device-oem-roots.js";
import { MTLS_SETTING } from "../../src/service/http/client-certificate.js";
import { DEFAULT_FRIEND_KEY_SLOTS } from "../../src/service/key-tracking.js";
import { PROJECT_ROOT } from "./bundling-options.js";
import { DevicePseudonymKey } from "./constructs/device-pseudonym-key.js";
import { ExpirySchedule } from "./constructs/expiry-schedule.js";
import { MtlsDomain, type MtlsDomainSettings } from "./constructs/mtls-domain.js";
import { OemRootKey } from "./constructs/oem-root-key.js";
import { RefusalAlarms } from "./constructs/refusal-alarms.js";
import { RouteFunction } from "./constructs/route-function.js";
import { ServiceApi } from "./constructs/service-api.js";
import { Table } from "./constructs/table.js";
import {
  EXPIRY_SWEEP_ACCESS,
  FUNCTION_ACCESS,
  type FunctionAccess,
  ROOT_BOOTSTRAP_ACCESS,
  type RootKeyName,
  rootCreation,
} from "./function-access.js";

export interface CarKeysStackProps extends StackProps {
  /** @default ROUTES from src/api/routes.ts */
  readonly routes?: readonly RouteDefinition[];
  /** @default FUNCTION_ACCESS */
  readonly functionAccess?: Readonly<Record<string, FunctionAccess>>;
  /** Where `<functionName>.ts` handlers live (under the repository root). @default functions/ */
  readonly functionsDir?: string;
  /** The deploy-time root bootstrap's handler. @default functions/root-bootstrap.ts */
  readonly rootBootstrapEntry?: string;
  /** The scheduled expiry sweep's handler. @default functions/expiry-sweep.ts */
  readonly expirySweepEntry?: string;
  /** LOG_LEVEL of every function (src/service/logger.ts). @default INFO */
  readonly logLevel?: string;
  /**
   * Run Node with --enable-source-maps, so logged stack traces point into the
   * TypeScript sources. It costs cold-start time (the bench prints how much).
   * @default true
   */
  readonly sourceMapsAtRuntime?: boolean;
  /**
   * An existing SNS topic (e.g. the OEM's operations topic) every alarm
   * notifies. The stack makes no topic of its own: alarms go where the OEM
   * already watches. @default none: alarms show in the console only
   */
  readonly alarmTopicArn?: string | undefined;
  /**
   * Stage-wide request rate. Each certificate costs one KMS Sign, and KMS
   * shares one ECC request quota per account and region (300/s by default),
   * so the default keeps issuance well under it.
   * @default 100 per second, bursts of 200
   */
  readonly throttle?: { readonly rateLimit: number; readonly burstLimit: number };
  /**
   * The Device OEM's organization name (O of its root and instance CA certificates).
   * @default "Car Keys Device OEM"
   */
  readonly deviceOemName?: string;
  /**
   * The Vehicle OEM's organization name (O of its root and vehicle certificates).
   * @default "Car Keys Vehicle OEM"
   */
  readonly vehicleOemName?: string;
  /** Optional C (ISO 3166 alpha-2) of the Device OEM's certificates. @default none */
  readonly deviceOemCountry?: string | undefined;
  /** Optional C (ISO 3166 alpha-2) of the Vehicle OEM's certificates. @default none */
  readonly vehicleOemCountry?: string | undefined;
  /**
   * The origin of the relay's share links (e.g. https://share.example.com, a custom domain mapped to
   * the API). `{apiId}` in it stands for the API's id, for hosts that name the API, as a local
   * emulator's `http://{apiId}.execute-api.localhost:4566` does. @default the API's execute-api endpoint
   */
  readonly relayLinkBaseUrl?: string | undefined;
  /**
   * A custom domain with mutual TLS for partner servers (constructs/mtls-domain.ts); with it, the
   * server-to-server routes (src/api `serverToServer`) are served only there.
   * @default none: every route on the default endpoint, OEM routes with IAM only
   */
  readonly mtlsDomain?: MtlsDomainSettings | undefined;
  /**
   * POST every service event, signed, to this https URL (src/adapters/events/webhook-notifier.ts): the
   * stack adds a KMS signing key used for nothing else, lets the event-publishing functions sign with
   * it and publishes its public key at GET /v1/webhook-signing-key. @default no webhooks
   */
  readonly webhookUrl?: string | undefined;
  /** Refusals of one problem kind per five minutes that raise its alarm (constructs/refusal-alarms.ts). @default 100 */
  readonly refusalAlarmThreshold?: number | undefined;
  /**
   * Other phone makers' Device OEM root certificates, a PEM bundle: key chains ending at one of them
   * register beside the SEs the stack's own Device OEM root certifies (src/service/device-oem-roots.ts).
   * Trust anchors only: the stack holds no key of theirs. Checked at synth. @default none
   */
  readonly trustedDeviceOemRoots?: string | undefined;
  /** Friend keys a vehicle holds at once (FRIEND_KEY_SLOTS), an integer from 1 to 100. @default 5 */
  readonly friendKeySlots?: number | undefined;
}

export const DEFAULT_DEVICE_OEM_NAME = "Car Keys Device OEM";
/** The functions refuse more (src/adapters/service-assembly.ts). */
export const MAX_FRIEND_KEY_SLOTS = 100;
export const DEFAULT_VEHICLE_OEM_NAME = "Car Keys Vehicle OEM";

/** SEC1 uncompressed P-256 point in hex: 04 ‖ X ‖ Y. */
const P256_PUBLIC_KEY_HEX = "^04[0-9a-fA-F]{128}$";

export class CarKeysStack extends Stack {
  readonly table: Table;
  readonly rootKeys: Readonly<Record<RootKeyName, OemRootKey>>;
  readonly api: ServiceApi;
  readonly functions: ReadonlyMap<string, RouteFunction>;
  /** Created only when some function publishes events (lost-mode and terminate-key notices). */
  readonly eventBus: events.EventBus | undefined;
  /** Creates both root certificates at deploy time (a custom resource), before the API serves a request. */
  readonly rootBootstrap: RouteFunction;
  /** Revokes keys whose profile ended, hourly (an EventBridge rule); not a route. */
  readonly expirySweep: RouteFunction;
  readonly expirySchedule: ExpirySchedule;
  /** The HMAC key of device pseudonyms; absent only if no function computes them. */
  readonly devicePseudonymKey: DevicePseudonymKey | undefined;
  /** Alarms on bursts of refusals, by problem kind, from the functions' business metrics. */
  readonly refusalAlarms: RefusalAlarms;
  /** The key that signs webhook deliveries, when webhooks are configured. */
  readonly webhookSigningKey: OemRootKey | undefined;
  /** The partners' mutual-TLS domain, when configured. */
  readonly mtlsDomain: MtlsDomain | undefined;

  constructor(scope: Construct, id: string, props: CarKeysStackProps = {}) {
    super(scope, id, props);
    const routes = props.routes ?? ROUTES;
    const access = props.functionAccess ?? FUNCTION_ACCESS;
    const functionsDir = props.functionsDir ?? join(PROJECT_ROOT, "functions");

    const seManufacturerKey = new CfnParameter(this, "SeManufacturerPublicKey", {
      type: "String",
      description:
        "Public key of the secure-element manufacturer whose factory attestations the service trusts: " +
        "uncompressed P-256 point in hex (130 characters, starting 04)",
      allowedPattern: P256_PUBLIC_KEY_HEX,
      constraintDescription: "must be 04 followed by 128 hex digits",
    });

    this.table = new Table(this, "Data");
    this.rootKeys = {
      deviceOem: new OemRootKey(this, "DeviceOemRoot", {
        description: "Car Keys Device OEM root: certifies secure-element instance CAs",
        alias: `alias/${this.stackName}/device-oem-root`,
      }),
      vehicleOem: new OemRootKey(this, "VehicleOemRoot", {
        description: "Car Keys Vehicle OEM root: certifies vehicles, signs key-tracking receipts",
        alias: `alias/${this.stackName}/vehicle-oem-root`,
      }),
    };
    const pseudonymizers = [...new Set(routes.map((r) => r.functionName))].filter(
      (name) => access[name]?.pseudonymizesDevices,
    );
    // The expiry sweep, always deployed, unseals devices too: the key exists whatever the routes.
    this.devicePseudonymKey =
      pseudonymizers.length > 0 || EXPIRY_SWEEP_ACCESS.pseudonymizesDevices
        ? new DevicePseudonymKey(this, "DevicePseudonyms", {
            alias: `alias/${this.stackName}/device-pseudonyms`,
          })
        : undefined;
    const alarmAction = props.alarmTopicArn
      ? new SnsAction(sns.Topic.fromTopicArn(this, "AlarmTopic", props.alarmTopicArn))
      : undefined;
    this.api = new ServiceApi(this, "Http", {
      throttle: props.throttle ?? { rateLimit: 100, burstLimit: 200 },
      ...(alarmAction ? { alarmAction } : {}),
    });

    this.refusalAlarms = new RefusalAlarms(this, "RefusalAlarms", {
      ...(props.refusalAlarmThreshold === undefined ? {} : { threshold: props.refusalAlarmThreshold }),
      ...(alarmAction ? { alarmAction } : {}),
    });

    const names = [...new Set(routes.map((r) => r.functionName))];
    const publishers = names.filter((name) => access[name]?.publishesEvents);
    if (EXPIRY_SWEEP_ACCESS.publishesEvents) publishers.push("expiry-sweep");
    this.eventBus =
      publishers.length > 0
        ? new events.EventBus(this, "Events", { description: "Car Keys service events (lost-mode notices)" })
        : undefined;

    if (props.webhookUrl !== undefined && !/^https:\/\/[^\s/]+(\/\S*)?$/.test(props.webhookUrl)) {
      throw new Error(`the webhook URL must be https://…, not ${props.webhookUrl}`);
    }
    // Same kind of key as the roots (P-256, sign digests only, retained), but its own: a webhook
    // signature proves only that the service sent the event.
    this.webhookSigningKey =
      props.webhookUrl && publishers.length > 0
        ? new OemRootKey(this, "WebhookSigning", {
            description: "Car Keys webhook signing key: signs event deliveries, nothing else",
            alias: `alias/${this.stackName}/webhook-signing`,
          })
        : undefined;

    // Refused here, at synth, rather than by every function's first cold start.
    const trustedDeviceOemRoots = parseDeviceOemRoots(
      props.trustedDeviceOemRoots ?? "",
      "carkeys:trustedDeviceOemRoots",
    );
    const friendKeySlots = props.friendKeySlots ?? DEFAULT_FRIEND_KEY_SLOTS;
    if (!Number.isInteger(friendKeySlots) || friendKeySlots < 1 || friendKeySlots > MAX_FRIEND_KEY_SLOTS) {
      throw new Error(
        `carkeys:friendKeySlots must be an integer from 1 to ${MAX_FRIEND_KEY_SLOTS}, not ${props.friendKeySlots}`,
      );
    }

    const logLevel = props.logLevel ?? "INFO";
    const environment: Record<string, string> = {
      TABLE_NAME: this.table.tableName,
      DEVICE_OEM_SIGNER_URI: this.rootKeys.deviceOem.signerUri,
      VEHICLE_OEM_SIGNER_URI: this.rootKeys.vehicleOem.signerUri,
      SE_MANUFACTURER_PUBLIC_KEY: seManufacturerKey.valueAsString,
      // The certificates' subject names: every function that builds the service requires them
      // (src/adapters/service-assembly.ts), the root bootstrap first of all.
      DEVICE_OEM_NAME: props.deviceOemName ?? DEFAULT_DEVICE_OEM_NAME,
      VEHICLE_OEM_NAME: props.vehicleOemName ?? DEFAULT_VEHICLE_OEM_NAME,
      ...(props.deviceOemCountry ? { DEVICE_OEM_COUNTRY: props.deviceOemCountry } : {}),
      ...(props.vehicleOemCountry ? { VEHICLE_OEM_COUNTRY: props.vehicleOemCountry } : {}),
      LOG_LEVEL: logLevel,
      FRIEND_KEY_SLOTS: String(friendKeySlots),
      ...(trustedDeviceOemRoots.length > 0
        ? { TRUSTED_DEVICE_OEM_ROOTS: trustedDeviceOemRoots.map((root) => root.pem).join("") }
        : {}),
      ...(this.eventBus ? { EVENT_BUS_NAME: this.eventBus.eventBusName } : {}),
      ...(props.mtlsDomain ? { [MTLS_SETTING]: "required" } : {}),
      ...(props.sourceMapsAtRuntime === false ? {} : { NODE_OPTIONS: "--enable-source-maps" }),
    };

    const functions = new Map<string, RouteFunction>();
    for (const name of names) {
      const grants = access[name];
      if (!grants) {
        throw new Error(
          `src/api/routes.ts names the function "${name}", but infra/lib/function-access.ts has no entry ` +
            "for it: say there what it may access",
        );
      }
      const served = routes.filter((r) => r.functionName === name).map((r) => `${r.method} ${r.path}`);
      const fn = new RouteFunction(this, pascalCase(name), {
        name,
        entry: join(functionsDir, `${name}.ts`),
        description: `Car Keys ${name}: ${served.join(", ")}`,
        ...(FUNCTION_STATIC_FILES[name] ? { staticFiles: FUNCTION_STATIC_FILES[name] } : {}),
        // Each function creates only the roots it can sign with (the bootstrap below creates both first).
        environment: {
          ...environment,
          ROOT_CREATION: rootCreation(grants),
          // The function depends on the API (Fn::GetAtt ApiEndpoint), the API not on it: no cycle.
          ...(grants.mintsLinks
            ? {
                RELAY_LINK_BASE_URL:
                  props.relayLinkBaseUrl?.replaceAll("{apiId}", this.api.api.apiId) ??
                  this.api.api.apiEndpoint,
              }
            : {}),
          ...(this.webhookSigningKey && (grants.publishesEvents || grants.readsWebhookKey)
            ? {
                WEBHOOK_SIGNER_URI: this.webhookSigningKey.signerUri,
                ...(grants.publishesEvents ? { WEBHOOK_URL: props.webhookUrl! } : {}),
              }
            : {}),
          // Only where device pseudonyms are computed: every other function never sees the key.
          ...(grants.pseudonymizesDevices ? { DEVICE_PSEUDONYM_KEY: this.devicePseudonymKey!.uri } : {}),
        },
        ...(grants.memoryMiB ? { memoryMiB: grants.memoryMiB } : {}),
        ...(alarmAction ? { alarmAction } : {}),
      });
      this.grant(fn, grants);
      functions.set(name, fn);
    }
    this.functions = functions;

    // A fresh stack has no root certificates; a function that may not sign with a root would answer
    // 503 until one that may had run. The bootstrap creates both during the deployment, and the
    // stage waits for it, so no route ever sees a missing root.
    this.rootBootstrap = new RouteFunction(this, "RootBootstrap", {
      name: "root-bootstrap",
      entry: props.rootBootstrapEntry ?? join(PROJECT_ROOT, "functions", "root-bootstrap.ts"),
      description:
        "Car Keys root-bootstrap: creates the Device OEM and Vehicle OEM root certificates at deploy time",
      environment: { ...environment, ROOT_CREATION: rootCreation(ROOT_BOOTSTRAP_ACCESS) },
      ...(alarmAction ? { alarmAction } : {}),
    });
    this.grant(this.rootBootstrap, ROOT_BOOTSTRAP_ACCESS);
    const roots = new CustomResource(this, "RootCertificates", {
      serviceToken: this.rootBootstrap.fn.functionArn,
      resourceType: "Custom::CarKeysRootCertificates",
      // A new root key (a new signer URI) runs the bootstrap again.
      properties: {
        DeviceOemSignerUri: this.rootKeys.deviceOem.signerUri,
        VehicleOemSignerUri: this.rootKeys.vehicleOem.signerUri,
      },
    });
    this.api.stage.node.addDependency(roots);

    // Keys whose profile ended are revoked by the service itself, hourly (src/service/expiry-sweep.ts).
    this.expirySweep = new RouteFunction(this, "ExpirySweep", {
      name: "expiry-sweep",
      entry: props.expirySweepEntry ?? join(PROJECT_ROOT, "functions", "expiry-sweep.ts"),
      description: "Car Keys expiry-sweep: revokes keys whose attested profile has ended (hourly)",
      // Long enough for a good share of a busy hour's keys; the sweep stops 20 s before the end.
      timeout: Duration.minutes(5),
      environment: {
        ...environment,
        ROOT_CREATION: rootCreation(EXPIRY_SWEEP_ACCESS),
        ...(this.webhookSigningKey
          ? { WEBHOOK_SIGNER_URI: this.webhookSigningKey.signerUri, WEBHOOK_URL: props.webhookUrl! }
          : {}),
        DEVICE_PSEUDONYM_KEY: this.devicePseudonymKey!.uri,
      },
      ...(alarmAction ? { alarmAction } : {}),
    });
    this.grant(this.expirySweep, EXPIRY_SWEEP_ACCESS);
    this.table.grantExpirySweep(this.expirySweep);
    this.expirySchedule = new ExpirySchedule(this, "ExpirySchedule", { fn: this.expirySweep.fn });

    for (const route of routes) {
      this.api.addRoute(route, functions.get(route.functionName)!);
    }

    this.mtlsDomain = props.mtlsDomain
      ? new MtlsDomain(this, "PartnerDomain", {
          ...props.mtlsDomain,
          api: this.api.api,
          stage: this.api.stage,
        })
      : undefined;

    new CfnOutput(this, "ApiUrl", { value: this.api.url, description: "Base URL of the HTTP API" });
    if (this.mtlsDomain) {
      new CfnOutput(this, "PartnerApiUrl", {
        value: `https://${props.mtlsDomain!.domainName}/`,
        description: "Base URL of the server-to-server routes (mutual TLS)",
      });
      new CfnOutput(this, "PartnerDomainTarget", {
        value: this.mtlsDomain.regionalDomainName,
        description: "Point the partner domain's DNS record (CNAME or alias) here",
      });
    }
    new CfnOutput(this, "DeviceOemRootKeyArn", { value: this.rootKeys.deviceOem.keyArn });
    new CfnOutput(this, "VehicleOemRootKeyArn", { value: this.rootKeys.vehicleOem.keyArn });
    new CfnOutput(this, "TableName", { value: this.table.tableName });
    new CfnOutput(this, "OemBackendRoleArn", {
      value: this.api.oemBackendRole.roleArn,
      description: "Assume this role to call the oem routes with SigV4",
    });
    if (this.eventBus) new CfnOutput(this, "EventBusName", { value: this.eventBus.eventBusName });
    new CfnOutput(this, "ExpirySweepFunctionName", {
      value: this.expirySweep.fn.functionName,
      description: "Invoke it to run the expiry sweep now: carkey oem sweep-expired --function <this>",
    });
  }

  private grant(fn: RouteFunction, grants: FunctionAccess): void {
    if (grants.table === "read") this.table.grantRead(fn);
    if (grants.table === "readWrite") this.table.grantReadWrite(fn);
    const signs = new Set(grants.signsWith ?? []);
    for (const key of signs) this.rootKeys[key].grantSign(fn);
    // grantSign already includes the public key.
    for (const key of new Set(grants.readsPublicKeyOf ?? [])) {
      if (!signs.has(key)) this.rootKeys[key].grantPublicKey(fn);
    }
    if (grants.publishesEvents) this.eventBus!.grantPutEventsTo(fn);
    if (grants.pseudonymizesDevices) this.devicePseudonymKey!.grantGenerateMac(fn);
    if (this.webhookSigningKey && grants.publishesEvents) this.webhookSigningKey.grantSign(fn);
    if (this.webhookSigningKey && grants.readsWebhookKey && !grants.publishesEvents) {
      this.webhookSigningKey.grantPublicKey(fn);
    }
  }
}

/** `device-enrollment` → `DeviceEnrollment`, for construct ids (and so readable logical ids). */
function pascalCase(name: string): string {
  return name
    .split(/[^a-zA-Z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join("");
}
