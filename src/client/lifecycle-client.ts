// Key lifecycle over the service (docs/protocol.md §12–13): the owner's device revokes a
// shared key remotely; devices sync their notices (terminate a revoked key and
// confirm it with its termination attestation, lost-mode suspend/resume); the
// car's telematics fetch the signed revocation list and the lost-mode notices
// addressed to it; the OEM backend puts a device in lost mode. Every call is
// the real HTTP route; signatures come from the emulated SE's keys. The
// response types are the contract's (src/api/contract-types.ts).

import type { ResponseBody } from "../api/contract-types.js";
import { fromHex, toHex } from "../protocol/bytes.js";
import { parseCertificate } from "../protocol/certificate-verifier.js";
import { type RevocationList, verifyRevocationList } from "../protocol/revocation-list.js";
import type { RequestSigningSecureElement, SyncingSecureElement, SyncingVehicle } from "./device-ports.js";
import { ServiceProblemError, ServiceResponseError } from "./errors.js";
import type { OemAuth } from "./oem-auth.js";
import { deviceFetch, type FetchOptions, oemFetch } from "./signed-fetch.js";

type DeviceNotices = ResponseBody<"GET /v1/devices/{seId}/notices">;
type DeviceNotice = DeviceNotices["notices"][number];
type Revocation = ResponseBody<"POST /v1/revocations">;
export type RevocationListResponse = ResponseBody<"GET /v1/vehicles/{vehicleId}/revocations">;

/** What a device did when it synced. */
export interface DeviceSync {
  applied: { counter: number; action: DeviceNotice["action"]; keyId?: string }[];
  /** Keys the SE deleted and whose termination the service confirmed in this sync (earlier ones included). */
  terminated: string[];
  /** Deleted keys whose termination could not be confirmed now: the SE keeps them for the next sync. */
  unconfirmed: { keyId: string; error: string }[];
  /** Keys the SE deleted in this sync because their profile had ended (their terminations are posted too). */
  expired: string[];
}

/** Where the car's telematics unit left off. */
export interface VehicleSyncCursor {
  revocations: number;
  notices: number;
}

export class LifecycleClient {
  constructor(
    readonly baseUrl: string,
    private readonly options: FetchOptions = {},
  ) {}

  /** The owner's SE revoked a friend key (revokeFriendKey's statement): tell the service, signed by the owner key. */
  async revokeAsOwner(owner: RequestSigningSecureElement, ownerKeyId: string, revocation: Uint8Array) {
    const { body } = await deviceFetch(
      this.baseUrl,
      owner,
      `endpoint:${ownerKeyId}`,
      "POST",
      "/v1/revocations",
      { revocation: toHex(revocation) },
      this.options,
    );
    return body as Revocation;
  }

  /**
   * Fetches the device's notices after the last one its SE applied and applies
   * them in order; a terminate-key notice makes the SE delete the key, and its
   * termination attestation is posted back (revocation confirmed). The SE keeps
   * every attestation the service has not confirmed, and each sync sends them
   * all again: the notice is applied once, so a POST lost after the key was
   * deleted could otherwise never be made good. Confirmation is idempotent
   * (a repeat answers 200), so resending is safe.
   */
  async syncDevice(se: SyncingSecureElement): Promise<DeviceSync> {
    const after = se.noticeCounter;
    const { body } = await deviceFetch<DeviceNotices>(
      this.baseUrl,
      se,
      `instance:${se.seId}`,
      "GET",
      `/v1/devices/${se.seId}/notices?after=${after}`,
      undefined,
      this.options,
    );
    const sync: DeviceSync = { applied: [], terminated: [], unconfirmed: [], expired: [] };
    for (const notice of [...body.notices].sort((a, b) => a.counter - b.counter)) {
      se.applyNotice(fromHex(notice.notice, "notice"));
      sync.applied.push({
        counter: notice.counter,
        action: notice.action,
        ...(notice.keyId ? { keyId: notice.keyId } : {}),
      });
    }
    // Keys past their end go by the SE's own clock; their terminations travel with the others, and the
    // service records such a key as expired.
    sync.expired = se.deleteExpiredKeys().map((k) => k.keyId);
    for (const { keyId, attestation } of se.unconfirmedTerminations()) {
      try {
        await deviceFetch(
          this.baseUrl,
          se,
          `instance:${se.seId}`,
          "POST",
          `/v1/keys/${keyId}/termination`,
          { attestation: toHex(attestation) },
          this.options,
        );
      } catch (error) {
        sync.unconfirmed.push({ keyId, error: error instanceof Error ? error.message : String(error) });
        continue;
      }
      se.terminationConfirmed(keyId);
      sync.terminated.push(keyId);
    }
    return sync;
  }
}

/**
 * The OEM backend's lifecycle routes, and the car's telematics sync through
 * it. `token` as for OemBackendClient: bearer token, or "" for SigV4.
 */
