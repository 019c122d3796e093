// The headers of a signed device request (src/protocol/request-signature.ts),
// which every `device` route requires; the service checks them
// (src/service/device-request-auth.ts), the OpenAPI document describes them
// as security schemes.
import * as z from "zod/mini";

export const DeviceRequestHeadersSchema = z.strictObject({
  "carkey-signer": z
    .string()
    .check(
      z.regex(/^(instance:[0-9a-f]{32}|endpoint:[0-9a-f]{12})$/),
      z.meta({ description: "instance:<seId> or endpoint:<keyId>" }),
    ),
  "carkey-timestamp": z
    .string()
    .check(
      z.regex(/^[0-9]{1,16}$/),
      z.meta({ description: "Unix milliseconds; within 5 minutes of the service's clock" }),
    ),
  "carkey-nonce": z
    .string()
    .check(z.regex(/^[0-9a-f]{32}$/), z.meta({ description: "16 random bytes, hex; used once" })),
  "carkey-signature": z
    .string()
    .check(
      z.regex(/^[0-9a-f]{128}$/),
      z.meta({ description: "ECDSA P-256 r‖s over canonicalRequest(), hex" }),
    ),
});
