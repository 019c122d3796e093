// Generator of test/vectors/carkeys/pairing-vectors.json: owner pairing over
// the framework applet (docs/transaction.md "Owner pairing", docs/protocol.md
// "Owner pairing") and the project's own signed formats (docs/protocol.md
// "Private mailbox" to "Signed service requests"). The derivation builds every
// byte from the text of the specifications with node:crypto (OpenSSL) — scrypt,
// SHA-256, HKDF, AES-CMAC, secure messaging from node-crypto-reference.ts —
// and a few lines of BigInt P-256 arithmetic for SPAKE2+'s point sums, which
// node:crypto does not offer; it never imports src/.
//
// Two kinds of input are not pure functions of the labels below:
// - the X.509 certificates (node:crypto cannot build one): main() issues them
//   once with src/protocol/certificate-issuer.ts from the fixed keys, fixed
//   serials and fixed validity; the codecs carry them as opaque bytes;
// - the ECDSA signatures of the signed statements: OpenSSL with a random k.
// Both are stored in the file; rerunning the script keeps the stored ones
// that still verify (delete the file to renew them); every other value is
// recomputed from the stored inputs by `derivePairingVectors`, which the
// tests call.
//   npx tsx test/vectors/carkeys/generate-pairing-vectors.ts

import { createHash, scryptSync } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  cat,
  hex,
  RefSession,
  refCmac,
  refHkdf,
  refKeyIdentifier,
  refPublicKey,
  refSign,
  refVerify,
  unhex,
} from "./node-crypto-reference.js";

const ascii = (s: string): Buffer => Buffer.from(s, "ascii");
/** Fixed "random" bytes: SHA-256 of a label, truncated (the same rule as the transaction vectors). */
const labelled = (label: string, length = 32): string =>
  hex(createHash("sha256").update(`carkeys vector: ${label}`).digest().subarray(0, length));

// --- P-256 by the book (SEC 1 §2.2.1, affine coordinates), for X = x·G + w0·M and friends -----------------

const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;
type Pt = { x: bigint; y: bigint } | null; // null is the point at infinity

const mod = (a: bigint, m = P): bigint => ((a % m) + m) % m;
function pow(base: bigint, exponent: bigint, m = P): bigint {
  let result = 1n;
  let b = mod(base, m);
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % m;
    b = (b * b) % m;
  }
  return result;
}
const inv = (a: bigint): bigint => pow(a, P - 2n);

function add(p1: Pt, p2: Pt): Pt {
  if (!p1) return p2;
  if (!p2) return p1;
  if (p1.x === p2.x && mod(p1.y + p2.y) === 0n) return null;
  const slope =
    p1.x === p2.x ? mod((3n * p1.x * p1.x - 3n) * inv(2n * p1.y)) : mod((p2.y - p1.y) * inv(p2.x - p1.x));
  const x = mod(slope * slope - p1.x - p2.x);
  return { x, y: mod(slope * (p1.x - x) - p1.y) };
}
const neg = (p1: Pt): Pt => (p1 ? { x: p1.x, y: mod(-p1.y) } : null);
function mul(k: bigint, p1: Pt): Pt {
  let result: Pt = null;
  let addend = p1;
  for (let e = k; e > 0n; e >>= 1n) {
    if (e & 1n) result = add(result, addend);
    addend = add(addend, addend);
  }
  return result;
}
const big = (b: Uint8Array): bigint => BigInt(`0x${hex(b) || "0"}`);
const bytes32 = (v: bigint): Buffer => unhex(v.toString(16).padStart(64, "0"));
function encodePoint(p1: Pt): Buffer {
  if (!p1) throw new Error("the point at infinity has no encoding");
  return cat(Buffer.of(0x04), bytes32(p1.x), bytes32(p1.y));
}
function decodePoint(encoded: Buffer): Pt {
  const x = big(encoded.subarray(1, 33));
  if (encoded[0] === 0x04) return { x, y: big(encoded.subarray(33)) };
  const y = pow(mod(x * x * x - 3n * x + B), (P + 1n) / 4n); // P ≡ 3 (mod 4)
  return { x, y: (y & 1n) === BigInt(encoded[0]! & 1) ? y : mod(-y) };
}
const G = decodePoint(unhex("036b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"));
/** RFC 9383 §4, P-256: M and N as printed there (compressed SEC1). */
const M = decodePoint(unhex("02886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f"));
const N = decodePoint(unhex("03d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b4f98baa1292b49"));

