// The CDK app (`npx cdk synth`, `npx cdk deploy`): one CarKeysStack, checked
// by cdk-nag's AwsSolutions pack through CDK's policy-validation plugins, so a
// finding that nobody acknowledged in code (with its reason) fails the synth.
// Settings come from CDK context (cdk.json or `-c key=value`), because they
// shape the template; the SE manufacturer key is a deploy-time parameter.
import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { CarKeysStack, DEFAULT_DEVICE_OEM_NAME, DEFAULT_VEHICLE_OEM_NAME } from "../lib/car-keys-stack.js";
import { friendKeySlotsSetting, trustedDeviceOemRootsSetting } from "../lib/sharing-settings.js";

const app = new App();

function context(key: string): string | undefined {
  const value: unknown = app.node.tryGetContext(key);
  return value === undefined || value === null || value === "" ? undefined : String(value);
}

new CarKeysStack(app, context("carkeys:stackName") ?? "CarKeys", {
  description: "Car Keys: OEM root keys in KMS, certificate issuance and key tracking over an HTTP API",
  logLevel: context("carkeys:logLevel") ?? "INFO",
  sourceMapsAtRuntime: context("carkeys:sourceMapsAtRuntime") !== "false",
  alarmTopicArn: context("carkeys:alarmTopicArn"),
  deviceOemName: context("carkeys:deviceOemName") ?? DEFAULT_DEVICE_OEM_NAME,
  vehicleOemName: context("carkeys:vehicleOemName") ?? DEFAULT_VEHICLE_OEM_NAME,
  deviceOemCountry: context("carkeys:deviceOemCountry"),
  vehicleOemCountry: context("carkeys:vehicleOemCountry"),
  relayLinkBaseUrl: context("carkeys:relayLinkBaseUrl"),
  mtlsDomain: mtlsDomain(),
  webhookUrl: context("carkeys:webhookUrl"),
  refusalAlarmThreshold:
    context("carkeys:refusalAlarmThreshold") === undefined
      ? undefined
      : Number(context("carkeys:refusalAlarmThreshold")),
  trustedDeviceOemRoots: trustedDeviceOemRootsSetting(
    app.node.tryGetContext("carkeys:trustedDeviceOemRoots"),
  ),
  friendKeySlots: friendKeySlotsSetting(app.node.tryGetContext("carkeys:friendKeySlots")),
});

/** carkeys:mtlsDomainName, carkeys:mtlsCertificateArn, carkeys:mtlsTruststoreUri: all three or none. */
function mtlsDomain() {
  const domainName = context("carkeys:mtlsDomainName");
  const certificateArn = context("carkeys:mtlsCertificateArn");
  const truststoreUri = context("carkeys:mtlsTruststoreUri");
  const given = [domainName, certificateArn, truststoreUri].filter((v) => v !== undefined).length;
  if (given === 0) return undefined;
  if (given < 3) {
    throw new Error(
      "the partner mTLS domain needs all of carkeys:mtlsDomainName, carkeys:mtlsCertificateArn and " +
        "carkeys:mtlsTruststoreUri",
    );
  }
  return {
    domainName: domainName!,
    certificateArn: certificateArn!,
    truststoreUri: truststoreUri!,
    truststoreVersion: context("carkeys:mtlsTruststoreVersion"),
  };
}

Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