export class OemLifecycleClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string | OemAuth,
    private readonly options: FetchOptions = {},
  ) {}

  async setLostMode(seId: string, action: "suspend" | "resume") {
    const { body } = await oemFetch(
      this.baseUrl,
      this.token,
      "POST",
      `/v1/devices/${seId}/lost-mode`,
      { action },
      this.options,
    );
    return body as ResponseBody<"POST /v1/devices/{seId}/lost-mode">;
  }

  async revokeKey(keyId: string) {
    const { body } = await oemFetch(
      this.baseUrl,
      this.token,
      "POST",
      `/v1/keys/${keyId}/revocation`,
      {},
      this.options,
    );
    return body as ResponseBody<"POST /v1/keys/{keyId}/revocation">;
  }

  /**
   * GET /v1/vehicles/{vehicleId}/revocations: the revocations after sequence
   * `after` (0: all), and the list the Vehicle OEM root signed over them,
   * which the car applies (verifyRevocationListResponse checks it).
   */
  async getRevocationList(vehicleId: string, after = 0): Promise<RevocationListResponse> {
    const { body } = await oemFetch<RevocationListResponse>(
      this.baseUrl,
      this.token,
      "GET",
      `/v1/vehicles/${encodeURIComponent(vehicleId)}/revocations?after=${after}`,
      undefined,
      this.options,
    );
    if (!Array.isArray(body?.entries) || !Number.isSafeInteger(body.latestSequence)) {
      throw new ServiceResponseError("GET /v1/vehicles/{vehicleId}/revocations: the response has no entries");
    }
    return body;
  }

  /**
   * What the car does when it is online: applies the signed revocation list
   * and its lost-mode notices after its cursor; returns the new cursor.
   */
  async syncVehicle(
    vehicle: SyncingVehicle,
    cursor: VehicleSyncCursor,
  ): Promise<{
    cursor: VehicleSyncCursor;
    revoked: number;
    noticesApplied: number;
    deletionsReported: string[];
  }> {
    const vehicleId = toHex(vehicle.vehicleIdentifier);
    // Keys deleted at the dashboard first, so the revocation list fetched next already carries them.
    const deletionsReported: string[] = [];
    for (const { keyId } of vehicle.pendingDeletions) {
      try {
        await this.revokeKey(keyId);
      } catch (error) {
        // A key the service never tracked (a workshop key) has nothing to record; anything else is retried.
        if (!(error instanceof ServiceProblemError && error.status === 404)) throw error;
      }
      vehicle.deletionReported(keyId);
      deletionsReported.push(keyId);
    }
    const revocations = await oemFetch<ResponseBody<"GET /v1/vehicles/{vehicleId}/revocations">>(
      this.baseUrl,
      this.token,
      "GET",
      `/v1/vehicles/${vehicleId}/revocations?after=${cursor.revocations}`,
      undefined,
      this.options,
    );
    if (revocations.body.list) vehicle.applyRevocationList(fromHex(revocations.body.list, "list"));
    const notices = await oemFetch<ResponseBody<"GET /v1/vehicles/{vehicleId}/notices">>(
      this.baseUrl,
      this.token,
      "GET",
      `/v1/vehicles/${vehicleId}/notices?after=${cursor.notices}`,
      undefined,
      this.options,
    );
    for (const notice of [...notices.body.notices].sort((a, b) => a.sequence - b.sequence)) {
      vehicle.applyNotice(fromHex(notice.notice, "notice"));
    }
    return {
      cursor: {
        revocations: Math.max(cursor.revocations, revocations.body.latestSequence),
        notices: Math.max(cursor.notices, notices.body.latestSequence),
      },
      revoked: revocations.body.entries.length,
      noticesApplied: notices.body.notices.length,
      deletionsReported,
    };
  }
}

/**
 * Verifies a revocation list response with the Vehicle OEM root (PEM): the
 * signed list must be for the response's vehicle and name exactly its
 * entries. Returns the signed list; an empty response (no entries) has none.
 */
export function verifyRevocationListResponse(
  response: RevocationListResponse,
  vehicleOemRootPem: string,
): RevocationList | undefined {
  const what = `the revocation list of vehicle ${response.vehicleId}`;
  if (!response.list) {
    if (response.entries.length > 0) throw new ServiceResponseError(`${what} has entries but no signed list`);
    return undefined;
  }
  const root = parseCertificate(vehicleOemRootPem);
  const list = verifyRevocationList(fromHex(response.list, "list"), root.subjectPublicKey);
  const signed = list.entries.map((e) => `${e.sequence}:${toHex(e.keyId)}`);
  const stated = response.entries.map((e) => `${e.sequence}:${e.keyId}`);
  if (
    toHex(list.vehicleIdentifier) !== response.vehicleId ||
    list.after !== response.after ||
    list.latestSequence !== response.latestSequence ||
    signed.join(",") !== stated.join(",")
  ) {
    throw new ServiceResponseError(`${what}: the signed list does not say what the response says`);
  }
  return list;
}
