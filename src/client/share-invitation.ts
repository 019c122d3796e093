// Sharing a car key through the TIGRESS relay (docs/relay.md;
// draft-vinokurov-tigress-http-00 §7), end to end encrypted on the devices:
//
//   1. owner → friend  invitation: vehicle identifier, vehicle certificate,
//                      access profile (with its validity), invitation expiry
//   2. friend → owner  key-creation request: the friend key's endpoint
//                      certificate and its SE's instance CA certificate
//   3. owner → friend  the key attestation signed in the owner's SE
//
// Crypto as the draft says (§7.2): the Secret is a random AES-128 key, sent
// only in the share URL's fragment (never to the relay); every message is
// AES-GCM under it with a fresh random 96-bit IV, no AAD, and the payload is
// {type: "AEAD_AES_128_GCM", data: base64(IV ‖ ciphertext ‖ tag)}; the
// plaintext is JSON {format: "digitalwallet.carkey.ccc", content}.
//
// What the draft leaves to the Vertical (docs/relay.md "Choices where the draft is ambiguous" items 7 and 10: one
// overwritten slot, one key both ways, no sequence numbers, no direction):
// each content carries `step` (1, 2, 3) and `direction` (0x01 owner→friend,
// 0x02 friend→owner), inside the ciphertext where the relay cannot change
// them, and a device accepts only the peer's next step. A payload of a step
// already received is a replay, a later one is out of order, and its own
// direction is its own message read back; the pollers wait only while the
// slot still holds the device's own latest message, and refuse the rest.
// Nothing is pushed: each side polls ReadSecureContent. The car can be
// offline throughout; the friend key opens it once the attestation is
// installed (the car verifies it at the first tap).
//
// The session states are plain JSON for the wallet to keep between polls;
// they hold the Secret, as the device's own storage may, and nothing else
// secret.
import {
  type AccessProfile,
  canonicalProfile,
  checkAccessProfile,
  MAX_SHARE_DEPTH,
} from "../protocol/access-profile.js";
import { aesGcmDecrypt, aesGcmEncrypt } from "../protocol/aes.js";
import { fromHex, toHex } from "../protocol/bytes.js";
import { parseCertificate } from "../protocol/certificate-verifier.js";
import { parseKeyAttestation } from "../protocol/key-attestation.js";
import { keyIdentifier } from "../protocol/p256.js";
import type { FriendSecureElement, OwnerSecureElement } from "./device-ports.js";
import {
  ServiceProblemError,
  ShareDecryptionError,
  ShareError,
  ShareExpiredError,
  ShareFormatError,
  ShareLinkError,
  ShareOrderError,
  ShareOwnMessageError,
  ShareReplayError,
  ShareTimeoutError,
} from "./errors.js";
import {
  buildShareUrl,
  type DisplayInformation,
  type MailboxPayload,
  newDeviceClaim,
  parseShareUrl,
  rfc3339Utc,
  type TigressClient,
} from "./tigress-client.js";

export const SHARE_FORMAT = "digitalwallet.carkey.ccc";
export const SHARE_PAYLOAD_TYPE = "AEAD_AES_128_GCM";
export const DIRECTION = { ownerToFriend: 0x01, friendToOwner: 0x02 } as const;
export const STEP = { invitation: 1, keyCreationRequest: 2, keyAttestation: 3 } as const;

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Largest payload `data` accepted (base64 characters): certificates and an attestation fit many times. */
const MAX_DATA_CHARS = 64 * 1024;
const DEFAULT_INVITATION_HOURS = 48;
/** The service's relay keeps a mailbox 7 days at most (and shortens a later expiration to that). */
const MAX_INVITATION_HOURS = 7 * 24;

/** Neither names nor contacts: the relay shows this to anyone holding the link (TIGRESS §8.2.2). */
export const DEFAULT_DISPLAY_INFORMATION: DisplayInformation = {
  title: "Car key invitation",
  description: "Open this link on your phone to add a shared car key to your wallet.",
  imageURL: "https://carkeys.invalid/share-preview.png",
};

