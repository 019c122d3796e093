// A second, emulated phone maker for local runs: its own Device OEM root and
// its own SE manufacturer, as software keys under `<dataDir>/keys/`
// (device-maker-b-root.json, device-maker-b-se-manufacturer.json, and the
// root certificate device-maker-b-root.pem). The local stack trusts its root
// as a configured Device OEM root (src/service/device-oem-roots.ts), exactly
// as a deployment is configured with a real maker's root certificate, so
// `carkey demo` can give a key to a phone the service did not certify and
// register it there. The service never reads these keys: only the root
// certificate reaches it. A test fixture, like the emulated SE manufacturer.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { equalBytes } from "../../protocol/bytes.js";
import { parseCertificate } from "../../protocol/certificate-verifier.js";
import { verifyFactoryAttestation } from "../../protocol/factory-attestation.js";
import { createRootUnderPolicy, issueCertificateUnderPolicy } from "../../protocol/issuance-policy.js";
import { SoftKeyStoreError } from "../kms/errors.js";
import { SoftSigner } from "../kms/soft-signer.js";

export const EMULATED_DEVICE_MAKER_NAME = "Emulated Device Maker B";
const ROOT_KEY = "device-maker-b-root";
const MANUFACTURER_KEY = "device-maker-b-se-manufacturer";
const ROOT_CERTIFICATE = "device-maker-b-root.pem";

export interface EmulatedDeviceMaker {
  readonly name: string;
  /** The maker's Device OEM root certificate (PEM): what a deployment is configured to trust. */
  readonly rootPem: string;
  readonly rootFile: string;
  /** The maker's SE manufacturer key (a JWK), for `factoryAttesterFromFile`. */
  readonly manufacturerKeyFile: string;
  /** What the maker's own server does for its SEs: certifies an instance CA its factory attested. */
  certifyInstanceCa(factoryAttestation: Uint8Array, now?: Date): Promise<string>;
}

/**
 * The maker under `keysDir`, made on first use unless `create` is false
 * (a client that must act as the maker a deployment already trusts).
 */
export async function openEmulatedDeviceMaker(
  keysDir: string,
  options: { create: boolean } = { create: true },
): Promise<EmulatedDeviceMaker> {
  const rootFile = join(keysDir, ROOT_CERTIFICATE);
  const existing = await readFile(rootFile, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  if (existing === undefined && !options.create) {
    throw new SoftKeyStoreError(
      `${rootFile} does not exist: no emulated second device maker was set up in ${keysDir}`,
    );
  }
  const root = await SoftSigner.open(keysDir, ROOT_KEY);
  const manufacturer = await SoftSigner.open(keysDir, MANUFACTURER_KEY);
  const rootPublicKey = await root.publicKey();
  let rootPem = existing;
  if (rootPem === undefined) {
    // The issuance policy every issuer follows (src/protocol/issuance-policy.ts), the service's own roots too.
    const issued = await createRootUnderPolicy({
      profile: "device-oem-root",
      signer: root,
      subject: { organization: EMULATED_DEVICE_MAKER_NAME },
      now: new Date(),
    });
    try {
      await writeFile(rootFile, issued.pem, { mode: 0o644, flag: "wx" });
      rootPem = issued.pem;
    } catch (error) {
      // Another start made it first: use theirs.
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      rootPem = await readFile(rootFile, "utf8");
    }
  }
  const parsed = parseCertificate(rootPem);
  if (parsed.profile !== "device-oem-root" || !equalBytes(parsed.subjectPublicKey, rootPublicKey)) {
    throw new SoftKeyStoreError(`${rootFile} is not the root certificate of ${root.path}`);
  }
  const manufacturerPublicKey = await manufacturer.publicKey();
  return {
    name: EMULATED_DEVICE_MAKER_NAME,
    rootPem,
    rootFile,
    manufacturerKeyFile: manufacturer.path,
    async certifyInstanceCa(factoryAttestation, at = new Date()) {
      const facts = verifyFactoryAttestation(factoryAttestation, manufacturerPublicKey);
      const issued = await issueCertificateUnderPolicy({
        profile: "instance-ca",
        subjectPublicKey: facts.instanceCaPublicKey,
        issuer: { signer: root, certificate: parsed },
        now: at,
      });
      return issued.pem;
    },
  };
}
