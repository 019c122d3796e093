// verifyFriendEnrollment, the one decision the owner's SE, the car and the
// service make about a friend's key: a genuine friend key for this vehicle,
// attested by the key that vouches for it. Every hostile variant is refused
// with its own reason: a chain under a root the verifier does not trust, an
// expired or not-yet-valid certificate, a vehicle certificate where an
// endpoint belongs, an owner key, another vehicle, another key identifier, an
// attestation by another key, for another vehicle or another key, or one that
// does not parse.
import { beforeAll, describe, expect, it } from "vitest";
import { toHex } from "../../src/protocol/bytes.js";
import { parseCertificate, verifyCertificateChain } from "../../src/protocol/certificate-verifier.js";
import { deviceIdFromInstanceKey } from "../../src/protocol/device-identity.js";
import { CertificateVerificationError, FriendEnrollmentError } from "../../src/protocol/errors.js";
import {
  type FriendEnrollmentParams,
  verifyFriendAttestation,
  verifyFriendEnrollment,
} from "../../src/protocol/friend-enrollment.js";
import { createRootUnderPolicy, issueCertificateUnderPolicy } from "../../src/protocol/issuance-policy.js";
import { keyAttestationBody } from "../../src/protocol/key-attestation.js";
import { generateKeyPair, type KeyPair, keyIdentifier, signRaw } from "../../src/protocol/p256.js";
import { encodeSignedStatement } from "../../src/protocol/signed-statement.js";
import { softMessageSigner } from "../support/soft-message-signer.js";

const now = new Date();
const vehicleId = Uint8Array.from({ length: 16 }, (_, i) => 0x40 + i);
const otherVehicleId = Uint8Array.from({ length: 16 }, (_, i) => 0x80 + i);

interface Device {
  root: string;
  instance: string;
  instanceKey: Uint8Array;
  issue(role: "owner" | "friend", vehicle: Uint8Array): Promise<{ pem: string; key: KeyPair }>;
}

async function deviceOem(name: string): Promise<Device> {
  const rootSigner = softMessageSigner();
  const instanceSigner = softMessageSigner();
  const root = await createRootUnderPolicy({
    profile: "device-oem-root",
    signer: rootSigner,
    subject: { organization: name },
    now,
  });
  const instance = await issueCertificateUnderPolicy({
    profile: "instance-ca",
    subjectPublicKey: instanceSigner.publicKeyBytes,
    issuer: { signer: rootSigner, certificate: parseCertificate(root.der) },
    now,
  });
  return {
    root: root.pem,
    instance: instance.pem,
    instanceKey: instanceSigner.publicKeyBytes,
    async issue(role, vehicle) {
      const key = generateKeyPair();
      const endpoint = await issueCertificateUnderPolicy({
        profile: "endpoint",
        subjectPublicKey: key.publicKey,
        issuer: { signer: instanceSigner, certificate: parseCertificate(instance.der) },
        now,
        vehicleIdentifier: vehicle,
        keyRole: role,
      });
      return { pem: endpoint.pem, key };
    },
  };
}

function attest(owner: KeyPair, friendKey: Uint8Array, vehicle = vehicleId): Uint8Array {
  const body = keyAttestationBody({
    vehicleIdentifier: vehicle,
    endpointPublicKey: friendKey,
    profile: { kind: "full" },
    serial: 1,
    issuedAt: now.getTime(),
    signerKeyId: keyIdentifier(owner.publicKey),
  });
  return encodeSignedStatement(body, signRaw(owner.privateKey, body));
}

function refusal(params: FriendEnrollmentParams): FriendEnrollmentError {
  try {
    verifyFriendEnrollment(params);
  } catch (error) {
    if (error instanceof FriendEnrollmentError) return error;
    throw error;
  }
  throw new Error("accepted");
}

let oem: Device;
let stranger: Device;
let friend: { pem: string; key: KeyPair };
const owner = generateKeyPair();

beforeAll(async () => {
  oem = await deviceOem("Acme Devices");
  stranger = await deviceOem("Stranger Devices");
  friend = await oem.issue("friend", vehicleId);
});

function params(overrides: Partial<FriendEnrollmentParams> = {}): FriendEnrollmentParams {
  return {
    certificates: {
      endpointCertificate: friend.pem,
      instanceCaCertificate: oem.instance,
      deviceOemRoots: [stranger.root, oem.root],
      at: now,
    },
    vehicleIdentifier: vehicleId,
    keyId: keyIdentifier(friend.key.publicKey),
    attestation: { encoded: attest(owner, friend.key.publicKey), attesterPublicKey: owner.publicKey },
    ...overrides,
  };
}

describe("verifyFriendEnrollment accepts", () => {
  it("a friend key for this vehicle, attested by the owner, with its SE and the attestation's facts", () => {
    const facts = verifyFriendEnrollment(params());
    expect(facts.endpointPublicKey).toEqual(friend.key.publicKey);
    expect(toHex(facts.deviceId)).toBe(toHex(deviceIdFromInstanceKey(oem.instanceKey)));
    expect(facts.chain.keyRole).toBe("friend");
    expect(facts.attestation).toMatchObject({ serial: 1, profile: { kind: "full" } });
  });

  it("the certificates alone, as the owner's SE checks them before it attests", () => {
    const { attestation: _none, ...certificatesOnly } = params();
    expect(verifyFriendEnrollment(certificatesOnly).attestation).toBeUndefined();
  });

  it("a chain its caller verified already, as the service does", () => {
    const verified = verifyCertificateChain({
      leaf: friend.pem,
      intermediates: [oem.instance],
      anchors: [oem.root],
      expectedLeafProfile: "endpoint",
      at: now,
    });
    expect(verifyFriendEnrollment(params({ certificates: { verified } })).attestation?.serial).toBe(1);
  });
});

