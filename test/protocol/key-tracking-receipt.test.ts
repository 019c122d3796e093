// Key tracking receipts (src/protocol/key-tracking-receipt.ts, usage "RCPT"):
// the body laid out byte for byte as written by hand here (not by tlv()), the
// signature checked by node:crypto (OpenSSL) as well as our verifier,
// malformed and mismatched receipts refused with typed errors, and a
// fast-check round trip over roles, identifiers, serials and times.
import { createPublicKey, verify } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { concatBytes, fromHex, toHex } from "../../src/protocol/bytes.js";
import { rawToDerSignature } from "../../src/protocol/ecdsa-der.js";
import { ProtocolError, ProtocolInputError, TlvError, VerificationError } from "../../src/protocol/errors.js";
import {
  encodeKeyTrackingReceipt,
  KEY_TRACKING_RECEIPT_USAGE,
  keyTrackingReceiptBody,
  parseKeyTrackingReceipt,
  verifyKeyTrackingReceipt,
} from "../../src/protocol/key-tracking-receipt.js";
import { generateKeyPair, keyIdentifier, publicKeyOf, signRaw } from "../../src/protocol/p256.js";

const ROOT_PRIVATE = fromHex("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721");
const ROOT_PUBLIC = publicKeyOf(ROOT_PRIVATE);
const ENDPOINT_PUBLIC = publicKeyOf(fromHex("0f".repeat(32)));
const VEHICLE_ID = fromHex("00112233445566778899aabbccddeeff");
const REGISTERED_AT = 1_767_225_600_000; // 2026-01-01T00:00:00Z

function sign(body: Uint8Array, privateKey = ROOT_PRIVATE): Uint8Array {
  return encodeKeyTrackingReceipt(body, signRaw(privateKey, body));
}

