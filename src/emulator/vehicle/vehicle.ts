// The emulated vehicle: two readers (door handle, dashboard), the keys it
// trusts, and the decisions it takes. A tap runs one reader transaction; the
// car then decides from the reader position, the key's access profile and
// the immobilizer, logs the decision with its reason, and commits state
// changes only after the device confirmed the end of the transaction.
import { type AccessProfile, checkAccessProfile, profileRefusal } from "../../protocol/access-profile.js";
import { fromHex, toHex } from "../../protocol/bytes.js";
import { ProtocolError, ProtocolInputError } from "../../protocol/errors.js";
import {
  assertPublicKey,
  generateKeyPair,
  keyIdentifier,
  type RandomSource,
  systemRandom,
} from "../../protocol/p256.js";
import type { ApduChannel } from "./apdu-channel.js";
import {
  type AuthenticatedTransaction,
  endTransaction,
  type Intent,
  runReaderTransaction,
  TransactionRefused,
} from "./reader-transaction.js";
import type { Decision, ReaderPosition, TapResult } from "./tap-result.js";
import { type EnrolledEndpoint, VEHICLE_STATE_FORMAT, type VehicleState } from "./vehicle-state.js";

/** How many keys one car holds at most (owner plus friends). */
export const MAX_KEYS = 16;
/** How many decisions the transaction log keeps. */
export const LOG_LIMIT = 500;

export interface VehicleOptions {
  random?: RandomSource;
  now?: () => number;
}

export interface Reader {
  readonly vehicle: Vehicle;
  readonly position: ReaderPosition;
}

export class VehicleError extends Error {
  override name = "VehicleError";
}

export class Vehicle {
  readonly doorHandle: Reader = { vehicle: this, position: "door" };
  readonly dashboard: Reader = { vehicle: this, position: "dashboard" };
  private readonly random: RandomSource;
  private readonly now: () => number;

  private constructor(
    private readonly state: VehicleState,
    options: VehicleOptions,
  ) {
    this.random = options.random ?? systemRandom;
    this.now = options.now ?? Date.now;
  }

  static create(options: VehicleOptions = {}): Vehicle {
    const random = options.random ?? systemRandom;
    const pair = generateKeyPair(random);
    return new Vehicle(
      {
        format: VEHICLE_STATE_FORMAT,
        vehicleIdentifier: toHex(random(16)),
        publicKey: toHex(pair.publicKey),
        privateKey: toHex(pair.privateKey),
        doorsLocked: true,
        endpoints: [],
        log: [],
      },
      options,
    );
  }

  static restore(state: VehicleState, options: VehicleOptions = {}): Vehicle {
    if (state?.format !== VEHICLE_STATE_FORMAT)
      throw new VehicleError(`state is not ${VEHICLE_STATE_FORMAT}`);
    return new Vehicle(structuredClone(state), options);
  }

  exportState(): VehicleState {
    return structuredClone(this.state);
  }

  get vehicleIdentifier(): Uint8Array {
    return fromHex(this.state.vehicleIdentifier);
  }

  get publicKey(): Uint8Array {
    return fromHex(this.state.publicKey);
  }

  get doorsLocked(): boolean {
    return this.state.doorsLocked;
  }

  get transactionLog(): readonly TapResult[] {
    return structuredClone(this.state.log);
  }

  keys(): EnrolledEndpoint[] {
    return structuredClone(this.state.endpoints).map((e) => {
      delete e.persistentKey;
      delete e.immobilizerToken;
      return e;
    });
  }

  /** Trusts an endpoint key directly (the automaker's workshop tool; pairing does this over NFC). */
  enrollKey(request: {
    endpointPublicKey: Uint8Array;
    profile?: AccessProfile;
    role?: "owner" | "friend";
  }): string {
    const publicKey = assertPublicKey(request.endpointPublicKey, "endpoint public key");
    const keyId = toHex(keyIdentifier(publicKey));
    if (this.state.endpoints.some((e) => e.keyId === keyId))
      throw new VehicleError(`key ${keyId} is already enrolled`);
    if (this.state.endpoints.length >= MAX_KEYS)
      throw new VehicleError(`this vehicle holds at most ${MAX_KEYS} keys`);
    this.state.endpoints.push({
      keyId,
      endpointPublicKey: toHex(publicKey),
      profile: checkAccessProfile(request.profile ?? { kind: "full" }),
      role: request.role ?? "owner",
      enrolledAt: new Date(this.now()).toISOString(),
    });
    return keyId;
  }