describe("verifyFriendEnrollment refuses", () => {
  const chainReason = (error: FriendEnrollmentError) => {
    expect(error.reason).toBe("certificate-chain");
    expect(error.cause).toBeInstanceOf(CertificateVerificationError);
    return (error.cause as CertificateVerificationError).reason;
  };

  it("a chain under a Device OEM root the verifier does not trust", () => {
    const error = refusal(
      params({
        certificates: {
          endpointCertificate: friend.pem,
          instanceCaCertificate: oem.instance,
          deviceOemRoots: [stranger.root],
          at: now,
        },
      }),
    );
    expect(chainReason(error)).toBe("untrusted-anchor");
  });

  it("an endpoint certificate with another SE's instance CA", () => {
    const error = refusal(
      params({
        certificates: {
          endpointCertificate: friend.pem,
          instanceCaCertificate: stranger.instance,
          deviceOemRoots: [stranger.root, oem.root],
          at: now,
        },
      }),
    );
    expect(chainReason(error)).toBe("wrong-issuer");
  });

  it("an expired certificate and one not yet valid", () => {
    const notAfter = parseCertificate(friend.pem).notAfter;
    const at = (when: Date) =>
      params({
        certificates: {
          endpointCertificate: friend.pem,
          instanceCaCertificate: oem.instance,
          deviceOemRoots: [oem.root],
          at: when,
        },
      });
    expect(chainReason(refusal(at(new Date(notAfter.getTime() + 1000))))).toBe("expired");
    expect(chainReason(refusal(at(new Date(now.getTime() - 2 * 3600 * 1000))))).toBe("not-yet-valid");
  });

  it("a certificate of another profile where the endpoint belongs", () => {
    const error = refusal(
      params({
        certificates: {
          endpointCertificate: oem.instance,
          instanceCaCertificate: oem.instance,
          deviceOemRoots: [oem.root],
          at: now,
        },
      }),
    );
    expect(chainReason(error)).toBe("wrong-profile");
  });

  it("an owner key", async () => {
    const ownerKey = await oem.issue("owner", vehicleId);
    const error = refusal(
      params({
        certificates: {
          endpointCertificate: ownerKey.pem,
          instanceCaCertificate: oem.instance,
          deviceOemRoots: [oem.root],
          at: now,
        },
        keyId: keyIdentifier(ownerKey.key.publicKey),
      }),
    );
    expect(error.reason).toBe("not-a-friend-key");
  });

  it("a friend key bound to another vehicle", () => {
    expect(refusal(params({ vehicleIdentifier: otherVehicleId })).reason).toBe("other-vehicle");
  });

  it("a certificate presented under another key identifier", () => {
    expect(refusal(params({ keyId: keyIdentifier(owner.publicKey) })).reason).toBe("other-key");
  });

  it("an attestation signed by another key than the attester's", () => {
    const impostor = generateKeyPair();
    const error = refusal(
      params({
        attestation: { encoded: attest(impostor, friend.key.publicKey), attesterPublicKey: owner.publicKey },
      }),
    );
    expect(error.reason).toBe("attestation-not-verified");
    expect(error.message).toBe("key attestation: signed by another owner key");
  });

  it("an attestation whose signature does not verify", () => {
    const encoded = attest(owner, friend.key.publicKey);
    encoded[encoded.length - 1]! ^= 1;
    const error = refusal(params({ attestation: { encoded, attesterPublicKey: owner.publicKey } }));
    expect(error.reason).toBe("attestation-not-verified");
    expect(error.message).toBe("key attestation: signature does not verify");
  });

  it("an attestation for another vehicle or for another key", () => {
    const otherVehicle = attest(owner, friend.key.publicKey, otherVehicleId);
    expect(
      refusal(params({ attestation: { encoded: otherVehicle, attesterPublicKey: owner.publicKey } })).reason,
    ).toBe("attestation-other-vehicle");
    const otherKey = attest(owner, generateKeyPair().publicKey);
    expect(
      refusal(params({ attestation: { encoded: otherKey, attesterPublicKey: owner.publicKey } })).reason,
    ).toBe("attestation-other-key");
  });

  it("an attestation that does not parse", () => {
    const error = refusal(
      params({ attestation: { encoded: Uint8Array.of(0x70, 0x01), attesterPublicKey: owner.publicKey } }),
    );
    expect(error.reason).toBe("attestation-malformed");
    expect(error.cause).toBeInstanceOf(Error);
  });
});

describe("verifyFriendAttestation", () => {
  it("checks a link above the friend for its vehicle only", () => {
    const coOwner = generateKeyPair();
    const link = attest(owner, coOwner.publicKey);
    expect(
      verifyFriendAttestation(
        { encoded: link, attesterPublicKey: owner.publicKey },
        { vehicleIdentifier: vehicleId },
      ).endpointPublicKey,
    ).toEqual(coOwner.publicKey);
    expect(() =>
      verifyFriendAttestation(
        { encoded: link, attesterPublicKey: owner.publicKey },
        { vehicleIdentifier: otherVehicleId },
      ),
    ).toThrow(FriendEnrollmentError);
  });
});
