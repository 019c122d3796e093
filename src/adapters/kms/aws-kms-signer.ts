// MessageSigner over an AWS KMS ECC_NIST_P256 SIGN_VERIFY key: the OEM root keys
// never leave KMS. One `Sign` (ECDSA_SHA_256, MessageType DIGEST) per signature
// and nothing else, so cost and latency are one KMS call; KMS answers in DER,
// which we convert to the r‖s the protocol carries. The public key is fetched
// once and checked to be a P-256 point. Without an explicit endpoint the SDK's
// standard settings apply (AWS_ENDPOINT_URL_KMS, AWS_ENDPOINT_URL, the config
// file's endpoint_url), which is how local runs point it at the emulator.
import {
  GetPublicKeyCommand,
  type GetPublicKeyCommandOutput,
  KMSClient,
  SignCommand,
} from "@aws-sdk/client-kms";
import { equalBytes } from "../../protocol/bytes.js";
import { derToRawSignature } from "../../protocol/ecdsa-der.js";
import { ProtocolInputError } from "../../protocol/errors.js";
import { assertPublicKey, sha256Digest } from "../../protocol/p256.js";
import type { MessageSigner } from "../../protocol/signer.js";
import { KmsSignerError } from "./errors.js";

export interface AwsKmsSignerOptions {
  /** Key id, key ARN, alias name (`alias/…`) or alias ARN. */
  keyId: string;
  /** A shared client (one per Lambda container); else one is made from `endpoint`/`region` and the SDK defaults. */
  client?: KMSClient;
  endpoint?: string;
  region?: string;
}

/**
 * What KMS (or the SDK) said, as "Name: message (HTTP status)", for the
 * signer's own message, so the log names the refusal (AccessDeniedException,
 * KMSInvalidStateException, a throttle) rather than only that signing failed.
 * KMS error messages name the key and the caller, never key material or the
 * digest; the text is bounded all the same.
 */
export function kmsErrorSummary(error: unknown): string {
  if (!(error instanceof Error)) return String(error).slice(0, 300);
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const message = error.message.replace(/\s+/g, " ").trim().slice(0, 300);
  return `${error.name}: ${message || "(no message)"}${status === undefined ? "" : ` (HTTP ${status})`}`;
}

/** SubjectPublicKeyInfo header for id-ecPublicKey on prime256v1 with a 65-byte BIT STRING (RFC 5480 §2). */
const P256_SPKI_PREFIX = Uint8Array.from(
  Buffer.from("3059301306072a8648ce3d020106082a8648ce3d030107034200", "hex"),
);

/** The 65-byte uncompressed point inside a P-256 SPKI, as KMS GetPublicKey returns it. */
export function p256PointFromSpki(spki: Uint8Array): Uint8Array {
  const prefix = P256_SPKI_PREFIX.length;
  if (spki.length !== prefix + 65 || !equalBytes(spki.subarray(0, prefix), P256_SPKI_PREFIX)) {
    throw new KmsSignerError("public key is not an uncompressed P-256 SubjectPublicKeyInfo");
  }
  const point = spki.slice(prefix);
  try {
    return assertPublicKey(point, "KMS public key");
  } catch (cause) {
    throw new KmsSignerError("KMS public key is not a point on P-256", { cause });
  }
}

export class AwsKmsSigner implements MessageSigner {
  readonly keyId: string;
  private readonly client: KMSClient;
  private cachedPublicKey: Promise<Uint8Array> | undefined;

  constructor(options: AwsKmsSignerOptions) {
    if (typeof options.keyId !== "string" || options.keyId.trim() === "") {
      throw new KmsSignerError("keyId must be a non-empty KMS key id, ARN or alias");
    }
    if (options.client && (options.endpoint !== undefined || options.region !== undefined)) {
      throw new KmsSignerError("give either a client or endpoint/region, not both");
    }
    this.keyId = options.keyId;
    this.client =
      options.client ??
      new KMSClient({
        ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
        ...(options.region === undefined ? {} : { region: options.region }),
      });
  }

  publicKey(): Promise<Uint8Array> {
    if (!this.cachedPublicKey) {
      this.cachedPublicKey = this.fetchPublicKey();
      // A failed fetch is not cached: the next call tries again.
      this.cachedPublicKey.catch(() => {
        this.cachedPublicKey = undefined;
      });
    }
    return this.cachedPublicKey.then((key) => key.slice());
  }

  async sign(message: Uint8Array): Promise<Uint8Array> {
    if (!(message instanceof Uint8Array)) throw new ProtocolInputError("message must be bytes");
    // Hashed here: KMS takes at most 4096 bytes of message, and gets only the digest.
    const digest = sha256Digest(message);
    let signature: Uint8Array | undefined;
    try {
      const output = await this.client.send(
        new SignCommand({
          KeyId: this.keyId,
          Message: digest,
          MessageType: "DIGEST",
          SigningAlgorithm: "ECDSA_SHA_256",
        }),
      );
      signature = output.Signature;
    } catch (cause) {
      throw new KmsSignerError(`KMS Sign with key ${this.keyId} failed: ${kmsErrorSummary(cause)}`, {
        cause,
      });
    }
    if (!signature) throw new KmsSignerError(`KMS Sign with key ${this.keyId} returned no signature`);
    try {
      return derToRawSignature(signature, 32);
    } catch (cause) {
      throw new KmsSignerError(`KMS Sign with key ${this.keyId} returned a malformed signature`, { cause });
    }
  }

  private async fetchPublicKey(): Promise<Uint8Array> {
    let output: GetPublicKeyCommandOutput;
    try {
      output = await this.client.send(new GetPublicKeyCommand({ KeyId: this.keyId }));
    } catch (cause) {
      throw new KmsSignerError(`KMS GetPublicKey for key ${this.keyId} failed: ${kmsErrorSummary(cause)}`, {
        cause,
      });
    }
    if (output.KeySpec !== undefined && output.KeySpec !== "ECC_NIST_P256") {
      throw new KmsSignerError(`KMS key ${this.keyId} is ${output.KeySpec}, not ECC_NIST_P256`);
    }
    if (output.KeyUsage !== undefined && output.KeyUsage !== "SIGN_VERIFY") {
      throw new KmsSignerError(`KMS key ${this.keyId} has usage ${output.KeyUsage}, not SIGN_VERIFY`);
    }
    if (output.SigningAlgorithms && !output.SigningAlgorithms.includes("ECDSA_SHA_256")) {
      throw new KmsSignerError(`KMS key ${this.keyId} does not allow ECDSA_SHA_256`);
    }
    if (!output.PublicKey) throw new KmsSignerError(`KMS GetPublicKey for key ${this.keyId} returned no key`);
    return p256PointFromSpki(output.PublicKey);
  }
}
