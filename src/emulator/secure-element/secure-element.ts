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
import {
  type AccessProfile,
  checkAccessProfile,
  profileBeyond,
  sharingRole,
} from "../../protocol/access-profile.js";
import { activationCheck, activationKey, checkActivationCode } from "../../protocol/activation-code.js";
import { equalBytes, fromHex, toHex, utf8 } from "../../protocol/bytes.js";
import { issueCertificate } from "../../protocol/certificate-issuer.js";
import type { KeyRole } from "../../protocol/certificate-profiles.js";
import { parseCertificate, verifyCertificateChain } from "../../protocol/certificate-verifier.js";
import { FRAMEWORK_AID } from "../../protocol/constants.js";
import { deviceIdFromInstanceKey } from "../../protocol/device-identity.js";
import { signFactoryAttestation } from "../../protocol/factory-attestation.js";
import { keyAttestationBody, parseKeyAttestation } from "../../protocol/key-attestation.js";
import { type NoticeAction, verifyNotice } from "../../protocol/lifecycle-notice.js";
import { MAILBOX_SIZE, Mailbox, type MailboxId } from "../../protocol/mailbox-operations.js";
import {
  assertPublicKey,
  generateKeyPair,
  type KeyPair,
  keyIdentifier,
  publicKeyOf,
  type RandomSource,
  signDigestRaw,
  signRaw,
  systemRandom,
} from "../../protocol/p256.js";
import { encodePrivateMailbox, parsePrivateMailbox } from "../../protocol/private-mailbox.js";
import { hasExpired } from "../../protocol/profile-expiry.js";
import { canonicalRequest, type SignedRequestParts } from "../../protocol/request-signature.js";
import { revocationBody } from "../../protocol/revocation.js";
import { encodeSignedStatement } from "../../protocol/signed-statement.js";
import { encodeTerminationAttestation, terminationBody } from "../../protocol/termination-attestation.js";
import { checkVehicleIdentifier } from "../../protocol/transaction-messages.js";
import { DigitalKeyApplet } from "./digital-key-applet.js";
import { KeyNotFoundError, SecureElementError, SecureElementLockedError } from "./errors.js";
import { FrameworkApplet, type StagedOwnerKey } from "./framework-applet.js";
import type { AnswerRefusal, KeyVault, KeyView } from "./key-vault.js";
import { createSealingKey, seal, unseal } from "./sealed-storage.js";

export const SE_STATE_FORMAT = "carkeys-se/1";
/** How long express keys keep answering after the device powers off (iPhone: up to 5 hours). */
export const DEFAULT_POWER_RESERVE_SECONDS = 5 * 3600;
/** How long a user authentication (Face ID, passcode) stays fresh for a non-express key. */
export const USER_AUTH_WINDOW_MS = 60_000;

/** How long endpoint certificates are valid at most (the instance CA's own validity caps it too). */
const ENDPOINT_CERTIFICATE_VALIDITY_MS = 5 * 365.25 * 24 * 3600 * 1000;
/** Clock difference between phone and car that certificate validity tolerates. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;

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

export interface SeCertificates {
  /** PEM of this SE's instance CA certificate, issued by the Device OEM root. */
  instanceCaCertificate: string;
  /** This SE's own Device OEM root: it issued the instance CA certificate and signs the SE's notices. */
  deviceOemRoot: string;
  vehicleOemRoot: string;
  /**
   * The roots of other device makers whose devices this SE shares keys with (cross-platform
   * sharing), besides its own. Absent in states written before it existed: only its own root.
   */
  trustedDeviceOemRoots?: string[];
}

/** What a friend's device answers to an invitation: its new key, certified by its instance CA. */
export interface KeyCreationRequest {
  keyId: string;
  endpointCertificate: string;
  instanceCaCertificate: string;
}

