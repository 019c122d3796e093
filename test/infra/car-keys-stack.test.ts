// The stack's security properties, read from the synthesized template
// (a CDK Template test, docs/architecture.md "Tests"): root keys that only sign P-256 and that only the
// issuing functions can use, each on its own key; a table that survives
// mistakes; IAM authorization on the OEM routes; alarms; and no open
// cdk-nag AwsSolutions finding. The stack is built once for the file, with
// cdk.json's context so it matches `npx cdk synth`, because bundling costs
// seconds. It uses the real handlers when every one exists, and one-line
// stubs (in node_modules/.cache) until then: the properties checked here do
// not depend on what the handlers contain.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { App, type CfnElement } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleLambda } from "../../bench/lambda-bundles.js";
import { PROJECT_ROOT } from "../../infra/lib/bundling-options.js";
import { CarKeysStack } from "../../infra/lib/car-keys-stack.js";
import {
  ALARMED_REFUSAL_KINDS,
  METRICS_NAMESPACE,
  METRICS_SERVICE,
} from "../../infra/lib/constructs/refusal-alarms.js";
import { MtlsDomainSettingsError } from "../../infra/lib/errors.js";
import { FUNCTION_ACCESS, type RootKeyName, rootCreation } from "../../infra/lib/function-access.js";
import { friendKeySlotsSetting, trustedDeviceOemRootsSetting } from "../../infra/lib/sharing-settings.js";
import { EXPIRY_SWEEP_TIMEOUT_MS } from "../../src/adapters/function-handlers/expiry-sweep.js";
import { RELAY_REQUIRED_ENVIRONMENT } from "../../src/adapters/relay-assembly.js";
import { REQUIRED_ENVIRONMENT } from "../../src/adapters/service-assembly.js";
import { functionNames, ROUTES, type RouteDefinition } from "../../src/api/routes.js";
import { EmulatedOem } from "../../src/emulator/oem/emulated-oem.js";
import { parseDeviceOemRoots } from "../../src/service/device-oem-roots.js";
import {
  METRICS_NAMESPACE as BUSINESS_METRICS_NAMESPACE,
  METRICS_SERVICE as BUSINESS_METRICS_SERVICE,
} from "../../src/service/embedded-metrics.js";

interface Statement {
  Effect: "Allow" | "Deny";
  Action: string | string[];
  Resource?: unknown;
  Principal?: { AWS?: unknown } | string;
  Condition?: Record<string, Record<string, string>>;
}
interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
}

const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, "cdk.json"), "utf8")) as {
  context: Record<string, unknown>;
};
const cacheDir = join(PROJECT_ROOT, "node_modules", ".cache");

/** Handlers that export a trivial `handler`, for functions whose real file is not written yet. */
function writeStubHandlers(names: readonly string[]): string {
  mkdirSync(cacheDir, { recursive: true });
  const dir = mkdtempSync(join(cacheDir, "carkeys-infra-test-"));
  for (const name of names) {
    writeFileSync(
      join(dir, `${name}.ts`),
      'export const handler = async () => ({ statusCode: 204, body: "" });\n',
    );
  }
  return dir;
}

function actions(statement: Statement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}

/** Whether an IAM action pattern (with * and ?) covers `action`. */
function covers(pattern: string, action: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
    "i",
  );
  return regex.test(action);
}

const realHandlers = functionNames().every((name) =>
  existsSync(join(PROJECT_ROOT, "functions", `${name}.ts`)),
);
const stubDirs: string[] = [];
let app: App;
let stack: CarKeysStack;
let template: Template;
let resources: Record<string, Resource>;

beforeAll(() => {
  const started = performance.now();
  let functionsDir: string | undefined;
  if (!realHandlers) {
    functionsDir = writeStubHandlers(functionNames());
    stubDirs.push(functionsDir);
  }
  app = new App({ context: cdkJson.context });
  stack = new CarKeysStack(app, "CarKeys", functionsDir ? { functionsDir } : {});
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources as Record<string, Resource>;
  console.log(
    `stack built and synthesized in ${((performance.now() - started) / 1000).toFixed(1)} s ` +
      `(${realHandlers ? "real handlers from functions/" : "stub handlers: functions/ is not complete yet"})`,
  );
  // Bundling five handlers takes seconds alone and much longer on a busy machine.
}, 300_000);

afterAll(() => {
  for (const dir of stubDirs) rmSync(dir, { recursive: true, force: true });
});

function logicalId(element: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(element.node.defaultChild as CfnElement);
}

function ofType(type: string): Array<[string, Resource]> {
  return Object.entries(resources).filter(([, r]) => r.Type === type);
}

