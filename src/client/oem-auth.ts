// How an OEM backend authenticates its calls to the OEM routes. Two ways,
// one per kind of deployment:
//  - In AWS (and on an AWS emulator) the routes sit behind API Gateway's IAM
//    authorizer: each request is signed with AWS Signature Version 4
//    (service `execute-api`) using the AWS SDK's signer and credentials from
//    the SDK's default provider chain (environment, shared config and SSO
//    profiles, web identity, container and instance roles).
//  - The local server (`npm start`) stands in for IAM with a static bearer
//    token (`.data/oem-token`).
// A non-empty token means bearer; no token means SigV4. The SDK modules are
// loaded on first use, so a client that never signs never loads them.
import { createHash, createHmac, type Hash, type Hmac } from "node:crypto";
import { OemAuthError } from "./errors.js";

/** Provides AWS credentials, as the SDK's credential providers do. */
export type AwsCredentialsProvider = () => Promise<{
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
  readonly expiration?: Date | undefined;
}>;

export type OemAuth =
  /** `authorization: Bearer <token>`: the local server's OEM credential. */
  | { readonly kind: "bearer"; readonly token: string }
  /**
   * SigV4 for API Gateway's IAM authorizer. `credentials` default: the SDK's
   * default provider chain. `region` default: the region in an
   * `execute-api.<region>.amazonaws.com` URL, else AWS_REGION or AWS_DEFAULT_REGION.
   */
  | { readonly kind: "sigv4"; readonly credentials?: AwsCredentialsProvider; readonly region?: string };

/** A bearer token as given ("" or none: SigV4 with the default credentials), or an OemAuth as is. */
export function oemAuth(credential: string | OemAuth | undefined): OemAuth {
  if (credential === undefined || credential === "") return { kind: "sigv4" };
  if (typeof credential === "string") return { kind: "bearer", token: credential };
  return credential;
}

/** What a signed request was signed as, for error messages (never the secret). */
export interface OemSigning {
  readonly accessKeyId: string;
  readonly region: string;
}

/**
 * The headers that authenticate one OEM request: `authorization` (bearer or
 * SigV4) and, for SigV4, `x-amz-date` and any `x-amz-security-token`. The
 * signature covers method, host, path, query and the exact body bytes.
 */
export async function oemAuthHeaders(
  auth: OemAuth,
  request: { readonly method: string; readonly url: URL; readonly body: Uint8Array },
  /** The SigV4 service name: `execute-api` for the API, `lambda` for the Invoke API (lambda-invoke.ts). */
  service = "execute-api",
): Promise<{ headers: Record<string, string>; signing?: OemSigning }> {
  if (auth.kind === "bearer") return { headers: { authorization: `Bearer ${auth.token}` } };
  const region = auth.region ?? regionOf(request.url);
  const credentials = await resolveCredentials(auth.credentials ?? (await defaultCredentials()));
  const { SignatureV4 } = await import("@smithy/signature-v4");
  const signer = new SignatureV4({ service, region, credentials, sha256: NodeSha256 });
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of request.url.searchParams) {
    const existing = query[name];
    query[name] =
      existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  const signed = await signer.sign({
    method: request.method,
    protocol: request.url.protocol,
    hostname: request.url.hostname,
    ...(request.url.port ? { port: Number(request.url.port) } : {}),
    path: request.url.pathname,
    query,
    // Host is the one header API Gateway requires signed; fetch sends the same value.
    headers: { host: request.url.host },
    body: request.body,
  });
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(signed.headers as Record<string, string>)) {
    if (name.toLowerCase() !== "host") headers[name.toLowerCase()] = value;
  }
  return { headers, signing: { accessKeyId: credentials.accessKeyId, region } };
}

/** `execute-api.<region>.amazonaws.com` names its region; any other host takes the configured one. */
export function regionOf(url: URL): string {
  const fromHost = /\.execute-api\.([a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com(?:\.cn)?$/.exec(
    url.hostname,
  )?.[1];
  if (fromHost) return fromHost;
  const configured = process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION;
  if (configured) return configured;
  throw new OemAuthError(
    `no AWS region to sign OEM requests to ${url.host} with SigV4: set AWS_REGION to the API's region`,
  );
}

let defaultProviderMemo: AwsCredentialsProvider | undefined;

/** The SDK's default credential provider chain, created once per process (it caches what it finds). */
async function defaultCredentials(): Promise<AwsCredentialsProvider> {
  if (!defaultProviderMemo) {
    const { defaultProvider } = await import("@aws-sdk/credential-provider-node");
    defaultProviderMemo = defaultProvider();
  }
  return defaultProviderMemo;
}

async function resolveCredentials(provider: AwsCredentialsProvider) {
  try {
    return await provider();
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new OemAuthError(
      `no AWS credentials to sign OEM requests with SigV4 (${reason}): set AWS_PROFILE, or ` +
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run with a role; the local server takes its " +
        "OEM token instead",
      { cause },
    );
  }
}

/** SHA-256 and HMAC-SHA-256 from node:crypto in the shape the SDK's signer takes. */
class NodeSha256 {
  readonly #hash: Hash | Hmac;
  constructor(secret?: string | Uint8Array | ArrayBuffer | ArrayBufferView) {
    this.#hash = secret === undefined ? createHash("sha256") : createHmac("sha256", toBytes(secret));
  }
  update(data: string | Uint8Array | ArrayBuffer | ArrayBufferView): void {
    this.#hash.update(toBytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }
}

function toBytes(data: string | Uint8Array | ArrayBuffer | ArrayBufferView): Uint8Array | string {
  if (typeof data === "string") return data;
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}
