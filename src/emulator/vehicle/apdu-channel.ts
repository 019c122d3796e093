// The vehicle's view of a device in the field: send a command APDU, get the
// response APDU. In-memory taps, child processes speaking the hex line
// protocol and (one day) PC/SC readers all fit behind it.

export type ApduChannel = (command: Uint8Array) => Promise<Uint8Array>;