// ---- messages ------------------------------------------------------------------------------------

export interface InvitationMessage {
  step: 1;
  direction: 0x01;
  type: "invitation";
  /** hex */
  vehicleIdentifier: string;
  /** PEM, from the Vehicle OEM root: the friend's SE checks it before creating a key. */
  vehicleCertificate: string;
  /** What the owner grants, its validity (validFrom/validUntil, unix seconds) included. */
  profile: AccessProfile;
  /** When the invitation stops being accepted (RFC 3339). */
  expiresAt: string;
}

export interface KeyCreationRequestMessage {
  step: 2;
  direction: 0x02;
  type: "key-creation-request";
  endpointCertificate: string;
  instanceCaCertificate: string;
}

export interface KeyAttestationMessage {
  step: 3;
  direction: 0x01;
  type: "key-attestation";
  /** KATT statement, hex. */
  keyAttestation: string;
  /**
   * From a co-owner: the attestations from the owner down to the co-owner's own (hex), which the
   * friend's package carries for the car to check the chain (docs/protocol.md §27). Absent from an owner.
   */
  upstreamAttestations?: string[];
}

export type ShareMessage = InvitationMessage | KeyCreationRequestMessage | KeyAttestationMessage;

export type ShareRole = "owner" | "friend";

/** Where a party stands: the last step it wrote and the last it accepted from the peer. */
export interface SequenceState {
  readonly role: ShareRole;
  readonly lastSent: number;
  readonly lastReceived: number;
}

interface SessionState extends SequenceState {
  readonly apiRoot: string;
  readonly mailboxId: string;
  /** This party's Device Claim for this mailbox. */
  readonly claim: string;
  /** The Secret, base64. */
  readonly secret: string;
  /** The invitation's expiry (RFC 3339). */
  readonly expiresAt: string;
}

export interface OwnerShareState extends SessionState {
  readonly role: "owner";
  readonly ownerKeyId: string;
  readonly profile: AccessProfile;
  readonly friendKeyId?: string;
}

export interface FriendShareState extends SessionState {
  readonly role: "friend";
  readonly friendKeyId: string;
  readonly vehicleIdentifier: string;
  readonly profile: AccessProfile;
}

// ---- encryption --------------------------------------------------------------------------------

/** A fresh Secret: a random AES-128 key. */
export function generateShareSecret(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(16));
}

function payloadTypeFor(secret: Uint8Array): string {
  if (secret.length === 16) return "AEAD_AES_128_GCM";
  if (secret.length === 32) return "AEAD_AES_256_GCM";
  throw new TypeError("the Secret must be a 16- or 32-byte AES key");
}

function decodeBase64(text: string, what: string): Uint8Array {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    throw new ShareFormatError(`${what} is not base64`);
  }
  return new Uint8Array(Buffer.from(text, "base64"));
}

/** Encrypts one message under the Secret with a fresh IV. */
export function sealShareMessage(secret: Uint8Array, message: ShareMessage): MailboxPayload {
  const type = payloadTypeFor(secret);
  const plaintext = new TextEncoder().encode(JSON.stringify({ format: SHARE_FORMAT, content: message }));
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = aesGcmEncrypt(secret, iv, plaintext);
  const data = new Uint8Array(IV_BYTES + sealed.length);
  data.set(iv);
  data.set(sealed, IV_BYTES);
  return { type, data: Buffer.from(data).toString("base64") };
}

