// Chooses the MessageSigner from configuration, smallstep kms/apiv1 style:
// `awskms:<key id | key ARN | alias/name | alias ARN>` in AWS, and
// `softkms:<directory>#<key name>` on a laptop. The schemes are an explicit map
// in this file, not plug-ins that register themselves, so every way a root key
// can be held is visible here.
import type { KMSClient } from "@aws-sdk/client-kms";
import type { MessageSigner } from "../../protocol/signer.js";
import { AwsKmsSigner } from "./aws-kms-signer.js";
import { SignerUriError } from "./errors.js";
import { SoftSigner } from "./soft-signer.js";

export interface SignerFromUriOptions {
  /** Client for `awskms:` (share one per process); otherwise made from the SDK's standard settings. */
  kmsClient?: KMSClient;
}

type SignerFactory = (rest: string, options: SignerFromUriOptions) => Promise<MessageSigner>;

const factories: Readonly<Record<string, SignerFactory>> = {
  awskms: async (keyId, { kmsClient }) => {
    if (keyId === "" || /\s/.test(keyId)) throw new SignerUriError("awskms: needs a key id, ARN or alias");
    return new AwsKmsSigner(kmsClient ? { keyId, client: kmsClient } : { keyId });
  },
  softkms: async (rest) => {
    // The last '#' splits, so a directory may itself contain one.
    const hash = rest.lastIndexOf("#");
    const directory = hash < 0 ? "" : rest.slice(0, hash);
    const keyName = hash < 0 ? "" : rest.slice(hash + 1);
    if (directory === "" || keyName === "") {
      throw new SignerUriError("softkms: must be softkms:<directory>#<key name>");
    }
    return SoftSigner.open(directory, keyName);
  },
};

export const signerSchemes: readonly string[] = Object.keys(factories);

export async function signerFromUri(uri: string, options: SignerFromUriOptions = {}): Promise<MessageSigner> {
  if (typeof uri !== "string") throw new SignerUriError("signer URI must be a string");
  const colon = uri.indexOf(":");
  const scheme = colon < 0 ? "" : uri.slice(0, colon);
  const factory = Object.hasOwn(factories, scheme) ? factories[scheme] : undefined;
  if (!factory) {
    throw new SignerUriError(`unknown signer URI scheme "${scheme}": use one of ${signerSchemes.join(", ")}`);
  }
  return factory(uri.slice(colon + 1), options);
}