// --- encodings ------------------------------------------------------------------------------------

/** BER-TLV with a one- or two-byte tag and the minimal length form (short, 81 LL, 82 LLLL). */
function tlv(tag: number, value: Uint8Array): Buffer {
  const n = value.length;
  const length = n < 0x80 ? Buffer.of(n) : n <= 0xff ? Buffer.of(0x81, n) : Buffer.of(0x82, n >> 8, n & 0xff);
  const tagBytes = tag > 0xff ? Buffer.of(tag >> 8, tag & 0xff) : Buffer.of(tag);
  return cat(tagBytes, length, value);
}
function uint(value: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  let v = BigInt(value);
  for (let i = length - 1; i >= 0; i--, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}
/** len(S) of RFC 9383 §3.3: the length as 8 bytes little-endian, then S. */
function prefixed(part: Uint8Array): Buffer {
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(part.length));
  return cat(length, part);
}
/** A command APDU with data and Le = 00: short (Lc 1 byte, Le 00) or extended (00 LLLL, Le 0000) above 255. */
function commandApdu(header: string, data: Uint8Array): Buffer {
  if (data.length <= 0xff) return cat(unhex(header), Buffer.of(data.length), data, Buffer.of(0x00));
  return cat(
    unhex(header),
    Buffer.of(0x00, data.length >> 8, data.length & 0xff),
    data,
    Buffer.of(0x00, 0x00),
  );
}
const OK = Buffer.of(0x90, 0x00);
/** ISO 7816-4 response chaining as the framework applet does it: 256-byte chunks, 61XX while more remains. */
function chunked(data: Buffer): { response: string; getResponse?: string }[] {
  const out: { response: string; getResponse?: string }[] = [];
  for (let offset = 0; offset < data.length || offset === 0; offset += 256) {
    const chunk = data.subarray(offset, offset + 256);
    const left = data.length - offset - chunk.length;
    const sw = left === 0 ? OK : Buffer.of(0x61, left > 0xff ? 0x00 : left);
    out.push({ response: hex(cat(chunk, sw)) });
    if (left === 0) break;
  }
  // Each chunk after the first answers `00 C0 00 00 XX`, XX from the previous 61XX.
  for (let i = 1; i < out.length; i++) out[i]!.getResponse = `00c00000${out[i - 1]!.response.slice(-2)}`;
  return out;
}

/** Signed statement envelope (docs/protocol.md §5): TLV(70, TLV(93, usage) ‖ fields) ‖ TLV(9E, r‖s). */
const statementBody = (usage: string, fields: Buffer[]): Buffer =>
  tlv(0x70, cat(tlv(0x93, ascii(usage)), ...fields));
const signed = (body: Buffer, signature: string): Buffer => cat(body, tlv(0x9e, unhex(signature)));

// --- inputs ---------------------------------------------------------------------------------------

export interface PairingVectorInputs {
  password: string;
  salt: string;
  scrypt: { N: number; r: number; p: number };
  spake2PlusVersion: string;
  appletVersions: string;
  brand: string;
  /** SPAKE2+ ephemeral scalars: x the device's (prover), y the vehicle's (verifier). */
  x: string;
  y: string;
  vehicleIdentifier: string;
  privateKeys: {
    deviceOemRoot: string;
    vehicleOemRoot: string;
    manufacturer: string;
    vehicle: string;
    ownerInstanceCa: string;
    ownerEndpoint: string;
    friendInstanceCa: string;
    friendEndpoint: string;
  };
  /** DER, issued by main() with the project's issuer from the keys above (see the file comment). */
  certificates: {
    deviceOemRoot: string;
    vehicleOemRoot: string;
    vehicle: string;
    ownerInstanceCa: string;
    ownerEndpoint: string;
    friendInstanceCa: string;
    friendEndpoint: string;
  };
  factoryAttestation: { issuedAt: number };
  /** The automaker's pairing id and the vehicle's clock at the end of pairing. */
  pairingConfirmation: { pairingId: string; confirmedAt: number };
  keyAttestation: { serial: number; issuedAt: number; speedLimitKmh: number };
  revocation: { issuedAt: number };
  notices: {
    suspend: { counter: number; issuedAt: number };
    resume: { counter: number; issuedAt: number };
  };
  serviceRequest: { method: string; path: string; body: string; timestamp: number; nonce: string };
}

