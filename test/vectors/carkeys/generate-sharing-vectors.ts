// Generator of test/vectors/carkeys/sharing-vectors.json (docs/protocol.md §7 "Access profile"
// and §27 "Cross-platform sharing, roles and re-sharing"). Every byte is built by hand here with node:crypto (OpenSSL)
// from the text of docs/protocol.md; nothing imports src/. Inputs are fixed (private keys are
// SHA-256("carkeys vector: <label>")); the ECDSA signatures come from OpenSSL with a random k and
// are kept when the file exists and they still verify, so rerunning changes nothing.
//   npx tsx test/vectors/carkeys/generate-sharing-vectors.ts
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  cat,
  hex,
  refKeyIdentifier,
  refPublicKey,
  refSign,
  refTlv,
  refVerify,
  unhex,
} from "./node-crypto-reference.js";

const labelled = (label: string, length = 32): string =>
  hex(createHash("sha256").update(`carkeys vector: ${label}`).digest().subarray(0, length));
const uint = (n: number, length: number): Buffer => {
  const out = Buffer.alloc(length);
  let v = BigInt(n);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
};

const JAN_1_2026 = 1767225600; // seconds
const DAY = 86_400;

export const INPUTS = {
  // The same vehicle and owner endpoint as the transaction and pairing vectors.
  vehicleIdentifier: labelled("vehicle identifier", 16),
  privateKeys: {
    ownerEndpoint: labelled("endpoint long-term private key"),
    coOwnerEndpoint: labelled("co-owner endpoint private key"),
    friendEndpoint: labelled("reshared friend endpoint private key"),
  },
  /** Each profile as the API names its fields; `encoded` in the derived part is TLV(7F40, …). */
  profiles: {
    legacyDrive: { kind: "drive", speedLimitKmh: 100 },
    coOwnerFull: { kind: "full", role: "co-owner" },
    guestLimited: {
      kind: "drive",
      speedLimitKmh: 80,
      powerLimitPercent: 60,
      audioVolumeLimitPercent: 40,
      stabilityControlLocked: true,
    },
    serviceValet: {
      kind: "drive",
      speedLimitKmh: 50,
      validFrom: JAN_1_2026,
      validUntil: JAN_1_2026 + DAY,
      role: "service",
      powerLimitPercent: 30,
    },
  },
  coOwnerAttestation: { serial: 1, issuedAt: (JAN_1_2026 + DAY) * 1000 },
  friendAttestation: { serial: 1, issuedAt: (JAN_1_2026 + 2 * DAY) * 1000 },
} as const;

type ProfileInput = {
  kind: string;
  speedLimitKmh?: number;
  validFrom?: number;
  validUntil?: number;
  role?: string;
  powerLimitPercent?: number;
  audioVolumeLimitPercent?: number;
  stabilityControlLocked?: boolean;
};

const KIND: Record<string, number> = { full: 1, "unlock-only": 2, drive: 3 };
const ROLE: Record<string, number> = { guest: 1, "co-owner": 2, service: 3 };

/** TLV(7F40, 80 kind ‖ [81 km/h] ‖ [82 from] ‖ [83 until] ‖ [84 role] ‖ [85 power] ‖ [86 volume] ‖ [87 01]). */
function profileTlv(p: ProfileInput): Buffer {
  const value = cat(
    refTlv(0x80, Buffer.of(KIND[p.kind]!)),
    p.speedLimitKmh !== undefined ? refTlv(0x81, uint(p.speedLimitKmh, 2)) : Buffer.alloc(0),
    p.validFrom !== undefined ? refTlv(0x82, uint(p.validFrom, 8)) : Buffer.alloc(0),
    p.validUntil !== undefined ? refTlv(0x83, uint(p.validUntil, 8)) : Buffer.alloc(0),
    p.role !== undefined && p.role !== "guest" ? refTlv(0x84, Buffer.of(ROLE[p.role]!)) : Buffer.alloc(0),
    p.powerLimitPercent !== undefined ? refTlv(0x85, Buffer.of(p.powerLimitPercent)) : Buffer.alloc(0),
    p.audioVolumeLimitPercent !== undefined
      ? refTlv(0x86, Buffer.of(p.audioVolumeLimitPercent))
      : Buffer.alloc(0),
    p.stabilityControlLocked ? refTlv(0x87, Buffer.of(0x01)) : Buffer.alloc(0),
  );
  return cat(Buffer.of(0x7f, 0x40), lengthBytes(value.length), value);
}

function lengthBytes(n: number): Buffer {
  return n < 0x80 ? Buffer.of(n) : n < 0x100 ? Buffer.of(0x81, n) : Buffer.of(0x82, n >> 8, n & 0xff);
}

