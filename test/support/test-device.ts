// A scripted device for service tests, built from the protocol library alone
// (p256.ts, issueCertificate, the statement encoders): an SE manufacturer, a
// secure element's instance CA key with its factory attestation, endpoint
// certificates it issues for car keys, owner key attestations, and signed
// requests (request-signature.ts). Independent of the SE emulator on
// purpose, so a test can also build what a genuine SE never would (a wrong
// role, another vehicle, a stale timestamp).
import { randomBytes } from "node:crypto";
import type { AccessProfile } from "../../src/protocol/access-profile.js";
import { fromHex, toHex } from "../../src/protocol/bytes.js";
import { issueCertificate } from "../../src/protocol/certificate-issuer.js";
import type { KeyRole } from "../../src/protocol/certificate-profiles.js";
import { deviceIdFromInstanceKey } from "../../src/protocol/device-identity.js";
import { signFactoryAttestation } from "../../src/protocol/factory-attestation.js";
import { keyAttestationBody } from "../../src/protocol/key-attestation.js";
import { generateKeyPair, type KeyPair, keyIdentifier, signRaw } from "../../src/protocol/p256.js";
import {
  encodePairingConfirmation,
  pairingConfirmationBody,
} from "../../src/protocol/pairing-confirmation.js";
import { canonicalRequest, type RequestSigner } from "../../src/protocol/request-signature.js";
import { encodeSignedStatement } from "../../src/protocol/signed-statement.js";
import { softMessageSigner } from "./soft-message-signer.js";

export interface TestManufacturer {
  readonly keyPair: KeyPair;
  attest(deviceId: Uint8Array, instanceCaPublicKey: Uint8Array, issuedAt?: number): Uint8Array;
}

export function testManufacturer(): TestManufacturer {
  const keyPair = generateKeyPair();
  return {
    keyPair,
    attest: (deviceId, instanceCaPublicKey, issuedAt = Date.now()) =>
      signFactoryAttestation(keyPair.privateKey, { deviceId, instanceCaPublicKey, issuedAt }),
  };
}

export interface SignOptions {
  readonly method: string;
  readonly path: string;
  readonly body: Uint8Array | string;
  readonly timestamp?: number;
  readonly nonce?: string;
  /** Sign as another signer than the key's own name (to test mismatches). */
  readonly signer?: RequestSigner;
}

/** carkey-* headers for a request signed with `privateKey` as `signer`. */
export function signedHeaders(
  privateKey: Uint8Array,
  signer: RequestSigner,
  options: SignOptions,
): Record<string, string> {
  const body = typeof options.body === "string" ? new TextEncoder().encode(options.body) : options.body;
  const timestamp = options.timestamp ?? Date.now();
  const nonce = options.nonce ?? toHex(randomBytes(16));
  const name = options.signer ?? signer;
  const signature = signRaw(
    privateKey,
    canonicalRequest({ method: options.method, path: options.path, body, timestamp, nonce, signer: name }),
  );
  return {
    "carkey-signer": name,
    "carkey-timestamp": String(timestamp),
    "carkey-nonce": nonce,
    "carkey-signature": toHex(signature),
  };
}

export interface TestEndpoint {
  readonly keyPair: KeyPair;
  readonly vehicleId: Uint8Array;
  readonly role: KeyRole;
  readonly keyId: string;
  readonly certificatePem: string;
  readonly signer: RequestSigner;
  sign(options: SignOptions): Record<string, string>;
}

export class TestDevice {
  readonly instance: KeyPair;
  readonly seId: string;
  readonly factoryAttestation: Uint8Array;
  /** Set once the service has certified the instance CA. */
  instanceCaCertificatePem: string | undefined;

  constructor(manufacturer: TestManufacturer, instance: KeyPair = generateKeyPair()) {
    this.instance = instance;
    this.seId = toHex(deviceIdFromInstanceKey(instance.publicKey));
    this.factoryAttestation = manufacturer.attest(
      deviceIdFromInstanceKey(instance.publicKey),
      instance.publicKey,
    );
  }

  get signer(): RequestSigner {
    return `instance:${this.seId}`;
  }

  /** The JSON body of POST /v1/devices. */
  enrollmentBody(): { seId: string; instanceCaPublicKey: string; factoryAttestation: string } {
    return {
      seId: this.seId,
      instanceCaPublicKey: toHex(this.instance.publicKey),
      factoryAttestation: toHex(this.factoryAttestation),
    };
  }

  signAsInstance(options: SignOptions): Record<string, string> {
    return signedHeaders(this.instance.privateKey, this.signer, options);
  }

  /** A new car key: an endpoint certificate issued by this SE's instance CA (as the SE does itself). */
  async newEndpoint(vehicleId: Uint8Array, role: KeyRole, now = new Date()): Promise<TestEndpoint> {
    if (!this.instanceCaCertificatePem) throw new Error("enroll the device first");
    const keyPair = generateKeyPair();
    const issued = await issueCertificate({
      profile: "endpoint",
      subjectPublicKey: keyPair.publicKey,
      subject: { organization: "Test Device OEM" },
      issuer: {
        signer: softMessageSigner({ privateKey: this.instance.privateKey }),
        certificate: this.instanceCaCertificatePem,
      },
      notBefore: now,
      notAfter: new Date(now.getTime() + 365 * 86_400_000),
      vehicleIdentifier: vehicleId,
      keyRole: role,
    });
    const keyId = toHex(keyIdentifier(keyPair.publicKey));
    const signer: RequestSigner = `endpoint:${keyId}`;
    return {
      keyPair,
      vehicleId,
      role,
      keyId,
      certificatePem: issued.pem,
      signer,
      sign: (options) => signedHeaders(keyPair.privateKey, signer, options),
    };
  }
}

/** The owner's KATT statement for a friend's endpoint key. */
export function attestFriendKey(
  owner: TestEndpoint,
  friend: TestEndpoint,
  vehicleId: Uint8Array,
  profile: AccessProfile = { kind: "unlock-only" },
  serial = 1,
): Uint8Array {
  const body = keyAttestationBody({
    vehicleIdentifier: vehicleId,
    endpointPublicKey: friend.keyPair.publicKey,
    profile,
    serial,
    issuedAt: Date.now(),
    signerKeyId: keyIdentifier(owner.keyPair.publicKey),
  });
  return encodeSignedStatement(body, signRaw(owner.keyPair.privateKey, body));
}

/** What the car signs at the end of owner pairing (docs/protocol.md §24), here by a test vehicle's key. */
export function confirmPairing(
  vehicleKey: KeyPair,
  facts: { pairingId: string; vehicleId: Uint8Array; endpoint: TestEndpoint; confirmedAt?: number },
): Uint8Array {
  const body = pairingConfirmationBody({
    pairingId: fromHex(facts.pairingId),
    vehicleIdentifier: facts.vehicleId,
    endpointPublicKey: facts.endpoint.keyPair.publicKey,
    confirmedAt: facts.confirmedAt ?? Date.now(),
  });
  return encodePairingConfirmation(body, signRaw(vehicleKey.privateKey, body));
}

/** A vehicle: an identifier and a key pair. */
export function testVehicle(): { id: Uint8Array; idHex: string; keyPair: KeyPair } {
  const id = new Uint8Array(randomBytes(16));
  return { id, idHex: toHex(id), keyPair: generateKeyPair() };
}