/** Every statement of the identity policies attached to the role with this logical id. */
function roleStatements(roleId: string): Statement[] {
  const statements: Statement[] = [];
  for (const [, policy] of ofType("AWS::IAM::Policy")) {
    const roles = policy.Properties.Roles as Array<{ Ref: string }>;
    if (roles.some((r) => r.Ref === roleId)) {
      statements.push(...((policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement ?? []));
    }
  }
  const inline = resources[roleId]?.Properties.Policies;
  expect(
    inline,
    "roles carry no inline policies: everything is in the DefaultPolicy checked here",
  ).toBeUndefined();
  expect(resources[roleId]?.Properties.ManagedPolicyArns, "no AWS-managed policies").toBeUndefined();
  return statements;
}

const rootKeyNames: readonly RootKeyName[] = ["deviceOem", "vehicleOem"];
const keyArn = (key: RootKeyName) => ({ "Fn::GetAtt": [logicalId(stack.rootKeys[key].key), "Arn"] });
/** A deployed function by name: a route function, the root bootstrap or the expiry sweep. */
const deployedFunction = (name: string) =>
  name === "root-bootstrap"
    ? stack.rootBootstrap
    : name === "expiry-sweep"
      ? stack.expirySweep
      : stack.functions.get(name)!;
const roleArn = (name: string) => ({
  "Fn::GetAtt": [logicalId(deployedFunction(name).role), "Arn"],
});

describe("OEM root keys", () => {
  it("are P-256 signing keys, retained, one per root", () => {
    const keys = ofType("AWS::KMS::Key").filter(([, key]) => key.Properties.KeyUsage === "SIGN_VERIFY");
    expect(keys).toHaveLength(2);
    expect(ofType("AWS::KMS::Key")).toHaveLength(3);
    for (const [, key] of keys) {
      expect(key.Properties).toMatchObject({ KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY" });
      expect(key.DeletionPolicy).toBe("Retain");
    }
  });

  it("have key policies that let only the issuing functions' roles sign, and only digests with ECDSA_SHA_256", () => {
    const expectedSigners: Record<RootKeyName, string[]> = {
      deviceOem: [
        "device-enrollment",
        "key-tracking",
        "revocation",
        "notices",
        "partner-events",
        "root-bootstrap",
        "expiry-sweep",
      ],
      vehicleOem: ["vehicle-enrollment", "key-tracking", "revocation-list", "root-bootstrap"],
    };
    for (const key of rootKeyNames) {
      const policy = resources[logicalId(stack.rootKeys[key].key)]!.Properties.KeyPolicy as {
        Statement: Statement[];
      };
      const signing = policy.Statement.filter(
        (s) => s.Effect === "Allow" && actions(s).some((a) => covers(a, "kms:Sign")),
      );
      expect(signing, key).toHaveLength(1);
      const [statement] = signing;
      expect(actions(statement!)).toEqual(["kms:Sign"]);
      const principals = asList((statement!.Principal as { AWS: unknown }).AWS);
      expect(principals).toHaveLength(expectedSigners[key].length);
      expect(principals).toEqual(expect.arrayContaining(expectedSigners[key].map(roleArn)));
      expect(statement!.Condition).toEqual({
        StringEquals: { "kms:SigningAlgorithm": "ECDSA_SHA_256", "kms:MessageType": "DIGEST" },
      });
      // The account (and so any IAM administrator) manages the key but cannot sign or hand out grants.
      for (const s of policy.Statement.filter((x) => x !== statement)) {
        for (const action of ["kms:Sign", "kms:CreateGrant", "kms:Decrypt"]) {
          expect(
            actions(s).some((a) => covers(a, action)),
            `${key}: ${action} in ${JSON.stringify(s)}`,
          ).toBe(false);
        }
      }
    }
  });

  it("are used through awskms: signer URIs", () => {
    for (const [, fn] of ofType("AWS::Lambda::Function")) {
      const env = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(env.DEVICE_OEM_SIGNER_URI).toEqual({ "Fn::Join": ["", ["awskms:", keyArn("deviceOem")]] });
      expect(env.VEHICLE_OEM_SIGNER_URI).toEqual({ "Fn::Join": ["", ["awskms:", keyArn("vehicleOem")]] });
    }
  });
});

/** The functions that compute device pseudonyms (function-access.ts `pseudonymizesDevices`). */
const PSEUDONYMIZERS: readonly string[] = [
  "key-tracking",
  "revocation",
  "notices",
  "partner-events",
  "expiry-sweep",
];
const pseudonymizerIds = () => PSEUDONYMIZERS.map((name) => logicalId(deployedFunction(name).fn));

describe("the device pseudonym key", () => {
  it("is an HMAC_256 key for GenerateMac, retained, whose policy lets exactly the pseudonymizing functions compute HMAC_SHA_256", () => {
    const id = logicalId(stack.devicePseudonymKey!.key);
    const key = resources[id]!;
    expect(key.Properties).toMatchObject({ KeySpec: "HMAC_256", KeyUsage: "GENERATE_VERIFY_MAC" });
    expect(key.DeletionPolicy).toBe("Retain");
    const policy = key.Properties.KeyPolicy as { Statement: Statement[] };
    const macs = policy.Statement.filter(
      (s) => s.Effect === "Allow" && actions(s).some((a) => covers(a, "kms:GenerateMac")),
    );
    expect(macs).toHaveLength(1);
    expect(actions(macs[0]!)).toEqual(["kms:GenerateMac"]);
    const principals = asList((macs[0]!.Principal as { AWS: unknown }).AWS);
    expect(principals).toHaveLength(PSEUDONYMIZERS.length);
    expect(principals).toEqual(expect.arrayContaining(PSEUDONYMIZERS.map(roleArn)));
    expect(macs[0]!.Condition).toEqual({ StringEquals: { "kms:MacAlgorithm": "HMAC_SHA_256" } });
  });

  it("is granted to exactly those functions' roles, on that key only, and its URI reaches no other function", () => {
    const keyArnOf = { "Fn::GetAtt": [logicalId(stack.devicePseudonymKey!.key), "Arn"] };
    const deployed = [...functionNames().map((name) => [name, stack.functions.get(name)!] as const)];
    deployed.push(["root-bootstrap", stack.rootBootstrap], ["expiry-sweep", stack.expirySweep]);
    for (const [name, fn] of deployed) {
      const macs = roleStatements(logicalId(fn.role)).filter((s) =>
        actions(s).some((a) => covers(a, "kms:GenerateMac")),
      );
      const env = (
        resources[logicalId(fn.fn)]!.Properties.Environment as { Variables: Record<string, unknown> }
      ).Variables;
      if (!PSEUDONYMIZERS.includes(name)) {
        expect(macs, name).toEqual([]);
        expect(env.DEVICE_PSEUDONYM_KEY, name).toBeUndefined();
        continue;
      }
      expect(macs, name).toHaveLength(1);
      expect(actions(macs[0]!)).toEqual(["kms:GenerateMac"]);
      expect(asList(macs[0]!.Resource)).toEqual([keyArnOf]);
    }
  });
});

describe("function roles", () => {
  it("grant kms:Sign only to the issuing functions, each only on its own root key, only for digests", () => {
    const signs: Record<string, RootKeyName[]> = {
      "device-enrollment": ["deviceOem"],
      "vehicle-enrollment": ["vehicleOem"],
      "key-tracking": ["vehicleOem", "deviceOem"],
      revocation: ["deviceOem"],
      "revocation-list": ["vehicleOem"],
      notices: ["deviceOem"],
      "partner-events": ["deviceOem"],
    };
    for (const name of functionNames()) {
      const statements = roleStatements(logicalId(stack.functions.get(name)!.role));
      const signing = statements.filter((s) => actions(s).some((a) => covers(a, "kms:Sign")));
      const expected = signs[name] ?? [];
      expect(signing.length, `${name} signing statements`).toBe(expected.length === 0 ? 0 : 1);
      if (expected.length === 0) continue;
      expect(actions(signing[0]!)).toEqual(["kms:Sign"]);
      const byJson = (a: unknown, b: unknown) => JSON.stringify(a).localeCompare(JSON.stringify(b));
      expect(asList(signing[0]!.Resource).sort(byJson)).toEqual(expected.map(keyArn).sort(byJson));
      expect(signing[0]!.Condition?.StringEquals).toMatchObject({ "kms:MessageType": "DIGEST" });
    }
  });

  it("never use wildcard actions or Resource * for KMS, DynamoDB or logs", () => {
    for (const name of functionNames()) {
      for (const s of roleStatements(logicalId(stack.functions.get(name)!.role))) {
        for (const action of actions(s)) expect(action, name).not.toMatch(/\*/);
        expect(asList(s.Resource), name).not.toContain("*");
      }
    }
  });

  it("give table access as function-access.ts says: none, reads on table and gsi1, writes on the table", () => {
    const tableArn = { "Fn::GetAtt": [logicalId(stack.table.table), "Arn"] };
    const indexArn = { "Fn::Join": ["", [tableArn, "/index/gsi1"]] };
    for (const name of functionNames()) {
      const statements = roleStatements(logicalId(stack.functions.get(name)!.role));
      const dynamo = statements.filter((s) => actions(s).some((a) => a.startsWith("dynamodb:")));
      const reads = dynamo.filter((s) => actions(s).includes("dynamodb:GetItem"));
      const writes = dynamo.filter((s) => actions(s).includes("dynamodb:PutItem"));
      const access = FUNCTION_ACCESS[name]!.table;
      expect(reads.length, name).toBe(access === "none" ? 0 : 1);
      expect(writes.length, name).toBe(access === "readWrite" ? 1 : 0);
      for (const s of reads) expect(asList(s.Resource)).toEqual([tableArn, indexArn]);
      for (const s of writes) expect(asList(s.Resource)).toEqual([tableArn]);
      for (const s of dynamo) expect(actions(s)).not.toContain("dynamodb:Scan");
    }
  });

  it("write logs only to their own log group", () => {
    for (const name of functionNames()) {
      const fn = stack.functions.get(name)!;
      const logStatements = roleStatements(logicalId(fn.role)).filter((s) =>
        actions(s).some((a) => a.startsWith("logs:")),
      );
      expect(logStatements).toHaveLength(1);
      expect(logStatements[0]!.Resource).toEqual({ "Fn::GetAtt": [logicalId(fn.logGroup), "Arn"] });
    }
  });
});

describe("table", () => {
  it("has pk/sk, gsi1, TTL on expiresAt, PITR, deletion protection, on-demand billing and encryption, and is retained", () => {
    const tables = ofType("AWS::DynamoDB::Table");
    expect(tables).toHaveLength(1);
    const [, table] = tables[0]!;
    expect(table.Properties).toMatchObject({
      KeySchema: [
        { AttributeName: "pk", KeyType: "HASH" },
        { AttributeName: "sk", KeyType: "RANGE" },
      ],
      BillingMode: "PAY_PER_REQUEST",
      TimeToLiveSpecification: { AttributeName: "expiresAt", Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
      SSESpecification: { SSEEnabled: true },
      GlobalSecondaryIndexes: [
        {
          IndexName: "gsi1",
          KeySchema: [
            { AttributeName: "gsi1pk", KeyType: "HASH" },
            { AttributeName: "gsi1sk", KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: "ALL" },
        },
        {
          // Sparse, for the expiry sweep: bucket and end (a number, so the Query compares instants).
          IndexName: "gsi2",
          KeySchema: [
            { AttributeName: "gsi2pk", KeyType: "HASH" },
            { AttributeName: "gsi2sk", KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: "ALL" },
        },
      ],
    });
    expect(table.Properties.AttributeDefinitions).toEqual(
      expect.arrayContaining([
        { AttributeName: "gsi2pk", AttributeType: "S" },
        { AttributeName: "gsi2sk", AttributeType: "N" },
      ]),
    );
    expect(table.DeletionPolicy).toBe("Retain");
  });
});

describe("HTTP API", () => {
  it("has one route per route-table entry: IAM authorization on oem routes, none on the others", () => {
    const routes = ofType("AWS::ApiGatewayV2::Route");
    expect(routes).toHaveLength(ROUTES.length);
    for (const route of ROUTES) {
      template.hasResourceProperties("AWS::ApiGatewayV2::Route", {
        RouteKey: `${route.method} ${route.path}`,
        AuthorizationType: route.auth === "oem" ? "AWS_IAM" : "NONE",
      });
    }
  });

  it("sends each route to the Lambda of its function name", () => {
    for (const route of ROUTES) {
      const [, found] = ofType("AWS::ApiGatewayV2::Route").find(
        ([, r]) => r.Properties.RouteKey === `${route.method} ${route.path}`,
      )!;
      const target = JSON.stringify(found.Properties.Target);
      const integrationId = /"Ref":"([^"]+)"/.exec(target)![1]!;
      expect(resources[integrationId]!.Properties.IntegrationUri).toEqual({
        "Fn::GetAtt": [logicalId(stack.functions.get(route.functionName)!.fn), "Arn"],
      });
    }
  });

  it("lets the OEM backend role invoke exactly the oem routes of the $default stage", () => {
    const statements = roleStatements(logicalId(stack.api.oemBackendRole));
    // Each resource is an Fn::Join whose last part is the stage, method and path.
    const suffixes = statements
      .flatMap((s) => asList(s.Resource))
      .map((r) => (r as { "Fn::Join": [string, unknown[]] })["Fn::Join"][1].at(-1));
    const oemRoutes = ROUTES.filter((r) => r.auth === "oem");
    expect(suffixes.sort()).toEqual(
      oemRoutes.map((route) => `/$default/${route.method}${route.path.replace(/\{[^}]+\}/g, "*")}`).sort(),
    );
    for (const s of statements) expect(actions(s)).toEqual(["execute-api:Invoke"]);
  });

  it("logs access as JSON with the request id and without the caller's IP address", () => {
    const [, stage] = ofType("AWS::ApiGatewayV2::Stage")[0]!;
    const settings = stage.Properties.AccessLogSettings as { DestinationArn: unknown; Format: string };
    expect(settings.DestinationArn).toEqual({ "Fn::GetAtt": [logicalId(stack.api.accessLogs), "Arn"] });
    const format = JSON.parse(settings.Format) as Record<string, string>;
    expect(format.requestId).toBe("$context.requestId");
    expect(settings.Format).not.toMatch(/sourceIp|userAgent/);
    expect(stage.Properties).toMatchObject({ StageName: "$default", AutoDeploy: true });
  });
});

describe("functions", () => {
  it("are one ESM Lambda per function name (and the root bootstrap and the expiry sweep), Node 24 on ARM64, with the service's environment", () => {
    const lambdas = ofType("AWS::Lambda::Function");
    expect(lambdas).toHaveLength(functionNames().length + 2);
    const relayId = logicalId(stack.functions.get("relay")!.fn);
    for (const [id, fn] of lambdas) {
      expect(fn.Properties).toMatchObject({
        Runtime: "nodejs24.x",
        Architectures: ["arm64"],
        Handler: "index.handler",
      });
      // No X-Ray (route-function.ts says why).
      expect(fn.Properties.TracingConfig).toBeUndefined();
      const env = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(Object.keys(env).sort()).toEqual(
        [
          "TABLE_NAME",
          "DEVICE_OEM_SIGNER_URI",
          "VEHICLE_OEM_SIGNER_URI",
          "SE_MANUFACTURER_PUBLIC_KEY",
          "DEVICE_OEM_NAME",
          "VEHICLE_OEM_NAME",
          "LOG_LEVEL",
          "NODE_OPTIONS",
          "ROOT_CREATION",
          // carkeys:friendKeySlots, default 5 (checked with the sharing settings below).
          "FRIEND_KEY_SLOTS",
          "EVENT_BUS_NAME",
          // Only the relay mints links; their origin is the API's own endpoint, never a request's Host.
          ...(id === relayId ? ["RELAY_LINK_BASE_URL"] : []),
          ...(pseudonymizerIds().includes(id) ? ["DEVICE_PSEUDONYM_KEY"] : []),
        ].sort(),
      );
      expect(env.TABLE_NAME).toEqual({ Ref: logicalId(stack.table.table) });
      expect(env.SE_MANUFACTURER_PUBLIC_KEY).toEqual({ Ref: "SeManufacturerPublicKey" });
      if (id === relayId) {
        expect(env.RELAY_LINK_BASE_URL).toEqual({ "Fn::GetAtt": [logicalId(stack.api.api), "ApiEndpoint"] });
      }
    }
  });

  it("hold every variable their code requires, non-empty (a missing one fails the first deploy)", () => {
    const required = (name: string): readonly string[] =>
      name === "relay" ? RELAY_REQUIRED_ENVIRONMENT : REQUIRED_ENVIRONMENT;
    const deployed = [
      ...functionNames().map((name) => [name, stack.functions.get(name)!] as const),
      ["root-bootstrap", stack.rootBootstrap] as const,
      ["expiry-sweep", stack.expirySweep] as const,
    ];
    for (const [name, fn] of deployed) {
      const env = (
        resources[logicalId(fn.fn)]!.Properties.Environment as { Variables: Record<string, unknown> }
      ).Variables;
      for (const variable of required(name)) {
        expect(env[variable], `${name} needs ${variable}`).toBeDefined();
        expect(env[variable], `${name} needs ${variable}`).not.toBe("");
      }
      // Registering keys, revoking them and lost mode name devices by their pseudonyms.
      if (PSEUDONYMIZERS.includes(name)) {
        expect(env.DEVICE_PSEUDONYM_KEY, `${name} needs DEVICE_PSEUDONYM_KEY`).toEqual({
          "Fn::Join": ["", ["awskms:", { "Fn::GetAtt": [logicalId(stack.devicePseudonymKey!.key), "Arn"] }]],
        });
      }
    }
    const bootstrapEnv = (
      resources[logicalId(stack.rootBootstrap.fn)]!.Properties.Environment as {
        Variables: Record<string, unknown>;
      }
    ).Variables;
    expect(bootstrapEnv.DEVICE_OEM_NAME).toBe(cdkJson.context["carkeys:deviceOemName"]);
    expect(bootstrapEnv.VEHICLE_OEM_NAME).toBe(cdkJson.context["carkeys:vehicleOemName"]);
  });

  it("have alarms on errors and throttles, and the API one on 5xx", () => {
    for (const name of functionNames()) {
      const fnRef = { Ref: logicalId(stack.functions.get(name)!.fn) };
      for (const metric of ["Errors", "Throttles"]) {
        template.hasResourceProperties("AWS::CloudWatch::Alarm", {
          Namespace: "AWS/Lambda",
          MetricName: metric,
          Dimensions: [{ Name: "FunctionName", Value: fnRef }],
          Threshold: 1,
          ComparisonOperator: "GreaterThanOrEqualToThreshold",
        });
      }
    }
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Namespace: "AWS/ApiGateway",
      MetricName: "5xx",
      Dimensions: [{ Name: "ApiId", Value: { Ref: logicalId(stack.api.api) } }],
    });
    expect(ofType("AWS::CloudWatch::Alarm")).toHaveLength(
      2 * (functionNames().length + 2) + 1 + ALARMED_REFUSAL_KINDS.length,
    );
  });

  it("alarm on bursts of refusals by problem kind, from the business metrics the functions emit", () => {
    expect(METRICS_NAMESPACE).toBe(BUSINESS_METRICS_NAMESPACE);
    expect(METRICS_SERVICE).toBe(BUSINESS_METRICS_SERVICE);
    for (const kind of ALARMED_REFUSAL_KINDS) {
      template.hasResourceProperties("AWS::CloudWatch::Alarm", {
        Namespace: "CarKeys",
        MetricName: "Refusals",
        Dimensions: [
          { Name: "ProblemKind", Value: kind },
          { Name: "service", Value: "carkeys" },
        ],
        Statistic: "Sum",
        Period: 300,
        Threshold: 100,
        TreatMissingData: "notBreaching",
      });
    }
  });

  it("create only the roots they sign with (ROOT_CREATION), and the bootstrap both", () => {
    const env = (fn: { fn: unknown }) =>
      (
        resources[logicalId((fn as { fn: { node: { defaultChild?: unknown } } }).fn)]!.Properties
          .Environment as {
          Variables: Record<string, unknown>;
        }
      ).Variables;
    for (const name of functionNames()) {
      expect(env(stack.functions.get(name)!).ROOT_CREATION, name).toBe(rootCreation(FUNCTION_ACCESS[name]!));
    }
    expect(env(stack.functions.get("trust-anchors")!).ROOT_CREATION).toBe("none");
    expect(env(stack.functions.get("notices")!).ROOT_CREATION).toBe("device-oem-root");
    expect(env(stack.functions.get("revocation-list")!).ROOT_CREATION).toBe("vehicle-oem-root");
    expect(env(stack.rootBootstrap).ROOT_CREATION).toBe("device-oem-root,vehicle-oem-root");
  });

  it("bootstrap both root certificates at deploy time, before the API stage exists", () => {
    const custom = ofType("Custom::CarKeysRootCertificates");
    expect(custom).toHaveLength(1);
    const [customId, resource] = custom[0]!;
    expect(resource.Properties.ServiceToken).toEqual({
      "Fn::GetAtt": [logicalId(stack.rootBootstrap.fn), "Arn"],
    });
    const [, stage] = ofType("AWS::ApiGatewayV2::Stage")[0]!;
    expect(asList((stage as Resource & { DependsOn?: unknown }).DependsOn)).toContain(customId);
  });

  it("are bundled byte for byte as `npm run bench` bundles them", async () => {
    const name = functionNames()[0]!;
    const entry = join(realHandlers ? join(PROJECT_ROOT, "functions") : stubDirs[0]!, `${name}.ts`);
    const code = ofType("AWS::Lambda::Function").find(
      ([id]) => id === logicalId(stack.functions.get(name)!.fn),
    )![1].Properties.Code as { S3Key: string };
    const assetDir = join(app.synth().directory, `asset.${code.S3Key.replace(/\.zip$/, "")}`);
    mkdirSync(cacheDir, { recursive: true });
    const outdir = mkdtempSync(join(cacheDir, "carkeys-infra-bundle-"));
    stubDirs.push(outdir);
    const bundle = await bundleLambda(entry, outdir);
    expect(readFileSync(bundle.file)).toEqual(readFileSync(join(assetDir, "index.mjs")));
  });
});

describe("the expiry sweep", () => {
  it("runs hourly from an EventBridge rule, without retries, and only that rule may invoke it", () => {
    const fnArn = { "Fn::GetAtt": [logicalId(stack.expirySweep.fn), "Arn"] };
    const rules = ofType("AWS::Events::Rule");
    expect(rules).toHaveLength(1);
    const [ruleId, rule] = rules[0]!;
    expect(rule.Properties).toMatchObject({ ScheduleExpression: "rate(1 hour)", State: "ENABLED" });
    expect(rule.Properties.Targets).toEqual([
      expect.objectContaining({
        Arn: fnArn,
        RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 3600 },
      }),
    ]);
    const permissions = ofType("AWS::Lambda::Permission").filter(
      ([, p]) => JSON.stringify(p.Properties.FunctionName) === JSON.stringify(fnArn),
    );
    expect(permissions.map(([, p]) => p.Properties)).toEqual([
      {
        Action: "lambda:InvokeFunction",
        FunctionName: fnArn,
        Principal: "events.amazonaws.com",
        SourceArn: { "Fn::GetAtt": [ruleId, "Arn"] },
      },
    ]);
    const fn = resources[logicalId(stack.expirySweep.fn)]!;
    // The local server's on-demand run (lambda-invocations.ts) gives the handler the same deadline.
    expect(fn.Properties.Timeout).toBe(EXPIRY_SWEEP_TIMEOUT_MS / 1000);
  });

  it("names the function in an output, for an operator's on-demand run (carkey oem sweep-expired)", () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.ExpirySweepFunctionName?.Value).toEqual({ Ref: logicalId(stack.expirySweep.fn) });
  });

  it("may Query the key-ends index and gsi1, read and update items, and nothing more of the table", () => {
    const tableArn = { "Fn::GetAtt": [logicalId(stack.table.table), "Arn"] };
    const index = (name: string) => ({ "Fn::Join": ["", [tableArn, `/index/${name}`]] });
    const dynamo = roleStatements(logicalId(stack.expirySweep.role)).filter((s) =>
      actions(s).some((a) => a.startsWith("dynamodb:")),
    );
    // CDK sorts actions and resources within a statement: compared as sets.
    const byJson = (a: unknown, b: unknown) => JSON.stringify(a).localeCompare(JSON.stringify(b));
    expect(
      dynamo.map((s) => ({ actions: actions(s).sort(), resources: asList(s.Resource).sort(byJson) })),
    ).toEqual([
      { actions: ["dynamodb:Query"], resources: [index("gsi1"), index("gsi2")] },
      {
        actions: ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
        resources: [tableArn],
      },
    ]);
    // No other function queries the key-ends index.
    for (const name of functionNames()) {
      for (const s of roleStatements(logicalId(stack.functions.get(name)!.role))) {
        expect(JSON.stringify(s.Resource ?? ""), name).not.toContain("/index/gsi2");
      }
    }
  });

  it("signs only with the Device OEM root (terminate-key notices), publishes events, never Scans or Deletes", () => {
    const statements = roleStatements(logicalId(stack.expirySweep.role));
    const signing = statements.filter((s) => actions(s).some((a) => covers(a, "kms:Sign")));
    expect(signing).toHaveLength(1);
    expect(asList(signing[0]!.Resource)).toEqual([keyArn("deviceOem")]);
    expect(statements.some((s) => actions(s).includes("events:PutEvents"))).toBe(true);
    for (const s of statements) {
      for (const action of actions(s)) {
        expect(action).not.toMatch(/\*|dynamodb:Scan|dynamodb:DeleteItem|dynamodb:BatchWriteItem/);
      }
      expect(asList(s.Resource)).not.toContain("*");
    }
    const env = (
      resources[logicalId(stack.expirySweep.fn)]!.Properties.Environment as {
        Variables: Record<string, unknown>;
      }
    ).Variables;
    expect(env.ROOT_CREATION).toBe("device-oem-root");
  });
});

