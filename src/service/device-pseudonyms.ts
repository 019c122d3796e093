// How the service names a secure element without keeping its identifier next
// to its keys (README "What the service stores and never learns"). The SE id
// is the same for a device on every car, so storing it on key items would
// link a phone's keys across cars and, through their vehicles, to the other
// phones sharing those cars. Instead the service keeps, per key:
//
// - a reference: HMAC-SHA-256(secret, "carkeys device ref v1" ‖ seId), under
//   which lost mode finds the vehicles holding a device's keys (it is given the
//   SE id and recomputes the reference; the table alone cannot be joined with
//   a known SE id);
// - a seal: seId XOR HMAC-SHA-256(secret, "carkeys device seal v1" ‖ keyId)
//   truncated to 16 bytes, a one-time pad per key (key ids are unique), so the
//   service can address that key's terminate-key notice to its SE while two
//   keys of one device carry unrelated seals;
// - for a key on the owner's own second device (a watch), an owner link:
//   HMAC-SHA-256(secret, "carkeys owner device v1" ‖ ownerKeyId), so revoking
//   or replacing that owner key finds exactly the devices it attested, while
//   the table never names the owner key on another key's item.
//
// The secret is a deployment's: a KMS HMAC_256 key in AWS (GenerateMac; it
// never leaves KMS), a generated 0600 file on the local server, an injected
// key in tests (src/adapters/kms/).
import { concatBytes, fromHex, toHex } from "../protocol/bytes.js";
import { certificatePublicKey, parseCertificate } from "../protocol/certificate-verifier.js";
import { deviceIdFromInstanceKey } from "../protocol/device-identity.js";
import { ConfigurationError } from "./errors.js";
import { PendingCache } from "./pending-cache.js";
import type { KeyRecord } from "./ports.js";

/** HMAC-SHA-256 under the deployment's secret. */
export interface MacKey {
  mac(message: Uint8Array): Promise<Uint8Array>;
}

const REFERENCE_LABEL = new TextEncoder().encode("carkeys device ref v1");
const SEAL_LABEL = new TextEncoder().encode("carkeys device seal v1");
const OWNER_LINK_LABEL = new TextEncoder().encode("carkeys owner device v1");
const SE_ID_LENGTH = 16;
/** How many references a process remembers: a Lambda container lives long and meets many devices. */
const REMEMBERED_REFERENCES = 10_000;

/** A MacKey for a service run without a configured secret: every use says what is missing. */
export const unconfiguredMacKey: MacKey = {
  mac: async () => {
    throw new ConfigurationError("no device pseudonym key is configured (DEVICE_PSEUDONYM_KEY)");
  },
};

export class DevicePseudonyms {
  /**
   * References are asked for again and again (lost mode, every registration): remembered per process,
   * oldest forgotten first, so a long-lived container does not grow with every device it meets.
   */
  private readonly references = new PendingCache<string, string>(REMEMBERED_REFERENCES);

  constructor(private readonly key: MacKey) {}

  /** The name lost mode files a device's keys under. */
  reference(seId: string): Promise<string> {
    return this.references.get(seId, () =>
      this.key.mac(concatBytes(REFERENCE_LABEL, fromHex(seId, "seId"))).then(toHex),
    );
  }

  /** The SE id of the device holding `keyId`, blinded for that key alone. */
  async seal(keyId: string, seId: string): Promise<string> {
    return toHex(xor(fromHex(seId, "seId"), await this.pad(keyId)));
  }

  async unseal(keyId: string, sealed: string): Promise<string> {
    return toHex(xor(fromHex(sealed, "sealed SE id"), await this.pad(keyId)));
  }

  /**
   * The SE holding a key: unsealed, or on records written before seals, the
   * clear SE id or the one its instance CA certificate names.
   */
  async deviceOf(key: KeyRecord): Promise<string> {
    if (key.deviceSeal) return this.unseal(key.keyId, key.deviceSeal);
    if (key.seId) return key.seId;
    if (key.instanceCaCertificatePem) {
      const instanceCa = parseCertificate(key.instanceCaCertificatePem);
      return toHex(deviceIdFromInstanceKey(certificatePublicKey(instanceCa)));
    }
    throw new ConfigurationError(`key ${key.keyId} carries no device: neither a seal nor a legacy SE id`);
  }

  /** What an owner's-device key records of the owner key that attested it (KeyRecord.ownerLink). */
  async ownerLink(ownerKeyId: string): Promise<string> {
    return toHex(await this.key.mac(concatBytes(OWNER_LINK_LABEL, fromHex(ownerKeyId, "ownerKeyId"))));
  }

  /** A key's device reference: stored, or computed for records written before references. */
  async referenceOf(key: KeyRecord): Promise<string> {
    return key.deviceRef ?? this.reference(await this.deviceOf(key));
  }

  private async pad(keyId: string): Promise<Uint8Array> {
    return (await this.key.mac(concatBytes(SEAL_LABEL, fromHex(keyId, "keyId")))).subarray(0, SE_ID_LENGTH);
  }
}

function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length !== SE_ID_LENGTH || b.length !== SE_ID_LENGTH) {
    throw new ConfigurationError("an SE id and its pad are 16 bytes");
  }
  return a.map((byte, i) => byte ^ b[i]!);
}
