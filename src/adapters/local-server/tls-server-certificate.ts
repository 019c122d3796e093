// The local server's HTTPS identity for its mutual-TLS listener: a
// self-signed P-256 certificate for 127.0.0.1, ::1 and localhost, made on the
// first `npm start -- --mtls` and kept under `<dataDir>/tls/` (the key mode
// 0600), so a partner's client can pin it with `--cacert <dataDir>/tls/server-cert.pem`.
// Remade when it is within a day of expiring. In AWS the custom domain's
// certificate comes from ACM instead (infra/lib/constructs/mtls-domain.ts).
import { webcrypto, X509Certificate } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
// @peculiar/x509 (through tsyringe) needs the Reflect metadata polyfill loaded before it.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

export interface TlsIdentity {
  readonly certPem: string;
  readonly keyPem: string;
  /** Where the certificate is, for clients to trust. */
  readonly certFile: string;
}

const VALIDITY_MS = 365 * 24 * 3600 * 1000;
const RENEW_BEFORE_MS = 24 * 3600 * 1000;

/** `<tlsDir>/server-cert.pem` and `server-key.pem`, created or renewed as needed. */
export async function localServerTlsIdentity(tlsDir: string, now = new Date()): Promise<TlsIdentity> {
  const certFile = join(tlsDir, "server-cert.pem");
  const keyFile = join(tlsDir, "server-key.pem");
  try {
    const [certPem, keyPem] = await Promise.all([readFile(certFile, "utf8"), readFile(keyFile, "utf8")]);
    const notAfter = new Date(new X509Certificate(certPem).validTo).getTime();
    if (notAfter - now.getTime() > RENEW_BEFORE_MS) return { certPem, keyPem, certFile };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT" && !(error instanceof TypeError)) throw error;
  }
  await mkdir(tlsDir, { recursive: true, mode: 0o700 });
  const { certPem, keyPem } = await selfSignedCertificate("CN=Car Keys local server", now);
  await writeFile(keyFile, keyPem, { mode: 0o600 });
  await writeFile(certFile, certPem, { mode: 0o644 });
  return { certPem, keyPem, certFile };
}

async function selfSignedCertificate(
  subject: string,
  now: Date,
): Promise<{ certPem: string; keyPem: string }> {
  const crypto = webcrypto as unknown as Crypto;
  const algorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = (await crypto.subtle.generateKey(algorithm, true, ["sign", "verify"])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: Buffer.from(crypto.getRandomValues(new Uint8Array(16)))
        .toString("hex")
        .replace(/^[89a-f]/, "1"),
      name: subject,
      notBefore: new Date(now.getTime() - 60_000),
      notAfter: new Date(now.getTime() + VALIDITY_MS),
      keys,
      signingAlgorithm: algorithm,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([
          { type: "ip", value: "127.0.0.1" },
          { type: "ip", value: "::1" },
          { type: "dns", value: "localhost" },
        ]),
      ],
    },
    crypto,
  );
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
  return { certPem: cert.toString("pem"), keyPem: x509.PemConverter.encode(pkcs8, "PRIVATE KEY") };
}
