// The deployment secret behind device pseudonyms (src/service/device-pseudonyms.ts):
// a KMS HMAC_256 key used only with GenerateMac (HMAC_SHA_256), so the secret
// never leaves KMS. Like the OEM roots, its key policy leaves GenerateMac out
// of what the account delegates to IAM and names each function that may
// compute pseudonyms, so an administrator can manage the key but cannot
// compute a device's reference (and so find its keys) without changing the
// policy, which CloudTrail records. Losing the key would orphan every stored
// reference and seal: it is retained when the stack goes.
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import { Construct } from "constructs";
import { KEY_ADMINISTRATION_ACTIONS } from "./key-administration.js";

const MAC_CONDITIONS = { StringEquals: { "kms:MacAlgorithm": "HMAC_SHA_256" } };

export class DevicePseudonymKey extends Construct {
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: { alias: string }) {
    super(scope, id);
    this.key = new kms.Key(this, "Key", {
      description:
        "Car Keys device pseudonyms: HMAC of secure-element ids (lost mode's index, per-key seals)",
      keySpec: kms.KeySpec.HMAC_256,
      keyUsage: kms.KeyUsage.GENERATE_VERIFY_MAC,
      // KMS does not rotate HMAC keys; a new key would need every stored reference recomputed.
      enableKeyRotation: false,
      policy: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({
            sid: "AccountAdministersButComputesNoPseudonym",
            principals: [new iam.AccountRootPrincipal()],
            actions: [...KEY_ADMINISTRATION_ACTIONS],
            resources: ["*"],
          }),
        ],
      }),
      pendingWindow: Duration.days(30),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.key.addAlias(props.alias);
  }

  /** The URI the service's macKeyFromUri() understands (DEVICE_PSEUDONYM_KEY). */
  get uri(): string {
    return `awskms:${this.key.keyArn}`;
  }

  /** kms:GenerateMac (HMAC_SHA_256) on this key, in the key policy and in the role's. */
  grantGenerateMac(grantee: iam.IGrantable): void {
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [grantee.grantPrincipal],
        actions: ["kms:GenerateMac"],
        resources: ["*"],
        conditions: MAC_CONDITIONS,
      }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["kms:GenerateMac"],
        resources: [this.key.keyArn],
        conditions: MAC_CONDITIONS,
      }),
    );
  }
}
