// Proves the formats around pairing (device identifier, factory attestation, key attestation, revocation, lifecycle notices, private mailbox, signed service requests) reproduce pairing-vectors.json, verify OpenSSL's signatures, refuse malformed or tampered input, and round-trip.
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type AccessProfile, encodeAccessProfile } from "../../src/protocol/access-profile.js";

import { fromHex, toHex, utf8 } from "../../src/protocol/bytes.js";
import { deviceIdFromInstanceKey } from "../../src/protocol/device-identity.js";
import { ProtocolError, ProtocolInputError, TlvError, VerificationError } from "../../src/protocol/errors.js";
import { factoryAttestationBody, verifyFactoryAttestation } from "../../src/protocol/factory-attestation.js";
import {
  type KeyAttestationFacts,
  keyAttestationBody,
  parseKeyAttestation,
  verifyKeyAttestation,
} from "../../src/protocol/key-attestation.js";
import { type LifecycleNotice, noticeBody, verifyNotice } from "../../src/protocol/lifecycle-notice.js";
import { MAILBOX_SIZE, Mailbox } from "../../src/protocol/mailbox-operations.js";
import { generateKeyPair, keyIdentifier, signRaw, verifyRaw } from "../../src/protocol/p256.js";
import {
  encodePrivateMailbox,
  type PrivateMailboxContent,
  parsePrivateMailbox,
  privateMailboxContentLength,
} from "../../src/protocol/private-mailbox.js";
import { canonicalRequest, type SignedRequestParts } from "../../src/protocol/request-signature.js";
import { type RevocationFacts, revocationBody, verifyRevocation } from "../../src/protocol/revocation.js";
import { encodeSignedStatement } from "../../src/protocol/signed-statement.js";
import type { PairingVectors } from "../vectors/carkeys/generate-pairing-vectors.js";

const vectors = JSON.parse(
  readFileSync(new URL("../vectors/carkeys/pairing-vectors.json", import.meta.url), "utf8"),
) as PairingVectors;
const { inputs, derived: d } = vectors;
const h = fromHex;
const keys = {
  deviceOemRoot: h(d.publicKeys.deviceOemRoot),
  manufacturer: h(d.publicKeys.manufacturer),
  owner: h(d.publicKeys.ownerEndpoint),
  friend: h(d.publicKeys.friendEndpoint),
  instance: h(d.publicKeys.ownerInstanceCa),
};
const vehicleIdentifier = h(inputs.vehicleIdentifier);
const driveProfile: AccessProfile = { kind: "drive", speedLimitKmh: inputs.keyAttestation.speedLimitKmh };

function refuses(fn: () => unknown, type: typeof ProtocolError, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(type);
  expect((caught as Error).message).toMatch(message);
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  out[bit >> 3]! ^= 1 << (bit & 7);
  return out;
}

describe("device identifier", () => {
  it("is the first 16 bytes of SHA-256 over the instance CA public key", () => {
    expect(toHex(deviceIdFromInstanceKey(keys.instance))).toBe(d.deviceId);
    expect(() => deviceIdFromInstanceKey(keys.instance.subarray(1))).toThrow(ProtocolInputError);
  });
});

describe("factory attestation", () => {
  const facts = {
    deviceId: h(d.deviceId),
    instanceCaPublicKey: keys.instance,
    issuedAt: inputs.factoryAttestation.issuedAt,
  };
  it("builds the vector's body and verifies its OpenSSL signature", () => {
    expect(toHex(factoryAttestationBody(facts))).toBe(d.factoryAttestation.body);
    expect(verifyFactoryAttestation(h(d.factoryAttestation.encoded), keys.manufacturer)).toEqual(facts);
  });
  it("refuses another manufacturer's key, a device id not derived from the key, and any flipped bit", () => {
    refuses(
      () => verifyFactoryAttestation(h(d.factoryAttestation.encoded), keys.owner),
      VerificationError,
      /signature does not verify/,
    );
    const manufacturer = generateKeyPair();
    const body = factoryAttestationBody({ ...facts, deviceId: new Uint8Array(16) });
    refuses(
      () =>
        verifyFactoryAttestation(
          encodeSignedStatement(body, signRaw(manufacturer.privateKey, body)),
          manufacturer.publicKey,
        ),
      VerificationError,
      /device id is not derived/,
    );
    const encoded = h(d.factoryAttestation.encoded);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: encoded.length * 8 - 1 }), (bit) => {
        expect(() => verifyFactoryAttestation(flipBit(encoded, bit), keys.manufacturer)).toThrow(
          ProtocolError,
        );
      }),
      { numRuns: 200 },
    );
  });
});

