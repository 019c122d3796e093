// How a revoked key's device learns of its revocation. An SE this service
// enrolled fetches a terminate-key notice signed by the service's Device OEM
// root (docs/protocol.md §19). A key on another phone maker's device (a friend
// on a foreign phone, docs/protocol.md §27) is different: that device trusts its
// own maker's root, fetches notices from its own maker's backend and never from
// this service, so a notice signed here would reach nobody who can verify it.
// For such a key the service writes no notice and publishes
// `key.revocation-to-forward` instead, naming the maker by its root's key
// identifier (as GET /v1/trust-anchors lists it): the automaker's backend
// forwards the revocation to that maker, whose backend tells its device. The
// car needs neither: it drops the key through its revocation list either way.
import { noticeEvent } from "./notices.js";
import type { DeviceNoticeRecord, KeyRecord, RevocationReason, ServiceEvent } from "./ports.js";

/** True for a key whose device another phone maker certified: no notice of ours can reach it. */
export function onOtherMakersDevice(key: KeyRecord): boolean {
  return key.deviceOemRoot !== undefined;
}

/** The events of one revocation: key.revoked with its notice's, or, for another maker's device, the forward. */
export function revocationEvents(
  key: KeyRecord,
  revocation: {
    readonly reason: RevocationReason;
    readonly occurredAt: string;
    readonly listSequence?: number;
  },
  notice: DeviceNoticeRecord | undefined,
): ServiceEvent[] {
  const listed = revocation.listSequence === undefined ? {} : { listSequence: revocation.listSequence };
  if (!notice) {
    return [
      {
        type: "key.revocation-to-forward",
        keyId: key.keyId,
        vehicleId: key.vehicleId,
        occurredAt: revocation.occurredAt,
        detail: { reason: revocation.reason, ...listed, deviceOemRoot: key.deviceOemRoot },
      },
    ];
  }
  return [
    {
      type: "key.revoked",
      keyId: key.keyId,
      vehicleId: key.vehicleId,
      occurredAt: revocation.occurredAt,
      detail: { reason: revocation.reason, ...listed, noticeCounter: notice.counter },
    },
    noticeEvent(notice),
  ];
}
