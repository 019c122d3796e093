// The emulated secure element of a phone or watch: it generates and holds the
// endpoint keys of every car key on the device, hosts the one Digital Key
// applet that answers the car over NFC, and models what the OS controls
// around it — express mode and user authentication, power reserve, the lost-
// mode lock, key deletion with a termination attestation — and the SE's own
// PKI role: its instance CA key (certified by the Device OEM) signs the
// endpoint certificate of each key it creates, at owner pairing or when a
// friend accepts a share. Private keys, the persistent transaction keys and
// the confidential mailboxes live only in private fields and, when exported,
// only inside sealed storage.
//
// This class is the host: it routes APDUs to the selected applet, answers
// the applets' vault, keeps the OS's flags, and hands every other request to
// its parts — the model and its stored form (se-model.ts, persisted-state.ts),
// key creation, endpoint certification, sharing, termination and notices.

import type { AccessProfile } from "../../protocol/access-profile.js";
import { equalBytes, fromHex, toHex } from "../../protocol/bytes.js";
import { FRAMEWORK_AID } from "../../protocol/constants.js";
import { signFactoryAttestation } from "../../protocol/factory-attestation.js";
import { Mailbox, type MailboxId } from "../../protocol/mailbox-operations.js";
import { assertPublicKey, P256PrivateKey, type RandomSource, systemRandom } from "../../protocol/p256.js";
import { canonicalRequest, type SignedRequestParts } from "../../protocol/request-signature.js";
import { checkVehicleIdentifier } from "../../protocol/transaction-messages.js";
import { DigitalKeyApplet } from "./digital-key-applet.js";
import { EndpointCertification } from "./endpoint-certification.js";
import { SecureElementError } from "./errors.js";
import { FrameworkApplet, type StagedOwnerKey } from "./framework-applet.js";
import { type CertifiedKey, KeyCreation } from "./key-creation.js";
import { type KeyCreationRequest, KeySharing } from "./key-sharing.js";
import { KeyTermination } from "./key-termination.js";
import type { AnswerRefusal, KeyVault, KeyView } from "./key-vault.js";
import { type AppliedNotice, applyNotice } from "./lifecycle-notices.js";
import {
  decodeState,
  emptyModel,
  encodeState,
  type KeyInfo,
  keyInfoOf,
  type SecureElementState,
} from "./persisted-state.js";
import {
  type HeldKey,
  type IssuedAttestation,
  keyForVehicle,
  requireKey,
  type SeCertificates,
  type SeModel,
  type TerminatedKey,
} from "./se-model.js";
import { createSealingKey } from "./sealed-storage.js";
import { UserAuthentication } from "./user-authentication.js";

export type { KeyCreationRequest } from "./key-sharing.js";
export { type KeyInfo, SE_STATE_FORMAT, type SecureElementState } from "./persisted-state.js";
export type { IssuedAttestation, SeCertificates, TerminatedKey } from "./se-model.js";
export { USER_AUTH_WINDOW_MS } from "./user-authentication.js";

/** How long express keys keep answering after the device powers off (iPhone: up to 5 hours). */
export const DEFAULT_POWER_RESERVE_SECONDS = 5 * 3600;

export interface SecureElementOptions {
  random?: RandomSource;
  /** Milliseconds since the epoch. */
  now?: () => number;
  powerReserveSeconds?: number;
}

/** The SE manufacturer, attesting at production that the instance CA key lives in this SE. */
export interface FactoryAttester {
  attest(deviceId: Uint8Array, instanceCaPublicKey: Uint8Array, issuedAt: number): Uint8Array;
}

/** A manufacturer with a software key (emulators, the local stack, tests). */
export function softwareFactoryAttester(manufacturerKey: Uint8Array): FactoryAttester {
  return {
    attest: (deviceId, instanceCaPublicKey, issuedAt) =>
      signFactoryAttestation(manufacturerKey, { deviceId, instanceCaPublicKey, issuedAt }),
  };
}

export interface ProvisionKeyRequest {
  vehicleIdentifier: Uint8Array;
  vehiclePublicKey: Uint8Array;
  profile?: AccessProfile;
  express?: boolean;
}

/** The owner key being created by a pairing, held only here until the car confirmed it. */
interface StagedKey extends StagedOwnerKey {
  readonly key: HeldKey;
}