describe("cdk-nag", () => {
  it("AwsSolutions reports no unacknowledged finding", () => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    const open = report.violations.map(
      (v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(", ")}`,
    );
    expect(open).toEqual([]);
  });

  it("acknowledges only findings it has a reason for", () => {
    const acknowledged = stack.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === "aws:cdk:acknowledged-rules"))
      .flatMap((m) => Object.entries(m.data as Record<string, string>));
    const ids = new Set(acknowledged.map(([id]) => id.replace(/^annotation::/i, "").replace(/\[.*$/, "")));
    expect([...ids].sort()).toEqual(["AwsSolutions-APIG4", "AwsSolutions-IAM5", "AwsSolutions-L1"]);
    for (const [id, reason] of acknowledged) expect(reason.length, id).toBeGreaterThan(60);
  });
});

describe("the tables drive the stack", () => {
  it("function-access.ts has an entry for every function the route table names", () => {
    expect(functionNames().filter((name) => !FUNCTION_ACCESS[name])).toEqual([]);
  });

  it("refuses a route whose function has no access entry, or no handler file", () => {
    const dir = writeStubHandlers(["mystery"]);
    stubDirs.push(dir);
    const route: RouteDefinition = {
      method: "GET",
      path: "/v1/mystery",
      functionName: "mystery",
      auth: "oem",
      summary: "?",
    };
    expect(() => new CarKeysStack(new App(), "NoAccess", { routes: [route], functionsDir: dir })).toThrow(
      /function-access\.ts has no entry/,
    );
    expect(
      () =>
        new CarKeysStack(new App(), "NoHandler", {
          routes: [{ ...route, functionName: "missing" }],
          functionAccess: { missing: { table: "none" } },
          functionsDir: dir,
        }),
    ).toThrow(/handler .*missing\.ts does not exist/);
  });

  it("puts the API's id where a configured relay link origin says {apiId} (an emulator's host names)", () => {
    const dir = writeStubHandlers(["relay"]);
    stubDirs.push(dir);
    // Bundling is skipped here: only the wiring is under test.
    const bare = new App({ context: { ...cdkJson.context, "aws:cdk:bundling-stacks": [] } });
    const emulated = new CarKeysStack(bare, "Emulated", {
      functionsDir: dir,
      routes: ROUTES.filter((r) => r.functionName === "relay"),
      relayLinkBaseUrl: "http://{apiId}.execute-api.localhost:4566",
    });
    const relay = Object.values(
      Template.fromStack(emulated).toJSON().Resources as Record<string, Resource>,
    ).find((r) => r.Type === "AWS::Lambda::Function" && String(r.Properties.Description).includes("relay"));
    const env = (relay!.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env.RELAY_LINK_BASE_URL).toEqual({
      "Fn::Join": [
        "",
        [
          "http://",
          { Ref: emulated.getLogicalId(emulated.api.api.node.defaultChild as CfnElement) },
          ".execute-api.localhost:4566",
        ],
      ],
    });
  });

  it("adds an event bus when a function publishes events, and lets only that function (and the expiry sweep) put events", () => {
    const dir = writeStubHandlers(["notices", "openapi"]);
    stubDirs.push(dir);
    // Bundling is skipped here: only the wiring is under test.
    const bare = new App({ context: { ...cdkJson.context, "aws:cdk:bundling-stacks": [] } });
    const withBus = new CarKeysStack(bare, "WithBus", {
      functionsDir: dir,
      routes: [
        ...ROUTES.filter((r) => r.functionName === "openapi"),
        {
          method: "GET",
          path: "/v1/devices/{deviceId}/notices",
          functionName: "notices",
          auth: "device",
          summary: "",
        },
      ],
      functionAccess: { ...FUNCTION_ACCESS, notices: { table: "read", publishesEvents: true } },
    });
    const t = Template.fromStack(withBus);
    t.resourceCountIs("AWS::Events::EventBus", 1);
    const busArn = {
      "Fn::GetAtt": [withBus.getLogicalId(withBus.eventBus!.node.defaultChild as CfnElement), "Arn"],
    };
    const all = t.toJSON().Resources as Record<string, Resource>;
    const putters = Object.values(all)
      .filter((r) => r.Type === "AWS::IAM::Policy")
      .filter((r) =>
        (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement.some((s) =>
          actions(s).some((a) => covers(a, "events:PutEvents")),
        ),
      )
      .map((r) => (r.Properties.Roles as Array<{ Ref: string }>).map((x) => x.Ref));
    // The notices function, and the expiry sweep, which every stack has.
    expect(putters).toEqual([
      [withBus.getLogicalId(withBus.functions.get("notices")!.role.node.defaultChild as CfnElement)],
      [withBus.getLogicalId(withBus.expirySweep.role.node.defaultChild as CfnElement)],
    ]);
    const noticesPolicy = Object.values(all).find(
      (r) =>
        r.Type === "AWS::IAM::Policy" &&
        (r.Properties.Roles as Array<{ Ref: string }>)[0]!.Ref === putters[0]![0],
    )!;
    const put = (noticesPolicy.Properties.PolicyDocument as { Statement: Statement[] }).Statement.filter(
      (s) => actions(s).includes("events:PutEvents"),
    );
    expect(put.map((s) => s.Resource)).toEqual([busArn]);
    const env = Object.values(all).find(
      (r) =>
        r.Type === "AWS::Lambda::Function" && JSON.stringify(r.Properties.Description).includes("notices"),
    )!.Properties.Environment as { Variables: Record<string, unknown> };
    expect(env.Variables.EVENT_BUS_NAME).toEqual({
      Ref: withBus.getLogicalId(withBus.eventBus!.node.defaultChild as CfnElement),
    });
    expect(new AwsSolutionsChecks().validateScope(withBus).violations).toEqual([]);
  });
});

describe("the partners' mutual-TLS domain", () => {
  const settings = {
    domainName: "partners.carkeys.example.com",
    certificateArn: "arn:aws:acm:eu-west-2:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789",
    truststoreUri: "s3://carkeys-partner-truststore/truststore.pem",
    truststoreVersion: "3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY",
  };
  const serverToServer = ROUTES.filter((r) => r.serverToServer);

  function build(id: string, mtlsDomain: typeof settings | undefined) {
    const dir = writeStubHandlers([...new Set(serverToServer.map((r) => r.functionName))]);
    stubDirs.push(dir);
    // Bundling is skipped here: only the wiring is under test.
    const bare = new App({ context: { ...cdkJson.context, "aws:cdk:bundling-stacks": [] } });
    return new CarKeysStack(bare, id, { functionsDir: dir, routes: serverToServer, mtlsDomain });
  }

  it("is absent by default: no custom domain, no mTLS requirement in the functions", () => {
    expect(Object.values(resources).filter((r) => r.Type.startsWith("AWS::ApiGatewayV2::Domain"))).toEqual(
      [],
    );
    for (const [, fn] of ofType("AWS::Lambda::Function")) {
      const env = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(env.SERVER_TO_SERVER_MTLS).toBeUndefined();
    }
  });

  it("maps the API's stage to the domain with TLS 1.2, the S3 truststore and its version; functions require mTLS", () => {
    const partner = build("Partner", settings);
    const t = Template.fromStack(partner);
    t.hasResourceProperties("AWS::ApiGatewayV2::DomainName", {
      DomainName: settings.domainName,
      DomainNameConfigurations: [
        { CertificateArn: settings.certificateArn, EndpointType: "REGIONAL", SecurityPolicy: "TLS_1_2" },
      ],
      MutualTlsAuthentication: {
        TruststoreUri: settings.truststoreUri,
        TruststoreVersion: settings.truststoreVersion,
      },
    });
    t.resourceCountIs("AWS::ApiGatewayV2::ApiMapping", 1);
    const all = t.toJSON().Resources as Record<string, Resource>;
    const routeFunctions = Object.values(all).filter(
      (r) => r.Type === "AWS::Lambda::Function" && String(r.Properties.Description).includes("/v1/"),
    );
    expect(routeFunctions.length).toBeGreaterThan(0);
    for (const fn of routeFunctions) {
      const env = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(env.SERVER_TO_SERVER_MTLS).toBe("required");
    }
    const outputs = t.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.PartnerApiUrl?.Value).toBe(`https://${settings.domainName}/`);
    expect(outputs.PartnerDomainTarget).toBeDefined();
    expect(new AwsSolutionsChecks().validateScope(partner).violations).toEqual([]);
  });

  it("refuses settings it cannot use, naming the setting", () => {
    expect(() => build("BadUri", { ...settings, truststoreUri: "https://bucket/truststore.pem" })).toThrow(
      MtlsDomainSettingsError,
    );
    expect(() => build("BadArn", { ...settings, certificateArn: "not-an-arn" })).toThrow(/certificate ARN/);
    expect(() => build("BadName", { ...settings, domainName: "Partners_Example" })).toThrow(/domain name/);
  });
});