describe("key attestation", () => {
  const facts: KeyAttestationFacts = {
    vehicleIdentifier,
    endpointPublicKey: keys.friend,
    profile: driveProfile,
    serial: inputs.keyAttestation.serial,
    issuedAt: inputs.keyAttestation.issuedAt,
    signerKeyId: h(d.ownerKeyId),
  };
  it("builds the vector's access profile and body, and verifies the owner's OpenSSL signature", () => {
    expect(toHex(encodeAccessProfile(driveProfile))).toBe(d.accessProfile);
    expect(toHex(keyAttestationBody(facts))).toBe(d.keyAttestation.body);
    expect(verifyKeyAttestation(h(d.keyAttestation.encoded), keys.owner)).toEqual(facts);
    expect(parseKeyAttestation(h(d.keyAttestation.encoded)).facts).toEqual(facts);
  });
  it("refuses another owner key, another statement kind, a wrong key identifier and any flipped bit", () => {
    refuses(
      () => verifyKeyAttestation(h(d.keyAttestation.encoded), keys.friend),
      VerificationError,
      /signed by another owner key/,
    );
    refuses(
      () => verifyKeyAttestation(h(d.revocation.encoded), keys.owner),
      VerificationError,
      /usage 52564b45 is not 4b415454/,
    );
    // A body whose 4E does not match its C0 (built by hand: the encoder always derives it).
    const body = h(d.keyAttestation.body);
    const keyIdAt = toHex(body).indexOf(`4e06${d.friendKeyId}`) / 2 + 2;
    const wrongId = body.slice();
    wrongId[keyIdAt]! ^= 0xff;
    refuses(
      () => parseKeyAttestation(encodeSignedStatement(wrongId, new Uint8Array(64))),
      VerificationError,
      /key identifier does not match/,
    );
    const encoded = h(d.keyAttestation.encoded);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: encoded.length * 8 - 1 }), (bit) => {
        expect(() => verifyKeyAttestation(flipBit(encoded, bit), keys.owner)).toThrow(ProtocolError);
      }),
      { numRuns: 300 },
    );
  });
  it("round-trips any valid facts", () => {
    const owner = generateKeyPair();
    const friend = generateKeyPair();
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 8, maxLength: 32 }),
        fc.constantFrom<AccessProfile>(
          { kind: "full" },
          { kind: "unlock-only", validFrom: 1767225600, validUntil: 1798761600 },
          { kind: "drive", speedLimitKmh: 130 },
        ),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        (vehicle, profile, serial, issuedAt) => {
          const f: KeyAttestationFacts = {
            vehicleIdentifier: vehicle,
            endpointPublicKey: friend.publicKey,
            profile,
            serial,
            issuedAt,
            signerKeyId: keyIdentifier(owner.publicKey),
          };
          const body = keyAttestationBody(f);
          expect(
            verifyKeyAttestation(
              encodeSignedStatement(body, signRaw(owner.privateKey, body)),
              owner.publicKey,
            ),
          ).toEqual(f);
        },
      ),
      { numRuns: 30 },
    );
  });
});

