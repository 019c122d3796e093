// Generator of test/vectors/carkeys/transaction-vectors.json (docs/transaction.md "Standard
// key derivation", "Fast key derivation", "Secure messaging"; docs/protocol.md for the
// project's own formats). Every byte is computed by node-crypto-reference.ts
// (node:crypto / OpenSSL) from fixed inputs, building each info string and
// message by hand from the text of the specifications; nothing here imports
// src/. The JSON was produced once with
//   npx tsx test/vectors/carkeys/generate-transaction-vectors.ts
// ECDSA signatures come from OpenSSL with a random k, so rerunning the script
// changes them (and the AUTH1 response that carries one); every other value is
// a pure function of the inputs, and transaction-keys.test.ts recomputes them
// with `deriveTransactionVectors` from the stored inputs and signatures.

import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  cat,
  hex,
  RefSession,
  refEcdhX,
  refHkdf,
  refIcv,
  refKeyIdentifier,
  refPublicKey,
  refSign,
  refTlv,
  refX963,
  unhex,
} from "./node-crypto-reference.js";

const ascii = (s: string): Buffer => Buffer.from(s, "ascii");
/** Fixed "random" bytes: SHA-256 of a label, truncated. Documented so anyone can rebuild the inputs. */
const labelled = (label: string, length = 32): string =>
  hex(createHash("sha256").update(`carkeys vector: ${label}`).digest().subarray(0, length));

/** The fixed inputs; everything else in the vector file follows from these (and the two signatures). */
export interface VectorInputs {
  vehicleLongTermPrivateKey: string;
  vehicleIdentifier: string;
  endpointLongTermPrivateKey: string;
  version: string;
  versions: string;
  immobilizerToken: string;
  privateMailboxContent: string;
  standard: {
    flags: string;
    transactionId: string;
    vehicleEphemeralPrivateKey: string;
    endpointEphemeralPrivateKey: string;
  };
  fast: {
    flags: string;
    transactionId: string;
    vehicleEphemeralPrivateKey: string;
    endpointEphemeralPrivateKey: string;
  };
  terminatedAt: number;
  accessProfile: { kind: "drive"; speedLimitKmh: number; validFrom: number; validUntil: number };
}

export interface VectorSignatures {
  /** Vehicle's AUTH1 signature over the vehicle authentication payload. */
  vehicleSignature: string;
  /** Endpoint's signature over the device authentication payload (AUTH1 response). */
  endpointSignature: string;
  /** Endpoint's signature over the termination attestation body. */
  terminationSignature: string;
}

export const INPUTS: VectorInputs = {
  vehicleLongTermPrivateKey: labelled("vehicle long-term private key"),
  vehicleIdentifier: labelled("vehicle identifier", 16),
  endpointLongTermPrivateKey: labelled("endpoint long-term private key"),
  version: "0200",
  versions: "02000100",
  immobilizerToken: labelled("immobilizer token", 16),
  privateMailboxContent: labelled("private mailbox content", 8),
  standard: {
    // P1 00 standard, P2 03 engine start: the key's first standard transaction, so the
    // vehicle provisions the immobilizer token and reads it straight back.
    flags: "0003",
    transactionId: labelled("standard transaction id", 16),
    vehicleEphemeralPrivateKey: labelled("standard vehicle ephemeral private key"),
    endpointEphemeralPrivateKey: labelled("standard endpoint ephemeral private key"),
  },
  fast: {
    // P1 01 fast, P2 01 unlock, with the Kpersistent the standard transaction left behind.
    flags: "0101",
    transactionId: labelled("fast transaction id", 16),
    vehicleEphemeralPrivateKey: labelled("fast vehicle ephemeral private key"),
    endpointEphemeralPrivateKey: labelled("fast endpoint ephemeral private key"),
  },
  terminatedAt: 1767225600000, // 2026-01-01T00:00:00Z in Unix milliseconds
  accessProfile: { kind: "drive", speedLimitKmh: 100, validFrom: 1767225600, validUntil: 1798761600 },
};

const VEHICLE_USAGE = unhex("415D9569");
const DEVICE_USAGE = unhex("4E887B4C");
const INTERFACE = Buffer.of(0x5e);

