// The client library's entry point (`carkeys/client`): device and OEM calls to
// the Car Keys service, the share-invitation relay, webhook verification, and
// their typed errors. It loads no emulator code: the devices it drives are the
// interfaces in device-ports.ts.

export * from "./car-keys-client.js";
export type * from "./device-ports.js";
export * from "./errors.js";
export * from "./lifecycle-client.js";
export * from "./oem-auth.js";
export * from "./share-invitation.js";
export * from "./signed-fetch.js";
export * from "./tigress-client.js";
export * from "./webhooks.js";