describe("revocation", () => {
  const facts: RevocationFacts = {
    vehicleIdentifier,
    revokedKeyId: h(d.friendKeyId),
    attestationSerial: inputs.keyAttestation.serial,
    issuedAt: inputs.revocation.issuedAt,
    signerKeyId: h(d.ownerKeyId),
  };
  it("builds the vector's body and verifies the owner's OpenSSL signature", () => {
    expect(toHex(revocationBody(facts))).toBe(d.revocation.body);
    expect(verifyRevocation(h(d.revocation.encoded), keys.owner)).toEqual(facts);
  });
  it("refuses another signer, another statement kind, and any flipped bit", () => {
    refuses(
      () => verifyRevocation(h(d.revocation.encoded), keys.friend),
      VerificationError,
      /signed by another key/,
    );
    refuses(() => verifyRevocation(h(d.keyAttestation.encoded), keys.owner), VerificationError, /usage/);
    refuses(
      () => revocationBody({ ...facts, revokedKeyId: new Uint8Array(5) }),
      ProtocolInputError,
      /revoked key id/,
    );
    const encoded = h(d.revocation.encoded);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: encoded.length * 8 - 1 }), (bit) => {
        expect(() => verifyRevocation(flipBit(encoded, bit), keys.owner)).toThrow(ProtocolError);
      }),
      { numRuns: 200 },
    );
  });
});

describe("lifecycle notices", () => {
  const suspend: LifecycleNotice = {
    deviceId: h(d.deviceId),
    action: "suspend",
    counter: inputs.notices.suspend.counter,
    issuedAt: inputs.notices.suspend.issuedAt,
    vehicleIdentifier: undefined,
  };
  const resume: LifecycleNotice = {
    deviceId: h(d.deviceId),
    action: "resume",
    counter: inputs.notices.resume.counter,
    issuedAt: inputs.notices.resume.issuedAt,
    vehicleIdentifier,
  };
  it("builds the vector's device-directed suspension and vehicle-directed resume", () => {
    expect(toHex(noticeBody(suspend))).toBe(d.notices.suspend.body);
    expect(toHex(noticeBody(resume))).toBe(d.notices.resume.body);
    expect(verifyNotice(h(d.notices.suspend.encoded), keys.deviceOemRoot)).toEqual(suspend);
    expect(verifyNotice(h(d.notices.resume.encoded), keys.deviceOemRoot)).toEqual(resume);
  });
  it("refuses another key, an unknown action, and any flipped bit", () => {
    refuses(
      () => verifyNotice(h(d.notices.suspend.encoded), keys.owner),
      VerificationError,
      /notice: signature does not verify/,
    );
    const body = h(d.notices.suspend.body);
    const actionAt = toHex(body).indexOf("c60101") / 2 + 2;
    const unknown = body.slice();
    unknown[actionAt] = 0x07;
    refuses(
      () => verifyNotice(encodeSignedStatement(unknown, new Uint8Array(64)), keys.deviceOemRoot),
      TlvError,
      /unknown action 7/,
    );
    refuses(() => noticeBody({ ...suspend, deviceId: new Uint8Array(15) }), ProtocolInputError, /device id/);
    const encoded = h(d.notices.resume.encoded);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: encoded.length * 8 - 1 }), (bit) => {
        expect(() => verifyNotice(flipBit(encoded, bit), keys.deviceOemRoot)).toThrow(ProtocolError);
      }),
      { numRuns: 200 },
    );
  });
  it("round-trips any notice", () => {
    const oem = generateKeyPair();
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.constantFrom<"suspend" | "resume">("suspend", "resume"),
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.option(fc.uint8Array({ minLength: 8, maxLength: 32 }), { nil: undefined }),
        (deviceId, action, counter, vehicle) => {
          const n: LifecycleNotice = {
            deviceId,
            action,
            counter,
            issuedAt: counter,
            vehicleIdentifier: vehicle,
          };
          const body = noticeBody(n);
          expect(
            verifyNotice(encodeSignedStatement(body, signRaw(oem.privateKey, body)), oem.publicKey),
          ).toEqual(n);
        },
      ),
      { numRuns: 30 },
    );
  });
});