/** Decrypts and parses one payload; no sequence checks (see openShareMessage). */
export function decryptShareMessage(secret: Uint8Array, payload: MailboxPayload): ShareMessage {
  const expectedType = payloadTypeFor(secret);
  if (payload.type !== expectedType) {
    throw new ShareFormatError(`payload type ${payload.type} is not ${expectedType}`);
  }
  if (typeof payload.data !== "string" || payload.data.length > MAX_DATA_CHARS) {
    throw new ShareFormatError("payload data is missing or too large");
  }
  const data = decodeBase64(payload.data, "payload data");
  if (data.length < IV_BYTES + TAG_BYTES)
    throw new ShareDecryptionError("the payload is too short to decrypt");
  let plaintext: Uint8Array;
  try {
    plaintext = aesGcmDecrypt(secret, data.subarray(0, IV_BYTES), data.subarray(IV_BYTES));
  } catch (cause) {
    throw new ShareDecryptionError(
      "the payload does not decrypt with this Secret (wrong Secret or altered)",
      {
        cause,
      },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(plaintext));
  } catch {
    throw new ShareFormatError("the decrypted payload is not JSON");
  }
  return parseEnvelope(json);
}

/**
 * Decrypts a payload and accepts it only as the peer's next step: throws
 * ShareOwnMessageError, ShareReplayError or ShareOrderError otherwise.
 */
export function openShareMessage(
  secret: Uint8Array,
  payload: MailboxPayload,
  state: SequenceState,
): ShareMessage {
  const message = decryptShareMessage(secret, payload);
  checkSequence(message, state);
  return message;
}

export function checkSequence(message: Pick<ShareMessage, "step" | "direction">, state: SequenceState): void {
  const own = state.role === "owner" ? DIRECTION.ownerToFriend : DIRECTION.friendToOwner;
  if (message.direction === own) throw new ShareOwnMessageError(message.step);
  const expected = Math.max(state.lastSent, state.lastReceived) + 1;
  if (message.step <= state.lastReceived) throw new ShareReplayError(message.step, expected);
  if (message.step !== expected) throw new ShareOrderError(message.step, expected);
}

// ---- parsing --------------------------------------------------------------------------------------

type Json = Record<string, unknown>;

function field(content: Json, name: string, pattern?: RegExp): string {
  const value = content[name];
  if (typeof value !== "string" || value === "" || (pattern && !pattern.test(value))) {
    throw new ShareFormatError(`content.${name} is missing or malformed`);
  }
  return value;
}

function parseProfile(value: unknown): AccessProfile {
  const p = value as Json | null;
  if (!p || typeof p !== "object" || Array.isArray(p))
    throw new ShareFormatError("content.profile is not an object");
  const optionalNumber = (name: string) => {
    if (p[name] === undefined) return {};
    if (typeof p[name] !== "number") throw new ShareFormatError(`content.profile.${name} is not a number`);
    return { [name]: p[name] as number };
  };
  if (p.role !== undefined && typeof p.role !== "string")
    throw new ShareFormatError("content.profile.role is not a string");
  if (p.stabilityControlLocked !== undefined && p.stabilityControlLocked !== true) {
    throw new ShareFormatError("content.profile.stabilityControlLocked must be true when present");
  }
  const profile = {
    kind: p.kind,
    ...optionalNumber("speedLimitKmh"),
    ...optionalNumber("validFrom"),
    ...optionalNumber("validUntil"),
    // Roles and driving limits (docs/protocol.md §7): absent in invitations of earlier versions.
    ...(p.role !== undefined ? { role: p.role } : {}),
    ...optionalNumber("powerLimitPercent"),
    ...optionalNumber("audioVolumeLimitPercent"),
    ...(p.stabilityControlLocked ? { stabilityControlLocked: true } : {}),
  } as AccessProfile;
  try {
    return checkAccessProfile(profile);
  } catch (cause) {
    throw new ShareFormatError(`content.profile: ${(cause as Error).message}`, { cause });
  }
}

const HEX = /^(?:[0-9a-f]{2})+$/;

