// A partner's PKI for mutual-TLS tests, made with @peculiar/x509 over node's
// WebCrypto: a CA (the truststore) and client certificates it issues, plus a
// CA nobody trusts, so a test can present a valid chain, a foreign one, or none.
import { webcrypto } from "node:crypto";
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

const crypto = webcrypto as unknown as Crypto;
const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
const DAY = 24 * 3600 * 1000;

export interface TestCa {
  readonly certPem: string;
  issueClient(subject: string): Promise<{ certPem: string; keyPem: string }>;
}

function serial(): string {
  return `1${Buffer.from(crypto.getRandomValues(new Uint8Array(15))).toString("hex")}`;
}

async function keyPair(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"])) as CryptoKeyPair;
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await crypto.subtle.exportKey("pkcs8", key), "PRIVATE KEY");
}

export async function createTestCa(name: string): Promise<TestCa> {
  const keys = await keyPair();
  const now = Date.now();
  const ca = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serial(),
      name,
      notBefore: new Date(now - DAY),
      notAfter: new Date(now + 30 * DAY),
      keys,
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return {
    certPem: ca.toString("pem"),
    async issueClient(subject) {
      const client = await keyPair();
      const cert = await x509.X509CertificateGenerator.create(
        {
          serialNumber: serial(),
          subject,
          issuer: ca.subject,
          notBefore: new Date(now - DAY),
          notAfter: new Date(now + 7 * DAY),
          publicKey: client.publicKey,
          signingKey: keys.privateKey,
          signingAlgorithm: ALGORITHM,
          extensions: [
            new x509.BasicConstraintsExtension(false, undefined, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
            new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
            await x509.AuthorityKeyIdentifierExtension.create(ca, false, crypto),
          ],
        },
        crypto,
      );
      return { certPem: cert.toString("pem"), keyPem: await privateKeyPem(client.privateKey) };
    },
  };
}
