// The textual encoding of one certificate (RFC 7468 §5: a CERTIFICATE block,
// base64 of the DER in lines of 64 characters), both ways: the issuer writes
// it, the verifier and the SE's stored state read it.

import { malformed } from "./der-reader.js";

/** RFC 7468 §2 textual encoding: base64 in lines of 64 characters. */
export function certificatePem(der: Uint8Array): string {
  const base64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString("base64");
  const lines = ["-----BEGIN CERTIFICATE-----"];
  for (let i = 0; i < base64.length; i += 64) lines.push(base64.slice(i, i + 64));
  lines.push("-----END CERTIFICATE-----");
  return lines.join("\n");
}

/** The DER of a text that is exactly one CERTIFICATE block (surrounding white space allowed). */
export function certificatePemToDer(text: string): Uint8Array {
  const match = /^\s*-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END CERTIFICATE-----\s*$/.exec(
    text,
  );
  if (!match) throw malformed("not a single PEM CERTIFICATE block");
  return new Uint8Array(Buffer.from(match[1]!.replace(/[\r\n]/g, ""), "base64"));
}