export interface PairingVectorSignatures {
  /** By the vehicle key over the proof body (both SPAKE2+ shares), sent in WRITE DATA. */
  vehicleProof: string;
  /** By the vehicle key over the pairing confirmation body. */
  pairingConfirmation: string;
  /** By the SE manufacturer's key over the factory attestation body. */
  factoryAttestation: string;
  /** By the owner's endpoint key over the key attestation body. */
  keyAttestation: string;
  /** By the owner's endpoint key over the revocation body. */
  revocation: string;
  /** By the Device OEM root key over each notice body. */
  suspendNotice: string;
  resumeNotice: string;
  /** By the owner's endpoint key over the canonical request. */
  serviceRequest: string;
}

const JAN_1_2026 = 1767225600000;
const DAY = 86_400_000;

export const INPUTS: Omit<PairingVectorInputs, "certificates"> = {
  password: "31415926",
  salt: labelled("pairing salt", 16),
  scrypt: { N: 32768, r: 8, p: 1 },
  spake2PlusVersion: "0100",
  appletVersions: "02000100",
  brand: "Emulated Motors",
  x: labelled("SPAKE2+ x"),
  y: labelled("SPAKE2+ y"),
  // The same vehicle and owner endpoint as the transaction vectors.
  vehicleIdentifier: labelled("vehicle identifier", 16),
  privateKeys: {
    deviceOemRoot: labelled("device OEM root private key"),
    vehicleOemRoot: labelled("vehicle OEM root private key"),
    manufacturer: labelled("SE manufacturer private key"),
    vehicle: labelled("vehicle long-term private key"),
    ownerInstanceCa: labelled("owner instance CA private key"),
    ownerEndpoint: labelled("endpoint long-term private key"),
    friendInstanceCa: labelled("friend instance CA private key"),
    friendEndpoint: labelled("friend endpoint private key"),
  },
  factoryAttestation: { issuedAt: JAN_1_2026 - 30 * DAY },
  pairingConfirmation: { pairingId: labelled("pairing id", 8), confirmedAt: Date.UTC(2026, 5, 1) },
  keyAttestation: { serial: 1, issuedAt: JAN_1_2026 + DAY, speedLimitKmh: 80 },
  revocation: { issuedAt: JAN_1_2026 + 2 * DAY },
  notices: {
    suspend: { counter: 1, issuedAt: JAN_1_2026 + 3 * DAY },
    resume: { counter: 2, issuedAt: JAN_1_2026 + 4 * DAY },
  },
  serviceRequest: {
    method: "POST",
    path: "/v1/keys/44a87fc12820/tracking?source=wallet",
    body: '{"event":"shared","friendKeyId":"%FRIEND%"}',
    timestamp: JAN_1_2026 + 5 * DAY,
    nonce: labelled("service request nonce", 16),
  },
};

// --- derivation -----------------------------------------------------------------------------------

