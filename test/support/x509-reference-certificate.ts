// The certificate @peculiar/x509 builds for the same inputs as issueCertificate:
// the issuer's encoding before it moved to src/protocol/der-writer.ts, kept
// here as the reference its output must equal byte for byte. It applies the
// profile the way issueCertificate did (the same extensions, in the same
// order, from x509's own extension classes) and signs through a WebCrypto
// shim whose subtle.sign asks the MessageSigner to sign the TBS, so with a
// deterministic signer equal TBS bytes give equal certificates.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { concatBytes, fromHex, toHex } from "../../src/protocol/bytes.js";
import {
  CARKEY_OID,
  type CertificateProfileName,
  encodeKeyRoleExtension,
  encodeVehicleIdentifierExtension,
  getCertificateProfile,
  type KeyRole,
  type SubjectAttribute,
  subjectKeyIdentifier,
} from "../../src/protocol/certificate-profiles.js";
import type { MessageSigner } from "../../src/protocol/signer.js";

const P256_SPKI_PREFIX = fromHex("3059301306072a8648ce3d020106082a8648ce3d030107034200");

export interface ReferenceCertificateParams {
  readonly profile: CertificateProfileName;
  readonly subjectPublicKey: Uint8Array;
  readonly subject: readonly SubjectAttribute[];
  /** DER Name of the issuer; omitted for a self-signed root. */
  readonly issuerName?: Uint8Array;
  /** The issuer's key (the subject's own for a root), for the authority key identifier. */
  readonly issuerPublicKey: Uint8Array;
  readonly serialNumberHex: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly vehicleIdentifier?: Uint8Array;
  readonly keyRole?: KeyRole;
  readonly signer: MessageSigner;
}

const owned = (bytes: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(bytes);

function shimCrypto(signer: MessageSigner): Crypto {
  return {
    subtle: {
      async sign(_algorithm: unknown, _key: unknown, data: BufferSource): Promise<ArrayBuffer> {
        const tbs = ArrayBuffer.isView(data)
          ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice()
          : new Uint8Array(data).slice();
        return (await signer.sign(tbs)).slice().buffer;
      },
    },
    getRandomValues: () => {
      throw new Error("the reference is given its serial number");
    },
  } as unknown as Crypto;
}

const SIGNING_KEY_HANDLE = {
  algorithm: { name: "ECDSA", namedCurve: "P-256" },
  type: "private",
  extractable: false,
  usages: ["sign"],
} as unknown as CryptoKey;

export async function referenceCertificate(
  params: ReferenceCertificateParams,
): Promise<{ der: Uint8Array; pem: string; serialNumber: string }> {
  const profile = getCertificateProfile(params.profile);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(profile.ca, profile.pathLength, true),
    new x509.KeyUsagesExtension(profile.keyUsage, true),
    new x509.SubjectKeyIdentifierExtension(toHex(subjectKeyIdentifier(params.subjectPublicKey)), false),
    new x509.AuthorityKeyIdentifierExtension(toHex(subjectKeyIdentifier(params.issuerPublicKey)), false),
    new x509.CertificatePolicyExtension([profile.policyOid], false),
  ];
  if (params.vehicleIdentifier !== undefined) {
    extensions.push(
      new x509.Extension(
        CARKEY_OID.vehicleIdentifier,
        false,
        owned(encodeVehicleIdentifierExtension(params.vehicleIdentifier)),
      ),
    );
  }
  if (params.keyRole !== undefined) {
    extensions.push(
      new x509.Extension(CARKEY_OID.keyRole, false, owned(encodeKeyRoleExtension(params.keyRole))),
    );
  }
  const subject = new x509.Name(
    params.subject.map((a) => ({ [a.oid]: [{ [a.type]: a.value }] })) as x509.JsonNameParams,
  );
  const certificate = await x509.X509CertificateGenerator.create(
    {
      serialNumber: params.serialNumberHex,
      subject,
      issuer: params.issuerName ? new x509.Name(owned(params.issuerName)) : subject,
      notBefore: params.notBefore,
      notAfter: params.notAfter,
      publicKey: owned(concatBytes(P256_SPKI_PREFIX, params.subjectPublicKey)),
      signingKey: SIGNING_KEY_HANDLE,
      signingAlgorithm: { name: "ECDSA", hash: "SHA-256" } as EcdsaParams,
      extensions,
    },
    shimCrypto(params.signer),
  );
  return {
    der: new Uint8Array(certificate.rawData),
    pem: certificate.toString("pem"),
    serialNumber: certificate.serialNumber.toLowerCase(),
  };
}
