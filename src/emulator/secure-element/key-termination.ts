// How a key leaves this SE: deleted at once (it cannot answer any later
// transaction) with a termination attestation signed by the key itself just
// before its private key is dropped — by the wallet, by a terminate-key
// notice, or by its profile's end on the SE's own clock. The SE keeps each
// attestation until the service confirmed it, since the key is gone and that
// signature is the only proof left.
import { fromHex, toHex } from "../../protocol/bytes.js";
import { hasExpired } from "../../protocol/profile-expiry.js";
import { encodeTerminationAttestation, terminationBody } from "../../protocol/termination-attestation.js";
import type { TerminatedKey } from "./se-model.js";
import { requireKey, type SeModel } from "./se-model.js";

export class KeyTermination {
  constructor(
    private readonly model: SeModel,
    private readonly now: () => number,
    /** Called once a key is gone: a transaction in progress with it must not go on. */
    private readonly onDeleted: () => void,
  ) {}

  delete(keyId: string): { attestation: Uint8Array; terminatedAt: string } {
    const key = requireKey(this.model, keyId);
    const terminatedAt = this.now();
    const body = terminationBody({
      keyIdentifier: key.id,
      vehicleIdentifier: key.vehicleIdentifier,
      endpointPublicKey: key.endpoint.publicKey,
      terminatedAt,
    });
    const signature = key.endpoint.sign(body);
    this.model.keys.delete(keyId);
    this.onDeleted();
    const attestation = encodeTerminationAttestation(body, signature);
    const record: TerminatedKey = {
      keyId,
      vehicleIdentifier: toHex(key.vehicleIdentifier),
      terminatedAt: new Date(terminatedAt).toISOString(),
      unconfirmedAttestation: toHex(attestation),
    };
    this.model.terminated.push(record);
    return { attestation, terminatedAt: record.terminatedAt };
  }

  /** Every key whose access profile has ended by this SE's clock, each deleted as by `delete`. */
  deleteExpired(): { keyId: string; attestation: Uint8Array; terminatedAt: string }[] {
    const now = this.now();
    return [...this.model.keys.values()]
      .filter((k) => hasExpired(k.profile, now))
      .map((k) => ({ keyId: k.keyId, ...this.delete(k.keyId) }));
  }

  terminatedKeys(): TerminatedKey[] {
    return this.model.terminated.map((t) => ({ ...t }));
  }

  unconfirmed(): { keyId: string; attestation: Uint8Array }[] {
    return this.model.terminated
      .filter((t) => t.unconfirmedAttestation !== undefined)
      .map((t) => ({ keyId: t.keyId, attestation: fromHex(t.unconfirmedAttestation!) }));
  }

  confirmed(keyId: string): void {
    const record = this.model.terminated.find((t) => t.keyId === keyId);
    if (record) delete record.unconfirmedAttestation;
  }
}
