// Fixtures for the offline PKI flows: devices certified by an
// emulated Device OEM, vehicles certified by an emulated Vehicle OEM, owner
// pairing and sharing through the public emulator API only. Tests that need a
// hostile or compromised device get it the way an attacker would: by editing
// the device's exported state, or by reading its sealed secrets with the
// sealing key (a device whose SE has been broken).
import { EmulatedOem } from "../../src/emulator/oem/emulated-oem.js";
import { unseal } from "../../src/emulator/secure-element/sealed-storage.js";
import {
  type KeyCreationRequest,
  SecureElement,
  type SecureElementState,
} from "../../src/emulator/secure-element/secure-element.js";
import type { ApduChannel } from "../../src/emulator/vehicle/apdu-channel.js";
import { Vehicle, type VehicleOptions } from "../../src/emulator/vehicle/vehicle.js";
import type { VehicleState } from "../../src/emulator/vehicle/vehicle-state.js";
import type { AccessProfile } from "../../src/protocol/access-profile.js";
import { fromHex } from "../../src/protocol/bytes.js";
import type { ScryptCost } from "../../src/protocol/pairing-password.js";

/** Cheap scrypt for tests (the default cost is exercised by one test on purpose). */
export const TEST_SCRYPT_COST: ScryptCost = Object.freeze({ N: 1024, r: 8, p: 1 });

export { EmulatedOem };

export interface Device {
  se: SecureElement;
  sealingKey: Uint8Array;
}

/**
 * A phone whose instance CA `deviceOem` certified; it trusts `deviceOem`'s
 * root for friends' keys and `vehicleOem`'s root for vehicle certificates.
 */
export async function createDevice(
  deviceOem: EmulatedOem,
  options: { vehicleOem?: EmulatedOem; now?: () => number; trusts?: EmulatedOem[] } = {},
): Promise<Device> {
  const { se, sealingKey } = SecureElement.create({
    manufacturer: deviceOem.manufacturer,
    ...(options.now ? { now: options.now } : {}),
  });
  const factoryAttestation = se.factoryAttestation;
  if (!factoryAttestation) throw new Error("the SE left the factory without an attestation");
  se.installCertificates({
    instanceCaCertificate: await deviceOem.certifyInstanceCa(factoryAttestation),
    deviceOemRoot: deviceOem.trustAnchors.deviceOemRoot,
    vehicleOemRoot: (options.vehicleOem ?? deviceOem).trustAnchors.vehicleOemRoot,
    ...(options.trusts
      ? { trustedDeviceOemRoots: options.trusts.map((o) => o.trustAnchors.deviceOemRoot) }
      : {}),
  });
  return { se, sealingKey };
}

/** A car certified by `vehicleOem` that accepts keys from devices of `deviceOems`. */
export async function createVehicle(
  vehicleOem: EmulatedOem,
  options: { deviceOems?: EmulatedOem[]; friendKeySlots?: number } & VehicleOptions = {},
): Promise<Vehicle> {
  const { deviceOems, ...vehicleOptions } = options;
  const car = Vehicle.create(vehicleOptions);
  car.installCertificates({
    vehicleCertificate: await vehicleOem.certifyVehicle(car.vehicleIdentifier, car.publicKey),
    vehicleOemRoot: vehicleOem.trustAnchors.vehicleOemRoot,
    deviceOemRoots: (deviceOems ?? [vehicleOem]).map((o) => o.trustAnchors.deviceOemRoot),
  });
  return car;
}

export function channelTo(se: SecureElement): ApduChannel {
  return (command) => se.transceive(command);
}

export interface Exchange {
  command: Uint8Array;
  response: Uint8Array;
}

/** A channel to `se` that keeps a copy of every command and answer. */
export function recordingChannel(se: SecureElement): { channel: ApduChannel; log: Exchange[] } {
  const log: Exchange[] = [];
  return {
    log,
    channel: async (command) => {
      const response = await se.transceive(command);
      log.push({ command: command.slice(), response: response.slice() });
      return response;
    },
  };
}

/** The automaker provisions a fresh verifier, the owner enters the password, the phone is held to the car. */
export async function pairOwner(
  oem: EmulatedOem,
  car: Vehicle,
  se: SecureElement,
  cost: ScryptCost = TEST_SCRYPT_COST,
): Promise<{ keyId: string; replacedOwnerKeyId: string | null; password: string }> {
  const material = oem.createPairingMaterial(cost);
  car.provisionPairingVerifier(material.verifier, material.pairingId);
  se.enterPairingPassword(material.password);
  try {
    return { ...(await car.pair(channelTo(se))), password: material.password };
  } finally {
    se.fieldLost();
  }
}

/** Invitation, friend's key creation, the owner's attestation (after Face ID) and its installation. */
export async function shareKey(
  owner: SecureElement,
  ownerKeyId: string,
  friend: SecureElement,
  profile: AccessProfile,
  claimedByFriend: AccessProfile = profile,
): Promise<{ keyId: string; request: KeyCreationRequest; attestation: Uint8Array }> {
  const request = await createFriendKeyFor(owner, ownerKeyId, friend, claimedByFriend);
  owner.authenticateUser();
  const attestation = owner.attestFriendKey(ownerKeyId, request, profile);
  // From a co-owner, the chain of attestations above it goes along (empty from an owner).
  friend.installKeyAttestation(request.keyId, attestation, owner.sharingChain(ownerKeyId));
  return { keyId: request.keyId, request, attestation };
}

/** The friend's side of an invitation for the owner key's vehicle. */
export async function createFriendKeyFor(
  owner: SecureElement,
  ownerKeyId: string,
  friend: SecureElement,
  profile: AccessProfile,
): Promise<KeyCreationRequest> {
  const ownerKey = owner.key(ownerKeyId);
  if (!ownerKey.vehicleCertificate) throw new Error("the owner key has no vehicle certificate");
  return friend.createFriendKey({
    vehicleIdentifier: fromHex(ownerKey.vehicleIdentifier),
    vehicleCertificate: ownerKey.vehicleCertificate,
    profile,
  });
}

interface SealedSecrets {
  instanceCaPrivate: string;
  endpointPrivate: Record<string, string>;
  persistent: Record<string, string>;
  confidentialMailbox: Record<string, string>;
}

/** What a broken SE leaks: its secrets, read from the sealed state with the sealing key. */
export function sealedSecrets(device: Device): SealedSecrets {
  return JSON.parse(
    new TextDecoder().decode(unseal(device.sealingKey, device.se.exportState().sealed)),
  ) as SealedSecrets;
}

/** The device after someone edited its stored state (a rooted phone, a hostile wallet). */
export function tamperedDevice(device: Device, edit: (state: SecureElementState) => void): Device {
  const state = device.se.exportState();
  edit(state);
  return { se: SecureElement.restore(state, device.sealingKey), sealingKey: device.sealingKey };
}

/** A device's stored state to compare before and after a failed flow: public part and unsealed secrets. */
export function deviceSnapshot(device: Device): {
  state: Omit<SecureElementState, "sealed">;
  secrets: SealedSecrets;
} {
  const { sealed: _sealed, ...state } = device.se.exportState();
  return { state, secrets: sealedSecrets(device) };
}

/** A vehicle's stored state without its transaction log (which records refusals on purpose). */
export function vehicleSnapshot(car: Vehicle): Omit<VehicleState, "log"> {
  const { log: _log, ...state } = car.exportState();
  return state;
}
