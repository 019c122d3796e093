// Generator of test/vectors/carkeys/activation-vectors.json (docs/protocol.md §26,
// activation codes). Every byte comes from node:crypto (OpenSSL) via
// node-crypto-reference.ts and hkdfSync/createHmac, built by hand from the
// text of §26; nothing here imports src/. Produced once with
//   npx tsx test/vectors/carkeys/generate-activation-vectors.ts
// The key attestation's ECDSA signature uses a random k (OpenSSL), so rerunning
// changes it; every other value is a pure function of the inputs.
import { createHash, createHmac, hkdfSync } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  cat,
  hex,
  refEcdhX,
  refKeyIdentifier,
  refPublicKey,
  refSign,
  refTlv,
  unhex,
} from "./node-crypto-reference.js";

const labelled = (label: string, length = 32): Buffer =>
  createHash("sha256").update(`carkeys vector: ${label}`).digest().subarray(0, length);
const ascii = (s: string): Buffer => Buffer.from(s, "ascii");
const uint = (value: number, length: number): Buffer => {
  const out = Buffer.alloc(length);
  out.writeUIntBE(value, length - Math.min(length, 6), Math.min(length, 6));
  return out;
};
/** Tags above 0xff (7F40, 7F71) and long lengths, as BER-TLV writes them. */
const tlv = (tag: number, value: Uint8Array): Buffer => {
  if (tag <= 0xff) return refTlv(tag, value);
  const inner = refTlv(0x00, value).subarray(1);
  return cat(Buffer.of(tag >> 8, tag & 0xff), inner);
};

// The owner endpoint and the vehicle of docs/protocol.md's fixed identities (the transaction vectors' inputs).
const transaction = JSON.parse(
  readFileSync(fileURLToPath(new URL("./transaction-vectors.json", import.meta.url)), "utf8"),
) as {
  inputs: {
    vehicleLongTermPrivateKey: string;
    endpointLongTermPrivateKey: string;
    vehicleIdentifier: string;
  };
};
const ownerPrivate = unhex(transaction.inputs.endpointLongTermPrivateKey);
const vehiclePrivate = unhex(transaction.inputs.vehicleLongTermPrivateKey);
const vehicleIdentifier = unhex(transaction.inputs.vehicleIdentifier);
const friendPrivate = labelled("activation: friend endpoint key");
const ownerPublic = refPublicKey(ownerPrivate);
const vehiclePublic = refPublicKey(vehiclePrivate);
const friendPublic = refPublicKey(friendPrivate);
const ownerKeyId = refKeyIdentifier(ownerPublic);
const friendKeyId = refKeyIdentifier(friendPublic);
const serial = 1;
const code = "40215937";
const issuedAt = Date.parse("2026-01-02T00:00:00Z");

// §26: K = HKDF-SHA-256(IKM = x(ECDH), salt = vehicle identifier, info = "carkeys activation key v1" ‖ owner key id)
const sharedFromOwner = refEcdhX(ownerPrivate, vehiclePublic);
const sharedFromVehicle = refEcdhX(vehiclePrivate, ownerPublic);
if (!sharedFromOwner.equals(sharedFromVehicle)) throw new Error("ECDH sides differ");
const activationKey = Buffer.from(
  hkdfSync(
    "sha256",
    sharedFromOwner,
    vehicleIdentifier,
    cat(ascii("carkeys activation key v1"), ownerKeyId),
    32,
  ),
);
// check = HMAC-SHA-256(K, "KACT" ‖ friend key id ‖ serial (4) ‖ code as ASCII)
const activationCheck = createHmac("sha256", activationKey)
  .update(cat(ascii("KACT"), friendKeyId, uint(serial, 4), ascii(code)))
  .digest();

const profile = tlv(0x7f40, refTlv(0x80, Buffer.of(0x01)));
const body = tlv(
  0x70,
  cat(
    refTlv(0x93, ascii("KATT")),
    refTlv(0x4d, vehicleIdentifier),
    refTlv(0xc0, friendPublic),
    refTlv(0x4e, friendKeyId),
    profile,
    refTlv(0xc2, uint(serial, 4)),
    refTlv(0xc3, uint(issuedAt, 8)),
    refTlv(0xc4, ownerKeyId),
    refTlv(0xca, activationCheck),
  ),
);
const signature = refSign(ownerPrivate, body);

// §28: the same owner key attests a key on the owner's watch: tag CB = 01 after C4, profile full.
const watchPrivate = labelled("owner device: watch endpoint key");
const watchPublic = refPublicKey(watchPrivate);
const watchBody = tlv(
  0x70,
  cat(
    refTlv(0x93, ascii("KATT")),
    refTlv(0x4d, vehicleIdentifier),
    refTlv(0xc0, watchPublic),
    refTlv(0x4e, refKeyIdentifier(watchPublic)),
    profile,
    refTlv(0xc2, uint(2, 4)),
    refTlv(0xc3, uint(issuedAt, 8)),
    refTlv(0xc4, ownerKeyId),
    refTlv(0xcb, Buffer.of(0x01)),
  ),
);
const watchSignature = refSign(ownerPrivate, watchBody);
const attestation = cat(body, refTlv(0x9e, signature));

const vectors = {
  description:
    "Activation codes (docs/protocol.md §26): the activation key both sides derive, the check in a key attestation (tag CA), and the code's TLV in the enrollment package (tag DE).",
  generatedBy: "test/vectors/carkeys/generate-activation-vectors.ts (node:crypto only)",
  inputs: {
    ownerEndpointPrivateKey: hex(ownerPrivate),
    vehiclePrivateKey: hex(vehiclePrivate),
    vehicleIdentifier: hex(vehicleIdentifier),
    friendEndpointPrivateKey: hex(friendPrivate),
    watchEndpointPrivateKey: hex(watchPrivate),
    serial,
    issuedAt,
    code,
  },
  derived: {
    ownerEndpointPublicKey: hex(ownerPublic),
    vehiclePublicKey: hex(vehiclePublic),
    ownerKeyId: hex(ownerKeyId),
    friendEndpointPublicKey: hex(friendPublic),
    friendKeyId: hex(friendKeyId),
    sharedX: hex(sharedFromOwner),
    activationKey: hex(activationKey),
    activationCheck: hex(activationCheck),
    keyAttestationBody: hex(body),
    keyAttestation: hex(attestation),
    activationCodeTlv: hex(refTlv(0xde, ascii(code))),
    watchEndpointPublicKey: hex(watchPublic),
    ownerDeviceAttestationBody: hex(watchBody),
    ownerDeviceAttestation: hex(cat(watchBody, refTlv(0x9e, watchSignature))),
  },
  signatures: { keyAttestation: hex(signature), ownerDeviceAttestation: hex(watchSignature) },
};

const out = fileURLToPath(new URL("./activation-vectors.json", import.meta.url));
writeFileSync(out, `${JSON.stringify(vectors, null, 2)}\n`);
