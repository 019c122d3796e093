// The automakers' side for offline runs: a Device OEM root, a Vehicle OEM
// root and an SE manufacturer, each a software P-256 key, doing what the
// cloud service does with KMS (certify instance CAs and vehicles, make
// owner-pairing material, sign lost-mode notices and revocation lists). It is a test fixture for
// laptops and CI — its private keys sit in its state file — and issues through
// the very issuance policy the cloud service issues through
// (src/protocol/issuance-policy.ts), so its certificates have the cloud's
// dates, caps and names.

import { fromHex, toHex } from "../../protocol/bytes.js";
import { parseCertificate } from "../../protocol/certificate-verifier.js";
import { verifyFactoryAttestation } from "../../protocol/factory-attestation.js";
import {
  createRootUnderPolicy,
  issueCertificateUnderPolicy,
  type PolicyIssuer,
} from "../../protocol/issuance-policy.js";
import { type NoticeAction, noticeBody } from "../../protocol/lifecycle-notice.js";
import {
  generateKeyPair,
  keyIdentifier,
  P256PrivateKey,
  publicKeyOf,
  signRaw,
  systemRandom,
} from "../../protocol/p256.js";
import { PAIRING_ID_LENGTH } from "../../protocol/pairing-confirmation.js";
import {
  computePairingVerifier,
  createScryptParams,
  generatePairingPassword,
  type PairingVerifier,
  type ScryptCost,
} from "../../protocol/pairing-password.js";
import {
  encodeRevocationList,
  type RevocationListEntry,
  revocationListBody,
} from "../../protocol/revocation-list.js";
import { encodeSignedStatement } from "../../protocol/signed-statement.js";
import type { MessageSigner } from "../../protocol/signer.js";
import { type FactoryAttester, softwareFactoryAttester } from "../secure-element/secure-element.js";

export const OEM_STATE_FORMAT = "carkeys-emulated-oem/1";

export interface EmulatedOemState {
  format: typeof OEM_STATE_FORMAT;
  name: string;
  deviceOemRootKey: string;
  vehicleOemRootKey: string;
  manufacturerKey: string;
  deviceOemRootCertificate: string;
  vehicleOemRootCertificate: string;
  noticeCounters: Record<string, number>;
}

/** The emulated OEM's two root certificates (PEM), which devices and cars install as their anchors. */
export interface EmulatedOemRoots {
  deviceOemRoot: string;
  vehicleOemRoot: string;
}

function softSigner(privateKeyHex: string): MessageSigner {
  const key = P256PrivateKey.fromScalar(fromHex(privateKeyHex));
  return {
    publicKey: async () => key.publicKey.slice(),
    sign: async (message) => key.sign(message),
  };
}

export class EmulatedOem {
  /** Each root's certificate parsed once, with its signer, as the service keeps its roots. */
  private readonly issuers = new Map<"device-oem-root" | "vehicle-oem-root", PolicyIssuer>();

  private constructor(private readonly state: EmulatedOemState) {}

  static async create(name = "Emulated Motors", now = new Date()): Promise<EmulatedOem> {
    const deviceKey = toHex(generateKeyPair().privateKey);
    const vehicleKey = toHex(generateKeyPair().privateKey);
    // The OEM's name is the roots' subject, as the service's deviceOem and vehicleOem are.
    const subject = { organization: name };
    const deviceRoot = await createRootUnderPolicy({
      profile: "device-oem-root",
      signer: softSigner(deviceKey),
      subject,
      now,
    });
    const vehicleRoot = await createRootUnderPolicy({
      profile: "vehicle-oem-root",
      signer: softSigner(vehicleKey),
      subject,
      now,
    });
    return new EmulatedOem({
      format: OEM_STATE_FORMAT,
      name,
      deviceOemRootKey: deviceKey,
      vehicleOemRootKey: vehicleKey,
      manufacturerKey: toHex(generateKeyPair().privateKey),
      deviceOemRootCertificate: deviceRoot.pem,
      vehicleOemRootCertificate: vehicleRoot.pem,
      noticeCounters: {},
    });
  }

  static restore(state: EmulatedOemState): EmulatedOem {
    if (state?.format !== OEM_STATE_FORMAT) throw new Error(`state is not ${OEM_STATE_FORMAT}`);
    return new EmulatedOem(structuredClone(state));
  }

  exportState(): EmulatedOemState {
    return structuredClone(this.state);
  }

  get name(): string {
    return this.state.name;
  }

  get trustAnchors(): EmulatedOemRoots {
    return {
      deviceOemRoot: this.state.deviceOemRootCertificate,
      vehicleOemRoot: this.state.vehicleOemRootCertificate,
    };
  }

