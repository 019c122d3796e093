// Device request authentication (src/service/device-request-auth.ts over
// src/protocol/request-signature.ts): headers parsed strictly, the timestamp
// within ±5 minutes of the service clock, the ECDSA signature over the
// canonical request verified with the right key, and a nonce that works once.
// Every part of the canonical request is covered: changing the method, path,
// query, body, timestamp, nonce or signer breaks the signature.
import { randomBytes } from "node:crypto";
import { beforeEach, describe, expect, it } from "vitest";
import { fromHex, toHex } from "../../src/protocol/bytes.js";
import { generateKeyPair } from "../../src/protocol/p256.js";
import { DevicePseudonyms } from "../../src/service/device-pseudonyms.js";
import {
  type DeviceRequest,
  DeviceRequestAuthenticator,
  REQUEST_TIME_WINDOW_MS,
} from "../../src/service/device-request-auth.js";
import { AuthenticationError, ReplayError } from "../../src/service/errors.js";
import { MemoryStore } from "../support/memory-store.js";
import { signedHeaders } from "../support/test-device.js";
import { testMacKey } from "../support/test-mac-key.js";
import { SettableClock } from "../support/test-service.js";

const key = generateKeyPair();
const seId = toHex(randomBytes(16));
const signer = `instance:${seId}` as const;
const body = new TextEncoder().encode('{"hello":"world"}');

function request(overrides: Partial<DeviceRequest> = {}, headers?: Record<string, string>): DeviceRequest {
  const base = { method: "POST", path: "/v1/devices?x=1", body };
  return {
    ...base,
    headers: headers ?? signedHeaders(key.privateKey, signer, base),
    ...overrides,
  };
}

