// An in-memory tap: hold an emulated device to one of a vehicle's readers.
// The device is anything that answers APDUs synchronously (the emulated SE);
// the field drops when the tap ends, as when the phone is taken away.
import type { Intent } from "./vehicle/reader-transaction.js";
import type { TapResult } from "./vehicle/tap-result.js";
import type { Reader } from "./vehicle/vehicle.js";

export interface NfcCard {
  transceive(command: Uint8Array): Promise<Uint8Array>;
  fieldLost(): void;
}

export async function tap(
  device: NfcCard,
  reader: Reader,
  options: { intent?: Intent } = {},
): Promise<TapResult> {
  try {
    return await reader.vehicle.tap(reader.position, (command) => device.transceive(command), options.intent);
  } finally {
    device.fieldLost();
  }
}
