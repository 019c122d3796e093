// State files of the emulated devices and vehicles. Writes are atomic
// (temporary file, then rename) so a crash never leaves half a state file;
// the SE's sealing key lives in its own 0600 file beside the state, standing
// for the hardware key a real SE never exports.
// Loaded lazily by the commands that use it: it pulls in the emulators and
// their certificate code, which `carkey --help` does not need.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EmulatedOem, type EmulatedOemState } from "../emulator/oem/emulated-oem.js";
import { SecureElement, type SecureElementState } from "../emulator/secure-element/secure-element.js";
import { Vehicle } from "../emulator/vehicle/vehicle.js";
import type { VehicleState } from "../emulator/vehicle/vehicle-state.js";
import { fromHex, toHex } from "../protocol/bytes.js";
import { CliError } from "./errors.js";

export function sealingKeyPath(statePath: string): string {
  return `${statePath}.sealing-key`;
}

export function writeFileAtomic(path: string, content: string, mode = 0o644): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, content, { mode });
  chmodSync(temporary, mode);
  renameSync(temporary, path);
}

export function readJson<T>(path: string, what: string): T {
  if (!existsSync(path)) throw new CliError(`${what} ${path} does not exist`);
  try {
    return JSON.parse(readFileSync(path, "utf8")) as T;
  } catch {
    throw new CliError(`${what} ${path} is not valid JSON`);
  }
}

export function refuseOverwrite(path: string): void {
  if (existsSync(path)) throw new CliError(`${path} already exists; remove it first or choose another path`);
}

export function loadDevice(statePath: string): SecureElement {
  const state = readJson<SecureElementState>(statePath, "device state");
  const keyPath = sealingKeyPath(statePath);
  if (!existsSync(keyPath)) throw new CliError(`the device's sealing key ${keyPath} is missing`);
  return SecureElement.restore(state, fromHex(readFileSync(keyPath, "utf8").trim(), "sealing key"));
}

export function saveDevice(statePath: string, se: SecureElement, sealingKey?: Uint8Array): void {
  if (sealingKey) writeFileAtomic(sealingKeyPath(statePath), `${toHex(sealingKey)}\n`, 0o600);
  writeFileAtomic(statePath, `${JSON.stringify(se.exportState(), null, 2)}\n`);
}

export function loadVehicle(statePath: string): Vehicle {
  return Vehicle.restore(readJson<VehicleState>(statePath, "vehicle state"));
}

export function saveVehicle(statePath: string, vehicle: Vehicle): void {
  writeFileAtomic(statePath, `${JSON.stringify(vehicle.exportState(), null, 2)}\n`, 0o600);
}

export function oemStatePath(dir: string): string {
  return join(dir, "oem.json");
}

export function loadOem(dir: string): EmulatedOem {
  return EmulatedOem.restore(readJson<EmulatedOemState>(oemStatePath(dir), "emulated OEM state"));
}

/** Writes the OEM's state (private keys: 0600) and its public material beside it. */
export function saveOem(dir: string, oem: EmulatedOem): Record<string, string> {
  mkdirSync(dir, { recursive: true });
  const paths = {
    state: oemStatePath(dir),
    deviceOemRoot: join(dir, "device-oem-root.pem"),
    vehicleOemRoot: join(dir, "vehicle-oem-root.pem"),
    seManufacturerPublicKey: join(dir, "se-manufacturer.pub"),
  };
  writeFileAtomic(paths.state, `${JSON.stringify(oem.exportState(), null, 2)}\n`, 0o600);
  writeFileAtomic(paths.deviceOemRoot, oem.trustAnchors.deviceOemRoot);
  writeFileAtomic(paths.vehicleOemRoot, oem.trustAnchors.vehicleOemRoot);
  writeFileAtomic(paths.seManufacturerPublicKey, `${toHex(oem.manufacturerPublicKey)}\n`);
  return paths;
}

/** A notice or attestation file: bare hex, or JSON with a `notice` field as `oem notice` prints. */
export function readHexDocument(path: string, field: string): Uint8Array {
  if (!existsSync(path)) throw new CliError(`${path} does not exist`);
  const text = readFileSync(path, "utf8").trim();
  if (text.startsWith("{")) {
    const value = (JSON.parse(text) as Record<string, unknown>)[field];
    if (typeof value !== "string") throw new CliError(`${path} has no "${field}" field`);
    return fromHex(value, field);
  }
  return fromHex(text, path);
}