describe("DeviceRequestAuthenticator", () => {
  let clock: SettableClock;
  let store: MemoryStore;
  let auth: DeviceRequestAuthenticator;

  beforeEach(() => {
    clock = new SettableClock();
    store = new MemoryStore();
    auth = new DeviceRequestAuthenticator({ clock, store, pseudonyms: new DevicePseudonyms(testMacKey()) });
  });

  it("accepts a well-signed request and yields a nonce claim that outlives the window", () => {
    const r = request();
    const ok = auth.verify(auth.parse(r), key.publicKey);
    expect(ok.kind).toBe("instance");
    expect(ok.id).toBe(seId);
    expect(ok.nonce.signer).toBe(signer);
    expect(ok.nonce.nonce).toBe(r.headers["carkey-nonce"]);
    expect(ok.nonce.expiresAt.getTime()).toBeGreaterThan(clock.time + REQUEST_TIME_WINDOW_MS);
  });

  it.each([
    ["method", { method: "PUT" }],
    ["path", { path: "/v1/keys?x=1" }],
    ["query", { path: "/v1/devices?x=2" }],
    ["body", { body: new TextEncoder().encode('{"hello":"World"}') }],
  ] as const)("refuses a request whose %s was changed after signing", (_, change) => {
    const r = request();
    expect(() => auth.verify(auth.parse({ ...r, ...change }), key.publicKey)).toThrow(
      "the request signature does not verify with the instance key",
    );
  });

  it.each([
    ["carkey-timestamp", (h: Record<string, string>) => String(Number(h["carkey-timestamp"]) + 1)],
    ["carkey-nonce", () => toHex(randomBytes(16))],
    ["carkey-signer", () => `instance:${toHex(randomBytes(16))}`],
  ])("refuses a request whose %s header was changed after signing", (name, change) => {
    const r = request();
    const headers = { ...r.headers, [name]: change(r.headers as Record<string, string>) };
    expect(() => auth.verify(auth.parse({ ...r, headers }), key.publicKey)).toThrow(AuthenticationError);
  });

  it("refuses a signature by another key", () => {
    expect(() => auth.verify(auth.parse(request()), generateKeyPair().publicKey)).toThrow("does not verify");
  });

  it("accepts high-S signatures (what KMS and other stacks produce)", () => {
    const r = request();
    const sig = fromHex(r.headers["carkey-signature"]!);
    const n = BigInt("0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
    const s = BigInt(`0x${toHex(sig.subarray(32))}`);
    const flipped = toHex(sig.subarray(0, 32)) + (n - s).toString(16).padStart(64, "0");
    const headers = { ...r.headers, "carkey-signature": flipped };
    expect(() => auth.verify(auth.parse({ ...r, headers }), key.publicKey)).not.toThrow();
  });

  it.each([
    [REQUEST_TIME_WINDOW_MS + 1, "more than 5 minutes"],
    [-REQUEST_TIME_WINDOW_MS - 1, "more than 5 minutes"],
  ])("refuses a timestamp %i ms off", (offset, message) => {
    const base = { method: "POST", path: "/v1/devices", body, timestamp: clock.time + offset };
    const r = request(base, signedHeaders(key.privateKey, signer, base));
    expect(() => auth.parse(r)).toThrow(message);
  });

  it("accepts a timestamp at the edge of the window", () => {
    const base = {
      method: "POST",
      path: "/v1/devices",
      body,
      timestamp: clock.time - REQUEST_TIME_WINDOW_MS,
    };
    const r = request(base, signedHeaders(key.privateKey, signer, base));
    expect(() => auth.verify(auth.parse(r), key.publicKey)).not.toThrow();
  });

  it.each([
    ["carkey-signer", "missing carkey-signer header"],
    ["carkey-timestamp", "missing carkey-timestamp header"],
    ["carkey-nonce", "missing carkey-nonce header"],
    ["carkey-signature", "missing carkey-signature header"],
  ])("names a missing %s header", (name, message) => {
    const r = request();
    const headers = { ...r.headers };
    delete headers[name];
    expect(() => auth.parse({ ...r, headers })).toThrow(message);
  });

  it.each([
    ["carkey-signer", "device:abc", "carkey-signer must be"],
    ["carkey-signer", `instance:${seId.toUpperCase()}`, "carkey-signer must be"],
    ["carkey-timestamp", "12.5", "unix milliseconds"],
    ["carkey-timestamp", "-1", "unix milliseconds"],
    ["carkey-nonce", "00", "16 bytes"],
    ["carkey-signature", "zz", "64 bytes"],
  ])("refuses a malformed %s (%s)", (name, value, message) => {
    const r = request();
    expect(() => auth.parse({ ...r, headers: { ...r.headers, [name]: value } })).toThrow(message);
  });

  it("authenticate(): checks the key on record, claims the nonce once, refuses the replay", async () => {
    await store.createSecureElement(
      {
        seId,
        instanceCaPublicKey: toHex(key.publicKey),
        certificatePem: "",
        serialNumber: "01",
        factoryAttestedAt: new Date().toISOString(),
        enrolledAt: new Date().toISOString(),
      },
      { signer: "setup", nonce: "0".repeat(32), expiresAt: new Date() },
    );
    const r = request();
    await expect(auth.authenticate(r, "instance")).resolves.toMatchObject({ kind: "instance", id: seId });
    await expect(auth.authenticate(r, "instance")).rejects.toThrow(ReplayError);
    await expect(auth.authenticate(request(), "endpoint")).rejects.toThrow(
      "must be signed by an endpoint key",
    );
  });

  it("authenticate(): refuses an unknown signer", async () => {
    await expect(auth.authenticate(request())).rejects.toThrow(`no enrolled secure element ${seId}`);
    const endpoint = generateKeyPair();
    const base = { method: "GET", path: "/v1/x", body: new Uint8Array() };
    const headers = signedHeaders(endpoint.privateKey, "endpoint:0123456789ab", base);
    await expect(auth.authenticate({ ...base, headers })).rejects.toThrow("no registered key 0123456789ab");
  });
});