describe("signed webhooks", () => {
  function build(id: string, webhookUrl: string | undefined) {
    const names = ["trust-anchors", "notices"];
    const dir = writeStubHandlers(names);
    stubDirs.push(dir);
    const bare = new App({ context: { ...cdkJson.context, "aws:cdk:bundling-stacks": [] } });
    return new CarKeysStack(bare, id, {
      functionsDir: dir,
      routes: ROUTES.filter((r) => names.includes(r.functionName)),
      webhookUrl,
    });
  }

  it("add a signing key of their own: publishers sign with it, trust-anchors only reads its public key", () => {
    const hooked = build("Hooked", "https://events.oem.example/carkeys");
    const t = Template.fromStack(hooked);
    const all = t.toJSON().Resources as Record<string, Resource>;
    const keyId = hooked.getLogicalId(hooked.webhookSigningKey!.key.node.defaultChild as CfnElement);
    expect(all[keyId]!.Properties).toMatchObject({ KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY" });
    const envOf = (name: string) =>
      (
        Object.values(all).find(
          (r) =>
            r.Type === "AWS::Lambda::Function" &&
            String(r.Properties.Description).includes(`Car Keys ${name}:`),
        )!.Properties.Environment as { Variables: Record<string, unknown> }
      ).Variables;
    const signerUri = { "Fn::Join": ["", ["awskms:", { "Fn::GetAtt": [keyId, "Arn"] }]] };
    expect(envOf("notices")).toMatchObject({
      WEBHOOK_URL: "https://events.oem.example/carkeys",
      WEBHOOK_SIGNER_URI: signerUri,
    });
    expect(envOf("trust-anchors").WEBHOOK_SIGNER_URI).toEqual(signerUri);
    expect(envOf("trust-anchors").WEBHOOK_URL).toBeUndefined();
    const statementsOf = (name: string) => {
      const roleId = hooked.getLogicalId(hooked.functions.get(name)!.role.node.defaultChild as CfnElement);
      return Object.values(all)
        .filter(
          (r) =>
            r.Type === "AWS::IAM::Policy" &&
            (r.Properties.Roles as Array<{ Ref: string }>).some((x) => x.Ref === roleId),
        )
        .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
    };
    // Statements may be merged (minimizePolicies): the key is one of the resources.
    const onKey = (s: Statement) =>
      asList(s.Resource).some((r) => JSON.stringify(r) === JSON.stringify({ "Fn::GetAtt": [keyId, "Arn"] }));
    expect([...new Set(statementsOf("notices").filter(onKey).flatMap(actions))].sort()).toEqual([
      "kms:GetPublicKey",
      "kms:Sign",
    ]);
    expect([...new Set(statementsOf("trust-anchors").filter(onKey).flatMap(actions))]).toEqual([
      "kms:GetPublicKey",
    ]);
    expect(new AwsSolutionsChecks().validateScope(hooked).violations).toEqual([]);
  });

  it("are absent by default, and refuse a URL that is not https", () => {
    expect(stack.webhookSigningKey).toBeUndefined();
    expect(() => build("Plain", "http://events.oem.example/carkeys")).toThrow(/must be https/);
  });
});

describe("key sharing settings", () => {
  function build(id: string, props: { friendKeySlots?: number; trustedDeviceOemRoots?: string }) {
    const names = ["trust-anchors", "key-tracking"];
    const dir = writeStubHandlers(names);
    stubDirs.push(dir);
    const bare = new App({ context: { ...cdkJson.context, "aws:cdk:bundling-stacks": [] } });
    return new CarKeysStack(bare, id, {
      functionsDir: dir,
      routes: ROUTES.filter((r) => names.includes(r.functionName)),
      ...props,
    });
  }
  const environments = (t: Template) =>
    Object.values(t.toJSON().Resources as Record<string, Resource>)
      .filter((r) => r.Type === "AWS::Lambda::Function" && r.Properties.Environment !== undefined)
      .map((fn) => (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables);

  it("default: 5 friend key slots in every function, no other phone maker's root", () => {
    const envs = environments(template);
    expect(envs.length).toBeGreaterThan(0);
    for (const env of envs) {
      expect(env.FRIEND_KEY_SLOTS).toBe("5");
      expect(env.TRUSTED_DEVICE_OEM_ROOTS).toBeUndefined();
    }
  });

  it("pass carkeys:friendKeySlots and carkeys:trustedDeviceOemRoots to the functions, within Lambda's 4 KB of environment", async () => {
    const makers = await Promise.all(["Maker B", "Maker C"].map((name) => EmulatedOem.create(name)));
    const bundle = makers.map((m) => m.trustAnchors.deviceOemRoot).join("\n");
    const configured = build("Sharing", { friendKeySlots: 7, trustedDeviceOemRoots: bundle });
    const t = Template.fromStack(configured);
    const envs = environments(t);
    expect(envs.length).toBe(4); // the two route functions, the root bootstrap and the expiry sweep
    for (const env of envs) {
      expect(env.FRIEND_KEY_SLOTS).toBe("7");
      const roots = parseDeviceOemRoots(String(env.TRUSTED_DEVICE_OEM_ROOTS), "TRUSTED_DEVICE_OEM_ROOTS");
      expect(roots.map((r) => r.organization)).toEqual(["Maker B", "Maker C"]);
      // Lambda's limit counts names and values; tokens (Refs) are short in the deployed form too.
      const size = Object.entries(env).reduce((sum, [k, v]) => sum + k.length + JSON.stringify(v).length, 0);
      expect(size).toBeLessThan(4096);
    }
    expect(new AwsSolutionsChecks().validateScope(configured).violations).toEqual([]);
  });

  it("refuse a slot count outside 1–100 and a bundle that is not Device OEM roots, naming the setting", async () => {
    for (const [index, slots] of [0, -1, 1.5, 101].entries()) {
      expect(() => build(`Slots${index}`, { friendKeySlots: slots })).toThrow(
        /carkeys:friendKeySlots must be an integer from 1 to 100/,
      );
    }
    const maker = await EmulatedOem.create("Maker D");
    expect(() => build("VehicleRoot", { trustedDeviceOemRoots: maker.trustAnchors.vehicleOemRoot })).toThrow(
      /carkeys:trustedDeviceOemRoots certificate 1 .* is not a Device OEM root certificate/,
    );
    expect(() => build("Garbage", { trustedDeviceOemRoots: "not a certificate" })).toThrow(
      /carkeys:trustedDeviceOemRoots must be PEM certificates/,
    );
  });

  it("read the context from cdk.json or -c: integers, inline PEM, a PEM file or a list", async () => {
    expect(friendKeySlotsSetting(undefined)).toBeUndefined();
    expect(friendKeySlotsSetting("8")).toBe(8);
    expect(friendKeySlotsSetting(3)).toBe(3);
    expect(() => friendKeySlotsSetting("five")).toThrow(/carkeys:friendKeySlots must be an integer/);
    const maker = await EmulatedOem.create("Maker E");
    const pem = maker.trustAnchors.deviceOemRoot;
    const dir = mkdtempSync(join(cacheDir, "carkeys-infra-roots-"));
    stubDirs.push(dir);
    const file = join(dir, "maker-e.pem");
    writeFileSync(file, pem);
    expect(trustedDeviceOemRootsSetting(undefined)).toBeUndefined();
    expect(trustedDeviceOemRootsSetting(pem)).toBe(pem);
    expect(trustedDeviceOemRootsSetting(file)).toBe(pem);
    const other = (await EmulatedOem.create("Maker F")).trustAnchors.deviceOemRoot;
    const listed = parseDeviceOemRoots(trustedDeviceOemRootsSetting([file, other])!, "the list");
    expect(listed.map((r) => r.organization)).toEqual(["Maker E", "Maker F"]);
    // The same root twice is a mistake in the configuration, not two makers.
    expect(() => parseDeviceOemRoots(trustedDeviceOemRootsSetting([file, pem])!, "the list")).toThrow(
      /twice/,
    );
    expect(() => trustedDeviceOemRootsSetting(join(dir, "missing.pem"))).toThrow(
      /carkeys:trustedDeviceOemRoots: cannot read/,
    );
  });
});
