// The emulator library's entry point (`carkeys/emulator`): the phone's secure
// element, the vehicle, one NFC tap between them, and the emulated OEM.

export * from "./oem/emulated-oem.js";
export * from "./secure-element/factory-attester-file.js";
export * from "./secure-element/secure-element.js";
export * from "./tap.js";
export * from "./vehicle/vehicle.js";
