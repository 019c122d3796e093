// The emulated secure element of a phone or watch: it generates and holds the
// endpoint keys of every car key on the device, hosts the one Digital Key
// applet that answers the car over NFC, and models what the OS controls
// around it — express mode and user authentication, power reserve, the lost-
// mode lock, key deletion with a termination attestation. Private keys, the
// persistent transaction keys and the confidential mailboxes live only in a
// private field and, when exported, only inside sealed storage.
import { type AccessProfile, checkAccessProfile } from "../../protocol/access-profile.js";
import { equalBytes, fromHex, toHex, utf8 } from "../../protocol/bytes.js";
import { MAILBOX_SIZE, Mailbox, type MailboxId } from "../../protocol/mailbox-operations.js";
import {
  assertPublicKey,
  generateKeyPair,
  keyIdentifier,
  type RandomSource,
  signRaw,
  systemRandom,
} from "../../protocol/p256.js";
import { encodeTerminationAttestation, terminationBody } from "../../protocol/termination-attestation.js";
import { checkVehicleIdentifier } from "../../protocol/transaction-messages.js";
import { DigitalKeyApplet } from "./digital-key-applet.js";
import { KeyNotFoundError, SecureElementError } from "./errors.js";
import type { AnswerRefusal, KeyVault, KeyView } from "./key-vault.js";
import { createSealingKey, seal, unseal } from "./sealed-storage.js";

export const SE_STATE_FORMAT = "carkeys-se/1";
/** How long express keys keep answering after the device powers off (iPhone: up to 5 hours). */
export const DEFAULT_POWER_RESERVE_SECONDS = 5 * 3600;
/** How long a user authentication (Face ID, passcode) stays fresh for a non-express key. */
export const USER_AUTH_WINDOW_MS = 60_000;

export interface SecureElementOptions {
  random?: RandomSource;
  /** Milliseconds since the epoch. */
  now?: () => number;
  powerReserveSeconds?: number;
}

/** The public, serializable description of one car key. */
export interface KeyInfo {
  keyId: string;
  endpointPublicKey: string;
  vehicleIdentifier: string;
  vehiclePublicKey: string;
  profile: AccessProfile;
  express: boolean;
  createdAt: string;
  privateMailbox: string;
}

export interface TerminatedKey {
  keyId: string;
  vehicleIdentifier: string;
  terminatedAt: string;
}

/** What the SE hands out for storage: no private scalar outside `sealed`. */
export interface SecureElementState {
  format: typeof SE_STATE_FORMAT;
  seId: string;
  keys: KeyInfo[];
  terminated: TerminatedKey[];
  locked: boolean;
  poweredOffAt: string | null;
  powerReserveSeconds: number;
  sealed: string;
}

/** Everything secret, per key id (hex). */
interface Secrets {
  endpointPrivate: Record<string, string>;
  persistent: Record<string, string>;
  confidentialMailbox: Record<string, string>;
}

export interface ProvisionKeyRequest {
  vehicleIdentifier: Uint8Array;
  vehiclePublicKey: Uint8Array;
  profile?: AccessProfile;
  express?: boolean;
}

export class SecureElement {
  readonly seId: string;
  private readonly keys = new Map<string, KeyInfo>();
  private readonly terminated: TerminatedKey[] = [];
  private locked = false;
  private poweredOffAt: number | null = null;
  private userAuthenticatedUntil = 0;
  private readonly powerReserveSeconds: number;
  private readonly random: RandomSource;
  private readonly now: () => number;
  readonly #sealingKey: Uint8Array;
  readonly #secrets: Secrets = { endpointPrivate: {}, persistent: {}, confidentialMailbox: {} };
  // An ECMAScript private field, like the secrets: mid-transaction the applet holds ephemeral scalars
  // and session keys, which must not show in JSON.stringify(se) or Object.values(se).
  readonly #applet: DigitalKeyApplet;
  private readonly commitListeners: Array<() => void> = [];

