// Whether a friend's key is validly enrolled for a vehicle (docs/protocol.md
// "Shared keys"): the one decision the owner's SE makes before it attests a
// friend's key, the car makes at that key's first tap, and the service makes
// when the friend registers it. What is believed comes from signatures only:
// the endpoint certificate chains to a Device OEM root the verifier trusts
// (so the key lives in a genuine SE), names the friend role and binds the key
// to this vehicle; the attestation, when there is one, is signed by the key
// that vouches for the friend (the owner's, or a co-owner's), for this vehicle
// and for this very key. Each party then applies its own state (revocations,
// slots, lost mode) and words its refusal from the typed reason here.
import { equalBytes, toHex } from "./bytes.js";
import {
  type CertificateInput,
  type VerifiedCertificateChain,
  verifyCertificateChain,
} from "./certificate-verifier.js";
import { deviceIdFromInstanceKey } from "./device-identity.js";
import {
  CertificateVerificationError,
  FriendEnrollmentError,
  ProtocolError,
  VerificationError,
} from "./errors.js";
import { type KeyAttestationFacts, verifyKeyAttestation } from "./key-attestation.js";
import { keyIdentifier } from "./p256.js";

/** The friend's two certificates and the Device OEM roots the verifier trusts, checked at `at`. */
export interface FriendCertificates {
  readonly endpointCertificate: CertificateInput;
  readonly instanceCaCertificate: CertificateInput;
  readonly deviceOemRoots: readonly CertificateInput[];
  readonly at: Date;
}

export interface FriendAttestation {
  readonly encoded: Uint8Array;
  /** The key that must have signed it: the vehicle's owner key, or the co-owner key that shared. */
  readonly attesterPublicKey: Uint8Array;
}

export interface FriendEnrollmentParams {
  /** The certificates to verify, or a chain the caller has verified with verifyCertificateChain already. */
  readonly certificates: FriendCertificates | { readonly verified: VerifiedCertificateChain };
  /** The vehicle the key must be for. */
  readonly vehicleIdentifier: Uint8Array;
  /** The key identifier (tag 4E) the key is presented under, when it is (the car's AUTH1). */
  readonly keyId?: Uint8Array;
  /** The attestation vouching for the key; absent for the owner's SE, which is about to sign it. */
  readonly attestation?: FriendAttestation;
}

export interface FriendEnrollmentFacts {
  readonly chain: VerifiedCertificateChain;
  readonly endpointPublicKey: Uint8Array;
  /** The friend's SE (src/protocol/device-identity.ts), from its instance CA key. */
  readonly deviceId: Uint8Array;
  /** Present when an attestation was given. */
  readonly attestation?: KeyAttestationFacts;
}

function verifiedChain(certificates: FriendEnrollmentParams["certificates"]): VerifiedCertificateChain {
  if ("verified" in certificates) return certificates.verified;
  try {
    return verifyCertificateChain({
      leaf: certificates.endpointCertificate,
      intermediates: [certificates.instanceCaCertificate],
      anchors: certificates.deviceOemRoots,
      expectedLeafProfile: "endpoint",
      at: certificates.at,
    });
  } catch (error) {
    if (error instanceof CertificateVerificationError) {
      throw new FriendEnrollmentError("certificate-chain", error.message, { cause: error });
    }
    throw error;
  }
}

/**
 * Checks a friend key's certificates and, if given, its attestation, in this
 * order: chain, key identifier, role, vehicle, then the attestation
 * (verifyFriendAttestation). Throws FriendEnrollmentError with the first reason that applies.
 */
export function verifyFriendEnrollment(params: FriendEnrollmentParams): FriendEnrollmentFacts {
  const chain = verifiedChain(params.certificates);
  const endpointPublicKey = chain.publicKey;
  if (params.keyId !== undefined && !equalBytes(keyIdentifier(endpointPublicKey), params.keyId)) {
    throw new FriendEnrollmentError(
      "other-key",
      `the certificate is for key ${toHex(keyIdentifier(endpointPublicKey))}, not ${toHex(params.keyId)}`,
    );
  }
  if (chain.keyRole !== "friend") {
    throw new FriendEnrollmentError("not-a-friend-key", `the certificate is an ${chain.keyRole} key's`);
  }
  if (!chain.vehicleIdentifier || !equalBytes(chain.vehicleIdentifier, params.vehicleIdentifier)) {
    throw new FriendEnrollmentError("other-vehicle", "the certificate binds the key to another vehicle");
  }
  const instanceCa = chain.chain[1];
  if (!instanceCa) throw new FriendEnrollmentError("certificate-chain", "the chain has no instance CA");
  const facts = {
    chain,
    endpointPublicKey,
    deviceId: deviceIdFromInstanceKey(instanceCa.subjectPublicKey),
  };
  if (!params.attestation) return facts;
  const attestation = verifyFriendAttestation(params.attestation, {
    vehicleIdentifier: params.vehicleIdentifier,
    endpointPublicKey,
  });
  return { ...facts, attestation };
}

/**
 * Verifies one attestation with the key that must have signed it, for
 * `expected.vehicleIdentifier` and, when given, for `expected.endpointPublicKey`
 * (a link of a co-owner chain attests the co-owner, not the friend).
 */
export function verifyFriendAttestation(
  attestation: FriendAttestation,
  expected: { readonly vehicleIdentifier: Uint8Array; readonly endpointPublicKey?: Uint8Array },
): KeyAttestationFacts {
  let facts: KeyAttestationFacts;
  try {
    facts = verifyKeyAttestation(attestation.encoded, attestation.attesterPublicKey);
  } catch (error) {
    if (error instanceof VerificationError) {
      throw new FriendEnrollmentError("attestation-not-verified", error.message, { cause: error });
    }
    if (error instanceof ProtocolError) {
      throw new FriendEnrollmentError("attestation-malformed", error.message, { cause: error });
    }
    throw error;
  }
  if (!equalBytes(facts.vehicleIdentifier, expected.vehicleIdentifier)) {
    throw new FriendEnrollmentError("attestation-other-vehicle", "the attestation is for another vehicle");
  }
  if (expected.endpointPublicKey && !equalBytes(facts.endpointPublicKey, expected.endpointPublicKey)) {
    throw new FriendEnrollmentError("attestation-other-key", "the attestation is for another key");
  }
  return facts;
}
