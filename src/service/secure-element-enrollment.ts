// Secure element enrollment (certificate issuance, docs/certificates.md): a device's SE
// presents its instance CA key, the manufacturer's factory attestation for
// that key (src/protocol/factory-attestation.ts), and proves possession by
// signing the request with that very key; the Device OEM root then certifies
// it with the "instance-ca" profile under the issuance policy every issuer
// follows (docs/certificates.md "Issuance policy"). Checks run
// cheapest first and before anything is signed or written. A retry (new
// nonce, same SE and key) gets the certificate already issued, so a lost
// response never costs a second KMS Sign; the same SE with another key is a
// conflict, since one SE has one instance CA.

import type { DeviceEnrollmentRequest, DeviceEnrollmentResponse } from "../api/issuance-schemas.js";
import { equalBytes, toHex } from "../protocol/bytes.js";
import { deviceIdFromInstanceKey } from "../protocol/device-identity.js";
import { VerificationError } from "../protocol/errors.js";
import { type FactoryAttestationFacts, verifyFactoryAttestation } from "../protocol/factory-attestation.js";
import { assertPublicKey } from "../protocol/p256.js";
import type { DeviceRequest, DeviceRequestAuthenticator } from "./device-request-auth.js";
import {
  AuthenticationError,
  ConfigurationError,
  ConflictError,
  ForbiddenError,
  ValidationError,
} from "./errors.js";
import { bytesField, invalidField, publicKeyField } from "./input.js";
import type { Outcome } from "./outcome.js";
import type { Clock, NonceClaim, SecureElementRecord, Store } from "./ports.js";
import type { RootCertificates } from "./root-certificates.js";

export interface SecureElementEnrollmentOptions {
  readonly store: Store;
  readonly clock: Clock;
  readonly roots: RootCertificates;
  readonly auth: DeviceRequestAuthenticator;
  /** The SE manufacturer's attestation key (65-byte point), from configuration. */
  readonly manufacturerPublicKey: Uint8Array;
}

export class SecureElementEnrollment {
  private readonly options: SecureElementEnrollmentOptions;

  /** Throws ConfigurationError when the manufacturer key is not a P-256 point: a deployment's mistake. */
  constructor(options: SecureElementEnrollmentOptions) {
    try {
      assertPublicKey(options.manufacturerPublicKey, "manufacturerPublicKey");
    } catch (cause) {
      throw new ConfigurationError("the SE manufacturer public key must be a 65-byte P-256 point", { cause });
    }
    this.options = options;
  }

  async enroll(
    input: DeviceEnrollmentRequest,
    request: DeviceRequest,
  ): Promise<Outcome<DeviceEnrollmentResponse>> {
    const { auth, store, clock, roots } = this.options;
    const parsed = auth.parse(request);
    if (parsed.kind !== "instance" || parsed.id !== input.seId) {
      throw new AuthenticationError(
        `the request must be signed by instance:${input.seId}, the key being enrolled`,
      );
    }
    const instanceKey = publicKeyField(input.instanceCaPublicKey, "body.instanceCaPublicKey");
    if (toHex(deviceIdFromInstanceKey(instanceKey)) !== input.seId) {
      // The SE identifier is derived from its key (device-identity.ts), so lost-mode notices can
      // address a device by an identifier nobody chose.
      throw new ValidationError(
        "body.seId must be the first 16 bytes of SHA-256 of body.instanceCaPublicKey",
        [{ path: "body.seId", message: "not derived from the instance CA key" }],
      );
    }
    // Proof of possession: only the holder of the instance CA key can make this signature.
    const { nonce } = auth.verify(parsed, instanceKey);
    const facts = this.checkFactoryAttestation(input, instanceKey);

    const existing = await store.getSecureElement(input.seId);
    if (existing) return this.repeat(existing, instanceKey, nonce);

    const now = clock.now();
    const { issued: certificate, root } = await roots.issue({
      profile: "instance-ca",
      subjectPublicKey: instanceKey,
      now,
    });
    const record: SecureElementRecord = {
      seId: input.seId,
      instanceCaPublicKey: toHex(instanceKey),
      certificatePem: certificate.pem,
      serialNumber: certificate.serialNumber,
      factoryAttestedAt: new Date(facts.issuedAt).toISOString(),
      enrolledAt: now.toISOString(),
    };
    try {
      await store.createSecureElement(record, nonce);
    } catch (error) {
      // A concurrent twin of this request won the race: answer as its repeat.
      if (!(error instanceof ConflictError)) throw error;
      const winner = await store.getSecureElement(input.seId);
      if (!winner) throw error;
      return this.repeat(winner, instanceKey, nonce);
    }
    return { created: true, response: { ...view(record), deviceOemRoot: root.pem } };
  }

  private checkFactoryAttestation(
    input: DeviceEnrollmentRequest,
    instanceKey: Uint8Array,
  ): FactoryAttestationFacts {
    const encoded = bytesField(input.factoryAttestation, "body.factoryAttestation");
    let facts: FactoryAttestationFacts;
    try {
      facts = verifyFactoryAttestation(encoded, this.options.manufacturerPublicKey);
    } catch (error) {
      if (error instanceof VerificationError) {
        throw new ForbiddenError(
          "the factory attestation is not signed by the configured secure element manufacturer",
          { cause: error },
        );
      }
      return invalidField("body.factoryAttestation", error);
    }
    if (toHex(facts.deviceId) !== input.seId) {
      throw new ForbiddenError("the factory attestation names another secure element than body.seId");
    }
    if (!equalBytes(facts.instanceCaPublicKey, instanceKey)) {
      throw new ForbiddenError("the factory attestation is for another key than body.instanceCaPublicKey");
    }
    return facts;
  }

  private async repeat(
    existing: SecureElementRecord,
    instanceKey: Uint8Array,
    nonce: NonceClaim,
  ): Promise<Outcome<DeviceEnrollmentResponse>> {
    if (existing.instanceCaPublicKey !== toHex(instanceKey)) {
      throw new ConflictError(
        `secure element ${existing.seId} is already enrolled with another instance CA key`,
      );
    }
    // Nothing else changes, but the signed request is spent all the same.
    await this.options.store.claimNonce(nonce);
    const root = await this.options.roots.get("device-oem-root");
    return { created: false, response: { ...view(existing), deviceOemRoot: root.pem } };
  }
}

function view(record: SecureElementRecord): Omit<DeviceEnrollmentResponse, "deviceOemRoot"> {
  return {
    seId: record.seId,
    instanceCaCertificate: record.certificatePem,
    serialNumber: record.serialNumber,
  };
}