describe("key tracking receipt", () => {
  it("lays out an owner receipt as documented", () => {
    const body = keyTrackingReceiptBody({
      vehicleIdentifier: VEHICLE_ID,
      endpointPublicKey: ENDPOINT_PUBLIC,
      role: "owner",
      registeredAt: REGISTERED_AT,
      signerKeyId: keyIdentifier(ROOT_PUBLIC),
    });
    const inner =
      "9304" +
      "52435054" +
      "4d10" +
      toHex(VEHICLE_ID) +
      "4e06" +
      toHex(keyIdentifier(ENDPOINT_PUBLIC)) +
      "c041" +
      toHex(ENDPOINT_PUBLIC) +
      "c80100" +
      "c308" +
      "0000019b76daa800" +
      "c406" +
      toHex(keyIdentifier(ROOT_PUBLIC));
    // 120 bytes of fields: the short length form.
    expect(inner.length / 2).toBe(0x78);
    expect(toHex(body)).toBe(`7078${inner}`);
  });

  it("adds the attestation serial for a friend and marks the role 01", () => {
    const body = keyTrackingReceiptBody({
      vehicleIdentifier: VEHICLE_ID,
      endpointPublicKey: ENDPOINT_PUBLIC,
      role: "friend",
      attestationSerial: 7,
      registeredAt: REGISTERED_AT,
      signerKeyId: keyIdentifier(ROOT_PUBLIC),
    });
    expect(toHex(body)).toContain("c80101c20400000007c308");
  });

  it("is signed in a way OpenSSL verifies (ECDSA P-256 SHA-256 over TLV(70, …))", () => {
    const body = keyTrackingReceiptBody({
      vehicleIdentifier: VEHICLE_ID,
      endpointPublicKey: ENDPOINT_PUBLIC,
      role: "owner",
      registeredAt: REGISTERED_AT,
      signerKeyId: keyIdentifier(ROOT_PUBLIC),
    });
    const encoded = sign(body);
    const signature = encoded.subarray(body.length + 2);
    const key = createPublicKey({
      key: {
        kty: "EC",
        crv: "P-256",
        x: Buffer.from(ROOT_PUBLIC.subarray(1, 33)).toString("base64url"),
        y: Buffer.from(ROOT_PUBLIC.subarray(33)).toString("base64url"),
      },
      format: "jwk",
    });
    expect(verify("sha256", body, key, rawToDerSignature(signature))).toBe(true);
    expect(verifyKeyTrackingReceipt(encoded, ROOT_PUBLIC)).toMatchObject({
      role: "owner",
      registeredAt: REGISTERED_AT,
    });
  });

  it("refuses a receipt signed by another root, or whose signature was altered", () => {
    const body = keyTrackingReceiptBody({
      vehicleIdentifier: VEHICLE_ID,
      endpointPublicKey: ENDPOINT_PUBLIC,
      role: "owner",
      registeredAt: REGISTERED_AT,
      signerKeyId: keyIdentifier(ROOT_PUBLIC),
    });
    const other = generateKeyPair();
    expect(() => verifyKeyTrackingReceipt(sign(body), other.publicKey)).toThrow("signed by another root key");
    const forged = sign(body, other.privateKey);
    expect(() => verifyKeyTrackingReceipt(forged, ROOT_PUBLIC)).toThrow(VerificationError);
    const tampered = sign(body);
    tampered[tampered.length - 1] = tampered.at(-1)! ^ 1;
    expect(() => verifyKeyTrackingReceipt(tampered, ROOT_PUBLIC)).toThrow("signature does not verify");
  });

  it("refuses bad facts when building", () => {
    const base = {
      vehicleIdentifier: VEHICLE_ID,
      endpointPublicKey: ENDPOINT_PUBLIC,
      registeredAt: REGISTERED_AT,
      signerKeyId: keyIdentifier(ROOT_PUBLIC),
    };
    expect(() => keyTrackingReceiptBody({ ...base, role: "friend" })).toThrow(
      "attestationSerial is required",
    );
    expect(() => keyTrackingReceiptBody({ ...base, role: "owner", attestationSerial: 1 })).toThrow(
      ProtocolInputError,
    );
    expect(() => keyTrackingReceiptBody({ ...base, role: "admin" as never })).toThrow("role must be one of");
    expect(() =>
      keyTrackingReceiptBody({ ...base, role: "owner", vehicleIdentifier: new Uint8Array(7) }),
    ).toThrow("vehicle identifier must be 8..32 bytes");
    expect(() =>
      keyTrackingReceiptBody({ ...base, role: "owner", endpointPublicKey: new Uint8Array(65) }),
    ).toThrow("endpoint public key must be a 65-byte");
    expect(() => keyTrackingReceiptBody({ ...base, role: "owner", signerKeyId: new Uint8Array(5) })).toThrow(
      "signer key id must be 6 bytes",
    );
  });

  it("refuses malformed receipts with typed errors, never out-of-range reads", () => {
    const valid = sign(
      keyTrackingReceiptBody({
        vehicleIdentifier: VEHICLE_ID,
        endpointPublicKey: ENDPOINT_PUBLIC,
        role: "owner",
        registeredAt: REGISTERED_AT,
        signerKeyId: keyIdentifier(ROOT_PUBLIC),
      }),
    );
    for (let cut = 0; cut < valid.length; cut += 7) {
      expect(() => parseKeyTrackingReceipt(valid.subarray(0, cut))).toThrow(ProtocolError);
    }
    // Another usage: a key attestation is never a receipt.
    const katt = toHex(valid).replace(toHex(KEY_TRACKING_RECEIPT_USAGE), "4b415454");
    expect(() => parseKeyTrackingReceipt(fromHex(katt))).toThrow("is not 52435054");
    // An unknown role byte.
    const role = toHex(valid).replace("c80100", "c80102");
    expect(() => parseKeyTrackingReceipt(fromHex(role))).toThrow(TlvError);
    // An owner receipt with a serial.
    const withSerial = (hex: string) => {
      const body = fromHex(hex.slice(0, hex.length - 2 * 66));
      const inner = concatBytes(body.subarray(2), fromHex("c20400000001"));
      return concatBytes(Uint8Array.of(0x70, inner.length), inner, fromHex(`9e40${"11".repeat(64)}`));
    };
    expect(() => parseKeyTrackingReceipt(withSerial(toHex(valid)))).toThrow("friend keys only");
  });

  it("round-trips any role, identifier, serial and time (fast-check)", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 8, maxLength: 32 }),
        fc.constantFrom("owner" as const, "friend" as const),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        (vehicleIdentifier, role, serial, registeredAt) => {
          const facts = {
            vehicleIdentifier,
            endpointPublicKey: ENDPOINT_PUBLIC,
            role,
            ...(role === "friend" ? { attestationSerial: serial } : {}),
            registeredAt,
            signerKeyId: keyIdentifier(ROOT_PUBLIC),
          };
          const parsed = verifyKeyTrackingReceipt(sign(keyTrackingReceiptBody(facts)), ROOT_PUBLIC);
          expect(parsed).toEqual(facts);
        },
      ),
      { numRuns: 50 },
    );
  });
});