function u16(n: number): Buffer {
  return Buffer.of(n >> 8, n & 0xff);
}

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

const x = (point: Uint8Array): Buffer => Buffer.from(point.subarray(1, 33));

/** `CLA INS P1 P2 Lc data Le` for a short case 4 command. */
function apdu(header: string, data: Uint8Array): Buffer {
  return cat(unhex(header), Buffer.of(data.length), data, Buffer.of(0x00));
}

interface SmStep {
  step: string;
  direction: "command" | "response";
  counter: number;
  chainingBefore: string;
  plaintext: string;
  icv: string;
  protected: string;
  apdu: string;
}

function runSession(
  keys: { kenc: Buffer; kmac: Buffer; krmac: Buffer },
  script: { step: string; direction: "command" | "response"; plaintext: Buffer }[],
): SmStep[] {
  const session = new RefSession(keys);
  return script.map(({ step, direction, plaintext }) => {
    const before = { counter: session.counter, chaining: hex(session.chaining) };
    const icv = refIcv(keys.kenc, session.counter, direction === "response");
    const protectedData = direction === "command" ? session.command(plaintext) : session.response(plaintext);
    return {
      step,
      direction,
      counter: before.counter,
      chainingBefore: before.chaining,
      plaintext: hex(plaintext),
      icv: hex(icv),
      protected: hex(protectedData),
      apdu: hex(
        direction === "command" ? apdu("84C90000", protectedData) : cat(protectedData, Buffer.of(0x90, 0x00)),
      ),
    };
  });
}