/** Every derived value of the vector file, from the inputs and the stored signatures. */
export function derivePairingVectors(inputs: PairingVectorInputs, signatures: PairingVectorSignatures) {
  const k = inputs.privateKeys;
  const publicKey = (name: keyof PairingVectorInputs["privateKeys"]): Buffer => refPublicKey(unhex(k[name]));
  const vehicleId = unhex(inputs.vehicleIdentifier);
  const certs = Object.fromEntries(
    Object.entries(inputs.certificates).map(([name, der]) => [name, unhex(der)]),
  ) as Record<keyof PairingVectorInputs["certificates"], Buffer>;

  // Password → (w0, w1): z = scrypt(password, salt, N, r, p, 80); w_i = (z_i mod (n−1)) + 1, 40-byte halves.
  const { N: cost, r, p } = inputs.scrypt;
  const salt = unhex(inputs.salt);
  const z = scryptSync(ascii(inputs.password), salt, 80, { N: cost, r, p, maxmem: 256 * 1024 * 1024 });
  const w0 = (big(z.subarray(0, 40)) % (ORDER - 1n)) + 1n;
  const w1 = (big(z.subarray(40)) % (ORDER - 1n)) + 1n;
  const L = mul(w1, G);

  // SELECT (framework applet) and its answer: TLV(5A, SPAKE2+ versions) ‖ TLV(5C, applet versions) ‖ TLV(D4, state).
  const aid = unhex("A000000809434343444B467631");
  const spakeVersion = unhex(inputs.spake2PlusVersion);
  const appletVersions = unhex(inputs.appletVersions);
  const brand = Buffer.from(inputs.brand, "utf8");
  const selectResponse = cat(tlv(0x5a, spakeVersion), tlv(0x5c, appletVersions), tlv(0xd4, Buffer.of(0x02)));

  // SPAKE2+ REQUEST: TLV(5B, version) ‖ TLV(5C, applet versions) ‖ TLV(7F50, C0 salt, C1 N, C2 r, C3 p) ‖ TLV(D6, brand).
  const requestData = cat(
    tlv(0x5b, spakeVersion),
    tlv(0x5c, appletVersions),
    tlv(0x7f50, cat(tlv(0xc0, salt), tlv(0xc1, uint(cost, 4)), tlv(0xc2, uint(r, 2)), tlv(0xc3, uint(p, 2)))),
    tlv(0xd6, brand),
  );
  const x = big(unhex(inputs.x));
  const y = big(unhex(inputs.y));
  const X = add(mul(x, G), mul(w0, M));
  const Y = add(mul(y, G), mul(w0, N));
  // RFC 9383 §3.3, both sides: the prover unmasks Y, the verifier X; they must meet.
  const unmaskedY = add(Y, neg(mul(w0, N)));
  const unmaskedX = add(X, neg(mul(w0, M)));
  const Z = mul(x, unmaskedY);
  const V = mul(w1, unmaskedY);
  if (
    !encodePoint(Z).equals(encodePoint(mul(y, unmaskedX))) ||
    !encodePoint(V).equals(encodePoint(mul(y, L)))
  ) {
    throw new Error("SPAKE2+: prover and verifier disagree");
  }
  // Context = "CarKeys-OwnerPairing-v1" ‖ TLV(5B, version) ‖ TLV(5C, applet versions) ‖ TLV(D6, brand); identities empty.
  const context = cat(
    ascii("CarKeys-OwnerPairing-v1"),
    tlv(0x5b, spakeVersion),
    tlv(0x5c, appletVersions),
    tlv(0xd6, brand),
  );
  const empty = Buffer.alloc(0);
  const transcript = cat(
    ...[context, empty, empty, encodePoint(M), encodePoint(N), encodePoint(X), encodePoint(Y)].map(prefixed),
    ...[encodePoint(Z), encodePoint(V), bytes32(w0)].map(prefixed),
  );
  const kMain = createHash("sha256").update(transcript).digest();
  const confirmation = refHkdf(kMain, ascii("ConfirmationKeys"), 32);
  const kConfirmP = confirmation.subarray(0, 16);
  const kConfirmV = confirmation.subarray(16);
  const kShared = refHkdf(kMain, ascii("SharedKey"), 32);
  const confirmV = refCmac(kConfirmV, encodePoint(X)); // vehicle evidence, MAC over the device's share
  const confirmP = refCmac(kConfirmP, encodePoint(Y)); // device evidence, MAC over the vehicle's share
  const verifyData = cat(tlv(0x52, encodePoint(Y)), tlv(0x57, confirmV));

  // Secure messaging for the rest of the session: Kenc ‖ Kmac ‖ Krmac = HKDF-SHA256(K_shared, info, 48).
  const sessionInfo = ascii("CarKeys-Pairing-SecureMessaging-v1");
  const okm = refHkdf(kShared, sessionInfo, 48);
  const keys = { kenc: okm.subarray(0, 16), kmac: okm.subarray(16, 32), krmac: okm.subarray(32) };
  const session = new RefSession(keys);
  // The vehicle's proof: its key signs TLV(70, TLV(93, "VPRF") ‖ TLV(4D, id) ‖ TLV(50, X) ‖ TLV(52, Y)).
  const proofBody = statementBody("VPRF", [
    tlv(0x4d, vehicleId),
    tlv(0x50, encodePoint(X)),
    tlv(0x52, encodePoint(Y)),
  ]);
  const writePlaintext = cat(
    tlv(0x4d, vehicleId),
    tlv(0xda, certs.vehicle),
    tlv(0x9e, unhex(signatures.vehicleProof)),
  );
  const writeProtected = session.command(writePlaintext);
  const writeAnswer = session.response(empty);
  const getProtected = session.command(empty);
  const getPlaintext = cat(tlv(0xdc, certs.ownerEndpoint), tlv(0xdd, certs.ownerInstanceCa));
  const getAnswer = session.response(getPlaintext);
  // The pairing confirmation, in WRITE DATA with P1 01 (counter 2): the statement itself is the plaintext.
  const pc = inputs.pairingConfirmation;
  const confirmationBody = statementBody("PCNF", [
    tlv(0xc9, unhex(pc.pairingId)),
    tlv(0x4d, vehicleId),
    tlv(0xc0, publicKey("ownerEndpoint")),
    tlv(0xc1, uint(pc.confirmedAt, 8)),
  ]);
  const pairingConfirmation = signed(confirmationBody, signatures.pairingConfirmation);
  const confirmProtected = session.command(pairingConfirmation);
  const confirmAnswer = session.response(empty);

  // --- the formats around pairing ---
  const ownerEndpoint = publicKey("ownerEndpoint");
  const friendEndpoint = publicKey("friendEndpoint");
  const ownerKeyId = refKeyIdentifier(ownerEndpoint);
  const friendKeyId = refKeyIdentifier(friendEndpoint);
  const ownerInstance = publicKey("ownerInstanceCa");
  const deviceId = createHash("sha256").update(ownerInstance).digest().subarray(0, 16);

  const factoryBody = statementBody("FACT", [
    tlv(0xc5, deviceId),
    tlv(0xc0, ownerInstance),
    tlv(0xc3, uint(inputs.factoryAttestation.issuedAt, 8)),
  ]);
  const ka = inputs.keyAttestation;
  const profile = tlv(0x7f40, cat(tlv(0x80, Buffer.of(0x03)), tlv(0x81, uint(ka.speedLimitKmh, 2))));
  const keyAttestationBody = statementBody("KATT", [
    tlv(0x4d, vehicleId),
    tlv(0xc0, friendEndpoint),
    tlv(0x4e, friendKeyId),
    profile,
    tlv(0xc2, uint(ka.serial, 4)),
    tlv(0xc3, uint(ka.issuedAt, 8)),
    tlv(0xc4, ownerKeyId),
  ]);
  const keyAttestation = signed(keyAttestationBody, signatures.keyAttestation);
  const revocationBody = statementBody("RVKE", [
    tlv(0x4d, vehicleId),
    tlv(0x4e, friendKeyId),
    tlv(0xc2, uint(ka.serial, 4)),
    tlv(0xc3, uint(inputs.revocation.issuedAt, 8)),
    tlv(0xc4, ownerKeyId),
  ]);
  const revocation = signed(revocationBody, signatures.revocation);
  const notice = (action: number, n: { counter: number; issuedAt: number }, vehicle?: Buffer) =>
    statementBody("NTCE", [
      tlv(0xc5, deviceId),
      tlv(0xc6, Buffer.of(action)),
      tlv(0xc7, uint(n.counter, 8)),
      tlv(0xc3, uint(n.issuedAt, 8)),
      ...(vehicle ? [tlv(0x4d, vehicle)] : []),
    ]);
  const suspendBody = notice(0x01, inputs.notices.suspend);
  const resumeBody = notice(0x02, inputs.notices.resume, vehicleId);

  // Private mailbox: length(2) ‖ content, zero-filled to 2048 bytes; the vectors give the length and content.
  const mailbox = (content: Buffer) => cat(uint(content.length, 2), content);
  const ownerMailbox = mailbox(tlv(0x7f72, tlv(0xe2, revocation)));
  const friendMailbox = mailbox(
    tlv(
      0x7f71,
      cat(tlv(0xe1, keyAttestation), tlv(0xdc, certs.friendEndpoint), tlv(0xdd, certs.friendInstanceCa)),
    ),
  );

  // Signed service request: the canonical string, lines joined by LF, no trailing newline.
  const sr = inputs.serviceRequest;
  const requestBody = Buffer.from(sr.body.replace("%FRIEND%", hex(friendKeyId)), "utf8");
  const canonical = Buffer.from(
    [
      "CARKEY-REQUEST-V1",
      sr.method,
      sr.path,
      createHash("sha256").update(requestBody).digest("hex"),
      String(sr.timestamp),
      sr.nonce,
      `endpoint:${hex(ownerKeyId)}`,
    ].join("\n"),
    "utf8",
  );

  return {
    description:
      "Car Keys owner pairing (framework applet: SELECT, SPAKE2+ REQUEST/VERIFY, WRITE DATA, GET DATA with " +
      "GET RESPONSE chaining, CONTROL FLOW) and the signed formats around it (factory attestation, device " +
      "identifier, key attestation, revocation, lifecycle notices, private mailbox, signed service request). " +
      "All hex, big-endian unless the format says otherwise.",
    generatedBy:
      "test/vectors/carkeys/generate-pairing-vectors.ts: node:crypto (OpenSSL) and BigInt P-256 arithmetic; " +
      "fixed inputs are SHA-256('carkeys vector: <label>') truncated; certificates issued once with the " +
      "project's issuer from the fixed keys; statement signatures by OpenSSL (random k)",
    inputs,
    signatures,
    derived: {
      publicKeys: {
        deviceOemRoot: hex(publicKey("deviceOemRoot")),
        manufacturer: hex(publicKey("manufacturer")),
        vehicle: hex(publicKey("vehicle")),
        ownerInstanceCa: hex(ownerInstance),
        ownerEndpoint: hex(ownerEndpoint),
        friendEndpoint: hex(friendEndpoint),
      },
      ownerKeyId: hex(ownerKeyId),
      friendKeyId: hex(friendKeyId),
      scrypt: { z: hex(z), w0: hex(bytes32(w0)), w1: hex(bytes32(w1)), L: hex(encodePoint(L)) },
      select: {
        command: hex(commandApdu("00A40400", aid)),
        response: hex(cat(selectResponse, OK)),
      },
      spake2Request: {
        command: hex(commandApdu("80300000", requestData)),
        response: hex(cat(tlv(0x50, encodePoint(X)), OK)),
      },
      spake2: {
        context: hex(context),
        shareP: hex(encodePoint(X)),
        shareV: hex(encodePoint(Y)),
        Z: hex(encodePoint(Z)),
        V: hex(encodePoint(V)),
        transcript: hex(transcript),
        K_main: hex(kMain),
        K_confirmP: hex(kConfirmP),
        K_confirmV: hex(kConfirmV),
        K_shared: hex(kShared),
        vehicleEvidence: hex(confirmV),
        deviceEvidence: hex(confirmP),
      },
      spake2Verify: {
        command: hex(commandApdu("80320000", verifyData)),
        response: hex(cat(tlv(0x58, confirmP), OK)),
      },
      sessionKeys: {
        info: hex(sessionInfo),
        kenc: hex(keys.kenc),
        kmac: hex(keys.kmac),
        krmac: hex(keys.krmac),
      },
      writeData: {
        plaintext: hex(writePlaintext),
        protected: hex(writeProtected),
        command: hex(commandApdu("84D40000", writeProtected)),
        response: hex(cat(writeAnswer, OK)),
      },
      vehicleProof: { body: hex(proofBody), signature: signatures.vehicleProof },
      getData: {
        command: hex(commandApdu("84CA0000", getProtected)),
        plaintext: hex(getPlaintext),
        protected: hex(getAnswer),
        responses: chunked(getAnswer),
      },
      pairingConfirmation: {
        body: hex(confirmationBody),
        encoded: hex(pairingConfirmation),
        protected: hex(confirmProtected),
        command: hex(commandApdu("84D40100", confirmProtected)),
        response: hex(cat(confirmAnswer, OK)),
      },
      controlFlow: { command: "803c0100", response: "9000" },
      deviceId: hex(deviceId),
      factoryAttestation: {
        body: hex(factoryBody),
        encoded: hex(signed(factoryBody, signatures.factoryAttestation)),
      },
      accessProfile: hex(profile),
      keyAttestation: { body: hex(keyAttestationBody), encoded: hex(keyAttestation) },
      revocation: { body: hex(revocationBody), encoded: hex(revocation) },
      notices: {
        suspend: { body: hex(suspendBody), encoded: hex(signed(suspendBody, signatures.suspendNotice)) },
        resume: { body: hex(resumeBody), encoded: hex(signed(resumeBody, signatures.resumeNotice)) },
      },
      privateMailbox: {
        size: 2048,
        owner: hex(ownerMailbox),
        friend: hex(friendMailbox),
      },
      serviceRequest: {
        body: hex(requestBody),
        signer: `endpoint:${hex(ownerKeyId)}`,
        canonical: hex(canonical),
        signature: signatures.serviceRequest,
      },
    },
  };
}

