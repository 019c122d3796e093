import { fromHex, toHex } from "../protocol/bytes.js";
import { type NoticeAction, noticeBody } from "../protocol/lifecycle-notice.js";
import { CounterBackoff, type CounterBackoffOptions } from "./counter-backoff.js";
import type { DevicePseudonyms } from "./device-pseudonyms.js";
import type { DeviceRequest, DeviceRequestAuthenticator } from "./device-request-auth.js";
import { ConflictError, ForbiddenError, NotFoundError } from "./errors.js";
import { logger } from "./logger.js";
import type { Outcome } from "./outcome.js";
import type {
  Clock,
  DeviceNoticeRecord,
  KeyRecord,
  Notifier,
  RecordsRead,
  ServiceEvent,
  Store,
  VehicleNoticeRecord,
  VehicleNoticeWrite,
} from "./ports.js";
import type { StatementRoots } from "./root-statement-keys.js";

/** Notices returned per fetch; the device or car fetches again from the last one. */
export const NOTICE_PAGE_SIZE = 100;

export interface NoticeView {
  readonly counter: number;
  readonly action: NoticeAction;
  readonly keyId?: string;
  readonly issuedAt: string;
  readonly notice: string;
}

export interface DeviceNoticesView {
  readonly seId: string;
  readonly latestCounter: number;
  readonly notices: NoticeView[];
}

export interface VehicleNoticesView {
  readonly vehicleId: string;
  readonly latestSequence: number;
  readonly notices: (NoticeView & { sequence: number; seId: string })[];
}

export interface LostModeView {
  readonly seId: string;
  readonly lostMode: "active" | "suspended";
  /** The device counter of the notices of the last change. */
  readonly counter: number;
  readonly vehicleIds: string[];
}

export interface NoticesOptions {
  readonly store: Store;
  readonly clock: Clock;
  readonly roots: StatementRoots;
  readonly auth: DeviceRequestAuthenticator;
  readonly notifier: Notifier;
  /** Retries of a write that lost a counter race (tests shorten them). */
  readonly counterBackoff?: CounterBackoffOptions;
  readonly pseudonyms: DevicePseudonyms;
}

/** Nothing read: the base of a RecordsRead assembled from another read. */
const NO_RECORDS: RecordsRead = {
  secureElements: new Map(),
  keys: new Map(),
  vehicles: new Map(),
  pairings: new Map(),
  deviceNoticeStates: new Map(),
  vehicleSequences: new Map(),
};

export class Notices {
  private readonly options: NoticesOptions;

  constructor(options: NoticesOptions) {
    this.options = options;
  }

  /** One Sign by the Device OEM root, checked before it is handed out. */
  async sign(fields: {
    seId: string;
    counter: number;
    action: NoticeAction;
    keyId?: string;
    vehicleId?: string;
    issuedAt: Date;
  }): Promise<string> {
    const body = noticeBody({
      deviceId: fromHex(fields.seId),
      action: fields.action,
      counter: fields.counter,
      issuedAt: fields.issuedAt.getTime(),
      ...(fields.vehicleId ? { vehicleIdentifier: fromHex(fields.vehicleId) } : {}),
      ...(fields.keyId ? { keyIdentifier: fromHex(fields.keyId) } : {}),
    });
    return toHex(await this.options.roots.signStatement("device-oem-root", body));
  }

  /**
   * A terminate-key notice for the SE holding `key`, with the counter the
   * device has next; `known` is that SE and its counter when the caller read
   * them already (with its other records).
   */
  async terminateKeyNotice(
    key: KeyRecord,
    at: Date,
    known?: { readonly seId: string; readonly counter: number },
  ): Promise<DeviceNoticeRecord> {
    const seId = known?.seId ?? (await this.options.pseudonyms.deviceOf(key));
    const counter = known?.counter ?? (await this.options.store.getDeviceNoticeState(seId)).counter;
    const next = counter + 1;
    const notice = await this.sign({
      seId,
      counter: next,
      action: "terminate-key",
      keyId: key.keyId,
      issuedAt: at,
    });
    return {
      seId,
      counter: next,
      action: "terminate-key",
      keyId: key.keyId,
      notice,
      issuedAt: at.toISOString(),
    };
  }