export interface IssuedAttestation {
  ownerKeyId: string;
  friendKeyId: string;
  serial: number;
  profile: AccessProfile;
  issuedAt: string;
  revoked: boolean;
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
  /** Absent for keys provisioned directly (the test shortcut). */
  role?: KeyRole;
  endpointCertificate?: string;
  /** The vehicle's certificate, verified at pairing or at accepting a share; passed on in invitations. */
  vehicleCertificate?: string;
  /**
   * Shared keys: the attestation that enrolls this key (hex) and, for a key a co-owner shared, the
   * attestations from the owner down to that co-owner. A co-owner key passes both on when it shares.
   */
  attestation?: string;
  upstreamAttestations?: string[];
  /** The last committed transaction: its flow, CONTROL FLOW's P2 in hex, and when. */
  lastTransaction?: { flow: "standard" | "fast"; controlFlowP2: string; at: string };
  /**
   * Owner keys made by pairing: the vehicle's signed pairing confirmation (hex,
   * src/protocol/pairing-confirmation.ts), which the device shows the service to register as owner.
   */
  pairingConfirmation?: string;
}

export interface TerminatedKey {
  keyId: string;
  vehicleIdentifier: string;
  terminatedAt: string;
  /**
   * The termination attestation (hex), kept until the service confirmed it: the key is gone, so
   * this signature is the only proof left, and a lost POST must be sent again at the next sync.
   */
  unconfirmedAttestation?: string;
}

/** What the SE hands out for storage: no private scalar outside `sealed`. */
export interface SecureElementState {
  format: typeof SE_STATE_FORMAT;
  seId: string;
  instanceCaPublicKey: string;
  factoryAttestation: string | null;
  certificates: SeCertificates | null;
  /** Highest lifecycle-notice counter applied (lost mode). */
  noticeCounter: number;
  issuedAttestations: IssuedAttestation[];
  keys: KeyInfo[];
  terminated: TerminatedKey[];
  locked: boolean;
  poweredOffAt: string | null;
  powerReserveSeconds: number;
  sealed: string;
}

/** Everything secret, per key id (hex). */
interface Secrets {
  instanceCaPrivate: string;
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

/** The owner key being created by a pairing, with its private key held only here until commit. */
interface StagedKey extends StagedOwnerKey {
  readonly info: KeyInfo;
  readonly pair: KeyPair;
}

export class SecureElement {
  readonly seId: string;
  readonly instanceCaPublicKey: Uint8Array;
  private factoryAttestationHex: string | null = null;
  private certificates: SeCertificates | null = null;
  private noticeCounter = 0;
  private readonly issuedAttestations: IssuedAttestation[] = [];
  private readonly keys = new Map<string, KeyInfo>();
  private readonly terminated: TerminatedKey[] = [];
  private locked = false;
  private poweredOffAt: number | null = null;
  private userAuthenticatedUntil = 0;
  private readonly powerReserveSeconds: number;
  private readonly random: RandomSource;
  private readonly now: () => number;
  readonly #sealingKey: Uint8Array;
  readonly #secrets: Secrets;
  // An ECMAScript private field, like the secrets: mid-transaction the applet holds ephemeral scalars
  // and session keys, which must not show in JSON.stringify(se) or Object.values(se).
  readonly #applet: DigitalKeyApplet;
  readonly #framework: FrameworkApplet;
  #selected: "digital-key" | "framework" = "digital-key";
  /** Entered by the owner in the wallet for one pairing; never stored. */
  #pairingPassword: string | undefined;
  private readonly commitListeners: Array<() => void> = [];

  private constructor(sealingKey: Uint8Array, instanceCaPrivate: Uint8Array, options: SecureElementOptions) {
    this.#sealingKey = sealingKey;
    this.#secrets = {
      instanceCaPrivate: toHex(instanceCaPrivate),
      endpointPrivate: {},
      persistent: {},
      confidentialMailbox: {},
    };
    this.instanceCaPublicKey = publicKeyOf(instanceCaPrivate);
    this.seId = toHex(deviceIdFromInstanceKey(this.instanceCaPublicKey));
    this.random = options.random ?? systemRandom;
    this.now = options.now ?? Date.now;
    this.powerReserveSeconds = options.powerReserveSeconds ?? DEFAULT_POWER_RESERVE_SECONDS;
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
    const se = new SecureElement(sealingKey, generateKeyPair(random).privateKey, options);
    if (options.manufacturer) {
      const attestation = options.manufacturer.attest(fromHex(se.seId), se.instanceCaPublicKey, se.now());
      se.factoryAttestationHex = toHex(attestation);
    }
    return { se, sealingKey };
  }