export type PairingVectors = ReturnType<typeof derivePairingVectors>;

/** Certificates for the fixed keys (the one step that uses the project's code: node:crypto has no X.509 issuer). */
async function issueCertificates(): Promise<PairingVectorInputs["certificates"]> {
  await import("reflect-metadata"); // @peculiar/x509 needs it loaded first
  const { createSelfSignedRoot, issueCertificate } = await import(
    "../../../src/protocol/certificate-issuer.js"
  );
  const signer = (privateKey: string) => ({
    publicKey: async () => refPublicKey(unhex(privateKey)),
    sign: async (message: Uint8Array) => refSign(unhex(privateKey), message),
  });
  const k = INPUTS.privateKeys;
  const at = (years: number) => new Date(Date.UTC(2026 + years, 0, 1));
  const serial = (label: string) => unhex(`01${labelled(`${label} certificate serial`, 15)}`);
  const vehicleId = unhex(INPUTS.vehicleIdentifier);
  const deviceRoot = await createSelfSignedRoot({
    profile: "device-oem-root",
    signer: signer(k.deviceOemRoot),
    subject: { organization: "Emulated Motors" },
    notBefore: at(0),
    notAfter: at(20),
    serialNumber: serial("device OEM root"),
  });
  const vehicleRoot = await createSelfSignedRoot({
    profile: "vehicle-oem-root",
    signer: signer(k.vehicleOemRoot),
    subject: { organization: "Emulated Motors" },
    notBefore: at(0),
    notAfter: at(20),
    serialNumber: serial("vehicle OEM root"),
  });
  const vehicle = await issueCertificate({
    profile: "vehicle",
    subjectPublicKey: refPublicKey(unhex(k.vehicle)),
    subject: { organization: "Emulated Motors" },
    issuer: { signer: signer(k.vehicleOemRoot), certificate: vehicleRoot.der },
    notBefore: at(0),
    notAfter: at(15),
    vehicleIdentifier: vehicleId,
    serialNumber: serial("vehicle"),
  });
  const instance = async (key: string, label: string) =>
    issueCertificate({
      profile: "instance-ca",
      subjectPublicKey: refPublicKey(unhex(key)),
      subject: { organization: "Emulated Motors" },
      issuer: { signer: signer(k.deviceOemRoot), certificate: deviceRoot.der },
      notBefore: at(0),
      notAfter: at(10),
      serialNumber: serial(label),
    });
  const endpoint = async (key: string, caKey: string, ca: Uint8Array, role: "owner" | "friend") =>
    issueCertificate({
      profile: "endpoint",
      subjectPublicKey: refPublicKey(unhex(key)),
      subject: { organization: "Emulated Motors" },
      issuer: { signer: signer(caKey), certificate: ca },
      notBefore: at(0),
      notAfter: at(5),
      vehicleIdentifier: vehicleId,
      keyRole: role,
      serialNumber: serial(`${role} endpoint`),
    });
  const ownerInstanceCa = await instance(k.ownerInstanceCa, "owner instance CA");
  const friendInstanceCa = await instance(k.friendInstanceCa, "friend instance CA");
  const ownerEndpoint = await endpoint(k.ownerEndpoint, k.ownerInstanceCa, ownerInstanceCa.der, "owner");
  const friendEndpoint = await endpoint(k.friendEndpoint, k.friendInstanceCa, friendInstanceCa.der, "friend");
  return {
    deviceOemRoot: hex(deviceRoot.der),
    vehicleOemRoot: hex(vehicleRoot.der),
    vehicle: hex(vehicle.der),
    ownerInstanceCa: hex(ownerInstanceCa.der),
    ownerEndpoint: hex(ownerEndpoint.der),
    friendInstanceCa: hex(friendInstanceCa.der),
    friendEndpoint: hex(friendEndpoint.der),
  };
}

