// The state the service reports for a key (GET /v1/keys/{keyId}, a vehicle's
// key list, revocation and termination answers). A time-boxed key ends in one
// state, `expired`, whichever way the service learnt of its end: its SE's
// termination after deleting it by its own clock, or the expiry sweep, which
// stops it as a revocation does (a revocation-list entry for the car, a
// terminate-key notice for the SE) and records reason `expired`. Stored, the
// sweep's keys keep the revocation's states (revoked, then terminated once the
// SE confirms), because what may happen next to them is a revocation's: the SE
// confirms a notice it was sent, whatever its clock says. Only the reported
// state is one (docs/protocol.md §25).
import type { KeyRecord, KeyState } from "./ports.js";

export function reportedKeyState(record: KeyRecord): KeyState {
  if (record.revocation?.reason === "expired") return "expired";
  return record.state ?? "active";
}