  get deviceOemPublicKey(): Uint8Array {
    return publicKeyOf(fromHex(this.state.deviceOemRootKey));
  }

  get manufacturerPublicKey(): Uint8Array {
    return publicKeyOf(fromHex(this.state.manufacturerKey));
  }

  /** The SE manufacturer: signs the factory attestation of each new SE. */
  get manufacturer(): FactoryAttester {
    return softwareFactoryAttester(fromHex(this.state.manufacturerKey));
  }

  private issuer(profile: "device-oem-root" | "vehicle-oem-root"): PolicyIssuer {
    let issuer = this.issuers.get(profile);
    if (!issuer) {
      const [key, certificate]: [string, string] =
        profile === "device-oem-root"
          ? [this.state.deviceOemRootKey, this.state.deviceOemRootCertificate]
          : [this.state.vehicleOemRootKey, this.state.vehicleOemRootCertificate];
      issuer = { signer: softSigner(key), certificate: parseCertificate(certificate) };
      this.issuers.set(profile, issuer);
    }
    return issuer;
  }

  /** Certifies an SE's instance CA, given the manufacturer's attestation that the key lives in a genuine SE. */
  async certifyInstanceCa(factoryAttestation: Uint8Array, now = new Date()): Promise<string> {
    const facts = verifyFactoryAttestation(factoryAttestation, this.manufacturerPublicKey);
    const issued = await issueCertificateUnderPolicy({
      profile: "instance-ca",
      subjectPublicKey: facts.instanceCaPublicKey,
      issuer: this.issuer("device-oem-root"),
      now,
    });
    return issued.pem;
  }

  async certifyVehicle(
    vehicleIdentifier: Uint8Array,
    vehiclePublicKey: Uint8Array,
    now = new Date(),
  ): Promise<string> {
    const issued = await issueCertificateUnderPolicy({
      profile: "vehicle",
      subjectPublicKey: vehiclePublicKey,
      issuer: this.issuer("vehicle-oem-root"),
      vehicleIdentifier,
      now,
    });
    return issued.pem;
  }

  /**
   * What the automaker's server does at owner pairing: a one-time password for
   * the owner, the verifier for the car, and the id of this material (the car
   * names it in its pairing confirmation).
   */
  createPairingMaterial(cost?: ScryptCost): {
    password: string;
    verifier: PairingVerifier;
    pairingId: string;
  } {
    const password = generatePairingPassword();
    return {
      password,
      verifier: computePairingVerifier(password, createScryptParams(cost)),
      pairingId: toHex(systemRandom(PAIRING_ID_LENGTH)),
    };
  }

  /** A signed lost-mode notice; the counter is per device and only goes up. */
  notice(
    deviceId: Uint8Array,
    action: NoticeAction,
    vehicleIdentifier?: Uint8Array,
    now = Date.now(),
  ): Uint8Array {
    const id = toHex(deviceId);
    const counter = (this.state.noticeCounters[id] ?? 0) + 1;
    this.state.noticeCounters[id] = counter;
    const body = noticeBody({ deviceId, action, counter, issuedAt: now, vehicleIdentifier });
    return encodeSignedStatement(body, signRaw(fromHex(this.state.deviceOemRootKey), body));
  }

  /** A signed terminate-key notice for one key of the device (the service sends one per revocation). */
  terminateKeyNotice(deviceId: Uint8Array, keyIdentifier: Uint8Array, now = Date.now()): Uint8Array {
    const id = toHex(deviceId);
    const counter = (this.state.noticeCounters[id] ?? 0) + 1;
    this.state.noticeCounters[id] = counter;
    const body = noticeBody({ deviceId, action: "terminate-key", counter, issuedAt: now, keyIdentifier });
    return encodeSignedStatement(body, signRaw(fromHex(this.state.deviceOemRootKey), body));
  }

  /** A vehicle's revocation list (src/protocol/revocation-list.ts) signed by the Vehicle OEM root. */
  revocationList(
    vehicleIdentifier: Uint8Array,
    entries: readonly RevocationListEntry[],
    after = 0,
    now = Date.now(),
  ): Uint8Array {
    const privateKey = fromHex(this.state.vehicleOemRootKey);
    const body = revocationListBody({
      vehicleIdentifier,
      after,
      latestSequence: entries.at(-1)?.sequence ?? after,
      issuedAt: now,
      signerKeyId: keyIdentifier(publicKeyOf(privateKey)),
      entries,
    });
    return encodeRevocationList(body, signRaw(privateKey, body));
  }
}