/** TLV(70, TLV(93, usage) ‖ fields) as docs/protocol.md §5 lays it out. */
function statementBody(usage: string, fields: Buffer[]): Buffer {
  return refTlv(0x70, cat(refTlv(0x93, Buffer.from(usage, "ascii")), ...fields));
}

export interface SharingVectorSignatures {
  coOwnerAttestation: string;
  friendAttestation: string;
}

export function deriveSharingVectors(inputs: typeof INPUTS, signatures: SharingVectorSignatures) {
  const vehicleId = unhex(inputs.vehicleIdentifier);
  const pub = (name: keyof typeof INPUTS.privateKeys) => refPublicKey(unhex(inputs.privateKeys[name]));
  const owner = pub("ownerEndpoint");
  const coOwner = pub("coOwnerEndpoint");
  const friend = pub("friendEndpoint");
  const katt = (
    subject: Buffer,
    profile: ProfileInput,
    a: { serial: number; issuedAt: number },
    signer: Buffer,
  ) =>
    statementBody("KATT", [
      refTlv(0x4d, vehicleId),
      refTlv(0xc0, subject),
      refTlv(0x4e, refKeyIdentifier(subject)),
      profileTlv(profile),
      refTlv(0xc2, uint(a.serial, 4)),
      refTlv(0xc3, uint(a.issuedAt, 8)),
      refTlv(0xc4, refKeyIdentifier(signer)),
    ]);
  const coOwnerBody = katt(coOwner, inputs.profiles.coOwnerFull, inputs.coOwnerAttestation, owner);
  const friendBody = katt(friend, inputs.profiles.guestLimited, inputs.friendAttestation, coOwner);
  const signed = (body: Buffer, signature: string) => cat(body, refTlv(0x9e, unhex(signature)));
  const coOwnerAttestation = signed(coOwnerBody, signatures.coOwnerAttestation);
  const friendAttestation = signed(friendBody, signatures.friendAttestation);
  const profiles = Object.fromEntries(
    Object.entries(inputs.profiles).map(([name, p]) => [name, hex(profileTlv(p as ProfileInput))]),
  );
  return {
    description:
      "Car Keys sharing vectors: access profiles with roles and driving limits, and a re-sharing chain " +
      "owner → co-owner → friend (two key attestations; the upstream entry E3 of the enrollment package). All hex.",
    generatedBy:
      "test/vectors/carkeys/generate-sharing-vectors.ts with node:crypto (OpenSSL) only; private keys are " +
      "SHA-256('carkeys vector: <label>')",
    inputs,
    signatures,
    derived: {
      profiles,
      publicKeys: { owner: hex(owner), coOwner: hex(coOwner), friend: hex(friend) },
      keyIds: {
        owner: hex(refKeyIdentifier(owner)),
        coOwner: hex(refKeyIdentifier(coOwner)),
        friend: hex(refKeyIdentifier(friend)),
      },
      coOwnerAttestation: { body: hex(coOwnerBody), encoded: hex(coOwnerAttestation) },
      friendAttestation: { body: hex(friendBody), encoded: hex(friendAttestation) },
      /** TLV(E3, TLV(E1, the owner's attestation of the co-owner)): what the friend's package adds. */
      upstream: hex(refTlv(0xe3, refTlv(0xe1, coOwnerAttestation))),
    },
  };
}

export type SharingVectors = ReturnType<typeof deriveSharingVectors>;

async function main(): Promise<void> {
  const out = fileURLToPath(new URL("./sharing-vectors.json", import.meta.url));
  const stored = existsSync(out) ? (JSON.parse(readFileSync(out, "utf8")) as SharingVectors) : undefined;
  const placeholder = "00".repeat(64);
  const draft = deriveSharingVectors(INPUTS, {
    coOwnerAttestation: placeholder,
    friendAttestation: placeholder,
  }).derived;
  const k = INPUTS.privateKeys;
  const sign = (key: string, message: string, name: keyof SharingVectorSignatures) => {
    const kept = stored?.signatures[name];
    if (kept && refVerify(refPublicKey(unhex(key)), unhex(message), unhex(kept))) return kept;
    return hex(refSign(unhex(key), unhex(message)));
  };
  const signatures: SharingVectorSignatures = {
    coOwnerAttestation: sign(k.ownerEndpoint, draft.coOwnerAttestation.body, "coOwnerAttestation"),
    friendAttestation: sign(k.coOwnerEndpoint, draft.friendAttestation.body, "friendAttestation"),
  };
  writeFileSync(out, `${JSON.stringify(deriveSharingVectors(INPUTS, signatures), null, 2)}\n`);
  console.log(`wrote ${out}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