export class SecureElement {
  readonly seId: string;
  readonly instanceCaPublicKey: Uint8Array;
  private readonly random: RandomSource;
  private readonly now: () => number;
  // Everything below is an ECMAScript private field: the model holds the private keys, and
  // mid-transaction the applets hold ephemeral scalars and session keys, none of which may show
  // in JSON.stringify(se) or Object.values(se).
  readonly #sealingKey: Uint8Array;
  readonly #model: SeModel;
  readonly #userAuthentication: UserAuthentication;
  readonly #certification: EndpointCertification;
  readonly #creation: KeyCreation;
  readonly #sharing: KeySharing;
  readonly #termination: KeyTermination;
  readonly #applet: DigitalKeyApplet;
  readonly #framework: FrameworkApplet;
  #selected: "digital-key" | "framework" = "digital-key";
  /** Entered by the owner in the wallet for one pairing; never stored. */
  #pairingPassword: string | undefined;
  readonly #commitListeners: Array<() => void> = [];

  private constructor(sealingKey: Uint8Array, model: SeModel, options: SecureElementOptions) {
    this.#sealingKey = sealingKey;
    this.#model = model;
    this.instanceCaPublicKey = model.instanceCa.publicKey;
    this.seId = model.seId;
    this.random = options.random ?? systemRandom;
    this.now = options.now ?? Date.now;
    this.#userAuthentication = new UserAuthentication(this.now);
    this.#certification = new EndpointCertification(model, this.random, this.now);
    this.#creation = new KeyCreation(model, this.#certification, this.random, this.now);
    this.#sharing = new KeySharing(
      model,
      this.#creation,
      this.#certification,
      this.#userAuthentication,
      this.now,
    );
    this.#termination = new KeyTermination(model, this.now, () => this.#applet.reset());
    this.#applet = new DigitalKeyApplet(this.vault(), () => this.notifyCommitted());
    this.#framework = new FrameworkApplet({
      pairingPassword: () => this.#pairingPassword,
      randomBytes: (n) => this.random(n),
      stageOwnerKey: (vehicleIdentifier, vehicleCertificate) =>
        this.stageOwnerKey(vehicleIdentifier, vehicleCertificate),
      commitOwnerKey: (staged, confirmation) => this.commitOwnerKey(staged as StagedKey, confirmation),
      discardOwnerKey: () => {},
    });
  }

  /**
   * A new, empty SE and the sealing key its storage is bound to (keep it apart
   * from the state). With a manufacturer, the SE leaves the factory with an
   * attestation of its instance CA key, which the Device OEM needs to certify it.
   */
  static create(options: SecureElementOptions & { manufacturer?: FactoryAttester } = {}): {
    se: SecureElement;
    sealingKey: Uint8Array;
  } {
    const random = options.random ?? systemRandom;
    const sealingKey = createSealingKey(random);
    const model = emptyModel(
      P256PrivateKey.generate(random),
      options.powerReserveSeconds ?? DEFAULT_POWER_RESERVE_SECONDS,
    );
    const se = new SecureElement(sealingKey, model, options);
    if (options.manufacturer) {
      model.factoryAttestation = options.manufacturer.attest(
        fromHex(se.seId),
        se.instanceCaPublicKey,
        se.now(),
      );
    }
    return { se, sealingKey };
  }

  static restore(
    state: SecureElementState,
    sealingKey: Uint8Array,
    options: SecureElementOptions = {},
  ): SecureElement {
    return new SecureElement(
      sealingKey,
      decodeState(state, sealingKey, options.powerReserveSeconds),
      options,
    );
  }

  exportState(): SecureElementState {
    return encodeState(this.#model, this.#sealingKey, this.random);
  }

  /** Highest lifecycle-notice counter applied: where the next notice fetch starts. */
  get noticeCounter(): number {
    return this.#model.noticeCounter;
  }

  /** Called after every committed transaction (the CLI saves its state file then). */
  onTransactionCommitted(listener: () => void): void {
    this.#commitListeners.push(listener);
  }

  // --- NFC ---

  /**
   * One command APDU in, one response APDU out; never rejects. SELECT picks
   * the applet (Digital Key or the pairing framework); every other command
   * goes to the one selected.
   */
  async transceive(command: Uint8Array): Promise<Uint8Array> {
    const selects = selectedApplet(command);
    if (selects === "framework") this.#applet.reset();
    else if (selects === "digital-key") this.#framework.reset();
    if (selects) this.#selected = selects;
    return this.#selected === "framework" ? this.#framework.process(command) : this.#applet.process(command);
  }

  /** The RF field dropped mid-transaction. */
  fieldLost(): void {
    this.#applet.reset();
    this.#framework.reset();
    this.#selected = "digital-key";
  }

  // --- the SE's identity and certificates ---

  get factoryAttestation(): Uint8Array | null {
    const attestation = this.#model.factoryAttestation;
    return attestation ? new Uint8Array(attestation) : null;
  }

  /**
   * Installs the instance CA certificate the Device OEM issued, with the trust
   * anchors the wallet uses: it must certify this SE's own instance CA key.
   */
  installCertificates(certificates: SeCertificates): void {
    this.#certification.install(certificates);
  }

  get installedCertificates(): SeCertificates | null {
    const certificates = this.#model.certificates;
    return certificates ? { ...certificates } : null;
  }

  /** The endpoint certificate of a key, then the instance CA certificate (PEM). */
  certificateChain(keyId: string): { endpointCertificate: string; instanceCaCertificate: string } {
    return this.#certification.chainOf(requireKey(this.#model, keyId));
  }

  /** The vehicle's pairing confirmation of an owner key made by pairing; null for any other key. */
  pairingConfirmation(keyId: string): Uint8Array | null {
    const confirmation = requireKey(this.#model, keyId).pairingConfirmation;
    return confirmation ? new Uint8Array(confirmation) : null;
  }

  /**
   * Signs a request to the cloud service with the instance CA key or a key's
   * endpoint key. Only the canonical request form is ever signed, so this can
   * never be turned into a signature over a transaction or an attestation.
   */
  signServiceRequest(parts: SignedRequestParts): Uint8Array {
    const message = canonicalRequest(parts);
    const [kind, id] = parts.signer.split(":") as ["instance" | "endpoint", string];
    if (kind === "instance") {
      if (id !== this.seId) throw new SecureElementError("signer names another SE");
      return this.#model.instanceCa.sign(message);
    }
    return requireKey(this.#model, id).endpoint.sign(message);
  }

  // --- owner pairing (the wallet side) ---

  /** The owner typed (or the automaker's app passed) the pairing password: the framework applet may pair. */
  enterPairingPassword(password: string): void {
    this.#pairingPassword = password;
  }

  private async stageOwnerKey(
    vehicleIdentifier: Uint8Array,
    vehicleCertificate: Uint8Array,
  ): Promise<StagedKey> {
    const certified: CertifiedKey = await this.#creation.createCertified(
      vehicleIdentifier,
      vehicleCertificate,
      { kind: "full" },
      "owner",
    );
    return {
      key: certified.key,
      endpointPublicKey: certified.key.endpoint.publicKey,
      endpointCertificate: certified.endpointCertificate,
      instanceCaCertificate: certified.instanceCaCertificate,
    };
  }

  private commitOwnerKey(staged: StagedKey, pairingConfirmation: Uint8Array): void {
    staged.key.pairingConfirmation = new Uint8Array(pairingConfirmation);
    this.#model.keys.set(staged.key.keyId, staged.key);
    this.#pairingPassword = undefined;
    this.notifyCommitted();
  }

  // --- sharing (offline: owner device ↔ friend device; key-sharing.ts) ---

  /**
   * The friend's side of an invitation: creates a key bound to the owner's
   * vehicle (whose certificate it checks against the Vehicle OEM root) and
   * certifies it with this SE's instance CA. The key answers the car only
   * once the owner's attestation is installed.
   */
  createFriendKey(invitation: {
    vehicleIdentifier: Uint8Array;
    vehicleCertificate: string | Uint8Array;
    profile: AccessProfile;
  }): Promise<KeyCreationRequest> {
    return this.#sharing.createFriendKey(invitation);
  }

  /**
   * The sharer's side: checks the friend's certificate chain and signs a key
   * attestation with the sharing key, after a fresh user authentication. The
   * sharing key is an owner key, or a co-owner key sharing within its profile.
   */
  attestFriendKey(
    sharerKeyId: string,
    request: KeyCreationRequest,
    profile: AccessProfile,
    /** The one-time code the owner is shown (generateActivationCode): the car then requires it. */
    activationCode?: string,
  ): Uint8Array {
    return this.#sharing.attestFriendKey(sharerKeyId, request, profile, activationCode, false);
  }

  /** The owner attests its own second device (the watch) with the owner key's profile (docs/protocol.md §28). */
  attestOwnDevice(ownerKeyId: string, request: KeyCreationRequest): Uint8Array {
    return this.#sharing.attestOwnDevice(ownerKeyId, request);
  }

  /** What goes with an attestation `sharerKeyId` signs: a co-owner's chain from the owner down. */
  sharingChain(sharerKeyId: string): Uint8Array[] {
    return this.#sharing.sharingChain(sharerKeyId);
  }

  /** The friend installs the sharer's attestation (and a co-owner's chain above it). */
  installKeyAttestation(
    friendKeyId: string,
    attestation: Uint8Array,
    upstream: readonly Uint8Array[] = [],
  ): void {
    this.#sharing.installKeyAttestation(friendKeyId, attestation, upstream);
  }

  /** The friend types the activation code the owner passed on; typing again replaces it. */
  enterActivationCode(friendKeyId: string, code: string): void {
    this.#sharing.enterActivationCode(friendKeyId, code);
  }

  /** The owner deletes a friend's key: a signed revocation waits in the owner key's private mailbox. */
  revokeFriendKey(ownerKeyId: string, friendKeyId: string): Uint8Array {
    return this.#sharing.revokeFriendKey(ownerKeyId, friendKeyId);
  }

  issuedAttestationList(): IssuedAttestation[] {
    return this.#sharing.issuedAttestationList();
  }

  // --- lost mode ---

  /**
   * Applies a suspension, resume or terminate-key notice signed by the Device
   * OEM (lifecycle-notices.ts); a notice not newer than the last one is refused.
   */
  applyNotice(encoded: Uint8Array): AppliedNotice {
    return applyNotice(encoded, {
      model: this.#model,
      certification: this.#certification,
      termination: this.#termination,
      lock: () => this.lock(),
      unlock: () => this.unlock(),
    });
  }

  // --- key management (what the wallet app asks of the SE) ---

  provisionKey(request: ProvisionKeyRequest): { keyId: string; endpointPublicKey: string } {
    const key = this.#creation.create({
      vehicleIdentifier: checkVehicleIdentifier(request.vehicleIdentifier),
      vehiclePublicKey: assertPublicKey(request.vehiclePublicKey, "vehicle public key"),
      profile: request.profile ?? { kind: "full" },
      express: request.express ?? true,
    });
    this.#model.keys.set(key.keyId, key);
    return { keyId: key.keyId, endpointPublicKey: toHex(key.endpoint.publicKey) };
  }

  listKeys(): KeyInfo[] {
    return [...this.#model.keys.values()].map(keyInfoOf);
  }

  key(keyId: string): KeyInfo {
    return keyInfoOf(requireKey(this.#model, keyId));
  }

  terminatedKeys(): TerminatedKey[] {
    return this.#termination.terminatedKeys();
  }

  /** Deleted keys whose termination the service has not confirmed yet, with their attestations. */
  unconfirmedTerminations(): { keyId: string; attestation: Uint8Array }[] {
    return this.#termination.unconfirmed();
  }

  /** The service recorded the termination of `keyId`: its attestation need not be kept any longer. */
  terminationConfirmed(keyId: string): void {
    this.#termination.confirmed(keyId);
  }

  hasPersistentKey(keyId: string): boolean {
    return this.#model.keys.get(keyId)?.persistent !== undefined;
  }

  setExpressMode(keyId: string, enabled: boolean): void {
    requireKey(this.#model, keyId).express = enabled;
  }

  /** Face ID / passcode succeeded: a non-express key may answer one transaction within the window. */
  authenticateUser(): void {
    this.#userAuthentication.succeeded();
  }

  powerOff(): void {
    this.#model.poweredOffAt = this.now();
  }

  powerOn(): void {
    this.#model.poweredOffAt = null;
  }

  get isPoweredOff(): boolean {
    return this.#model.poweredOffAt !== null;
  }

  /** Lost mode: while locked, no key answers a transaction. */
  lock(): void {
    this.#model.locked = true;
    this.#applet.reset();
  }

  unlock(): void {
    this.#model.locked = false;
  }

  get isLocked(): boolean {
    return this.#model.locked;
  }

  /**
   * Deletes every key whose access profile has ended (by this SE's clock),
   * each with its termination attestation, as deleteKey does: the wallet
   * runs it on its own, with no network, and posts the attestations to the
   * service when it next syncs, so a time-boxed key is cleaned up on the
   * device, at the car and in the service alike.
   */
  deleteExpiredKeys(): { keyId: string; attestation: Uint8Array; terminatedAt: string }[] {
    return this.#termination.deleteExpired();
  }

  /**
   * Deletes a key at once (it cannot answer any later transaction) and returns
   * its termination attestation, signed by the key itself just before its
   * private scalar is erased.
   */
  deleteKey(keyId: string): { attestation: Uint8Array; terminatedAt: string } {
    return this.#termination.delete(keyId);
  }

  /** The owner app's view of a key's private mailbox (the confidential one is never readable here). */
  readPrivateMailbox(keyId: string): Uint8Array {
    return new Uint8Array(requireKey(this.#model, keyId).privateMailbox);
  }

  private notifyCommitted(): void {
    for (const listener of this.#commitListeners) listener();
  }

  private refusalFor(view: KeyView): AnswerRefusal | undefined {
    if (this.#model.locked) return "locked";
    const { poweredOffAt, powerReserveSeconds } = this.#model;
    if (poweredOffAt !== null) {
      // On power reserve only express keys answer, and only for a bounded time.
      const reserveLeft = poweredOffAt + powerReserveSeconds * 1000 > this.now();
      return view.express && reserveLeft ? undefined : "power-reserve";
    }
    if (!view.express && !this.#userAuthentication.fresh) return "user-auth-required";
    return undefined;
  }

  /** What the Digital Key applet may ask of this SE: signatures and mailboxes, never a private key. */
  private vault(): KeyVault {
    const model = this.#model;
    const view = (key: HeldKey): KeyView => ({
      keyId: key.id,
      endpointPublicKey: key.endpoint.publicKey,
      vehicleIdentifier: key.vehicleIdentifier,
      vehiclePublicKey: key.vehiclePublicKey,
      profile: key.profile,
      express: key.express,
    });
    return {
      findKeyForVehicle: (id) => {
        const key = keyForVehicle(model, id);
        return key ? view(key) : undefined;
      },
      refusalFor: (key) => this.refusalFor(key),
      signWithEndpoint: (keyId, message) => requireKey(model, toHex(keyId)).endpoint.sign(message),
      persistentKey: (keyId) => model.keys.get(toHex(keyId))?.persistent,
      readMailbox: (keyId, mailbox: MailboxId) => {
        const id = toHex(keyId);
        if (mailbox === Mailbox.CONFIDENTIAL)
          return model.keys.get(id)?.confidentialMailbox ?? new Uint8Array(0);
        return requireKey(model, id).privateMailbox;
      },
      commitTransaction: (keyId, update) => {
        const key = model.keys.get(toHex(keyId));
        if (!key) return; // deleted while the field was up: nothing to keep
        if (update.persistent) key.persistent = new Uint8Array(update.persistent);
        key.lastTransaction = {
          flow: update.ending.flow,
          controlFlowP2: update.ending.controlFlowP2.toString(16).padStart(2, "0"),
          at: new Date(this.now()).toISOString(),
        };
        for (const [mailbox, image] of update.mailboxes) {
          if (mailbox === Mailbox.CONFIDENTIAL) key.confidentialMailbox = new Uint8Array(image);
          else key.privateMailbox = new Uint8Array(image);
        }
        // A fresh user authentication covers one transaction.
        if (!key.express) this.#userAuthentication.consume();
      },
      randomBytes: (length) => this.random(length),
    };
  }
}

/**
 * The applet a command selects, read from its header as the card's OS routes
 * it, before any applet parses it: SELECT (00 A4) of the framework AID picks
 * the framework applet, any other SELECT the Digital Key applet (which
 * answers an AID it does not know); every other command selects nothing.
 */
function selectedApplet(command: Uint8Array): "framework" | "digital-key" | undefined {
  if (command[0] !== 0x00 || command[1] !== 0xa4) return undefined;
  const aid = command.subarray(5, 5 + FRAMEWORK_AID.length);
  return aid.length === FRAMEWORK_AID.length && equalBytes(aid, FRAMEWORK_AID) ? "framework" : "digital-key";
}