  private constructor(sealingKey: Uint8Array, seId: string, options: SecureElementOptions) {
    this.#sealingKey = sealingKey;
    this.seId = seId;
    this.random = options.random ?? systemRandom;
    this.now = options.now ?? Date.now;
    this.powerReserveSeconds = options.powerReserveSeconds ?? DEFAULT_POWER_RESERVE_SECONDS;
    this.#applet = new DigitalKeyApplet(this.vault(), () => {
      for (const listener of this.commitListeners) listener();
    });
  }

  /** A new, empty SE and the sealing key its storage is bound to (keep it apart from the state). */
  static create(options: SecureElementOptions = {}): { se: SecureElement; sealingKey: Uint8Array } {
    const random = options.random ?? systemRandom;
    const sealingKey = createSealingKey(random);
    return { se: new SecureElement(sealingKey, toHex(random(16)), options), sealingKey };
  }

  static restore(
    state: SecureElementState,
    sealingKey: Uint8Array,
    options: SecureElementOptions = {},
  ): SecureElement {
    if (state?.format !== SE_STATE_FORMAT) throw new SecureElementError(`state is not ${SE_STATE_FORMAT}`);
    const se = new SecureElement(sealingKey, state.seId, {
      ...options,
      powerReserveSeconds: options.powerReserveSeconds ?? state.powerReserveSeconds,
    });
    const secrets = JSON.parse(new TextDecoder().decode(unseal(sealingKey, state.sealed))) as Secrets;
    Object.assign(se.#secrets, secrets);
    for (const key of state.keys) se.keys.set(key.keyId, { ...key });
    se.terminated.push(...state.terminated);
    se.locked = state.locked;
    se.poweredOffAt = state.poweredOffAt === null ? null : Date.parse(state.poweredOffAt);
    return se;
  }

  exportState(): SecureElementState {
    return {
      format: SE_STATE_FORMAT,
      seId: this.seId,
      keys: [...this.keys.values()].map((k) => ({ ...k })),
      terminated: this.terminated.map((t) => ({ ...t })),
      locked: this.locked,
      poweredOffAt: this.poweredOffAt === null ? null : new Date(this.poweredOffAt).toISOString(),
      powerReserveSeconds: this.powerReserveSeconds,
      sealed: seal(this.#sealingKey, utf8(JSON.stringify(this.#secrets)), this.random),
    };
  }

  /** Called after every committed transaction (the CLI saves its state file then). */
  onTransactionCommitted(listener: () => void): void {
    this.commitListeners.push(listener);
  }

  // --- NFC ---

  /** One command APDU in, one response APDU out; never throws. */
  transceive(command: Uint8Array): Uint8Array {
    return this.#applet.process(command);
  }

  /** The RF field dropped mid-transaction. */
  fieldLost(): void {
    this.#applet.reset();
  }

  // --- key management (what the wallet app asks of the SE) ---

  provisionKey(request: ProvisionKeyRequest): { keyId: string; endpointPublicKey: string } {
    const vehicleIdentifier = checkVehicleIdentifier(request.vehicleIdentifier);
    const vehiclePublicKey = assertPublicKey(request.vehiclePublicKey, "vehicle public key");
    const profile = checkAccessProfile(request.profile ?? { kind: "full" });
    if (this.findKeyForVehicle(vehicleIdentifier)) {
      throw new SecureElementError(`this device already holds a key for vehicle ${toHex(vehicleIdentifier)}`);
    }
    const pair = generateKeyPair(this.random);
    const keyId = toHex(keyIdentifier(pair.publicKey));
    this.#secrets.endpointPrivate[keyId] = toHex(pair.privateKey);
    this.#secrets.confidentialMailbox[keyId] = toHex(new Uint8Array(MAILBOX_SIZE[Mailbox.CONFIDENTIAL]));
    const info: KeyInfo = {
      keyId,
      endpointPublicKey: toHex(pair.publicKey),
      vehicleIdentifier: toHex(vehicleIdentifier),
      vehiclePublicKey: toHex(vehiclePublicKey),
      profile,
      express: request.express ?? true,
      createdAt: new Date(this.now()).toISOString(),
      privateMailbox: toHex(new Uint8Array(MAILBOX_SIZE[Mailbox.PRIVATE])),
    };
    this.keys.set(keyId, info);
    return { keyId, endpointPublicKey: info.endpointPublicKey };
  }

  listKeys(): KeyInfo[] {
    return [...this.keys.values()].map((k) => ({ ...k }));
  }

  key(keyId: string): KeyInfo {
    const key = this.keys.get(keyId);
    if (!key) throw new KeyNotFoundError(`no key ${keyId} on this device`);
    return { ...key };
  }

  terminatedKeys(): TerminatedKey[] {
    return this.terminated.map((t) => ({ ...t }));
  }

  hasPersistentKey(keyId: string): boolean {
    return this.#secrets.persistent[keyId] !== undefined;
  }

  setExpressMode(keyId: string, enabled: boolean): void {
    this.requireKey(keyId).express = enabled;
  }

  /** Face ID / passcode succeeded: a non-express key may answer one transaction within the window. */
  authenticateUser(): void {
    this.userAuthenticatedUntil = this.now() + USER_AUTH_WINDOW_MS;
  }

  powerOff(): void {
    this.poweredOffAt = this.now();
  }

  powerOn(): void {
    this.poweredOffAt = null;
  }

  get isPoweredOff(): boolean {
    return this.poweredOffAt !== null;
  }

  /** Lost mode: while locked, no key answers a transaction. */
  lock(): void {
    this.locked = true;
    this.#applet.reset();
  }

  unlock(): void {
    this.locked = false;
  }

  get isLocked(): boolean {
    return this.locked;
  }

  /**
   * Deletes a key at once (it cannot answer any later transaction) and returns
   * its termination attestation, signed by the key itself just before its
   * private scalar is erased.
   */
  deleteKey(keyId: string): { attestation: Uint8Array; terminatedAt: string } {
    const key = this.requireKey(keyId);
    const terminatedAt = this.now();
    const body = terminationBody({
      keyIdentifier: fromHex(key.keyId),
      vehicleIdentifier: fromHex(key.vehicleIdentifier),
      endpointPublicKey: fromHex(key.endpointPublicKey),
      terminatedAt,
    });
    const signature = this.signWith(keyId, body);
    this.keys.delete(keyId);
    delete this.#secrets.endpointPrivate[keyId];
    delete this.#secrets.persistent[keyId];
    delete this.#secrets.confidentialMailbox[keyId];
    this.#applet.reset();
    const record = {
      keyId,
      vehicleIdentifier: key.vehicleIdentifier,
      terminatedAt: new Date(terminatedAt).toISOString(),
    };
    this.terminated.push(record);
    return { attestation: encodeTerminationAttestation(body, signature), terminatedAt: record.terminatedAt };
  }

  /** The owner app's view of a key's private mailbox (the confidential one is never readable here). */
  readPrivateMailbox(keyId: string): Uint8Array {
    return fromHex(this.requireKey(keyId).privateMailbox);
  }

  private requireKey(keyId: string): KeyInfo {
    const key = this.keys.get(keyId);
    if (!key) throw new KeyNotFoundError(`no key ${keyId} on this device`);
    return key;
  }

  private signWith(keyId: string, message: Uint8Array): Uint8Array {
    const scalar = this.#secrets.endpointPrivate[keyId];
    if (!scalar) throw new KeyNotFoundError(`no key ${keyId} on this device`);
    return signRaw(fromHex(scalar), message);
  }

  private findKeyForVehicle(vehicleIdentifier: Uint8Array): KeyInfo | undefined {
    for (const key of this.keys.values()) {
      if (equalBytes(fromHex(key.vehicleIdentifier), vehicleIdentifier)) return key;
    }
    return undefined;
  }

  private refusalFor(view: KeyView): AnswerRefusal | undefined {
    if (this.locked) return "locked";
    const now = this.now();
    if (this.poweredOffAt !== null) {
      // On power reserve only express keys answer, and only for a bounded time.
      const reserveLeft = this.poweredOffAt + this.powerReserveSeconds * 1000 > now;
      return view.express && reserveLeft ? undefined : "power-reserve";
    }
    if (!view.express && now > this.userAuthenticatedUntil) return "user-auth-required";
    return undefined;
  }

  private vault(): KeyVault {
    const view = (key: KeyInfo): KeyView => ({
      keyId: fromHex(key.keyId),
      endpointPublicKey: fromHex(key.endpointPublicKey),
      vehicleIdentifier: fromHex(key.vehicleIdentifier),
      vehiclePublicKey: fromHex(key.vehiclePublicKey),
      profile: key.profile,
      express: key.express,
    });
    return {
      findKeyForVehicle: (id) => {
        const key = this.findKeyForVehicle(id);
        return key ? view(key) : undefined;
      },
      refusalFor: (key) => this.refusalFor(key),
      signWithEndpoint: (keyId, message) => this.signWith(toHex(keyId), message),
      persistentKey: (keyId) => {
        const hex = this.#secrets.persistent[toHex(keyId)];
        return hex ? fromHex(hex) : undefined;
      },
      readMailbox: (keyId, mailbox: MailboxId) => {
        const id = toHex(keyId);
        if (mailbox === Mailbox.CONFIDENTIAL) return fromHex(this.#secrets.confidentialMailbox[id] ?? "");
        return fromHex(this.requireKey(id).privateMailbox);
      },
      commitTransaction: (keyId, update) => {
        const id = toHex(keyId);
        const key = this.keys.get(id);
        if (!key) return; // deleted while the field was up: nothing to keep
        if (update.persistent) this.#secrets.persistent[id] = toHex(update.persistent);
        for (const [mailbox, image] of update.mailboxes) {
          if (mailbox === Mailbox.CONFIDENTIAL) this.#secrets.confidentialMailbox[id] = toHex(image);
          else key.privateMailbox = toHex(image);
        }
        // A fresh user authentication covers one transaction.
        if (!key.express) this.userAuthenticatedUntil = 0;
      },
      randomBytes: (length) => this.random(length),
    };
  }
}