  static restore(
    state: SecureElementState,
    sealingKey: Uint8Array,
    options: SecureElementOptions = {},
  ): SecureElement {
    if (state?.format !== SE_STATE_FORMAT) throw new SecureElementError(`state is not ${SE_STATE_FORMAT}`);
    const secrets = JSON.parse(new TextDecoder().decode(unseal(sealingKey, state.sealed))) as Secrets;
    const se = new SecureElement(sealingKey, fromHex(secrets.instanceCaPrivate), {
      ...options,
      powerReserveSeconds: options.powerReserveSeconds ?? state.powerReserveSeconds,
    });
    if (se.seId !== state.seId) throw new SecureElementError("sealed storage belongs to another SE");
    Object.assign(se.#secrets, secrets);
    se.factoryAttestationHex = state.factoryAttestation;
    se.certificates = state.certificates;
    se.noticeCounter = state.noticeCounter;
    se.issuedAttestations.push(...state.issuedAttestations);
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
      instanceCaPublicKey: toHex(this.instanceCaPublicKey),
      factoryAttestation: this.factoryAttestationHex,
      certificates: this.certificates ? structuredClone(this.certificates) : null,
      noticeCounter: this.noticeCounter,
      issuedAttestations: this.issuedAttestations.map((a) => ({ ...a })),
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

  /**
   * One command APDU in, one response APDU out; never rejects. SELECT picks
   * the applet (Digital Key or the pairing framework); every other command
   * goes to the one selected.
   */
  async transceive(command: Uint8Array): Promise<Uint8Array> {
    if (isSelectOf(command, FRAMEWORK_AID)) {
      this.#applet.reset();
      this.#selected = "framework";
    } else if (command[0] === 0x00 && command[1] === 0xa4) {
      this.#framework.reset();
      this.#selected = "digital-key";
    }
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
    return this.factoryAttestationHex ? fromHex(this.factoryAttestationHex) : null;
  }

  /**
   * Installs the instance CA certificate the Device OEM issued, with the trust
   * anchors the wallet uses: it must certify this SE's own instance CA key.
   */
  installCertificates(certificates: SeCertificates): void {
    const chain = verifyCertificateChain({
      leaf: certificates.instanceCaCertificate,
      anchors: [certificates.deviceOemRoot],
      expectedLeafProfile: "instance-ca",
      at: new Date(this.now()),
    });
    if (!equalBytes(chain.publicKey, this.instanceCaPublicKey)) {
      throw new SecureElementError("the instance CA certificate certifies another key");
    }
    parseCertificate(certificates.vehicleOemRoot);
    for (const root of certificates.trustedDeviceOemRoots ?? []) {
      if (parseCertificate(root).profile !== "device-oem-root")
        throw new SecureElementError("a trusted Device OEM root is not a Device OEM root certificate");
    }
    this.certificates = {
      ...certificates,
      ...(certificates.trustedDeviceOemRoots
        ? { trustedDeviceOemRoots: [...certificates.trustedDeviceOemRoots] }
        : {}),
    };
  }

  /** Every Device OEM root whose devices this SE shares keys with: its own first, then the trusted ones. */
  private sharingAnchors(): string[] {
    const certificates = this.requireCertificates();
    return [certificates.deviceOemRoot, ...(certificates.trustedDeviceOemRoots ?? [])];
  }

  get installedCertificates(): SeCertificates | null {
    return this.certificates ? { ...this.certificates } : null;
  }

  /** The endpoint certificate of a key, then the instance CA certificate (PEM). */
  certificateChain(keyId: string): { endpointCertificate: string; instanceCaCertificate: string } {
    const key = this.requireKey(keyId);
    if (!key.endpointCertificate || !this.certificates) {
      throw new SecureElementError(
        `key ${keyId} has no certificate (provisioned directly, not paired or shared)`,
      );
    }
    return {
      endpointCertificate: key.endpointCertificate,
      instanceCaCertificate: this.certificates.instanceCaCertificate,
    };
  }

  /** The vehicle's pairing confirmation of an owner key made by pairing; null for any other key. */
  pairingConfirmation(keyId: string): Uint8Array | null {
    const confirmation = this.requireKey(keyId).pairingConfirmation;
    return confirmation ? fromHex(confirmation) : null;
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
      return signRaw(fromHex(this.#secrets.instanceCaPrivate), message);
    }
    return this.signWith(id, message);
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
    const vehicle = this.verifyVehicleCertificate(vehicleIdentifier, vehicleCertificate);
    if (this.findKeyForVehicle(vehicleIdentifier)) {
      throw new SecureElementError(`this device already holds a key for vehicle ${toHex(vehicleIdentifier)}`);
    }
    const pair = generateKeyPair(this.random);
    const info = this.newKeyInfo(
      pair.publicKey,
      vehicleIdentifier,
      vehicle.publicKey,
      { kind: "full" },
      true,
    );
    info.role = "owner";
    info.vehicleCertificate = parseCertificate(vehicleCertificate).certificate.toString("pem");
    const endpoint = await this.certifyEndpoint(pair.publicKey, vehicleIdentifier, "owner");
    info.endpointCertificate = endpoint.pem;
    return {
      info,
      pair,
      endpointPublicKey: pair.publicKey,
      endpointCertificate: endpoint.der,
      instanceCaCertificate: parseCertificate(this.requireCertificates().instanceCaCertificate).der,
    };
  }

  private commitOwnerKey(staged: StagedKey, pairingConfirmation: Uint8Array): void {
    this.storeKey(
      { ...staged.info, pairingConfirmation: toHex(pairingConfirmation) },
      staged.pair.privateKey,
    );
    this.#pairingPassword = undefined;
    this.notifyCommitted();
  }

  // --- sharing (offline: owner device ↔ friend device) ---

  /**
   * The friend's side of an invitation: creates a key bound to the owner's
   * vehicle (whose certificate it checks against the Vehicle OEM root) and
   * certifies it with this SE's instance CA. The key answers the car only
   * once the owner's attestation is installed.
   */
  async createFriendKey(invitation: {
    vehicleIdentifier: Uint8Array;
    vehicleCertificate: string | Uint8Array;
    profile: AccessProfile;
  }): Promise<KeyCreationRequest> {
    const vehicle = this.verifyVehicleCertificate(
      invitation.vehicleIdentifier,
      invitation.vehicleCertificate,
    );
    if (this.findKeyForVehicle(invitation.vehicleIdentifier)) {
      throw new SecureElementError(
        `this device already holds a key for vehicle ${toHex(invitation.vehicleIdentifier)}`,
      );
    }
    const pair = generateKeyPair(this.random);
    const info = this.newKeyInfo(
      pair.publicKey,
      invitation.vehicleIdentifier,
      vehicle.publicKey,
      invitation.profile,
      true,
    );
    info.role = "friend";
    info.vehicleCertificate = parseCertificate(invitation.vehicleCertificate).certificate.toString("pem");
    info.endpointCertificate = (
      await this.certifyEndpoint(pair.publicKey, invitation.vehicleIdentifier, "friend")
    ).pem;
    this.storeKey(info, pair.privateKey);
    return { keyId: info.keyId, ...this.certificateChain(info.keyId) };
  }

  /**
   * The sharer's side: checks the friend's certificate chain and signs a key
   * attestation with the sharing key — after a fresh user authentication, as
   * the wallet asks for Face ID before sharing. The sharing key is an owner
   * key, or a shared key whose profile makes it a co-owner; a co-owner shares
   * only within its own profile. How deep a chain of co-owners may go is the
   * car's rule (it refuses a chain too deep at the first tap), not the SE's.
   */
  attestFriendKey(
    sharerKeyId: string,
    request: KeyCreationRequest,
    profile: AccessProfile,
    /** The one-time code the owner is shown (generateActivationCode): the car then requires it. */
    activationCode?: string,
    /** Internal: the key is on another device of the owner (attestOwnDevice). */
    ownerDevice = false,
  ): Uint8Array {
    // A lost phone must not mint keys: the car and the service refuse them too, but the SE is the first line.
    if (this.locked) throw new SecureElementLockedError("sign a key attestation");
    const sharer = this.requireKey(sharerKeyId);
    const granted = checkAccessProfile(profile);
    if (sharer.role !== "owner") {
      const role = sharer.role === "friend" ? sharingRole(sharer.profile) : "unshared";
      if (role !== "co-owner") {
        throw new SecureElementError(
          `key ${sharerKeyId} is a ${role} key: only owner and co-owner keys share`,
        );
      }
      if (!sharer.attestation) throw new SecureElementError(`key ${sharerKeyId} has no attestation yet`);
      const beyond = profileBeyond(granted, sharer.profile);
      if (beyond) throw new SecureElementError(`a co-owner shares only within its own profile: ${beyond}`);
      // The car derives the code's key from an owner key it paired: a co-owner's share cannot carry one.
      if (activationCode !== undefined)
        throw new SecureElementError("an activation code goes with the owner's shares only");
    }
    if (this.now() > this.userAuthenticatedUntil)
      throw new SecureElementError("sharing needs a fresh user authentication");
    const friend = verifyCertificateChain({
      leaf: request.endpointCertificate,
      intermediates: [request.instanceCaCertificate],
      // Cross-platform: a friend on another maker's phone, if its Device OEM is one this SE trusts.
      anchors: this.sharingAnchors(),
      expectedLeafProfile: "endpoint",
      at: new Date(this.now()),
    });
    if (friend.keyRole !== "friend")
      throw new SecureElementError("the shared key's certificate is not a friend key");
    if (!friend.vehicleIdentifier || toHex(friend.vehicleIdentifier) !== sharer.vehicleIdentifier) {
      throw new SecureElementError("the shared key is bound to another vehicle");
    }
    const serial =
      1 +
      Math.max(
        0,
        ...this.issuedAttestations.filter((a) => a.ownerKeyId === sharerKeyId).map((a) => a.serial),
      );
    const issuedAt = this.now();
    const friendKeyId = keyIdentifier(friend.publicKey);
    const body = keyAttestationBody({
      vehicleIdentifier: fromHex(sharer.vehicleIdentifier),
      endpointPublicKey: friend.publicKey,
      profile: granted,
      serial,
      issuedAt,
      signerKeyId: fromHex(sharerKeyId),
      ...(ownerDevice ? { ownerDevice: true } : {}),
      ...(activationCode === undefined
        ? {}
        : {
            // Only this SE and the car can derive the key: the code's MAC proves nothing to anyone else.
            activationCheck: activationCheck(
              activationKey(
                fromHex(this.#secrets.endpointPrivate[sharerKeyId]!),
                fromHex(sharer.vehiclePublicKey),
                fromHex(sharer.vehicleIdentifier),
                fromHex(sharerKeyId),
              ),
              friendKeyId,
              serial,
              activationCode,
            ),
          }),
    });
    this.userAuthenticatedUntil = 0;
    this.issuedAttestations.push({
      ownerKeyId: sharerKeyId,
      friendKeyId: toHex(keyIdentifier(friend.publicKey)),
      serial,
      profile,
      issuedAt: new Date(issuedAt).toISOString(),
      revoked: false,
    });
    return encodeSignedStatement(body, this.signWith(sharerKeyId, body));
  }

  /**
   * The owner adds the car key to a second device of theirs (the paired
   * watch, with its own SE): the watch's SE creates its key as for a share
   * (createFriendKey), and this SE attests it as the owner's own device, with
   * the owner key's profile. The car treats it as an owner key outside the
   * friend slots (docs/protocol.md §28). Needs a fresh user authentication.
   */
  attestOwnDevice(ownerKeyId: string, request: KeyCreationRequest): Uint8Array {
    const owner = this.requireKey(ownerKeyId);
    if (owner.role !== "owner") throw new SecureElementError(`key ${ownerKeyId} is not an owner key`);
    return this.attestFriendKey(ownerKeyId, request, owner.profile, undefined, true);
  }

  /**
   * What goes with an attestation `sharerKeyId` signs, for the car to check the chain: nothing for
   * an owner key; for a co-owner, the attestations from the owner down to (and including) its own.
   */
  sharingChain(sharerKeyId: string): Uint8Array[] {
    const sharer = this.requireKey(sharerKeyId);
    if (sharer.role === "owner" || !sharer.attestation) return [];
    return [...(sharer.upstreamAttestations ?? []), sharer.attestation].map((hex) => fromHex(hex));
  }

  /**
   * The friend installs the sharer's attestation (and, from a co-owner, the chain above it): the car
   * reads them from the private mailbox at the first tap.
   */
  installKeyAttestation(
    friendKeyId: string,
    attestation: Uint8Array,
    upstream: readonly Uint8Array[] = [],
  ): void {
    const key = this.requireKey(friendKeyId);
    const { facts } = parseKeyAttestation(attestation);
    if (toHex(facts.endpointPublicKey) !== key.endpointPublicKey) {
      throw new SecureElementError("the attestation is for another key");
    }
    const above = upstream.at(-1);
    if (
      above &&
      !equalBytes(keyIdentifier(parseKeyAttestation(above).facts.endpointPublicKey), facts.signerKeyId)
    ) {
      throw new SecureElementError(
        "the attestation chain does not end at the key that signed the attestation",
      );
    }
    const chain = this.certificateChain(friendKeyId);
    key.profile = facts.profile;
    key.attestation = toHex(attestation);
    if (upstream.length > 0) key.upstreamAttestations = upstream.map((a) => toHex(a));
    else delete key.upstreamAttestations;
    key.privateMailbox = toHex(
      encodePrivateMailbox(
        {
          enrollment: {
            attestation,
            endpointCertificate: parseCertificate(chain.endpointCertificate).der,
            instanceCaCertificate: parseCertificate(chain.instanceCaCertificate).der,
            upstream,
          },
          revocations: [],
        },
        MAILBOX_SIZE[Mailbox.PRIVATE],
      ),
    );
  }

  /**
   * The friend types the activation code the owner passed on: the wallet adds
   * it to the key's enrollment package, which the car reads at the first tap
   * (over secure messaging) and checks against the attestation. A wrong code
   * is refused there and counts; typing again replaces it.
   */
  enterActivationCode(friendKeyId: string, code: string): void {
    const key = this.requireKey(friendKeyId);
    const content = parsePrivateMailbox(fromHex(key.privateMailbox));
    if (!content.enrollment) throw new SecureElementError(`key ${friendKeyId} has no enrollment package`);
    key.privateMailbox = toHex(
      encodePrivateMailbox(
        { ...content, enrollment: { ...content.enrollment, activationCode: checkActivationCode(code) } },
        MAILBOX_SIZE[Mailbox.PRIVATE],
      ),
    );
  }

  /**
   * The owner deletes a friend's key: a revocation signed by the owner key is
   * queued in the owner key's private mailbox; the car applies it at the
   * owner's next tap, with no network anywhere.
   */
  revokeFriendKey(ownerKeyId: string, friendKeyId: string): Uint8Array {
    if (this.locked) throw new SecureElementLockedError("sign a revocation");
    const owner = this.requireKey(ownerKeyId);
    // The car reads revocations from owner keys' mailboxes only; a co-owner's shares end with the co-owner.
    if (owner.role !== "owner") throw new SecureElementError(`key ${ownerKeyId} is not an owner key`);
    const issued = this.issuedAttestations.filter(
      (a) => a.ownerKeyId === ownerKeyId && a.friendKeyId === friendKeyId,
    );
    if (issued.length === 0) throw new KeyNotFoundError(`key ${ownerKeyId} never shared key ${friendKeyId}`);
    const serial = Math.max(...issued.map((a) => a.serial));
    const body = revocationBody({
      vehicleIdentifier: fromHex(owner.vehicleIdentifier),
      revokedKeyId: fromHex(friendKeyId),
      attestationSerial: serial,
      issuedAt: this.now(),
      signerKeyId: fromHex(ownerKeyId),
    });
    const revocation = encodeSignedStatement(body, this.signWith(ownerKeyId, body));
    const mailbox = parsePrivateMailbox(fromHex(owner.privateMailbox));
    owner.privateMailbox = toHex(
      encodePrivateMailbox(
        { ...mailbox, revocations: [...mailbox.revocations, revocation] },
        MAILBOX_SIZE[Mailbox.PRIVATE],
      ),
    );
    for (const a of issued) a.revoked = true;
    return revocation;
  }

  issuedAttestationList(): IssuedAttestation[] {
    return this.issuedAttestations.map((a) => ({ ...a }));
  }

  // --- lost mode ---

  /**
   * Applies a suspension or resume notice signed by the Device OEM. Counters
   * only go up: a notice not newer than the last one applied is refused, so an
   * old resume cannot undo a later suspension.
   */
  applyNotice(encoded: Uint8Array): {
    action: NoticeAction;
    counter: number;
    /** "terminate-key" notices: the deleted key's termination attestation, for the service. */
    terminationAttestation?: Uint8Array;
  } {
    const root = parseCertificate(this.requireCertificates().deviceOemRoot);
    const notice = verifyNotice(encoded, root.subjectPublicKey);
    if (notice.vehicleIdentifier)
      throw new SecureElementError("notice is addressed to a vehicle, not to this device");
    if (toHex(notice.deviceId) !== this.seId) throw new SecureElementError("notice is for another device");
    if (notice.counter <= this.noticeCounter) {
      throw new SecureElementError(
        `stale notice: counter ${notice.counter} is not above ${this.noticeCounter}`,
      );
    }
    if (notice.action === "terminate-key") {
      // The key must be here before the counter moves: a notice for a key this SE does not hold changes nothing.
      const { attestation } = this.deleteKey(toHex(notice.keyIdentifier!));
      this.noticeCounter = notice.counter;
      return { action: notice.action, counter: notice.counter, terminationAttestation: attestation };
    }
    this.noticeCounter = notice.counter;
    if (notice.action === "suspend") this.lock();
    else this.unlock();
    return { action: notice.action, counter: notice.counter };
  }

  // --- key management (what the wallet app asks of the SE) ---

  provisionKey(request: ProvisionKeyRequest): { keyId: string; endpointPublicKey: string } {
    const vehicleIdentifier = checkVehicleIdentifier(request.vehicleIdentifier);
    const vehiclePublicKey = assertPublicKey(request.vehiclePublicKey, "vehicle public key");
    if (this.findKeyForVehicle(vehicleIdentifier)) {
      throw new SecureElementError(`this device already holds a key for vehicle ${toHex(vehicleIdentifier)}`);
    }
    const pair = generateKeyPair(this.random);
    const info = this.newKeyInfo(
      pair.publicKey,
      vehicleIdentifier,
      vehiclePublicKey,
      request.profile ?? { kind: "full" },
      request.express ?? true,
    );
    this.storeKey(info, pair.privateKey);
    return { keyId: info.keyId, endpointPublicKey: info.endpointPublicKey };
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

  /** Deleted keys whose termination the service has not confirmed yet, with their attestations. */
  unconfirmedTerminations(): { keyId: string; attestation: Uint8Array }[] {
    return this.terminated
      .filter((t) => t.unconfirmedAttestation !== undefined)
      .map((t) => ({ keyId: t.keyId, attestation: fromHex(t.unconfirmedAttestation!) }));
  }

  /** The service recorded the termination of `keyId`: its attestation need not be kept any longer. */
  terminationConfirmed(keyId: string): void {
    const record = this.terminated.find((t) => t.keyId === keyId);
    if (record) delete record.unconfirmedAttestation;
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
   * Deletes every key whose access profile has ended (by this SE's clock),
   * each with its termination attestation, as deleteKey does: the wallet
   * runs it on its own, with no network, and posts the attestations to the
   * service when it next syncs, so a time-boxed key is cleaned up on the
   * device, at the car and in the service alike.
   */
  deleteExpiredKeys(): { keyId: string; attestation: Uint8Array; terminatedAt: string }[] {
    const now = this.now();
    return [...this.keys.values()]
      .filter((k) => hasExpired(k.profile, now))
      .map((k) => ({ keyId: k.keyId, ...this.deleteKey(k.keyId) }));
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
    const attestation = encodeTerminationAttestation(body, signature);
    const record: TerminatedKey = {
      keyId,
      vehicleIdentifier: key.vehicleIdentifier,
      terminatedAt: new Date(terminatedAt).toISOString(),
      unconfirmedAttestation: toHex(attestation),
    };
    this.terminated.push(record);
    return { attestation, terminatedAt: record.terminatedAt };
  }

  /** The owner app's view of a key's private mailbox (the confidential one is never readable here). */
  readPrivateMailbox(keyId: string): Uint8Array {
    return fromHex(this.requireKey(keyId).privateMailbox);
  }

  private newKeyInfo(
    endpointPublicKey: Uint8Array,
    vehicleIdentifier: Uint8Array,
    vehiclePublicKey: Uint8Array,
    profile: AccessProfile,
    express: boolean,
  ): KeyInfo {
    return {
      keyId: toHex(keyIdentifier(endpointPublicKey)),
      endpointPublicKey: toHex(endpointPublicKey),
      vehicleIdentifier: toHex(vehicleIdentifier),
      vehiclePublicKey: toHex(vehiclePublicKey),
      profile: checkAccessProfile(profile),
      express,
      createdAt: new Date(this.now()).toISOString(),
      privateMailbox: toHex(encodePrivateMailbox({ revocations: [] }, MAILBOX_SIZE[Mailbox.PRIVATE])),
    };
  }

  private storeKey(info: KeyInfo, privateKey: Uint8Array): void {
    this.#secrets.endpointPrivate[info.keyId] = toHex(privateKey);
    this.#secrets.confidentialMailbox[info.keyId] = toHex(new Uint8Array(MAILBOX_SIZE[Mailbox.CONFIDENTIAL]));
    this.keys.set(info.keyId, info);
  }

  private requireCertificates(): SeCertificates {
    if (!this.certificates)
      throw new SecureElementError("this SE has no instance CA certificate yet (enroll it first)");
    return this.certificates;
  }

  private verifyVehicleCertificate(vehicleIdentifier: Uint8Array, certificate: string | Uint8Array) {
    const vehicle = verifyCertificateChain({
      leaf: certificate,
      anchors: [this.requireCertificates().vehicleOemRoot],
      expectedLeafProfile: "vehicle",
      at: new Date(this.now()),
    });
    if (!vehicle.vehicleIdentifier || !equalBytes(vehicle.vehicleIdentifier, vehicleIdentifier)) {
      throw new SecureElementError("the vehicle certificate is for another vehicle");
    }
    return vehicle;
  }

  /** Issues an endpoint certificate signed inside the SE by its instance CA key. */
  private async certifyEndpoint(endpointPublicKey: Uint8Array, vehicleIdentifier: Uint8Array, role: KeyRole) {
    const certificates = this.requireCertificates();
    const instanceCa = parseCertificate(certificates.instanceCaCertificate);
    const instanceKey = fromHex(this.#secrets.instanceCaPrivate);
    const now = this.now();
    return issueCertificate({
      profile: "endpoint",
      subjectPublicKey: endpointPublicKey,
      subject: { organization: subjectOrganization(instanceCa.subject) },
      issuer: {
        signer: {
          publicKey: async () => this.instanceCaPublicKey,
          signDigest: async (digest) => signDigestRaw(instanceKey, digest),
        },
        certificate: certificates.instanceCaCertificate,
      },
      // Backdated: the car's clock may run a little behind the phone's.
      notBefore: new Date(Math.max(now - CLOCK_SKEW_MS, instanceCa.notBefore.getTime())),
      notAfter: new Date(Math.min(now + ENDPOINT_CERTIFICATE_VALIDITY_MS, instanceCa.notAfter.getTime())),
      vehicleIdentifier,
      keyRole: role,
      random: this.random,
    });
  }

  private notifyCommitted(): void {
    for (const listener of this.commitListeners) listener();
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
        key.lastTransaction = {
          flow: update.ending.flow,
          controlFlowP2: update.ending.controlFlowP2.toString(16).padStart(2, "0"),
          at: new Date(this.now()).toISOString(),
        };
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

function isSelectOf(command: Uint8Array, aid: Uint8Array): boolean {
  return (
    command.length >= 5 + aid.length &&
    command[0] === 0x00 &&
    command[1] === 0xa4 &&
    equalBytes(command.subarray(5, 5 + aid.length), aid)
  );
}

/** The O attribute of an RFC 4514 subject, so endpoint certificates name the same OEM as their issuer. */
function subjectOrganization(subject: string): string {
  const match = /(?:^|,)\s*O=((?:\\.|[^,])+)/.exec(subject);
  return match ? match[1]!.replace(/\\(.)/g, "$1") : "Device OEM";
}
