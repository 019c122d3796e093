// Device request signatures: how a device authenticates to the cloud service
// with a key in its secure element instead of a bearer secret (docs/protocol.md
// "Signed service requests"). The SE signs a canonical string over method,
// path (with query), SHA-256 of the body, timestamp, nonce and the signer's
// name; the service checks the signature, the timestamp window and that the
// nonce is new (a conditional write with a TTL). The fixed prefix keeps these
// signatures from ever being valid as any other statement the key signs.
import { toHex, utf8 } from "./bytes.js";
import { ProtocolInputError } from "./errors.js";
import { sha256Digest } from "./p256.js";

export const REQUEST_SIGNATURE_PREFIX = "CARKEY-REQUEST-V1";

export const REQUEST_HEADERS = {
  signer: "carkey-signer",
  timestamp: "carkey-timestamp",
  nonce: "carkey-nonce",
  signature: "carkey-signature",
} as const;

/** `instance:<seId hex>` (the SE's instance CA key) or `endpoint:<keyId hex>` (a car key's endpoint key). */
export type RequestSigner = `instance:${string}` | `endpoint:${string}`;

export interface SignedRequestParts {
  readonly method: string;
  /** Path and query exactly as sent, e.g. `/v1/keys?x=1`. */
  readonly path: string;
  readonly body: Uint8Array;
  /** Unix milliseconds. */
  readonly timestamp: number;
  /** 16 random bytes, hex. */
  readonly nonce: string;
  readonly signer: RequestSigner;
}

export function parseRequestSigner(value: string): { kind: "instance" | "endpoint"; id: string } {
  const match = /^(instance|endpoint):([0-9a-f]{12}|[0-9a-f]{32})$/.exec(value);
  if (
    !match ||
    (match[1] === "instance" && match[2]!.length !== 32) ||
    (match[1] === "endpoint" && match[2]!.length !== 12)
  ) {
    throw new ProtocolInputError("carkey-signer must be instance:<32 hex> or endpoint:<12 hex>");
  }
  return { kind: match[1] as "instance" | "endpoint", id: match[2]! };
}

/** The exact bytes the SE signs (ECDSA-P256-SHA256, raw r‖s). */
export function canonicalRequest(parts: SignedRequestParts): Uint8Array {
  if (!/^[A-Z]+$/.test(parts.method))
    throw new ProtocolInputError("method must be an upper-case HTTP method");
  if (!parts.path.startsWith("/") || /[\s]/.test(parts.path))
    throw new ProtocolInputError("path must start with / and hold no spaces");
  if (!Number.isSafeInteger(parts.timestamp) || parts.timestamp < 0)
    throw new ProtocolInputError("timestamp must be unix ms");
  if (!/^[0-9a-f]{32}$/.test(parts.nonce))
    throw new ProtocolInputError("nonce must be 16 bytes of lowercase hex");
  parseRequestSigner(parts.signer);
  return utf8(
    [
      REQUEST_SIGNATURE_PREFIX,
      parts.method,
      parts.path,
      toHex(sha256Digest(parts.body)),
      String(parts.timestamp),
      parts.nonce,
      parts.signer,
    ].join("\n"),
  );
}