describe("private mailbox", () => {
  const size = MAILBOX_SIZE[Mailbox.PRIVATE];
  const ownerContent: PrivateMailboxContent = { revocations: [h(d.revocation.encoded)] };
  const friendContent: PrivateMailboxContent = {
    enrollment: {
      attestation: h(d.keyAttestation.encoded),
      endpointCertificate: h(inputs.certificates.friendEndpoint),
      instanceCaCertificate: h(inputs.certificates.friendInstanceCa),
    },
    revocations: [],
  };

  it("lays out the vector's owner mailbox (revocations) and friend mailbox (enrollment package)", () => {
    expect(d.privateMailbox.size).toBe(size);
    for (const [content, expected] of [
      [ownerContent, d.privateMailbox.owner],
      [friendContent, d.privateMailbox.friend],
    ] as const) {
      const image = encodePrivateMailbox(content, size);
      expect(image.length).toBe(size);
      expect(toHex(image.subarray(0, expected.length / 2))).toBe(expected);
      expect(image.subarray(expected.length / 2).every((b) => b === 0)).toBe(true);
      expect(privateMailboxContentLength(image.subarray(0, 2))).toBe(expected.length / 2 - 2);
      expect(parsePrivateMailbox(image)).toEqual({ enrollment: undefined, ...content });
    }
  });

  it("refuses content that does not fit, a length past the end, and unknown revocation entries", () => {
    refuses(() => encodePrivateMailbox(friendContent, 1024), ProtocolInputError, /does not fit/);
    refuses(() => parsePrivateMailbox(h("0010aabb")), TlvError, /runs past its end/);
    refuses(() => privateMailboxContentLength(h("00")), TlvError, /2 bytes/);
    refuses(() => parsePrivateMailbox(h("00067f7203e101aa")), TlvError, /unknown entry/);
    refuses(() => parsePrivateMailbox(h("00067f7103e101aa")), TlvError, /endpoint certificate/);
  });

  it("round-trips any content that fits", () => {
    const bytes = (max: number) => fc.uint8Array({ minLength: 1, maxLength: max });
    fc.assert(
      fc.property(
        fc.option(
          fc.record({
            attestation: bytes(300),
            endpointCertificate: bytes(600),
            instanceCaCertificate: bytes(600),
          }),
          {
            nil: undefined,
          },
        ),
        fc.array(bytes(200), { maxLength: 2 }),
        (enrollment, revocations) => {
          const content: PrivateMailboxContent = { enrollment, revocations };
          expect(parsePrivateMailbox(encodePrivateMailbox(content, size))).toEqual(content);
        },
      ),
    );
  });
});

describe("signed service request", () => {
  const parts: SignedRequestParts = {
    method: inputs.serviceRequest.method,
    path: inputs.serviceRequest.path,
    body: h(d.serviceRequest.body),
    timestamp: inputs.serviceRequest.timestamp,
    nonce: inputs.serviceRequest.nonce,
    signer: d.serviceRequest.signer as SignedRequestParts["signer"],
  };
  it("builds the vector's canonical string, which the endpoint key's OpenSSL signature covers", () => {
    const canonical = canonicalRequest(parts);
    expect(toHex(canonical)).toBe(d.serviceRequest.canonical);
    expect(Buffer.from(canonical).toString("utf8").split("\n")[0]).toBe("CARKEY-REQUEST-V1");
    expect(verifyRaw(h(d.serviceRequest.signature), canonical, keys.owner)).toBe(true);
    // Any other request, and the same bytes as another statement, fail under that signature.
    expect(
      verifyRaw(h(d.serviceRequest.signature), canonicalRequest({ ...parts, path: "/v1/keys" }), keys.owner),
    ).toBe(false);
    expect(
      verifyRaw(h(d.serviceRequest.signature), canonicalRequest({ ...parts, body: utf8("{}") }), keys.owner),
    ).toBe(false);
  });
  it("refuses parts that would make the canonical string ambiguous", () => {
    refuses(() => canonicalRequest({ ...parts, method: "post" }), ProtocolInputError, /method/);
    refuses(() => canonicalRequest({ ...parts, path: "/v1/a b" }), ProtocolInputError, /path/);
    refuses(() => canonicalRequest({ ...parts, path: "v1/keys" }), ProtocolInputError, /path/);
    refuses(() => canonicalRequest({ ...parts, nonce: "ABCD" }), ProtocolInputError, /nonce/);
    refuses(() => canonicalRequest({ ...parts, timestamp: -1 }), ProtocolInputError, /timestamp/);
    refuses(
      () => canonicalRequest({ ...parts, signer: "endpoint:abc" }),
      ProtocolInputError,
      /carkey-signer/,
    );
    refuses(
      () => canonicalRequest({ ...parts, signer: `instance:${d.ownerKeyId}` }),
      ProtocolInputError,
      /carkey-signer/,
    );
  });
});
