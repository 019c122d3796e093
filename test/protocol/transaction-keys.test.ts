// Checks docs/transaction.md "Standard key derivation", "Fast key derivation" and the AUTH1 signature payloads.
// The project key schedule against test/vectors/carkeys/transaction-vectors.json, and against
// node:crypto with every info string built byte by byte from the text of docs/transaction.md.
import { createECDH, createHash, generateKeyPairSync, hkdfSync, sign, verify } from "node:crypto";
import { readFileSync } from "node:fs";
import { p256 } from "@noble/curves/nist.js";
import { hkdf as nobleHkdf } from "@noble/hashes/hkdf.js";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeCommand, encodeResponse } from "../../src/protocol/apdu.js";
import { fromHex, toHex } from "../../src/protocol/bytes.js";
import { CONTEXT_PERSISTENT, CONTEXT_VOLATILE } from "../../src/protocol/constants.js";
import { ProtocolInputError } from "../../src/protocol/errors.js";
import {
  ecdhX,
  keyIdentifier,
  publicKeyOf,
  signRaw,
  verifyRaw,
  xCoordinate,
} from "../../src/protocol/p256.js";
import { SecureMessagingSession } from "../../src/protocol/secure-messaging.js";
import {
  authenticationPayload,
  deriveFastKeys,
  deriveKdh,
  deriveStandardKeys,
  fastCryptogram,
  fastInfo,
  fastInfoPrefix,
  fastInfoSuffix,
  fastPseudorandomKey,
  standardInfo,
  type TransactionContext,
} from "../../src/protocol/transaction-keys.js";
import {
  auth0Command,
  auth0Response,
  auth1Command,
  endTransactionCommand,
  exchangeCommand,
} from "../../src/protocol/transaction-messages.js";
import {
  deriveTransactionVectors,
  type TransactionVectors,
} from "../vectors/carkeys/generate-transaction-vectors.js";

const vectors = JSON.parse(
  readFileSync(new URL("../vectors/carkeys/transaction-vectors.json", import.meta.url), "utf8"),
) as TransactionVectors;
const { inputs, signatures, derived } = vectors;
const h = fromHex;

const vehicleLongTermPublic = h(derived.vehicleLongTermPublicKey);
const endpointLongTermPublic = h(derived.endpointLongTermPublicKey);

function contextOf(
  t: { flags: string; transactionId: string },
  d: { vehicleEphemeralPublicKey: string; endpointEphemeralPublicKey: string },
): TransactionContext {
  return {
    vehicleIdentifier: h(inputs.vehicleIdentifier),
    vehicleEphemeralX: xCoordinate(h(d.vehicleEphemeralPublicKey)),
    endpointEphemeralX: xCoordinate(h(d.endpointEphemeralPublicKey)),
    transactionId: h(t.transactionId),
    flags: h(t.flags),
    version: h(inputs.version),
    versions: h(inputs.versions),
  };
}
const standardContext = contextOf(inputs.standard, derived.standard);
const fastContext = contextOf(inputs.fast, derived.fast);

describe("the vector file is what node:crypto computes from its inputs", () => {
  it("re-deriving every value from the stored inputs and signatures reproduces the file", () => {
    expect(deriveTransactionVectors(inputs, signatures)).toEqual(vectors);
  });

  it("the stored signatures verify with node:crypto", () => {
    const check = (pub: string, message: string, signature: string) =>
      verify(
        "sha256",
        h(message),
        { key: jwkPublic(h(pub)), format: "jwk", dsaEncoding: "ieee-p1363" },
        h(signature),
      );
    expect(
      check(
        derived.vehicleLongTermPublicKey,
        derived.standard.vehicleAuthenticationPayload,
        signatures.vehicleSignature,
      ),
    ).toBe(true);
    expect(
      check(
        derived.endpointLongTermPublicKey,
        derived.standard.deviceAuthenticationPayload,
        signatures.endpointSignature,
      ),
    ).toBe(true);
    expect(
      check(derived.endpointLongTermPublicKey, derived.termination.body, signatures.terminationSignature),
    ).toBe(true);
  });
});

