// The building blocks of the API's schemas (zod 4, its zod/mini form): identifiers, hex, points,
// certificates, instants. Schemas validate shape only (hex lengths, PEM
// framing, integer ranges) and stay transform-free so that z.toJSONSchema
// renders them; the service checks meaning (points on the curve, signatures,
// chains). Binary values are lower-case hex, as everywhere in this project;
// certificates are PEM. zod/mini rather than classic zod because classic
// zod's method chains keep the whole library in every Lambda bundle
// (docs/toolchain.md "Lambda bundles").
import * as z from "zod/mini";

/** Exactly `bytes` bytes of lower-case hex. */
export const hexBytes = (bytes: number, what: string) =>
  z
    .string()
    .check(
      z.regex(new RegExp(`^[0-9a-f]{${2 * bytes}}$`), `must be ${bytes} bytes of lower-case hex`),
      z.meta({ description: what }),
    );

/** 1 to `maxBytes` bytes of lower-case hex. */
export const hexUpTo = (maxBytes: number, what: string) =>
  z
    .string()
    .check(
      z.regex(
        new RegExp(`^(?:[0-9a-f]{2}){1,${maxBytes}}$`),
        `must be 1 to ${maxBytes} bytes of lower-case hex`,
      ),
      z.meta({ description: what }),
    );

export const PublicKeyHex = z
  .string()
  .check(
    z.regex(/^04[0-9a-f]{128}$/, "must be a 65-byte uncompressed P-256 point in lower-case hex (04‖x‖y)"),
    z.meta({ description: "P-256 public key, uncompressed SEC1 (65 bytes), lower-case hex" }),
  );

export const VehicleIdSchema = z.string().check(
  z.regex(/^(?:[0-9a-f]{2}){8,32}$/, "must be 8 to 32 bytes of lower-case hex"),
  z.meta({
    description: "Vehicle identifier (tag 4D, docs/transaction.md): 8 to 32 bytes, lower-case hex",
  }),
);

export const KeyIdSchema = hexBytes(6, "Key identifier (tag 4E): 6 bytes, lower-case hex");
export const SeIdSchema = hexBytes(16, "Secure element identifier: 16 bytes, lower-case hex");

export const CertificatePem = z
  .string()
  .check(
    z.maxLength(8192, "must be at most 8192 characters"),
    z.regex(
      /^-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\r?\n?$/,
      "must be one PEM CERTIFICATE block",
    ),
    z.meta({ description: "X.509 certificate, PEM" }),
  );

export const Instant = z.iso.datetime().check(z.meta({ description: "RFC 3339 instant, UTC" }));

export const Counter = z.number().check(z.int(), z.minimum(0));

export const VehicleIdParamsSchema = z.strictObject({ vehicleId: VehicleIdSchema });
export const KeyIdParamsSchema = z.strictObject({ keyId: KeyIdSchema });
export const SeIdParamsSchema = z.strictObject({ seId: SeIdSchema });