/** The optional chain above a co-owner: at most MAX_SHARE_DEPTH - 1 hex attestations. */
function upstreamField(content: Json): { upstreamAttestations?: string[] } {
  const value = content.upstreamAttestations;
  if (value === undefined) return {};
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    value.length >= MAX_SHARE_DEPTH ||
    !value.every((a) => typeof a === "string" && HEX.test(a))
  ) {
    throw new ShareFormatError("content.upstreamAttestations is malformed");
  }
  return { upstreamAttestations: value as string[] };
}
const PEM = /^-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\r?\n?$/;

function parseEnvelope(json: unknown): ShareMessage {
  const envelope = json as Json | null;
  if (!envelope || typeof envelope !== "object" || Array.isArray(envelope)) {
    throw new ShareFormatError("the plaintext is not a JSON object");
  }
  // Other top-level keys are allowed by the draft (§7) and ignored.
  if (envelope.format !== SHARE_FORMAT) throw new ShareFormatError(`format is not ${SHARE_FORMAT}`);
  const content = envelope.content as Json | null;
  if (!content || typeof content !== "object" || Array.isArray(content)) {
    throw new ShareFormatError("content is not an object");
  }
  const { step, direction, type } = content;
  const expectedDirection = step === 2 ? DIRECTION.friendToOwner : DIRECTION.ownerToFriend;
  if (step !== 1 && step !== 2 && step !== 3) throw new ShareFormatError("content.step is not 1, 2 or 3");
  if (direction !== expectedDirection) {
    throw new ShareFormatError(`content.direction does not match step ${step}`);
  }
  switch (step) {
    case 1:
      if (type !== "invitation") throw new ShareFormatError("step 1 must be an invitation");
      return {
        step,
        direction: DIRECTION.ownerToFriend,
        type,
        vehicleIdentifier: field(content, "vehicleIdentifier", HEX),
        vehicleCertificate: field(content, "vehicleCertificate", PEM),
        profile: parseProfile(content.profile),
        expiresAt: field(content, "expiresAt"),
      };
    case 2:
      if (type !== "key-creation-request")
        throw new ShareFormatError("step 2 must be a key-creation request");
      return {
        step,
        direction: DIRECTION.friendToOwner,
        type,
        endpointCertificate: field(content, "endpointCertificate", PEM),
        instanceCaCertificate: field(content, "instanceCaCertificate", PEM),
      };
    case 3:
      if (type !== "key-attestation") throw new ShareFormatError("step 3 must be a key attestation");
      return {
        step,
        direction: DIRECTION.ownerToFriend,
        type,
        keyAttestation: field(content, "keyAttestation", HEX),
        ...upstreamField(content),
      };
  }
}

// ---- the flow --------------------------------------------------------------------------------------

export interface PollOptions {
  /** Between reads; default 1 s. */
  readonly intervalMs?: number;
  /** Give up (ShareTimeoutError) after this long; default 60 s. */
  readonly timeoutMs?: number;
}

export interface CreateInvitationOptions {
  /** How long the invitation (and its mailbox) lives; default 48 h, at most 7 days (the relay's limit). */
  readonly expiresInHours?: number;
  readonly displayInformation?: DisplayInformation;
  /** Opaque OEM attestation for the relay (Mailbox-Device-Attestation). */
  readonly attestation?: string;
  readonly now?: () => number;
}

// The two SEs a share goes between: device-ports.ts (the emulator's SecureElement is both).
export type { FriendSecureElement, OwnerSecureElement } from "./device-ports.js";