describe("the project code against the vector file (standard transaction)", () => {
  const s = derived.standard;

  it("public keys and the key identifier", () => {
    expect(toHex(publicKeyOf(h(inputs.vehicleLongTermPrivateKey)))).toBe(derived.vehicleLongTermPublicKey);
    expect(toHex(publicKeyOf(h(inputs.endpointLongTermPrivateKey)))).toBe(derived.endpointLongTermPublicKey);
    expect(toHex(publicKeyOf(h(inputs.standard.vehicleEphemeralPrivateKey)))).toBe(
      s.vehicleEphemeralPublicKey,
    );
    expect(toHex(publicKeyOf(h(inputs.standard.endpointEphemeralPrivateKey)))).toBe(
      s.endpointEphemeralPublicKey,
    );
    expect(toHex(keyIdentifier(endpointLongTermPublic))).toBe(derived.keyIdentifier);
  });

  it("Z from either side, Kdh", () => {
    expect(toHex(ecdhX(h(inputs.standard.vehicleEphemeralPrivateKey), h(s.endpointEphemeralPublicKey)))).toBe(
      s.z,
    );
    expect(toHex(ecdhX(h(inputs.standard.endpointEphemeralPrivateKey), h(s.vehicleEphemeralPublicKey)))).toBe(
      s.z,
    );
    expect(toHex(deriveKdh(h(s.z), h(inputs.standard.transactionId)))).toBe(s.kdh);
  });

  it("info strings, Kpersistent, Kenc, Kmac, Krmac", () => {
    expect(toHex(standardInfo(standardContext, CONTEXT_PERSISTENT))).toBe(s.infoPersistent);
    expect(toHex(standardInfo(standardContext, CONTEXT_VOLATILE))).toBe(s.infoVolatile);
    const keys = deriveStandardKeys(h(s.kdh), standardContext);
    expect(toHex(keys.persistent)).toBe(s.kpersistent);
    expect(toHex(keys.kenc)).toBe(s.kenc);
    expect(toHex(keys.kmac)).toBe(s.kmac);
    expect(toHex(keys.krmac)).toBe(s.krmac);
  });

  it("authentication payloads with the vehicle and device usage constants", () => {
    const vehicle = authenticationPayload(standardContext, "vehicle");
    const device = authenticationPayload(standardContext, "device");
    expect(toHex(vehicle)).toBe(s.vehicleAuthenticationPayload);
    expect(toHex(device)).toBe(s.deviceAuthenticationPayload);
    expect(toHex(vehicle.subarray(-6))).toBe("9304415d9569");
    expect(toHex(device.subarray(-6))).toBe("93044e887b4c");
  });

  it("the OpenSSL signatures verify with p256.verifyRaw, each only for its own usage", () => {
    const vehicle = authenticationPayload(standardContext, "vehicle");
    const device = authenticationPayload(standardContext, "device");
    expect(verifyRaw(h(signatures.vehicleSignature), vehicle, vehicleLongTermPublic)).toBe(true);
    expect(verifyRaw(h(signatures.endpointSignature), device, endpointLongTermPublic)).toBe(true);
    // A vehicle signature is no device signature, and neither verifies under the other key.
    expect(verifyRaw(h(signatures.vehicleSignature), device, vehicleLongTermPublic)).toBe(false);
    expect(verifyRaw(h(signatures.endpointSignature), vehicle, endpointLongTermPublic)).toBe(false);
    expect(verifyRaw(h(signatures.vehicleSignature), vehicle, endpointLongTermPublic)).toBe(false);
  });

  it("SELECT, AUTH0, AUTH1 and CONTROL FLOW APDUs", () => {
    expect(toHex(encodeResponse({ data: h("5c0402000100"), sw: 0x9000 }))).toBe(derived.selectResponse);
    const auth0 = auth0Command({
      fast: false,
      transactionCode: 0x03,
      version: h(inputs.version),
      vehicleEphemeralPublic: h(s.vehicleEphemeralPublicKey),
      transactionId: h(inputs.standard.transactionId),
      vehicleIdentifier: h(inputs.vehicleIdentifier),
    });
    expect(toHex(encodeCommand(auth0))).toBe(s.auth0Command);
    const answer = auth0Response({ endpointEphemeralPublic: h(s.endpointEphemeralPublicKey) });
    expect(toHex(encodeResponse({ data: answer, sw: 0x9000 }))).toBe(s.auth0Response);
    expect(toHex(encodeCommand(auth1Command(h(signatures.vehicleSignature))))).toBe(s.auth1Command);
    expect(toHex(encodeCommand(endTransactionCommand()))).toBe(s.controlFlow);
  });

  it("the secure messaging exchange, from both ends", () => {
    checkExchange(deriveStandardKeys(h(s.kdh), standardContext), s.secureMessaging);
  });
});

