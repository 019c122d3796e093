// The signers a deployment's settings name: the two OEM roots and, with
// webhooks, the key that signs deliveries, with one KMS client shared by every
// key in KMS (made only when one is). Shared by the whole service's assembly
// and the functions that need only the roots.
import { KMSClient } from "@aws-sdk/client-kms";
import type { MessageSigner } from "../protocol/signer.js";
import type { Signer } from "../service/ports.js";
import { kmsClientConfig } from "./aws-client-settings.js";
import { signerFromUri } from "./kms/signer-from-uri.js";
import type { BaseServiceSettings } from "./service-settings.js";

export interface RootSigners {
  readonly signer: Signer;
  readonly webhookSigner: MessageSigner | undefined;
  /** The KMS client the signers share, for other keys of the same deployment (the pseudonym key). */
  readonly kms: { readonly kmsClient?: KMSClient };
}

/** `otherKeyUris`: further keys the caller will open with `kms`, so the KMS client is made for them too. */
export async function rootSigners(
  settings: BaseServiceSettings,
  otherKeyUris: readonly string[] = [],
): Promise<RootSigners> {
  const uris = [settings.deviceOemSignerUri, settings.vehicleOemSignerUri];
  const kmsClient = [...uris, ...otherKeyUris, settings.webhook?.signerUri ?? ""].some((uri) =>
    uri.startsWith("awskms:"),
  )
    ? new KMSClient(kmsClientConfig(settings.aws))
    : undefined;
  const kms = kmsClient ? { kmsClient } : {};
  const [device, vehicle] = await Promise.all(uris.map((uri) => signerFromUri(uri, kms)));
  const signer: Signer = { root: (profile) => (profile === "device-oem-root" ? device! : vehicle!) };
  const webhookSigner = settings.webhook ? await signerFromUri(settings.webhook.signerUri, kms) : undefined;
  return { signer, webhookSigner, kms };
}