  removeKey(keyId: string): void {
    const before = this.state.endpoints.length;
    this.state.endpoints = this.state.endpoints.filter((e) => e.keyId !== keyId);
    if (this.state.endpoints.length === before) throw new VehicleError(`no key ${keyId} in this vehicle`);
  }

  /**
   * Runs one tap at a reader. At the door the intent is to unlock a locked car
   * and to lock an unlocked one unless `intent` says otherwise; at the
   * dashboard it is engine start.
   */
  async tap(position: ReaderPosition, channel: ApduChannel, intent?: Intent): Promise<TapResult> {
    const wanted: Intent =
      position === "dashboard" ? "start" : (intent ?? (this.state.doorsLocked ? "unlock" : "lock"));
    if (position === "door" && wanted === "start")
      throw new ProtocolInputError("the door reader cannot start the engine");
    let auth: AuthenticatedTransaction;
    try {
      auth = await runReaderTransaction(channel, this.identity(), this.state.endpoints, wanted, this.random);
    } catch (error) {
      return this.record(position, refusal(error));
    }
    if (wanted === "start" && !auth.immobilizerValid) {
      // A wrong token is a bad device answer, not a policy refusal: the car neither confirms the
      // transaction nor keeps anything from it (the device discards its side when the field drops).
      return this.record(position, {
        decision: "refused",
        flow: auth.flow,
        keyId: auth.endpoint.keyId,
        reason: "immobilizer token missing or wrong",
      });
    }
    const refused = this.refusalReason(auth, wanted);
    try {
      await endTransaction(channel, auth);
    } catch (error) {
      return this.record(position, refusal(error));
    }
    // The device confirmed the end: keep what the transaction established, even for a refused
    // action (the key authenticated; its profile just does not allow this).
    if (auth.persistentKey) auth.endpoint.persistentKey = toHex(auth.persistentKey);
    if (auth.provisionedToken) auth.endpoint.immobilizerToken = toHex(auth.provisionedToken);
    if (refused)
      return this.record(position, {
        decision: "refused",
        flow: auth.flow,
        keyId: auth.endpoint.keyId,
        reason: refused,
      });

    const decision: Decision = wanted === "start" ? "started" : wanted === "unlock" ? "unlocked" : "locked";
    if (wanted !== "start") this.state.doorsLocked = wanted === "lock";
    const profile = auth.endpoint.profile;
    const limited = wanted === "start" && profile.kind === "drive";
    return this.record(position, {
      decision,
      flow: auth.flow,
      keyId: auth.endpoint.keyId,
      reason: `${auth.endpoint.role} key, ${profile.kind}${limited ? `, speed limited to ${profile.speedLimitKmh} km/h` : ""}`,
      ...(limited ? { speedLimitKmh: profile.speedLimitKmh } : {}),
    });
  }

  private refusalReason(auth: AuthenticatedTransaction, intent: Intent): string | undefined {
    const byProfile = profileRefusal(auth.endpoint.profile, intent, Math.floor(this.now() / 1000));
    return byProfile;
  }

  private identity() {
    return {
      vehicleIdentifier: fromHex(this.state.vehicleIdentifier),
      publicKey: fromHex(this.state.publicKey),
      privateKey: fromHex(this.state.privateKey),
    };
  }

  private record(reader: ReaderPosition, outcome: Omit<TapResult, "reader" | "at">): TapResult {
    const result: TapResult = { ...outcome, reader, at: new Date(this.now()).toISOString() };
    this.state.log.push(result);
    if (this.state.log.length > LOG_LIMIT) this.state.log.splice(0, this.state.log.length - LOG_LIMIT);
    return structuredClone(result);
  }
}

function refusal(error: unknown): Omit<TapResult, "reader" | "at"> {
  if (error instanceof TransactionRefused) {
    return { decision: "refused", flow: error.flow, keyId: error.keyId, reason: error.message };
  }
  if (error instanceof ProtocolError)
    return { decision: "refused", flow: null, keyId: null, reason: error.message };
  return {
    decision: "refused",
    flow: null,
    keyId: null,
    reason: `internal error: ${(error as Error).message}`,
  };
}