function secretOf(state: SessionState): Uint8Array {
  return decodeBase64(state.secret, "the session's Secret");
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Reads until the peer's next step is there; waits only while the slot holds this party's own latest message. */
async function awaitPeerMessage(
  relay: TigressClient,
  state: SessionState,
  poll: PollOptions = {},
): Promise<ShareMessage> {
  const interval = poll.intervalMs ?? 1000;
  const deadline = Date.now() + (poll.timeoutMs ?? 60_000);
  const secret = secretOf(state);
  for (;;) {
    const content = await relay.readSecureContent(state.mailboxId, state.claim);
    try {
      return openShareMessage(secret, content.payload, state);
    } catch (error) {
      if (!(error instanceof ShareOwnMessageError) || error.step !== state.lastSent) throw error;
    }
    if (Date.now() + interval > deadline) {
      throw new ShareTimeoutError(`no answer in mailbox ${state.mailboxId} after step ${state.lastSent}`);
    }
    await sleep(interval);
  }
}

/**
 * The owner invites: a new Secret and claim, the invitation encrypted on the
 * device, a mailbox for it. Send `url` to the friend (it carries the Secret
 * in its fragment; `secret` is the same key, for sending it separately).
 */
export async function ownerCreateInvitation(
  relay: TigressClient,
  ownerSe: OwnerSecureElement,
  ownerKeyId: string,
  profile: AccessProfile,
  options: CreateInvitationOptions = {},
): Promise<{ url: string; secret: string; state: OwnerShareState }> {
  const owner = ownerSe.key(ownerKeyId);
  // An owner key, or a co-owner's shared key (its SE checks the role and profile when it attests).
  if ((owner.role !== "owner" && owner.role !== "friend") || !owner.vehicleCertificate) {
    throw new ShareError(`key ${ownerKeyId} is not a paired or shared key with a vehicle certificate`);
  }
  checkAccessProfile(profile);
  const hours = options.expiresInHours ?? DEFAULT_INVITATION_HOURS;
  if (!Number.isFinite(hours) || hours <= 0 || hours > MAX_INVITATION_HOURS) {
    throw new TypeError(`expiresInHours must be above 0 and at most ${MAX_INVITATION_HOURS}`);
  }
  const now = (options.now ?? Date.now)();
  const expiresAt = rfc3339Utc(new Date(now + hours * 3600 * 1000));
  const secret = generateShareSecret();
  const claim = newDeviceClaim();
  const invitation: InvitationMessage = {
    step: 1,
    direction: DIRECTION.ownerToFriend,
    type: "invitation",
    vehicleIdentifier: owner.vehicleIdentifier,
    vehicleCertificate: owner.vehicleCertificate,
    profile,
    expiresAt,
  };
  const created = await relay.createMailbox(
    claim,
    {
      payload: sealShareMessage(secret, invitation),
      displayInformation: options.displayInformation ?? DEFAULT_DISPLAY_INFORMATION,
      // Both parties write in turn: the draft's default (RD) would forbid the answers.
      mailboxConfiguration: { accessRights: "RWD", expiration: expiresAt },
    },
    options.attestation ? { attestation: options.attestation } : {},
  );
  const state: OwnerShareState = {
    role: "owner",
    apiRoot: relay.apiRoot,
    mailboxId: created.mailboxId,
    claim,
    secret: Buffer.from(secret).toString("base64"),
    // A relay may shorten the lifetime; the earlier instant is the one that holds.
    expiresAt:
      created.expiration && Date.parse(created.expiration) < Date.parse(expiresAt)
        ? created.expiration
        : expiresAt,
    lastSent: STEP.invitation,
    lastReceived: 0,
    ownerKeyId,
    profile,
  };
  return { url: buildShareUrl(created.urlLink, secret, "c"), secret: state.secret, state };
}

/**
 * The friend accepts: reads and decrypts the invitation (its first read binds
 * its claim), has its SE create a key for the vehicle (the SE checks the
 * vehicle certificate against the Vehicle OEM root), and posts the key's
 * certificate chain, encrypted. The key answers the car only after
 * friendFinishShare.
 */
export async function friendAcceptInvitation(
  relay: TigressClient,
  url: string,
  friendSe: FriendSecureElement,
  options: { attestation?: string; now?: () => number } = {},
): Promise<{ state: FriendShareState; keyId: string; invitation: InvitationMessage }> {
  const link = parseShareUrl(url);
  if (link.apiRoot !== relay.apiRoot) {
    throw new ShareLinkError(
      `the link points at ${link.apiRoot}, not at this wallet's relay ${relay.apiRoot}`,
    );
  }
  const claim = newDeviceClaim();
  const content = await relay.readSecureContent(link.mailboxId, claim);
  const invitation = openShareMessage(link.secret, content.payload, {
    role: "friend",
    lastSent: 0,
    lastReceived: 0,
  });
  if (invitation.type !== "invitation") throw new ShareFormatError("step 1 must be an invitation");
  const now = (options.now ?? Date.now)();
  const expires = Date.parse(invitation.expiresAt);
  if (!Number.isFinite(expires) || expires <= now) throw new ShareExpiredError("the invitation has expired");
  if (invitation.profile.validUntil !== undefined && invitation.profile.validUntil * 1000 <= now) {
    throw new ShareExpiredError("the access this invitation grants has already ended");
  }
  const created = await friendSe.createFriendKey({
    vehicleIdentifier: fromHex(invitation.vehicleIdentifier, "vehicleIdentifier"),
    vehicleCertificate: invitation.vehicleCertificate,
    profile: invitation.profile,
  });
  const request: KeyCreationRequestMessage = {
    step: 2,
    direction: DIRECTION.friendToOwner,
    type: "key-creation-request",
    endpointCertificate: created.endpointCertificate,
    instanceCaCertificate: created.instanceCaCertificate,
  };
  await relay.updateMailbox(
    link.mailboxId,
    claim,
    { payload: sealShareMessage(link.secret, request) },
    options.attestation ? { attestation: options.attestation } : {},
  );
  const state: FriendShareState = {
    role: "friend",
    apiRoot: relay.apiRoot,
    mailboxId: link.mailboxId,
    claim,
    secret: Buffer.from(link.secret).toString("base64"),
    expiresAt: invitation.expiresAt,
    lastSent: STEP.keyCreationRequest,
    lastReceived: STEP.invitation,
    friendKeyId: created.keyId,
    vehicleIdentifier: invitation.vehicleIdentifier,
    profile: invitation.profile,
  };
  return { state, keyId: created.keyId, invitation };
}

/**
 * The owner completes: waits for the key-creation request, has its SE verify
 * the friend's chain and sign the attestation with the profile the owner
 * chose (never one the friend sent), and posts it, encrypted. The SE refuses
 * without a fresh user authentication: call se.authenticateUser() (Face ID)
 * just before.
 */
export async function ownerCompleteShare(
  relay: TigressClient,
  state: OwnerShareState,
  ownerSe: OwnerSecureElement,
  options: {
    poll?: PollOptions;
    attestation?: string;
    /**
     * A one-time code the owner is shown and passes on out of band (generateActivationCode): the
     * friend's key then works only once the code is typed. It never enters the relay: only its MAC,
     * which the car alone can check, is in the attestation.
     */
    activationCode?: string;
  } = {},
): Promise<{ state: OwnerShareState; friendKeyId: string; attestation: Uint8Array }> {
  if (state.role !== "owner" || state.lastSent !== STEP.invitation) {
    throw new ShareError("this share is not waiting for a key-creation request");
  }
  const message = await awaitPeerMessage(relay, state, options.poll);
  if (message.type !== "key-creation-request")
    throw new ShareFormatError("step 2 must be a key-creation request");
  let friendKeyId: string;
  try {
    friendKeyId = toHex(keyIdentifier(parseCertificate(message.endpointCertificate).subjectPublicKey));
  } catch (cause) {
    throw new ShareFormatError("the friend's endpoint certificate does not parse", { cause });
  }
  const attestation = ownerSe.attestFriendKey(
    state.ownerKeyId,
    {
      keyId: friendKeyId,
      endpointCertificate: message.endpointCertificate,
      instanceCaCertificate: message.instanceCaCertificate,
    },
    state.profile,
    options.activationCode,
  );
  // A co-owner sends the chain above it along; an owner sends nothing more.
  const upstream = ownerSe.sharingChain(state.ownerKeyId).map((a) => toHex(a));
  const reply: KeyAttestationMessage = {
    step: 3,
    direction: DIRECTION.ownerToFriend,
    type: "key-attestation",
    keyAttestation: toHex(attestation),
    ...(upstream.length ? { upstreamAttestations: upstream } : {}),
  };
  await relay.updateMailbox(
    state.mailboxId,
    state.claim,
    { payload: sealShareMessage(secretOf(state), reply) },
    options.attestation ? { attestation: options.attestation } : {},
  );
  return {
    state: { ...state, lastReceived: STEP.keyCreationRequest, lastSent: STEP.keyAttestation, friendKeyId },
    friendKeyId,
    attestation,
  };
}

/**
 * The friend finishes: waits for the attestation, checks it grants what the
 * invitation offered, installs it into the SE (the car reads it at the first
 * tap) and deletes the mailbox. The key is then ready, with the car offline.
 * Register it with the service afterwards if wanted (CarKeysClient.registerKey
 * with the returned attestation).
 */
export async function friendFinishShare(
  relay: TigressClient,
  state: FriendShareState,
  friendSe: FriendSecureElement,
  options: { poll?: PollOptions } = {},
): Promise<{ state: FriendShareState; keyId: string; attestation: Uint8Array; mailboxDeleted: boolean }> {
  if (state.role !== "friend" || state.lastSent !== STEP.keyCreationRequest) {
    throw new ShareError("this share is not waiting for a key attestation");
  }
  const message = await awaitPeerMessage(relay, state, options.poll);
  if (message.type !== "key-attestation") throw new ShareFormatError("step 3 must be a key attestation");
  const attestation = fromHex(message.keyAttestation, "keyAttestation");
  let facts: ReturnType<typeof parseKeyAttestation>["facts"];
  try {
    facts = parseKeyAttestation(attestation).facts;
  } catch (cause) {
    throw new ShareFormatError("the key attestation does not parse", { cause });
  }
  if (toHex(facts.vehicleIdentifier) !== state.vehicleIdentifier) {
    throw new ShareError("the owner attested a key for another vehicle than the invitation's");
  }
  if (!sameProfile(facts.profile, state.profile)) {
    throw new ShareError("the owner attested another access profile than the invitation offered");
  }
  const upstream = (message.upstreamAttestations ?? []).map((a) => fromHex(a, "upstreamAttestations"));
  try {
    friendSe.installKeyAttestation(state.friendKeyId, attestation, upstream);
  } catch (cause) {
    throw new ShareError(`the key attestation does not install: ${(cause as Error).message}`, { cause });
  }
  let mailboxDeleted = true;
  try {
    await relay.deleteMailbox(state.mailboxId, state.claim);
  } catch (error) {
    // The key is installed; an undeleted mailbox only waits for its expiry.
    if (!(error instanceof ServiceProblemError)) throw error;
    mailboxDeleted = false;
  }
  return {
    state: { ...state, lastReceived: STEP.keyAttestation },
    keyId: state.friendKeyId,
    attestation,
    mailboxDeleted,
  };
}

/** The owner cancels an invitation not yet completed: the mailbox, and with it the ciphertext, is deleted. */
export async function ownerCancelInvitation(relay: TigressClient, state: OwnerShareState): Promise<void> {
  await relay.deleteMailbox(state.mailboxId, state.claim);
}

function sameProfile(a: AccessProfile, b: AccessProfile): boolean {
  // canonicalProfile lists the fields in one order and leaves defaults out, so equal profiles print alike.
  return JSON.stringify(canonicalProfile(a)) === JSON.stringify(canonicalProfile(b));
}