async function main(): Promise<void> {
  for (const scalar of [INPUTS.x, INPUTS.y, ...Object.values(INPUTS.privateKeys)]) {
    const v = big(unhex(scalar));
    if (v < 1n || v >= ORDER) throw new Error(`label gives a scalar out of range: ${scalar}`);
  }
  // The BigInt curve agrees with OpenSSL's: x·G equals node:crypto's public key for x.
  if (!encodePoint(mul(big(unhex(INPUTS.x)), G)).equals(refPublicKey(unhex(INPUTS.x)))) {
    throw new Error("BigInt P-256 disagrees with node:crypto");
  }
  const out = fileURLToPath(new URL("./pairing-vectors.json", import.meta.url));
  // Certificates and signatures carry OpenSSL's random k: keep the stored ones, so adding a format
  // changes only what it touches. Delete the file to issue and sign everything afresh.
  const stored = existsSync(out)
    ? (JSON.parse(readFileSync(out, "utf8")) as {
        inputs: PairingVectorInputs;
        signatures: Partial<PairingVectorSignatures>;
      })
    : undefined;
  const inputs: PairingVectorInputs = {
    ...INPUTS,
    certificates: stored?.inputs.certificates ?? (await issueCertificates()),
  };
  const placeholder = "00".repeat(64);
  const draft = derivePairingVectors(inputs, {
    vehicleProof: placeholder,
    pairingConfirmation: placeholder,
    factoryAttestation: placeholder,
    keyAttestation: placeholder,
    revocation: placeholder,
    suspendNotice: placeholder,
    resumeNotice: placeholder,
    serviceRequest: placeholder,
  }).derived;
  const k = INPUTS.privateKeys;
  const sign = (key: string, message: string, name: keyof PairingVectorSignatures) => {
    const kept = stored?.signatures[name];
    if (kept && refVerify(refPublicKey(unhex(key)), unhex(message), unhex(kept))) return kept;
    return hex(refSign(unhex(key), unhex(message)));
  };
  const signatures: PairingVectorSignatures = {
    vehicleProof: sign(k.vehicle, draft.vehicleProof.body, "vehicleProof"),
    pairingConfirmation: sign(k.vehicle, draft.pairingConfirmation.body, "pairingConfirmation"),
    factoryAttestation: sign(k.manufacturer, draft.factoryAttestation.body, "factoryAttestation"),
    keyAttestation: sign(k.ownerEndpoint, draft.keyAttestation.body, "keyAttestation"),
    revocation: sign(k.ownerEndpoint, draft.revocation.body, "revocation"),
    suspendNotice: sign(k.deviceOemRoot, draft.notices.suspend.body, "suspendNotice"),
    resumeNotice: sign(k.deviceOemRoot, draft.notices.resume.body, "resumeNotice"),
    serviceRequest: sign(k.ownerEndpoint, draft.serviceRequest.canonical, "serviceRequest"),
  };
  writeFileSync(out, `${JSON.stringify(derivePairingVectors(inputs, signatures), null, 2)}\n`);
  console.log(`wrote ${out}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
