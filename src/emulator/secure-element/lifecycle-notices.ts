// Lifecycle notices the Device OEM signs for this device (lost mode): suspend
// and resume lock and unlock every key; terminate-key deletes one key, whose
// termination attestation goes back to the service. Counters only go up: a
// notice not newer than the last one applied is refused, so an old resume
// cannot undo a later suspension.
import { toHex } from "../../protocol/bytes.js";
import { parseCertificate } from "../../protocol/certificate-verifier.js";
import { type NoticeAction, verifyNotice } from "../../protocol/lifecycle-notice.js";
import type { EndpointCertification } from "./endpoint-certification.js";
import { SecureElementError } from "./errors.js";
import type { KeyTermination } from "./key-termination.js";
import type { SeModel } from "./se-model.js";

export interface AppliedNotice {
  action: NoticeAction;
  counter: number;
  /** "terminate-key" notices: the deleted key's termination attestation, for the service. */
  terminationAttestation?: Uint8Array;
}

export function applyNotice(
  encoded: Uint8Array,
  se: {
    model: SeModel;
    certification: EndpointCertification;
    termination: KeyTermination;
    lock(): void;
    unlock(): void;
  },
): AppliedNotice {
  const { model } = se;
  const root = parseCertificate(se.certification.require().deviceOemRoot);
  const notice = verifyNotice(encoded, root.subjectPublicKey);
  if (notice.vehicleIdentifier)
    throw new SecureElementError("notice is addressed to a vehicle, not to this device");
  if (toHex(notice.deviceId) !== model.seId) throw new SecureElementError("notice is for another device");
  if (notice.counter <= model.noticeCounter) {
    throw new SecureElementError(
      `stale notice: counter ${notice.counter} is not above ${model.noticeCounter}`,
    );
  }
  if (notice.action === "terminate-key") {
    const keyId = toHex(notice.keyIdentifier!);
    // A key this SE deleted already (its profile ended, or the user deleted it) before the service's
    // revocation reached it: the notice has nothing left to do, and a notice that could never be applied
    // would hold back every later one. Its termination attestation, if the service has not confirmed it
    // yet, goes back as this notice's.
    const gone = !model.keys.has(keyId) && se.termination.terminatedKeys().find((t) => t.keyId === keyId);
    if (gone) {
      model.noticeCounter = notice.counter;
      const held = se.termination.unconfirmed().find((t) => t.keyId === keyId);
      return {
        action: notice.action,
        counter: notice.counter,
        ...(held ? { terminationAttestation: held.attestation } : {}),
      };
    }
    // Otherwise the key must be here before the counter moves: a notice for a key this SE never held
    // changes nothing.
    const { attestation } = se.termination.delete(keyId);
    model.noticeCounter = notice.counter;
    return { action: notice.action, counter: notice.counter, terminationAttestation: attestation };
  }
  model.noticeCounter = notice.counter;
  if (notice.action === "suspend") se.lock();
  else se.unlock();
  return { action: notice.action, counter: notice.counter };
}
