// The device request signature as the OpenAPI document describes it: one
// security scheme (the signature header) whose description says exactly how
// to compute it, and the three headers that go with it as parameters of every
// `device` operation, typed by the schema the service checks them with
// (src/api/device-request-headers.ts). The canonical string is the one of
// src/protocol/request-signature.ts; the server's check is
// src/service/device-request-auth.ts.
import * as z from "zod/mini";
import { REQUEST_HEADERS, REQUEST_SIGNATURE_PREFIX } from "../../protocol/request-signature.js";
import { DeviceRequestHeadersSchema } from "../device-request-headers.js";

export const DEVICE_SIGNATURE_SCHEME = "deviceSignature";

const windowMinutes = 5;

export const DEVICE_SIGNATURE_SECURITY_SCHEME = {
  type: "apiKey",
  in: "header",
  name: REQUEST_HEADERS.signature,
  description: [
    "A request signed by a key in the device's secure element; a device holds no bearer secret. Four headers " +
      "go together (the other three are listed as parameters of each device operation):",
    "",
    `- \`${REQUEST_HEADERS.signer}\`: who signs. \`instance:<seId>\` (32 lower-case hex digits) is the ` +
      "secure element's instance CA key: enrollment (`POST /v1/devices`) and its notices. " +
      "`endpoint:<keyId>` (12 lower-case hex digits) is a car key's endpoint key: key registration, an " +
      "owner's revocation, a termination.",
    `- \`${REQUEST_HEADERS.timestamp}\`: Unix time in milliseconds, decimal; refused more than ${windowMinutes} ` +
      "minutes from the service's clock.",
    `- \`${REQUEST_HEADERS.nonce}\`: 16 random bytes as 32 lower-case hex digits, new for every request; the ` +
      "service records it and refuses a repeat (401, `urn:carkeys:problem:replay`).",
    `- \`${REQUEST_HEADERS.signature}\`: ECDSA on P-256 with SHA-256 over the canonical string, the raw ` +
      "signature r‖s (32 + 32 bytes) as 128 lower-case hex digits.",
    "",
    "The canonical string is these seven lines joined by LF (0x0A), without a trailing LF, encoded as UTF-8:",
    "",
    "```",
    REQUEST_SIGNATURE_PREFIX,
    "<method, upper case>",
    "<path and query exactly as sent, e.g. /v1/devices/<seId>/notices?after=0>",
    "<SHA-256 of the exact body bytes, lower-case hex; of zero bytes when there is no body>",
    `<${REQUEST_HEADERS.timestamp}>`,
    `<${REQUEST_HEADERS.nonce}>`,
    `<${REQUEST_HEADERS.signer}>`,
    "```",
    "",
    "The service verifies with the signer's public key: for `POST /v1/devices` the instance CA key in the " +
      "body (the signature proves possession of it), otherwise the key on record for the signer (401 when " +
      "there is none). Sign the body bytes you send, not a re-serialization of them. The prefix keeps these " +
      "signatures from being valid as any other statement the key signs. In this repository: " +
      "`canonicalRequest` in src/protocol/request-signature.ts, the client's signer in " +
      "src/client/signed-fetch.ts, the service's check in src/service/device-request-auth.ts, and " +
      'docs/protocol.md "Signed service requests".',
  ].join("\n"),
} as const;

/** carkey-signer, carkey-timestamp and carkey-nonce as required header parameters. */
export function deviceSignatureParameters(): Record<string, unknown>[] {
  const shape = DeviceRequestHeadersSchema.shape as Record<string, z.ZodMiniType>;
  return [REQUEST_HEADERS.signer, REQUEST_HEADERS.timestamp, REQUEST_HEADERS.nonce].map((name) => {
    const { description, ...schema } = z.toJSONSchema(shape[name]!, { target: "draft-2020-12" }) as Record<
      string,
      unknown
    >;
    delete schema.$schema;
    return {
      name,
      in: "header",
      required: true,
      description: `${String(description)} (part of the device signature: see the ${DEVICE_SIGNATURE_SCHEME} security scheme)`,
      schema,
    };
  });
}
