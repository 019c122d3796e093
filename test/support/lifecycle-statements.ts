// Statements a device's SE signs in the key-lifecycle flows, built from the protocol
// library for service and handler tests with scripted devices (TestDevice):
// the owner's RVKE revocation (as SecureElement.revokeFriendKey makes it) and
// a key's TERM termination attestation (as SecureElement.deleteKey makes it).
import { fromHex } from "../../src/protocol/bytes.js";
import { keyIdentifier, signRaw } from "../../src/protocol/p256.js";
import { revocationBody } from "../../src/protocol/revocation.js";
import { encodeSignedStatement } from "../../src/protocol/signed-statement.js";
import { encodeTerminationAttestation, terminationBody } from "../../src/protocol/termination-attestation.js";
import type { TestEndpoint } from "./test-device.js";

/** The owner's RVKE statement, as SecureElement.revokeFriendKey makes it. */
export function rvke(
  owner: TestEndpoint,
  friend: TestEndpoint,
  vehicleId: Uint8Array,
  serial = 1,
): Uint8Array {
  const body = revocationBody({
    vehicleIdentifier: vehicleId,
    revokedKeyId: fromHex(friend.keyId),
    attestationSerial: serial,
    issuedAt: Date.now(),
    signerKeyId: keyIdentifier(owner.keyPair.publicKey),
  });
  return encodeSignedStatement(body, signRaw(owner.keyPair.privateKey, body));
}

/** The key's TERM statement, as SecureElement.deleteKey makes it. */
export function term(key: TestEndpoint, vehicleId: Uint8Array): Uint8Array {
  const body = terminationBody({
    keyIdentifier: fromHex(key.keyId),
    vehicleIdentifier: vehicleId,
    endpointPublicKey: key.keyPair.publicKey,
    terminatedAt: Date.now(),
  });
  return encodeTerminationAttestation(body, signRaw(key.keyPair.privateKey, body));
}
