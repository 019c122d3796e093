// The SE's stored form (format carkeys-se/1) and the one place it turns into
// the in-memory model and back. Stored, every value is hex or PEM and every
// private scalar, persistent key and confidential mailbox is inside `sealed`
// (AES-GCM under the sealing key, sealed-storage.ts); in memory a key is bytes
// and a private key object (se-model.ts). Nothing else seals or unseals.
import type { AccessProfile } from "../../protocol/access-profile.js";
import { fromHex, toHex, utf8 } from "../../protocol/bytes.js";
import type { KeyRole } from "../../protocol/certificate-profiles.js";
import { deviceIdFromInstanceKey } from "../../protocol/device-identity.js";
import { P256PrivateKey, type RandomSource } from "../../protocol/p256.js";
import { SecureElementError } from "./errors.js";
import type { HeldKey, IssuedAttestation, SeCertificates, SeModel, TerminatedKey } from "./se-model.js";
import { seal, unseal } from "./sealed-storage.js";

export const SE_STATE_FORMAT = "carkeys-se/1";

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

/** Everything secret, per key id (hex): the plaintext of `sealed`. */
interface Secrets {
  instanceCaPrivate: string;
  endpointPrivate: Record<string, string>;
  persistent: Record<string, string>;
  confidentialMailbox: Record<string, string>;
}

/** The public description of a held key, as stored and as the wallet is shown it. */
export function keyInfoOf(key: HeldKey): KeyInfo {
  return {
    keyId: key.keyId,
    endpointPublicKey: toHex(key.endpoint.publicKey),
    vehicleIdentifier: toHex(key.vehicleIdentifier),
    vehiclePublicKey: toHex(key.vehiclePublicKey),
    profile: structuredClone(key.profile),
    express: key.express,
    createdAt: key.createdAt,
    privateMailbox: toHex(key.privateMailbox),
    ...(key.role ? { role: key.role } : {}),
    ...(key.vehicleCertificate ? { vehicleCertificate: key.vehicleCertificate } : {}),
    ...(key.endpointCertificate ? { endpointCertificate: key.endpointCertificate } : {}),
    ...(key.pairingConfirmation ? { pairingConfirmation: toHex(key.pairingConfirmation) } : {}),
    ...(key.attestation ? { attestation: toHex(key.attestation) } : {}),
    ...(key.upstreamAttestations ? { upstreamAttestations: key.upstreamAttestations.map(toHex) } : {}),
    ...(key.lastTransaction ? { lastTransaction: { ...key.lastTransaction } } : {}),
  };
}

export function encodeState(
  model: SeModel,
  sealingKey: Uint8Array,
  random: RandomSource,
): SecureElementState {
  const keys = [...model.keys.values()];
  const secrets: Secrets = {
    instanceCaPrivate: toHex(model.instanceCa.exportScalar()),
    endpointPrivate: Object.fromEntries(keys.map((k) => [k.keyId, toHex(k.endpoint.exportScalar())])),
    persistent: Object.fromEntries(
      keys.flatMap((k) => (k.persistent ? [[k.keyId, toHex(k.persistent)]] : [])),
    ),
    confidentialMailbox: Object.fromEntries(keys.map((k) => [k.keyId, toHex(k.confidentialMailbox)])),
  };
  return {
    format: SE_STATE_FORMAT,
    seId: model.seId,
    instanceCaPublicKey: toHex(model.instanceCa.publicKey),
    factoryAttestation: model.factoryAttestation ? toHex(model.factoryAttestation) : null,
    certificates: model.certificates ? structuredClone(model.certificates) : null,
    noticeCounter: model.noticeCounter,
    issuedAttestations: model.issuedAttestations.map((a) => ({ ...a })),
    keys: keys.map(keyInfoOf),
    terminated: model.terminated.map((t) => ({ ...t })),
    locked: model.locked,
    poweredOffAt: model.poweredOffAt === null ? null : new Date(model.poweredOffAt).toISOString(),
    powerReserveSeconds: model.powerReserveSeconds,
    sealed: seal(sealingKey, utf8(JSON.stringify(secrets)), random),
  };
}

/** The model of a stored state; `powerReserveSeconds` overrides the stored one when given. */
export function decodeState(
  state: SecureElementState,
  sealingKey: Uint8Array,
  powerReserveSeconds?: number,
): SeModel {
  if (state?.format !== SE_STATE_FORMAT) throw new SecureElementError(`state is not ${SE_STATE_FORMAT}`);
  const secrets = JSON.parse(new TextDecoder().decode(unseal(sealingKey, state.sealed))) as Secrets;
  const instanceCa = P256PrivateKey.fromScalar(fromHex(secrets.instanceCaPrivate));
  const model = emptyModel(instanceCa, powerReserveSeconds ?? state.powerReserveSeconds);
  if (model.seId !== state.seId) throw new SecureElementError("sealed storage belongs to another SE");
  model.factoryAttestation = state.factoryAttestation === null ? null : fromHex(state.factoryAttestation);
  model.certificates = state.certificates;
  model.noticeCounter = state.noticeCounter;
  model.issuedAttestations.push(...state.issuedAttestations);
  for (const info of state.keys) model.keys.set(info.keyId, heldKeyOf(info, secrets));
  model.terminated.push(...state.terminated);
  model.locked = state.locked;
  model.poweredOffAt = state.poweredOffAt === null ? null : Date.parse(state.poweredOffAt);
  return model;
}

export function emptyModel(instanceCa: P256PrivateKey, powerReserveSeconds: number): SeModel {
  return {
    instanceCa,
    seId: toHex(deviceIdFromInstanceKey(instanceCa.publicKey)),
    factoryAttestation: null,
    certificates: null,
    noticeCounter: 0,
    issuedAttestations: [],
    keys: new Map(),
    terminated: [],
    locked: false,
    poweredOffAt: null,
    powerReserveSeconds,
  };
}

function heldKeyOf(info: KeyInfo, secrets: Secrets): HeldKey {
  const scalar = secrets.endpointPrivate[info.keyId];
  if (!scalar) throw new SecureElementError(`sealed storage holds no private key for key ${info.keyId}`);
  const persistent = secrets.persistent[info.keyId];
  return {
    keyId: info.keyId,
    id: fromHex(info.keyId),
    endpoint: P256PrivateKey.fromScalar(fromHex(scalar)),
    vehicleIdentifier: fromHex(info.vehicleIdentifier),
    vehiclePublicKey: fromHex(info.vehiclePublicKey),
    profile: info.profile,
    express: info.express,
    createdAt: info.createdAt,
    privateMailbox: fromHex(info.privateMailbox),
    confidentialMailbox: fromHex(secrets.confidentialMailbox[info.keyId] ?? ""),
    ...(persistent ? { persistent: fromHex(persistent) } : {}),
    ...(info.role ? { role: info.role } : {}),
    ...(info.vehicleCertificate ? { vehicleCertificate: info.vehicleCertificate } : {}),
    ...(info.endpointCertificate ? { endpointCertificate: info.endpointCertificate } : {}),
    ...(info.pairingConfirmation ? { pairingConfirmation: fromHex(info.pairingConfirmation) } : {}),
    ...(info.attestation ? { attestation: fromHex(info.attestation) } : {}),
    ...(info.upstreamAttestations
      ? { upstreamAttestations: info.upstreamAttestations.map((a) => fromHex(a)) }
      : {}),
    ...(info.lastTransaction ? { lastTransaction: { ...info.lastTransaction } } : {}),
  };
}