describe("the project code against the vector file (fast transaction)", () => {
  const f = derived.fast;

  it("infoFast, cryptogram, Kenc, Kmac, Krmac from the standard transaction's Kpersistent", () => {
    const vehicleX = xCoordinate(vehicleLongTermPublic);
    const endpointX = xCoordinate(endpointLongTermPublic);
    expect(toHex(fastInfo(fastContext, vehicleX, endpointX))).toBe(f.infoFast);
    const keys = deriveFastKeys(h(derived.standard.kpersistent), fastContext, vehicleX, endpointX);
    expect(toHex(keys.cryptogram)).toBe(f.cryptogram);
    expect(toHex(keys.kenc)).toBe(f.kenc);
    expect(toHex(keys.kmac)).toBe(f.kmac);
    expect(toHex(keys.krmac)).toBe(f.krmac);
  });

  it("AUTH0 with P1 01 and its answer with the cryptogram", () => {
    const auth0 = auth0Command({
      fast: true,
      transactionCode: 0x01,
      version: h(inputs.version),
      vehicleEphemeralPublic: h(f.vehicleEphemeralPublicKey),
      transactionId: h(inputs.fast.transactionId),
      vehicleIdentifier: h(inputs.vehicleIdentifier),
    });
    expect(toHex(encodeCommand(auth0))).toBe(f.auth0Command);
    const answer = auth0Response({
      endpointEphemeralPublic: h(f.endpointEphemeralPublicKey),
      cryptogram: h(f.cryptogram),
    });
    expect(toHex(encodeResponse({ data: answer, sw: 0x9000 }))).toBe(f.auth0Response);
  });

  it("the secure messaging exchange starts at counter 0 with the first EXCHANGE command", () => {
    const keys = deriveFastKeys(
      h(derived.standard.kpersistent),
      fastContext,
      xCoordinate(vehicleLongTermPublic),
      xCoordinate(endpointLongTermPublic),
    );
    expect(f.secureMessaging[0]?.counter).toBe(0);
    checkExchange(keys, f.secureMessaging);
  });
});

/** Replays a recorded exchange through two project sessions: each protected byte must match, each side must read the plaintext. */
function checkExchange(
  keys: { kenc: Uint8Array; kmac: Uint8Array; krmac: Uint8Array },
  steps: TransactionVectors["derived"]["standard"]["secureMessaging"],
): void {
  const vehicle = new SecureMessagingSession(keys);
  const device = new SecureMessagingSession(keys);
  for (const step of steps) {
    expect(vehicle.messageCounter, step.step).toBe(step.counter);
    if (step.direction === "command") {
      const protectedData = vehicle.protectCommand(h(step.plaintext));
      expect(toHex(protectedData), step.step).toBe(step.protected);
      expect(toHex(encodeCommand(exchangeCommand(protectedData))), step.step).toBe(step.apdu);
      expect(toHex(device.unprotectCommand(protectedData)), step.step).toBe(step.plaintext);
    } else {
      const protectedData = device.protectResponse(h(step.plaintext));
      expect(toHex(protectedData), step.step).toBe(step.protected);
      expect(toHex(encodeResponse({ data: protectedData, sw: 0x9000 })), step.step).toBe(step.apdu);
      expect(toHex(vehicle.unprotectResponse(protectedData)), step.step).toBe(step.plaintext);
    }
  }
}

