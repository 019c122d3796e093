// The car's record of keys that stopped for good (VehicleState.revoked) and
// the one way a key leaves it: every path that ends a key — the dashboard,
// a termination attestation, expiry, a new owner, the OEM's revocation list,
// the owner's revocation — goes through here, so the revoked-key record is
// built in one place, the owner's second devices follow their owner key, and
// the keys a co-owner shared follow the co-owner.
import type { EnrolledEndpoint, RevokedKey, VehicleState } from "./vehicle-state.js";

/** What the record says of the key besides its id: who attested it and with which serial, if anyone. */
type RevokedFacts = Pick<RevokedKey, "attestationSerial" | "attestedBy" | "revokedAt" | "reason">;

export class RevocationLedger {
  constructor(
    private readonly state: VehicleState,
    private readonly now: () => number,
  ) {}

  /**
   * An enrolled key leaves the car for good (terminated, deleted, expired, replaced): its record
   * joins the list, and the owner's watch keys and every key it shared go with it.
   */
  forget(endpoint: EnrolledEndpoint, reason: RevokedKey["reason"]): void {
    this.remove(endpoint);
    // An owner key's watch keys follow it (terminated, deleted, expired or revoked with it).
    for (const e of this.state.endpoints.filter((x) => x.ownerDeviceOf === endpoint.keyId)) {
      this.forget(e, reason);
    }
    this.state.revoked.push(this.record(endpoint, reason, this.now()));
    this.dropSharedBy(endpoint.keyId);
  }

  /**
   * A key named by a revocation (the OEM's list, the owner's order), enrolled here or not: it goes
   * if `enrolled`, with its watch keys and what it shared, and can never enroll again. A key
   * already on the list keeps its first record. Returns the keys dropped.
   */
  revoke(keyId: string, facts: RevokedFacts, enrolled?: EnrolledEndpoint): string[] {
    const dropped: string[] = [];
    if (enrolled) {
      this.remove(enrolled);
      dropped.push(keyId);
      for (const watch of this.state.endpoints.filter((e) => e.ownerDeviceOf === keyId)) {
        this.forget(watch, facts.reason);
        dropped.push(watch.keyId);
      }
    }
    this.recordOnce({ keyId, ...facts });
    dropped.push(...this.dropSharedBy(keyId));
    return dropped;
  }

  /** Dashboard "remove all keys": every enrolled key joins the list. Returns their ids. */
  removeAll(): string[] {
    const removed = this.state.endpoints;
    const at = this.now();
    for (const e of removed) this.state.revoked.push(this.record(e, "removed", at));
    this.state.endpoints = [];
    return removed.map((e) => e.keyId);
  }

  /**
   * A co-owner key stopped: every key it shared, directly or through a co-owner it made, stops too
   * (the chain it enrolled through no longer holds). Keys of its chain not enrolled yet are refused
   * at their first tap, since the co-owner is on the revoked list. Returns the keys dropped.
   */
  private dropSharedBy(keyId: string): string[] {
    const shared = this.state.endpoints.filter((e) => e.attestedBy === keyId || e.sharedVia?.includes(keyId));
    const at = this.now();
    for (const e of shared) {
      this.remove(e);
      this.recordOnce(this.record(e, "sharer-revoked", at));
    }
    return shared.map((e) => e.keyId);
  }

  private remove(endpoint: EnrolledEndpoint): void {
    this.state.endpoints = this.state.endpoints.filter((e) => e.keyId !== endpoint.keyId);
  }

  private recordOnce(record: RevokedKey): void {
    if (!this.state.revoked.some((r) => r.keyId === record.keyId)) this.state.revoked.push(record);
  }

  private record(endpoint: EnrolledEndpoint, reason: RevokedKey["reason"], at: number): RevokedKey {
    return {
      keyId: endpoint.keyId,
      attestationSerial: endpoint.attestationSerial ?? null,
      attestedBy: endpoint.attestedBy ?? null,
      revokedAt: new Date(at).toISOString(),
      reason,
    };
  }
}
