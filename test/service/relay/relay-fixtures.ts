// What the relay tests send: payloads sealed the way a TIGRESS client seals
// them (draft-vinokurov-tigress-http-00 §7.2: AES-GCM under the Secret, a
// fresh 96-bit IV, base64(IV ‖ ciphertext ‖ tag)), with node:crypto rather
// than the project's client, so the relay is checked against the draft and
// not against our own reading of it; a settable clock; and a plaintext
// invitation full of names and identifiers that must never reach the table.
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from "node:crypto";
import type { AeadPayload } from "../../../src/api/relay-schemas.js";
import type { Clock } from "../../../src/service/ports.js";

export function seal(secret: Uint8Array, plaintext: unknown): AeadPayload {
  const iv = randomBytes(12);
  const cipher = createCipheriv(secret.length === 32 ? "aes-256-gcm" : "aes-128-gcm", secret, iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(plaintext), "utf8"), cipher.final()]);
  return {
    type: secret.length === 32 ? "AEAD_AES_256_GCM" : "AEAD_AES_128_GCM",
    data: Buffer.concat([iv, body, cipher.getAuthTag()]).toString("base64"),
  };
}

export function unseal(secret: Uint8Array, payload: AeadPayload): unknown {
  const bytes = Buffer.from(payload.data, "base64");
  const decipher = createDecipheriv(
    payload.type === "AEAD_AES_256_GCM" ? "aes-256-gcm" : "aes-128-gcm",
    secret,
    bytes.subarray(0, 12),
  );
  decipher.setAuthTag(bytes.subarray(bytes.length - 16));
  const text = Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()]);
  return JSON.parse(text.toString("utf8"));
}

/** A payload of exactly `bytes` decoded bytes (random: only the size matters). */
export function payloadOfSize(bytes: number): AeadPayload {
  return { type: "AEAD_AES_128_GCM", data: randomBytes(bytes).toString("base64") };
}

export const newClaim = (): string => randomUUID();
export const newRequestId = (): string => randomUUID();

/** Neither names nor contacts, as §8.2.2 asks of displayInformation. */
export const DISPLAY = {
  title: "Car key invitation",
  description: "Open this link on your phone to add a shared car key.",
  imageURL: "https://carkeys.invalid/share-preview.png",
} as const;

/** The secrets of a sharing flow: every string here must stay out of the relay's storage. */
export const PLAINTEXT = {
  invitation: {
    format: "digitalwallet.carkey.ccc",
    content: {
      owner: "Alice Owner-Example",
      friend: "Bob Friend-Example",
      vehicleIdentifier: "5649433132333435363738",
      profile: { kind: "drive", speedLimitKmh: 80 },
    },
  },
  keyCreationRequest: {
    format: "digitalwallet.carkey.ccc",
    content: { endpointCertificate: "-----BEGIN CERTIFICATE-----FRIENDCHAIN", deviceName: "Bob's phone" },
  },
  keyAttestation: {
    format: "digitalwallet.carkey.ccc",
    content: { keyAttestation: "4b4154545f5349474e4544", ownerKeyId: "a1b2c3d4e5f6" },
  },
};

/** Every plaintext string of PLAINTEXT, and the shorter distinctive parts of some. */
export function plaintextNeedles(): string[] {
  const out = new Set<string>(["Alice", "Bob", "digitalwallet", "speedLimitKmh", "FRIENDCHAIN"]);
  const walk = (value: unknown): void => {
    if (typeof value === "string") out.add(value);
    else if (value && typeof value === "object") for (const inner of Object.values(value)) walk(inner);
  };
  walk(PLAINTEXT);
  return [...out];
}

export class TestClock implements Clock {
  constructor(private ms = Date.parse("2030-01-01T00:00:00.250Z")) {}
  now(): Date {
    return new Date(this.ms);
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}