// --- An independent derivation, inline, from docs/transaction.md's words ---------------------

function jwkPublic(publicKey: Uint8Array) {
  return {
    kty: "EC",
    crv: "P-256",
    x: Buffer.from(publicKey.subarray(1, 33)).toString("base64url"),
    y: Buffer.from(publicKey.subarray(33, 65)).toString("base64url"),
  };
}

const B = (...parts: (Uint8Array | number[] | string)[]) =>
  Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "ascii") : Buffer.from(p))));

const arbPrivateKey = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .filter((k) => k[0]! < 0xff && k.some((b) => b !== 0)); // below the group order, not zero

describe("the project key schedule against node:crypto and noble for random transactions (fast-check)", () => {
  it("Z, Kdh, Kpersistent, Kenc/Kmac/Krmac, cryptogram and fast keys", () => {
    fc.assert(
      fc.property(
        fc.record({
          vehicleEph: arbPrivateKey,
          endpointEph: arbPrivateKey,
          vehicleLt: arbPrivateKey,
          endpointLt: arbPrivateKey,
          tid: fc.uint8Array({ minLength: 16, maxLength: 16 }),
          vehicleId: fc.uint8Array({ minLength: 8, maxLength: 32 }),
          p1: fc.constantFrom(0x00, 0x01),
          p2: fc.constantFrom(0x01, 0x02, 0x03),
          versions: fc.constantFrom(h("02000100"), h("0200"), h("030002000100")),
        }),
        (r) => {
          const ecdh = (priv: Uint8Array) => {
            const e = createECDH("prime256v1");
            e.setPrivateKey(priv);
            return e;
          };
          const vEph = ecdh(r.vehicleEph);
          const eEph = ecdh(r.endpointEph);
          const vehicleEphPub = vEph.getPublicKey();
          const endpointEphPub = eEph.getPublicKey();
          const vehicleLtPub = ecdh(r.vehicleLt).getPublicKey();
          const endpointLtPub = ecdh(r.endpointLt).getPublicKey();
          const xv = vehicleEphPub.subarray(1, 33);
          const xe = endpointEphPub.subarray(1, 33);
          const flags = [r.p1, r.p2];
          const version = [0x02, 0x00];

          // Z = x(ECDH(...)); Kdh = SHA-256(Z ‖ 00000001 ‖ transaction id)
          const z = vEph.computeSecret(endpointEphPub);
          const kdh = createHash("sha256")
            .update(z)
            .update(B([0, 0, 0, 1]))
            .update(r.tid)
            .digest();
          // info(ctx) = x(vehicle eph) ‖ x(endpoint eph) ‖ transaction id ‖ 5E ‖ flags ‖ ctx ‖ TLV(5C, version) ‖ TLV(5C, versions)
          const info = (ctx: string) =>
            B(xv, xe, r.tid, [0x5e], flags, ctx, [0x5c, 2], version, [0x5c, r.versions.length], r.versions);
          const hkdf = (ikm: Uint8Array, i: Uint8Array, n: number) =>
            Buffer.from(hkdfSync("sha256", ikm, Buffer.alloc(0), i, n));
          const persistent = hkdf(kdh, info("Persistent"), 32);
          const volatile = hkdf(kdh, info("Volatile"), 48);
          // infoFast = x(vehicle LT) ‖ "VolatileFast" ‖ vehicle id ‖ x(endpoint LT) ‖ 5E ‖ TLV(5C, versions)
          //            ‖ TLV(5C, version) ‖ x(vehicle eph) ‖ transaction id ‖ flags ‖ x(endpoint eph)
          const infoFast = B(
            vehicleLtPub.subarray(1, 33),
            "VolatileFast",
            r.vehicleId,
            endpointLtPub.subarray(1, 33),
            [0x5e, 0x5c, r.versions.length],
            r.versions,
            [0x5c, 2],
            version,
            xv,
            r.tid,
            flags,
            xe,
          );
          const fast = hkdf(persistent, infoFast, 64);

          // The same chain once more on noble (pure JS), so the OpenSSL-backed project code is never
          // checked only against OpenSSL.
          const nobleZ = p256.getSharedSecret(r.vehicleEph, endpointEphPub, true).slice(1);
          expect(toHex(nobleZ)).toBe(toHex(z));
          const nobleKdh = nobleSha256(B(nobleZ, [0, 0, 0, 1], r.tid));
          expect(toHex(nobleKdh)).toBe(toHex(kdh));
          const noblePersistent = nobleHkdf(nobleSha256, nobleKdh, undefined, info("Persistent"), 32);
          expect(toHex(noblePersistent)).toBe(toHex(persistent));
          expect(toHex(nobleHkdf(nobleSha256, nobleKdh, undefined, info("Volatile"), 48))).toBe(
            toHex(volatile),
          );
          expect(toHex(nobleHkdf(nobleSha256, noblePersistent, undefined, infoFast, 64))).toBe(toHex(fast));

          const context: TransactionContext = {
            vehicleIdentifier: r.vehicleId,
            vehicleEphemeralX: xCoordinate(publicKeyOf(r.vehicleEph)),
            endpointEphemeralX: xCoordinate(publicKeyOf(r.endpointEph)),
            transactionId: r.tid,
            flags: Uint8Array.from(flags),
            version: Uint8Array.from(version),
            versions: r.versions,
          };
          const projectZ = ecdhX(r.endpointEph, publicKeyOf(r.vehicleEph));
          expect(toHex(projectZ)).toBe(toHex(z));
          const projectKdh = deriveKdh(projectZ, r.tid);
          expect(toHex(projectKdh)).toBe(toHex(kdh));
          const standard = deriveStandardKeys(projectKdh, context);
          expect(toHex(standard.persistent)).toBe(toHex(persistent));
          expect(toHex(standard.kenc) + toHex(standard.kmac) + toHex(standard.krmac)).toBe(toHex(volatile));
          const projectFast = deriveFastKeys(
            standard.persistent,
            context,
            xCoordinate(publicKeyOf(r.vehicleLt)),
            xCoordinate(publicKeyOf(r.endpointLt)),
          );
          // The reader's shortcut (kept PRK, fixed info head, one HMAC) gives the same cryptogram.
          const prefix = fastInfoPrefix(
            r.vehicleId,
            xCoordinate(publicKeyOf(r.vehicleLt)),
            xCoordinate(publicKeyOf(r.endpointLt)),
          );
          expect(toHex(Buffer.concat([prefix, fastInfoSuffix(context)]))).toBe(toHex(infoFast));
          expect(
            toHex(fastCryptogram(fastPseudorandomKey(standard.persistent), prefix, fastInfoSuffix(context))),
          ).toBe(toHex(fast.subarray(0, 16)));
          expect(
            toHex(projectFast.cryptogram) +
              toHex(projectFast.kenc) +
              toHex(projectFast.kmac) +
              toHex(projectFast.krmac),
          ).toBe(toHex(fast));

          // TLV(4D, vehicle id) ‖ TLV(86, x(endpoint eph)) ‖ TLV(87, x(vehicle eph)) ‖ TLV(4C, tid) ‖ TLV(93, usage)
          const payload = (usage: number[]) =>
            B(
              [0x4d, r.vehicleId.length],
              r.vehicleId,
              [0x86, 32],
              xe,
              [0x87, 32],
              xv,
              [0x4c, 16],
              r.tid,
              [0x93, 4],
              usage,
            );
          expect(toHex(authenticationPayload(context, "vehicle"))).toBe(
            toHex(payload([0x41, 0x5d, 0x95, 0x69])),
          );
          expect(toHex(authenticationPayload(context, "device"))).toBe(
            toHex(payload([0x4e, 0x88, 0x7b, 0x4c])),
          );
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe("signatures interoperate with node:crypto (raw r‖s, IEEE P1363)", () => {
  const payload = authenticationPayload(standardContext, "vehicle");

  it("node:crypto signatures verify with p256.verifyRaw (high-S included)", () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const raw = new Uint8Array(publicKey.export({ format: "der", type: "spki" }).subarray(-65));
    for (let i = 0; i < 16; i++) {
      const signature = sign("sha256", payload, { key: privateKey, dsaEncoding: "ieee-p1363" });
      expect(signature.length).toBe(64);
      expect(verifyRaw(signature, payload, raw)).toBe(true);
      expect(verifyRaw(signature, authenticationPayload(standardContext, "device"), raw)).toBe(false);
    }
  });

  it("a high-S signature (s replaced by n − s) verifies too: other implementations do not normalise", () => {
    const n = BigInt("0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
    const signature = h(signatures.vehicleSignature);
    const s = BigInt(`0x${toHex(signature.subarray(32))}`);
    const flipped = Buffer.concat([signature.subarray(0, 32), h((n - s).toString(16).padStart(64, "0"))]);
    const high = s > n / 2n ? signature : flipped;
    const low = s > n / 2n ? flipped : signature;
    const vehicle = authenticationPayload(standardContext, "vehicle");
    expect(verifyRaw(high, vehicle, vehicleLongTermPublic)).toBe(true);
    expect(verifyRaw(low, vehicle, vehicleLongTermPublic)).toBe(true);
  });

  it("p256.signRaw signatures verify with node:crypto", () => {
    const priv = h(inputs.vehicleLongTermPrivateKey);
    const signature = signRaw(priv, payload);
    expect(signature.length).toBe(64);
    const key = {
      key: jwkPublic(vehicleLongTermPublic),
      format: "jwk" as const,
      dsaEncoding: "ieee-p1363" as const,
    };
    expect(verify("sha256", payload, key, signature)).toBe(true);
    const tampered = payload.slice();
    tampered[tampered.length - 1]! ^= 1;
    expect(verify("sha256", tampered, key, signature)).toBe(false);
  });

  it("verifyRaw refuses malformed signatures and keys without throwing", () => {
    const signature = h(signatures.vehicleSignature);
    expect(verifyRaw(signature.subarray(0, 63), payload, vehicleLongTermPublic)).toBe(false);
    expect(verifyRaw(new Uint8Array(64), payload, vehicleLongTermPublic)).toBe(false);
    expect(verifyRaw(signature, payload, vehicleLongTermPublic.subarray(0, 33))).toBe(false);
    const offCurve = vehicleLongTermPublic.slice();
    offCurve[64]! ^= 1;
    expect(verifyRaw(signature, payload, offCurve)).toBe(false);
  });
});

describe("input checks", () => {
  it("names the bad parameter", () => {
    expect(() => deriveKdh(new Uint8Array(31), new Uint8Array(16))).toThrow(/shared secret must be 32 bytes/);
    expect(() => deriveKdh(new Uint8Array(32), new Uint8Array(15))).toThrow(/transactionId must be 16 bytes/);
    expect(() => standardInfo({ ...standardContext, flags: h("00") }, CONTEXT_VOLATILE)).toThrow(
      /flags must be 2 bytes/,
    );
    expect(() =>
      authenticationPayload({ ...standardContext, vehicleEphemeralX: new Uint8Array(33) }, "vehicle"),
    ).toThrow(ProtocolInputError);
    expect(() =>
      deriveFastKeys(new Uint8Array(16), fastContext, new Uint8Array(32), new Uint8Array(32)),
    ).toThrow(/persistent key must be 32 bytes/);
    expect(() => fastInfo(fastContext, new Uint8Array(65), new Uint8Array(32))).toThrow(
      /vehicleLongTermX must be 32 bytes/,
    );
  });
});
