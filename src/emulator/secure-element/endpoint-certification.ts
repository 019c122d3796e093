// The SE's PKI role: the certificates it holds (its instance CA certificate
// from the Device OEM and the roots it trusts), the checks it makes with them
// (a vehicle's certificate, the Device OEM roots it shares with), and the
// endpoint certificates its instance CA key signs inside the SE for each key
// it creates, under the issuance policy every issuer follows
// (src/protocol/issuance-policy.ts: backdated, the profile's cap, inside the
// instance CA's validity, the instance CA's O).
import { equalBytes } from "../../protocol/bytes.js";
import type { KeyRole } from "../../protocol/certificate-profiles.js";
import { parseCertificate, verifyCertificateChain } from "../../protocol/certificate-verifier.js";
import { issueCertificateUnderPolicy } from "../../protocol/issuance-policy.js";
import type { RandomSource } from "../../protocol/p256.js";
import { SecureElementError } from "./errors.js";
import type { HeldKey, SeCertificates, SeModel } from "./se-model.js";

export class EndpointCertification {
  constructor(
    private readonly model: SeModel,
    private readonly random: RandomSource,
    private readonly now: () => number,
  ) {}

  /**
   * Installs the instance CA certificate the Device OEM issued, with the trust
   * anchors the wallet uses: it must certify this SE's own instance CA key.
   */
  install(certificates: SeCertificates): void {
    const chain = verifyCertificateChain({
      leaf: certificates.instanceCaCertificate,
      anchors: [certificates.deviceOemRoot],
      expectedLeafProfile: "instance-ca",
      at: new Date(this.now()),
    });
    if (!equalBytes(chain.publicKey, this.model.instanceCa.publicKey)) {
      throw new SecureElementError("the instance CA certificate certifies another key");
    }
    parseCertificate(certificates.vehicleOemRoot);
    for (const root of certificates.trustedDeviceOemRoots ?? []) {
      if (parseCertificate(root).profile !== "device-oem-root")
        throw new SecureElementError("a trusted Device OEM root is not a Device OEM root certificate");
    }
    this.model.certificates = {
      ...certificates,
      ...(certificates.trustedDeviceOemRoots
        ? { trustedDeviceOemRoots: [...certificates.trustedDeviceOemRoots] }
        : {}),
    };
  }

  require(): SeCertificates {
    if (!this.model.certificates)
      throw new SecureElementError("this SE has no instance CA certificate yet (enroll it first)");
    return this.model.certificates;
  }

  /** Every Device OEM root whose devices this SE shares keys with: its own first, then the trusted ones. */
  sharingAnchors(): string[] {
    const certificates = this.require();
    return [certificates.deviceOemRoot, ...(certificates.trustedDeviceOemRoots ?? [])];
  }

  /** Checks a vehicle's certificate against the Vehicle OEM root and that it names `vehicleIdentifier`. */
  verifyVehicle(vehicleIdentifier: Uint8Array, certificate: string | Uint8Array) {
    const vehicle = verifyCertificateChain({
      leaf: certificate,
      anchors: [this.require().vehicleOemRoot],
      expectedLeafProfile: "vehicle",
      at: new Date(this.now()),
    });
    if (!vehicle.vehicleIdentifier || !equalBytes(vehicle.vehicleIdentifier, vehicleIdentifier)) {
      throw new SecureElementError("the vehicle certificate is for another vehicle");
    }
    return vehicle;
  }

  /** Issues the key's endpoint certificate, signed inside the SE by its instance CA key, and keeps its PEM. */
  async certify(key: HeldKey, role: KeyRole): Promise<{ der: Uint8Array; instanceCaDer: Uint8Array }> {
    const certificates = this.require();
    const instanceCa = parseCertificate(certificates.instanceCaCertificate);
    const instanceKey = this.model.instanceCa;
    const endpoint = await issueCertificateUnderPolicy({
      profile: "endpoint",
      subjectPublicKey: key.endpoint.publicKey,
      issuer: {
        signer: {
          publicKey: async () => instanceKey.publicKey,
          sign: async (message) => instanceKey.sign(message),
        },
        certificate: instanceCa,
      },
      // Backdated by the policy: the car's clock may run a little behind the phone's.
      now: new Date(this.now()),
      vehicleIdentifier: key.vehicleIdentifier,
      keyRole: role,
      random: this.random,
    });
    key.endpointCertificate = endpoint.pem;
    return { der: endpoint.der, instanceCaDer: instanceCa.der };
  }

  /** The endpoint certificate of a key, then the instance CA certificate (PEM). */
  chainOf(key: HeldKey): { endpointCertificate: string; instanceCaCertificate: string } {
    if (!key.endpointCertificate || !this.model.certificates) {
      throw new SecureElementError(
        `key ${key.keyId} has no certificate (provisioned directly, not paired or shared)`,
      );
    }
    return {
      endpointCertificate: key.endpointCertificate,
      instanceCaCertificate: this.model.certificates.instanceCaCertificate,
    };
  }
}
