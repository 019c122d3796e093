// The deployment secret behind device pseudonyms (src/service/device-pseudonyms.ts),
// chosen by a URI like the root signers: `awskms:<key id, ARN or alias>` is a
// KMS HMAC_256 key used with GenerateMac (HMAC_SHA_256), so the secret never
// leaves KMS; `file:<path>` is 32 random bytes in hex, created with mode 0600
// on first use (the local server keeps it under its data directory). Tests
// pass a SoftMacKey with bytes of their own.
import { createHmac, randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { GenerateMacCommand, KMSClient } from "@aws-sdk/client-kms";
import { fromHex, toHex } from "../../protocol/bytes.js";
import type { MacKey } from "../../service/device-pseudonyms.js";
import { ConfigurationError } from "../../service/errors.js";

export class SoftMacKey implements MacKey {
  private readonly secret: Uint8Array;

  constructor(secret: Uint8Array) {
    if (secret.length < 32) throw new ConfigurationError("a device pseudonym secret is at least 32 bytes");
    this.secret = new Uint8Array(secret);
  }

  async mac(message: Uint8Array): Promise<Uint8Array> {
    return new Uint8Array(createHmac("sha256", this.secret).update(message).digest());
  }
}

export class AwsKmsMacKey implements MacKey {
  constructor(
    private readonly keyId: string,
    private readonly client: KMSClient = new KMSClient({}),
  ) {}

  async mac(message: Uint8Array): Promise<Uint8Array> {
    const out = await this.client.send(
      new GenerateMacCommand({ KeyId: this.keyId, MacAlgorithm: "HMAC_SHA_256", Message: message }),
    );
    if (!(out.Mac instanceof Uint8Array) || out.Mac.length !== 32) {
      throw new ConfigurationError(`KMS key ${this.keyId} answered GenerateMac without a 32-byte HMAC`);
    }
    return out.Mac;
  }
}

/** Reads the secret file, creating it (mode 0600, in a 0700 directory) when it does not exist. */
export async function fileMacKey(path: string): Promise<SoftMacKey> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    text = `${toHex(randomBytes(32))}\n`;
    try {
      await writeFile(path, text, { mode: 0o600, flag: "wx" });
    } catch (raced) {
      // Another process created it first: use theirs.
      if ((raced as NodeJS.ErrnoException).code !== "EEXIST") throw raced;
      text = await readFile(path, "utf8");
    }
    await chmod(path, 0o600);
  }
  return new SoftMacKey(fromHex(text.trim(), `device pseudonym secret ${path}`));
}

/** `awskms:<key>` or `file:<path>`. */
export async function macKeyFromUri(uri: string, options: { kmsClient?: KMSClient } = {}): Promise<MacKey> {
  if (uri.startsWith("awskms:") && uri.length > 7) return new AwsKmsMacKey(uri.slice(7), options.kmsClient);
  if (uri.startsWith("file:") && uri.length > 5) return fileMacKey(uri.slice(5));
  throw new ConfigurationError("DEVICE_PSEUDONYM_KEY must be awskms:<key id or alias> or file:<path>");
}