  /** Puts a device in lost mode or takes it out: one device notice, one per vehicle holding its keys. */
  async setLostMode(
    seId: string,
    action: "suspend" | "resume",
    caller: string,
  ): Promise<Outcome<LostModeView>> {
    const { store, clock } = this.options;
    const wanted = action === "suspend" ? "suspended" : "active";
    const reference = await this.options.pseudonyms.reference(seId);
    // A write that lost a counter race is tried again with fresh counters and signatures, after a backoff.
    const backoff = new CounterBackoff(this.options.counterBackoff);
    do {
      // The device, its notice state and the vehicles holding its keys with their sequences: two reads
      // (the key index names the vehicles), then one transaction (docs/architecture.md "DynamoDB budget").
      const read = await store.readLostModeRecords({ reference, seId });
      if (!read.secureElement) throw new NotFoundError(`secure element ${seId} is not enrolled`);
      const { state } = read;
      const vehicleIds = [...read.vehicleNotices.keys()].sort();
      if (state.lostMode === wanted) {
        // A repeat: the device is already where it was asked to be; nothing new is signed.
        return { created: false, response: { seId, lostMode: wanted, counter: state.counter, vehicleIds } };
      }
      const now = clock.now();
      const counter = state.counter + 1;
      const device: DeviceNoticeRecord = {
        seId,
        counter,
        action,
        notice: await this.sign({ seId, counter, action, issuedAt: now }),
        issuedAt: now.toISOString(),
      };
      const vehicles: VehicleNoticeWrite[] = [];
      for (const vehicleId of vehicleIds) {
        vehicles.push({
          vehicleId,
          sequence: read.vehicleNotices.get(vehicleId)! + 1,
          seId,
          counter,
          action,
          notice: await this.sign({ seId, counter, action, vehicleId, issuedAt: now }),
          issuedAt: now.toISOString(),
        });
      }
      try {
        await store.appendNotices({ notice: device, lostMode: wanted }, vehicles, read);
      } catch (error) {
        if (error instanceof ConflictError) continue;
        throw error;
      }
      await this.publishAll([
        {
          type: action === "suspend" ? "device.suspended" : "device.resumed",
          occurredAt: now.toISOString(),
          detail: { seId, counter, vehicleIds, requestedBy: caller },
        },
        noticeEvent(device),
        ...vehicles.map(vehicleNoticeEvent),
      ]);
      return { created: true, response: { seId, lostMode: wanted, counter, vehicleIds } };
    } while (await backoff.afterLostRace());
    throw new ConflictError(`the notices of secure element ${seId} are changing concurrently; retry`);
  }

  /** GET /v1/devices/{seId}/notices: signed by that SE's instance key. */
  async forDevice(seId: string, after: number, request: DeviceRequest): Promise<DeviceNoticesView> {
    const { store, auth } = this.options;
    // A suspended device must still fetch: its resume (and terminate-key notices) come this way.
    const parsed = auth.parseAs(request, "instance");
    if (parsed.id !== seId) {
      // Refused once the signature verified, as for any signer: an unauthenticated caller learns nothing.
      const caller = auth.verifyWithRecords(parsed, await store.readRecords(auth.signerReads(parsed)));
      await store.claimNonce(caller.nonce);
      throw new ForbiddenError("a device fetches only its own notices");
    }
    // The signer's record, its notice state and its notices in one read (they share a partition).
    const feed = await store.readDeviceNoticeFeed(seId, after, NOTICE_PAGE_SIZE);
    const caller = auth.verifyWithRecords(parsed, {
      ...NO_RECORDS,
      secureElements: new Map(feed.secureElement ? [[seId, feed.secureElement]] : []),
    });
    await store.claimNonce(caller.nonce);
    const { counter } = feed.state;
    if (after > counter) {
      throw new ConflictError(`stale notice cursor: after=${after} is beyond the latest counter ${counter}`);
    }
    return { seId, latestCounter: counter, notices: feed.notices.map(noticeView) };
  }

  /** GET /v1/vehicles/{vehicleId}/notices: the OEM's telematics, for the car. */
  async forVehicle(vehicleId: string, after: number): Promise<VehicleNoticesView> {
    const { store } = this.options;
    const read = await store.readRecords({ vehicles: [vehicleId], vehicleSequences: [vehicleId] });
    if (!read.vehicles.has(vehicleId)) throw new NotFoundError(`vehicle ${vehicleId} is not enrolled`);
    const { notices: latest } = read.vehicleSequences.get(vehicleId)!;
    if (after > latest) {
      throw new ConflictError(`stale notice cursor: after=${after} is beyond the latest sequence ${latest}`);
    }
    const notices = await store.listVehicleNotices(vehicleId, after, NOTICE_PAGE_SIZE);
    return {
      vehicleId,
      latestSequence: latest,
      notices: notices.map((n) => ({ ...noticeView(n), sequence: n.sequence, seId: n.seId })),
    };
  }

  async publishAll(events: readonly ServiceEvent[]): Promise<void> {
    for (const event of events) {
      try {
        await this.options.notifier.publish(event);
      } catch (error) {
        logger.error("event not published", {
          eventType: event.type,
          errorMessage: (error as Error).message,
        });
      }
    }
  }
}

function noticeView(n: DeviceNoticeRecord | VehicleNoticeRecord): NoticeView {
  return {
    counter: n.counter,
    action: n.action,
    ...("keyId" in n && n.keyId ? { keyId: n.keyId } : {}),
    issuedAt: n.issuedAt,
    notice: n.notice,
  };
}

export function noticeEvent(n: DeviceNoticeRecord): ServiceEvent {
  return {
    type: "device.notice-issued",
    ...(n.keyId ? { keyId: n.keyId } : {}),
    occurredAt: n.issuedAt,
    detail: { seId: n.seId, counter: n.counter, action: n.action, notice: n.notice },
  };
}

function vehicleNoticeEvent(n: VehicleNoticeRecord): ServiceEvent {
  return {
    type: "vehicle.notice-issued",
    vehicleId: n.vehicleId,
    occurredAt: n.issuedAt,
    detail: { seId: n.seId, counter: n.counter, sequence: n.sequence, action: n.action, notice: n.notice },
  };
}