/** Every derived value of the vector file, from the inputs and the stored signatures. */
export function deriveTransactionVectors(inputs: VectorInputs, signatures: VectorSignatures) {
  const vehicleLongTermPublic = refPublicKey(unhex(inputs.vehicleLongTermPrivateKey));
  const endpointLongTermPublic = refPublicKey(unhex(inputs.endpointLongTermPrivateKey));
  const vehicleId = unhex(inputs.vehicleIdentifier);
  const version = unhex(inputs.version);
  const versions = unhex(inputs.versions);
  const keyId = refKeyIdentifier(endpointLongTermPublic);
  const token = unhex(inputs.immobilizerToken);

  // --- standard transaction ---
  const s = inputs.standard;
  const sTid = unhex(s.transactionId);
  const sFlags = unhex(s.flags);
  const sVehEph = refPublicKey(unhex(s.vehicleEphemeralPrivateKey));
  const sEndEph = refPublicKey(unhex(s.endpointEphemeralPrivateKey));
  const z = refEcdhX(unhex(s.vehicleEphemeralPrivateKey), sEndEph);
  const zFromEndpoint = refEcdhX(unhex(s.endpointEphemeralPrivateKey), sVehEph);
  if (!z.equals(zFromEndpoint)) throw new Error("ECDH disagrees between the two sides");
  const kdh = refX963(z, sTid, 32);
  // info(ctx) = x(vehicle eph) ‖ x(endpoint eph) ‖ transaction id ‖ 5E ‖ flags ‖ ctx ‖ TLV(5C, version) ‖ TLV(5C, versions)
  const info = (ctx: string) =>
    cat(
      x(sVehEph),
      x(sEndEph),
      sTid,
      INTERFACE,
      sFlags,
      ascii(ctx),
      refTlv(0x5c, version),
      refTlv(0x5c, versions),
    );
  const infoPersistent = info("Persistent");
  const infoVolatile = info("Volatile");
  const kpersistent = refHkdf(kdh, infoPersistent, 32);
  const volatile = refHkdf(kdh, infoVolatile, 48);
  const sKeys = {
    kenc: volatile.subarray(0, 16),
    kmac: volatile.subarray(16, 32),
    krmac: volatile.subarray(32, 48),
  };
  // TLV(4D, vehicle id) ‖ TLV(86, x(endpoint eph)) ‖ TLV(87, x(vehicle eph)) ‖ TLV(4C, transaction id) ‖ TLV(93, usage)
  const payload = (usage: Buffer) =>
    cat(
      refTlv(0x4d, vehicleId),
      refTlv(0x86, x(sEndEph)),
      refTlv(0x87, x(sVehEph)),
      refTlv(0x4c, sTid),
      refTlv(0x93, usage),
    );
  const vehiclePayload = payload(VEHICLE_USAGE);
  const devicePayload = payload(DEVICE_USAGE);
  const auth0Data = (eph: Buffer, tid: Buffer) =>
    cat(refTlv(0x5c, version), refTlv(0x87, eph), refTlv(0x4c, tid), refTlv(0x4d, vehicleId));

  // EXCHANGE plaintext: 00 ‖ WRITE TLV(55, mailbox 02 ‖ offset 0000 ‖ token) ‖ READ TLV(54, 02 ‖ 0000 ‖ 0010)
  const exchangeWriteRead = cat(
    Buffer.of(0x00),
    refTlv(0x55, cat(Buffer.of(0x02), u16(0), token)),
    refTlv(0x54, cat(Buffer.of(0x02), u16(0), u16(token.length))),
  );
  const exchangeWriteReadAnswer = refTlv(0x54, token);
  const auth1Plaintext = cat(refTlv(0x4e, keyId), refTlv(0x9e, unhex(signatures.endpointSignature)));

  // --- fast transaction ---
  const f = inputs.fast;
  const fTid = unhex(f.transactionId);
  const fFlags = unhex(f.flags);
  const fVehEph = refPublicKey(unhex(f.vehicleEphemeralPrivateKey));
  const fEndEph = refPublicKey(unhex(f.endpointEphemeralPrivateKey));
  // infoFast = x(vehicle LT) ‖ "VolatileFast" ‖ vehicle id ‖ x(endpoint LT) ‖ 5E ‖ TLV(5C, versions) ‖ TLV(5C, version)
  //            ‖ x(vehicle eph) ‖ transaction id ‖ flags ‖ x(endpoint eph)
  const infoFast = cat(
    x(vehicleLongTermPublic),
    ascii("VolatileFast"),
    vehicleId,
    x(endpointLongTermPublic),
    INTERFACE,
    refTlv(0x5c, versions),
    refTlv(0x5c, version),
    x(fVehEph),
    fTid,
    fFlags,
    x(fEndEph),
  );
  const fastOkm = refHkdf(kpersistent, infoFast, 64);
  const cryptogram = fastOkm.subarray(0, 16);
  const fKeys = {
    kenc: fastOkm.subarray(16, 32),
    kmac: fastOkm.subarray(32, 48),
    krmac: fastOkm.subarray(48, 64),
  };
  const privateContent = unhex(inputs.privateMailboxContent);
  const exchangeRead = cat(
    Buffer.of(0x00),
    refTlv(0x54, cat(Buffer.of(0x01), u16(0), u16(privateContent.length))),
  );
  const exchangeReadAnswer = refTlv(0x54, privateContent);

  // --- access profile: TLV(7F40, TLV(80, kind) ‖ TLV(81, km/h u16) ‖ TLV(82, from u64) ‖ TLV(83, until u64)) ---
  const p = inputs.accessProfile;
  const profileValue = cat(
    refTlv(0x80, Buffer.of(0x03)),
    refTlv(0x81, u16(p.speedLimitKmh)),
    refTlv(0x82, u64(p.validFrom)),
    refTlv(0x83, u64(p.validUntil)),
  );
  const accessProfile = cat(Buffer.of(0x7f, 0x40, profileValue.length), profileValue);

  // --- termination attestation: TLV(70, TLV(93, "TERM") ‖ 4E ‖ 4D ‖ C0 ‖ C1) ‖ TLV(9E, r‖s) ---
  const terminationBody = refTlv(
    0x70,
    cat(
      refTlv(0x93, ascii("TERM")),
      refTlv(0x4e, keyId),
      refTlv(0x4d, vehicleId),
      refTlv(0xc0, endpointLongTermPublic),
      refTlv(0xc1, u64(inputs.terminatedAt)),
    ),
  );

  return {
    description:
      "Car Keys transaction vectors: one standard transaction (AUTH0, AUTH1, one EXCHANGE) and the fast " +
      "transaction that follows it with the Kpersistent the first left behind, plus the project's own " +
      "formats (mailbox operations, access profile, termination attestation). All hex, big-endian.",
    generatedBy:
      "test/vectors/carkeys/generate-transaction-vectors.ts with node:crypto (OpenSSL) only; " +
      "private keys and other fixed inputs are SHA-256('carkeys vector: <label>') truncated",
    inputs,
    signatures,
    derived: {
      vehicleLongTermPublicKey: hex(vehicleLongTermPublic),
      endpointLongTermPublicKey: hex(endpointLongTermPublic),
      keyIdentifier: hex(keyId),
      selectResponse: hex(cat(refTlv(0x5c, versions), Buffer.of(0x90, 0x00))),
      standard: {
        vehicleEphemeralPublicKey: hex(sVehEph),
        endpointEphemeralPublicKey: hex(sEndEph),
        auth0Command: hex(apdu(`8080${s.flags}`, auth0Data(sVehEph, sTid))),
        auth0Response: hex(cat(refTlv(0x86, sEndEph), Buffer.of(0x90, 0x00))),
        z: hex(z),
        kdh: hex(kdh),
        infoPersistent: hex(infoPersistent),
        infoVolatile: hex(infoVolatile),
        kpersistent: hex(kpersistent),
        kenc: hex(sKeys.kenc),
        kmac: hex(sKeys.kmac),
        krmac: hex(sKeys.krmac),
        vehicleAuthenticationPayload: hex(vehiclePayload),
        deviceAuthenticationPayload: hex(devicePayload),
        auth1Command: hex(apdu("80810000", refTlv(0x9e, unhex(signatures.vehicleSignature)))),
        secureMessaging: runSession(sKeys, [
          { step: "AUTH1 response", direction: "response", plaintext: auth1Plaintext },
          { step: "EXCHANGE command", direction: "command", plaintext: exchangeWriteRead },
          { step: "EXCHANGE response", direction: "response", plaintext: exchangeWriteReadAnswer },
        ]),
        controlFlow: "803c0100",
      },
      fast: {
        vehicleEphemeralPublicKey: hex(fVehEph),
        endpointEphemeralPublicKey: hex(fEndEph),
        auth0Command: hex(apdu(`8080${f.flags}`, auth0Data(fVehEph, fTid))),
        infoFast: hex(infoFast),
        cryptogram: hex(cryptogram),
        auth0Response: hex(cat(refTlv(0x86, fEndEph), refTlv(0x9d, cryptogram), Buffer.of(0x90, 0x00))),
        kenc: hex(fKeys.kenc),
        kmac: hex(fKeys.kmac),
        krmac: hex(fKeys.krmac),
        secureMessaging: runSession(fKeys, [
          { step: "EXCHANGE command", direction: "command", plaintext: exchangeRead },
          { step: "EXCHANGE response", direction: "response", plaintext: exchangeReadAnswer },
        ]),
      },
      accessProfile: hex(accessProfile),
      termination: {
        body: hex(terminationBody),
        encoded: hex(cat(terminationBody, refTlv(0x9e, unhex(signatures.terminationSignature)))),
      },
    },
  };
}

export type TransactionVectors = ReturnType<typeof deriveTransactionVectors>;

function main(): void {
  // Sign the payloads the derivation defines, then derive again with the signatures in place.
  const placeholder = "00".repeat(64);
  const draft = deriveTransactionVectors(INPUTS, {
    vehicleSignature: placeholder,
    endpointSignature: placeholder,
    terminationSignature: placeholder,
  });
  const signatures: VectorSignatures = {
    vehicleSignature: hex(
      refSign(
        unhex(INPUTS.vehicleLongTermPrivateKey),
        unhex(draft.derived.standard.vehicleAuthenticationPayload),
      ),
    ),
    endpointSignature: hex(
      refSign(
        unhex(INPUTS.endpointLongTermPrivateKey),
        unhex(draft.derived.standard.deviceAuthenticationPayload),
      ),
    ),
    terminationSignature: hex(
      refSign(unhex(INPUTS.endpointLongTermPrivateKey), unhex(draft.derived.termination.body)),
    ),
  };
  const out = fileURLToPath(new URL("./transaction-vectors.json", import.meta.url));
  writeFileSync(out, `${JSON.stringify(deriveTransactionVectors(INPUTS, signatures), null, 2)}\n`);
  console.log(`wrote ${out}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
