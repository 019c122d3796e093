// The client library's entry point (`carkeys/client`): device and OEM calls to
// the Car Keys service, the share-invitation relay, and their typed errors.
// @peculiar/x509 (through tsyringe) needs the Reflect metadata polyfill before it loads.
import "reflect-metadata";

export * from "./car-keys-client.js";
export * from "./emulated-factory.js";
export * from "./errors.js";
export * from "./lifecycle-client.js";
export * from "./oem-auth.js";
export * from "./share-invitation.js";
export * from "./signed-fetch.js";
export * from "./tigress-client.js";
