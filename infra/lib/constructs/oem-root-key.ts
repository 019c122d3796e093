// An OEM root key: a KMS ECC_NIST_P256 SIGN_VERIFY key whose private half
// never leaves KMS (docs/architecture.md "Conventions": signers behind one interface). Its key policy leaves
// kms:Sign out of what the account delegates to IAM and names each signing
// role itself, so "only the issuing function may sign" holds at the key: an
// administrator with kms:* in IAM can manage the key, read its public key and
// verify, but cannot sign without first changing the key policy, which
// CloudTrail records. Deleting a root key would orphan every certificate it
// issued, so the key is retained when the stack goes.
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import { Construct } from "constructs";
import { KEY_ADMINISTRATION_ACTIONS } from "./key-administration.js";

export interface OemRootKeyProps {
  /** Shown in the KMS console: which root this is. */
  readonly description: string;
  /** `alias/…`, so people and tools can find the key without its id. */
  readonly alias: string;
}

/**
 * What the account's IAM policies may do with the key: everything an
 * administrator needs, and verification with the public key, but not Sign and
 * not CreateGrant (a grant would be a way around the key policy).
 */
const ADMIN_ACTIONS = [...KEY_ADMINISTRATION_ACTIONS, "kms:Verify"];

/** The only way this service signs (AwsKmsSigner): ECDSA over a SHA-256 digest computed by the caller. */
const SIGN_CONDITIONS = {
  StringEquals: { "kms:SigningAlgorithm": "ECDSA_SHA_256", "kms:MessageType": "DIGEST" },
};

export class OemRootKey extends Construct {
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: OemRootKeyProps) {
    super(scope, id);
    const policy = new iam.PolicyDocument({
      statements: [
        new iam.PolicyStatement({
          sid: "AccountAdministersButDoesNotSign",
          principals: [new iam.AccountRootPrincipal()],
          actions: ADMIN_ACTIONS,
          resources: ["*"],
        }),
      ],
    });
    this.key = new kms.Key(this, "Key", {
      description: props.description,
      keySpec: kms.KeySpec.ECC_NIST_P256,
      keyUsage: kms.KeyUsage.SIGN_VERIFY,
      // Automatic rotation does not exist for asymmetric keys; a new root is a new key and a new certificate.
      enableKeyRotation: false,
      policy,
      pendingWindow: Duration.days(30),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.key.addAlias(props.alias);
  }

  get keyArn(): string {
    return this.key.keyArn;
  }

  /** The signer URI the service's signerFromUri() understands. */
  get signerUri(): string {
    return `awskms:${this.key.keyArn}`;
  }

  /**
   * kms:Sign (ECDSA_SHA_256 over a digest only) and kms:GetPublicKey on this
   * key and nothing else. Sign is allowed twice over, in the key policy (which
   * is what lets it through, see above) and in the role's policy (so the
   * role's permissions read completely in IAM).
   */
  grantSign(grantee: iam.IGrantable): void {
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [grantee.grantPrincipal],
        actions: ["kms:Sign"],
        resources: ["*"],
        conditions: SIGN_CONDITIONS,
      }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["kms:Sign"],
        resources: [this.key.keyArn],
        conditions: SIGN_CONDITIONS,
      }),
    );
    this.grantPublicKey(grantee);
  }

  /** kms:GetPublicKey on this key: enough to check a stored root certificate against its key. */
  grantPublicKey(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ["kms:GetPublicKey"], resources: [this.key.keyArn] }),
    );
  }
}
