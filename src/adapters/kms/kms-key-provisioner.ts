// Makes sure an ECC_NIST_P256 SIGN_VERIFY key exists behind an alias, for local
// runs against the KMS emulator and for tests (in AWS the stack owns the key).
// Idempotent by looking the alias up first; when two callers race, the loser's
// CreateAlias fails with AlreadyExists, it schedules its own fresh key for
// deletion and returns the winner's, so an alias always names exactly one key.
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  type KeyMetadata,
  type KMSClient,
  ScheduleKeyDeletionCommand,
} from "@aws-sdk/client-kms";
import { KmsKeyProvisioningError } from "./errors.js";

export interface ProvisionSigningKeyOptions {
  /** Stored as the key's description when it is created. */
  description?: string;
}

/** Returns the key id behind `alias` (`alias/…`), creating the key and the alias if absent. */
export async function provisionSigningKey(
  client: KMSClient,
  alias: string,
  options: ProvisionSigningKeyOptions = {},
): Promise<string> {
  if (
    typeof alias !== "string" ||
    !/^alias\/[a-zA-Z0-9/_-]{1,250}$/.test(alias) ||
    alias.startsWith("alias/aws/")
  ) {
    throw new KmsKeyProvisioningError("alias must be alias/<name> ([a-zA-Z0-9/_-], not alias/aws/…)");
  }
  const existing = await describe(client, alias);
  if (existing) return checkedKeyId(existing, alias);

  const created = await client.send(
    new CreateKeyCommand({
      KeySpec: "ECC_NIST_P256",
      KeyUsage: "SIGN_VERIFY",
      Description: options.description ?? `Car Keys signing key ${alias}`,
    }),
  );
  const keyId = created.KeyMetadata?.KeyId;
  if (!keyId) throw new KmsKeyProvisioningError("KMS CreateKey returned no key id");
  try {
    await client.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: keyId }));
    return keyId;
  } catch (error) {
    if ((error as { name?: string }).name !== "AlreadyExistsException") throw error;
    await client
      .send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }))
      .catch(() => {});
    const winner = await describe(client, alias);
    if (!winner) throw new KmsKeyProvisioningError(`alias ${alias} exists but DescribeKey cannot find it`);
    return checkedKeyId(winner, alias);
  }
}

async function describe(client: KMSClient, alias: string): Promise<KeyMetadata | undefined> {
  try {
    return (await client.send(new DescribeKeyCommand({ KeyId: alias }))).KeyMetadata;
  } catch (error) {
    if ((error as { name?: string }).name === "NotFoundException") return undefined;
    throw error;
  }
}

function checkedKeyId(metadata: KeyMetadata, alias: string): string {
  const spec = metadata.KeySpec ?? metadata.CustomerMasterKeySpec;
  if (spec !== "ECC_NIST_P256" || metadata.KeyUsage !== "SIGN_VERIFY") {
    throw new KmsKeyProvisioningError(
      `${alias} names a ${spec} ${metadata.KeyUsage} key, not ECC_NIST_P256 SIGN_VERIFY`,
    );
  }
  if (metadata.KeyState !== undefined && metadata.KeyState !== "Enabled") {
    throw new KmsKeyProvisioningError(`${alias} names a key in state ${metadata.KeyState}`);
  }
  if (!metadata.KeyId) throw new KmsKeyProvisioningError(`DescribeKey for ${alias} returned no key id`);
  return metadata.KeyId;
}
