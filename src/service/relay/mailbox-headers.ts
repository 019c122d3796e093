// The three TIGRESS request headers (draft-vinokurov-tigress-http-00 §5.1–§5.3),
// checked here and nowhere else. Choices where the draft is vague (its §5
// docs/relay.md "Choices where the draft is ambiguous" items 1 and 11):
// - Mailbox-Device-Claim is the credential: absent or not a UUID is 401.
//   It is compared case-insensitively and stored only as SHA-256 of its
//   lower-case form, so a leaked table grants no access to any mailbox.
// - Mailbox-Request-ID is required (400 when absent or not a UUID) where §6
//   lists it: Create, Update, Delete, Relinquish; optional on the reads.
// - Mailbox-Device-Attestation is "valid" when it is base64 (either
//   alphabet) of 1 to 4096 bytes; anything else is 401, as §6.1 says for a
//   bad attestation. It is never interpreted: the relay has no OEM trust
//   roots for it, so it is stored opaque for the OEM to check if it wants.
import { createHash } from "node:crypto";
import { BASE64_PATTERN, MAX_ATTESTATION_BYTES, UUID_PATTERN } from "../../api/relay-schemas.js";
import { AuthenticationError, ValidationError } from "../errors.js";

export const HEADER = {
  claim: "mailbox-device-claim",
  requestId: "mailbox-request-id",
  attestation: "mailbox-device-attestation",
} as const;

/** The claim a request authenticates with, as the relay stores and compares it. */
export interface DeviceClaim {
  /** SHA-256 of the lower-case UUID, hex. */
  readonly digest: string;
}

export function claimDigest(claim: string): string {
  return createHash("sha256").update(claim.toLowerCase(), "utf8").digest("hex");
}

export function requireClaim(value: string | undefined): DeviceClaim {
  if (value === undefined || value.trim() === "") {
    throw new AuthenticationError("the Mailbox-Device-Claim header is required: a UUID your device made");
  }
  const claim = value.trim();
  if (!UUID_PATTERN.test(claim)) throw new AuthenticationError("Mailbox-Device-Claim must be a UUID");
  return { digest: claimDigest(claim) };
}

/** The request id, lower case; `required` where §6 lists the header. */
export function requestIdHeader(value: string | undefined, required: true): string;
export function requestIdHeader(value: string | undefined, required: false): string | undefined;
export function requestIdHeader(value: string | undefined, required: boolean): string | undefined {
  if (value === undefined || value.trim() === "") {
    if (!required) return undefined;
    throw new ValidationError("the Mailbox-Request-ID header is required: a new UUID per request", [
      { path: `headers.${HEADER.requestId}`, message: "required" },
    ]);
  }
  const id = value.trim();
  if (!UUID_PATTERN.test(id)) {
    throw new ValidationError("Mailbox-Request-ID must be a UUID", [
      { path: `headers.${HEADER.requestId}`, message: "must be a UUID" },
    ]);
  }
  return id.toLowerCase();
}

export function attestationHeader(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  const bytes = text.length % 4 === 1 || !BASE64_PATTERN.test(text) ? 0 : base64DecodedLength(text);
  if (bytes < 1 || bytes > MAX_ATTESTATION_BYTES) {
    throw new AuthenticationError(
      `Mailbox-Device-Attestation must be base64 of 1 to ${MAX_ATTESTATION_BYTES} bytes`,
    );
  }
  return text;
}

/** Bytes that base64 text (already matched against BASE64_PATTERN) decodes to. */
export function base64DecodedLength(text: string): number {
  const unpadded = text.replace(/=+$/, "").length;
  return Math.floor((unpadded * 3) / 4);
}
