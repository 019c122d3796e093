// Proves the owner-pairing codecs, SPAKE2+ run, session keys and secure messaging reproduce pairing-vectors.json byte for byte, that both emulators replay it, and that malformed pairing messages are refused.
import { hkdfSync } from "node:crypto";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FrameworkApplet, type StagedOwnerKey } from "../../src/emulator/secure-element/framework-applet.js";
import type { ApduChannel } from "../../src/emulator/vehicle/apdu-channel.js";
import { runOwnerPairing } from "../../src/emulator/vehicle/owner-pairing.js";
import { encodeCommand, parseCommand } from "../../src/protocol/apdu.js";
import { tlv } from "../../src/protocol/ber-tlv.js";
import { concatBytes, fromHex, toHex, utf8 } from "../../src/protocol/bytes.js";
import { certificatePem } from "../../src/protocol/certificate-pem.js";
import { parseCertificate } from "../../src/protocol/certificate-verifier.js";
import { SUPPORTED_VERSIONS } from "../../src/protocol/constants.js";
import { ProtocolError, TlvError } from "../../src/protocol/errors.js";
import { generateKeyPair, signRaw } from "../../src/protocol/p256.js";
import {
  encodePairingConfirmation,
  pairingConfirmationBody,
  verifyPairingConfirmation,
} from "../../src/protocol/pairing-confirmation.js";
import {
  deviceDataPlaintext,
  frameworkSelectCommand,
  frameworkSelectResponse,
  getDataCommand,
  getResponseCommand,
  PAIRING_TAG,
  PairingState,
  pairingContext,
  pairingSessionKeys,
  parseDeviceData,
  parseFrameworkSelectResponse,
  parseSpake2Request,
  parseSpake2Verify,
  parseVehicleData,
  SPAKE2PLUS_VERSION,
  spake2RequestCommand,
  spake2VerifyCommand,
  vehicleDataPlaintext,
  writeConfirmationCommand,
  writeDataCommand,
} from "../../src/protocol/pairing-messages.js";
import { computePairingVerifier, derivePasswordScalars } from "../../src/protocol/pairing-password.js";
import { SecureMessagingSession } from "../../src/protocol/secure-messaging.js";
import {
  computeProverPoints,
  createProver,
  createVerifier,
  keySchedule,
  P256_SHA256_HKDF_SHA256_CMAC_AES128,
  transcript,
} from "../../src/protocol/spake2plus.js";
import {
  vehiclePairingProofBody,
  verifyVehiclePairingProof,
} from "../../src/protocol/vehicle-pairing-proof.js";
import { derivePairingVectors, type PairingVectors } from "../vectors/carkeys/generate-pairing-vectors.js";

const vectors = JSON.parse(
  readFileSync(new URL("../vectors/carkeys/pairing-vectors.json", import.meta.url), "utf8"),
) as PairingVectors;
const { inputs, derived: d } = vectors;
const h = fromHex;
const hexOf = (bytes: Uint8Array) => toHex(bytes);
const suite = P256_SHA256_HKDF_SHA256_CMAC_AES128;
const empty = new Uint8Array(0);
const ok = (data: Uint8Array) => hexOf(concatBytes(data, Uint8Array.of(0x90, 0x00)));

const scryptParams = { salt: h(inputs.salt), ...inputs.scrypt };
const brand = utf8(inputs.brand);
const context = pairingContext(h(inputs.spake2PlusVersion), h(inputs.appletVersions), brand);
const sessionKeys = {
  kenc: h(d.sessionKeys.kenc),
  kmac: h(d.sessionKeys.kmac),
  krmac: h(d.sessionKeys.krmac),
};
const certificate = (name: keyof typeof inputs.certificates) => h(inputs.certificates[name]);

/** 48 seed bytes that the SE's and the vehicle's scalar draw ((seed mod (n−1)) + 1) maps onto `scalar`. */
function seedFor(scalar: string): Uint8Array {
  const value = BigInt(`0x${scalar}`) - 1n;
  return h(value.toString(16).padStart(96, "0"));
}

/** The pairing's APDUs in order, as the vehicle sends them and the device answers. */
const conversation: { command: string; response: string }[] = [
  d.select,
  d.spake2Request,
  d.spake2Verify,
  d.writeData,
  { command: d.getData.command, response: d.getData.responses[0]!.response },
  ...d.getData.responses.slice(1).map((r) => ({ command: r.getResponse!, response: r.response })),
  d.pairingConfirmation,
  d.controlFlow,
];

describe("pairing vector file", () => {
  it("is exactly what the node:crypto reference derives from its inputs and signatures", () => {
    expect(derivePairingVectors(vectors.inputs, vectors.signatures)).toEqual(vectors);
  });
});

describe("password to SPAKE2+ verifier", () => {
  it("derives w0, w1 and L from the password, salt and scrypt cost", () => {
    const { w0, w1 } = derivePasswordScalars(inputs.password, scryptParams);
    expect(hexOf(w0)).toBe(d.scrypt.w0);
    expect(hexOf(w1)).toBe(d.scrypt.w1);
    const verifier = computePairingVerifier(inputs.password, scryptParams);
    expect(hexOf(verifier.L)).toBe(d.scrypt.L);
    expect(hexOf(verifier.w0)).toBe(d.scrypt.w0);
  });
});

describe("SPAKE2+ run of the vector", () => {
  it("gives the vector's context, shares, transcript, key schedule and evidence", () => {
    expect(hexOf(context)).toBe(d.spake2.context);
    const identity = { suite, context, idProver: empty, idVerifier: empty };
    const prover = createProver({ ...identity, w0: h(d.scrypt.w0), w1: h(d.scrypt.w1), x: h(inputs.x) });
    expect(hexOf(prover.shareP)).toBe(d.spake2.shareP);
    const verifier = createVerifier({ ...identity, w0: h(d.scrypt.w0), L: h(d.scrypt.L), y: h(inputs.y) });
    const { shareV, confirmV } = verifier.respond(prover.shareP);
    expect(hexOf(shareV)).toBe(d.spake2.shareV);
    expect(hexOf(confirmV)).toBe(d.spake2.vehicleEvidence);
    const { confirmP, sharedKey } = prover.finish(shareV, confirmV);
    expect(hexOf(confirmP)).toBe(d.spake2.deviceEvidence);
    expect(hexOf(sharedKey)).toBe(d.spake2.K_shared);
    expect(hexOf(verifier.finish(confirmP))).toBe(d.spake2.K_shared);

    const points = computeProverPoints({
      w0: h(d.scrypt.w0),
      w1: h(d.scrypt.w1),
      x: h(inputs.x),
      shareV: h(d.spake2.shareV),
    });
    expect(hexOf(points.Z)).toBe(d.spake2.Z);
    expect(hexOf(points.V)).toBe(d.spake2.V);
    const TT = transcript({
      context,
      idProver: empty,
      idVerifier: empty,
      shareP: h(d.spake2.shareP),
      shareV: h(d.spake2.shareV),
      Z: points.Z,
      V: points.V,
      w0: h(d.scrypt.w0),
    });
    expect(hexOf(TT)).toBe(d.spake2.transcript);
    const schedule = keySchedule(suite, TT);
    expect(hexOf(schedule.K_main)).toBe(d.spake2.K_main);
    expect(hexOf(schedule.K_confirmP)).toBe(d.spake2.K_confirmP);
    expect(hexOf(schedule.K_confirmV)).toBe(d.spake2.K_confirmV);
  });

  it("derives the pairing session keys from K_shared (checked with node:crypto hkdfSync too)", () => {
    const keys = pairingSessionKeys(h(d.spake2.K_shared));
    expect([keys.kenc, keys.kmac, keys.krmac].map(hexOf)).toEqual([
      d.sessionKeys.kenc,
      d.sessionKeys.kmac,
      d.sessionKeys.krmac,
    ]);
    const okm = Buffer.from(
      hkdfSync("sha256", h(d.spake2.K_shared), Buffer.alloc(0), "CarKeys-Pairing-SecureMessaging-v1", 48),
    );
    expect(okm.toString("hex")).toBe(d.sessionKeys.kenc + d.sessionKeys.kmac + d.sessionKeys.krmac);
    expect(Buffer.from(h(d.sessionKeys.info)).toString("ascii")).toBe("CarKeys-Pairing-SecureMessaging-v1");
  });
});

describe("framework applet APDUs of the vector", () => {
  it("SELECT and its answer", () => {
    expect(hexOf(encodeCommand(frameworkSelectCommand()))).toBe(d.select.command);
    expect(ok(frameworkSelectResponse(SUPPORTED_VERSIONS, PairingState.PASSWORD_ENTERED))).toBe(
      d.select.response,
    );
    const parsed = parseFrameworkSelectResponse(h(d.select.response).subarray(0, -2));
    expect(parsed).toEqual({
      spakeVersions: SPAKE2PLUS_VERSION,
      appletVersions: SUPPORTED_VERSIONS,
      state: PairingState.PASSWORD_ENTERED,
    });
  });

  it("SPAKE2+ REQUEST and VERIFY, both ways", () => {
    const request = {
      chosenVersion: h(inputs.spake2PlusVersion),
      appletVersions: h(inputs.appletVersions),
      scrypt: scryptParams,
      brand,
    };
    expect(hexOf(encodeCommand(spake2RequestCommand(request)))).toBe(d.spake2Request.command);
    expect(parseSpake2Request(parseCommand(h(d.spake2Request.command)))).toEqual(request);
    expect(ok(tlv(PAIRING_TAG.SHARE_P, h(d.spake2.shareP)))).toBe(d.spake2Request.response);

    const verify = spake2VerifyCommand(h(d.spake2.shareV), h(d.spake2.vehicleEvidence));
    expect(hexOf(encodeCommand(verify))).toBe(d.spake2Verify.command);
    expect(parseSpake2Verify(parseCommand(h(d.spake2Verify.command)))).toEqual({
      shareV: h(d.spake2.shareV),
      vehicleEvidence: h(d.spake2.vehicleEvidence),
    });
    expect(ok(tlv(PAIRING_TAG.DEVICE_EVIDENCE, h(d.spake2.deviceEvidence)))).toBe(d.spake2Verify.response);
  });

  it("WRITE DATA and GET DATA under secure messaging, with the answer in GET RESPONSE chunks", () => {
    const vehicle = new SecureMessagingSession(sessionKeys);
    const device = new SecureMessagingSession(sessionKeys);

    const writePlaintext = vehicleDataPlaintext(
      h(inputs.vehicleIdentifier),
      certificate("vehicle"),
      h(d.vehicleProof.signature),
    );
    expect(hexOf(writePlaintext)).toBe(d.writeData.plaintext);
    const writeProtected = vehicle.protectCommand(writePlaintext);
    expect(hexOf(writeProtected)).toBe(d.writeData.protected);
    expect(hexOf(encodeCommand(writeDataCommand(writeProtected)))).toBe(d.writeData.command);
    const received = device.unprotectCommand(parseCommand(h(d.writeData.command)).data);
    expect(parseVehicleData(received)).toEqual({
      vehicleIdentifier: h(inputs.vehicleIdentifier),
      vehicleCertificate: certificate("vehicle"),
      vehicleProof: h(d.vehicleProof.signature),
    });
    const writeAnswer = device.protectResponse(empty);
    expect(ok(writeAnswer)).toBe(d.writeData.response);
    expect(vehicle.unprotectResponse(writeAnswer)).toEqual(empty);

    const getProtected = vehicle.protectCommand(empty);
    expect(hexOf(encodeCommand(getDataCommand(getProtected)))).toBe(d.getData.command);
    expect(device.unprotectCommand(getProtected)).toEqual(empty);
    const deviceData = deviceDataPlaintext(certificate("ownerEndpoint"), certificate("ownerInstanceCa"));
    expect(hexOf(deviceData)).toBe(d.getData.plaintext);
    const answer = device.protectResponse(deviceData);
    expect(hexOf(answer)).toBe(d.getData.protected);
    const chunks = d.getData.responses.map((r) => h(r.response).subarray(0, -2));
    expect(hexOf(concatBytes(...chunks))).toBe(d.getData.protected);
    for (const r of d.getData.responses.slice(1)) {
      const le = Number.parseInt(r.getResponse!.slice(-2), 16);
      expect(hexOf(encodeCommand(getResponseCommand(le)))).toBe(r.getResponse);
    }
    expect(parseDeviceData(vehicle.unprotectResponse(answer))).toEqual({
      endpointCertificate: certificate("ownerEndpoint"),
      instanceCaCertificate: certificate("ownerInstanceCa"),
    });

    const confirmationProtected = vehicle.protectCommand(h(d.pairingConfirmation.encoded));
    expect(hexOf(confirmationProtected)).toBe(d.pairingConfirmation.protected);
    expect(hexOf(encodeCommand(writeConfirmationCommand(confirmationProtected)))).toBe(
      d.pairingConfirmation.command,
    );
    expect(hexOf(device.unprotectCommand(confirmationProtected))).toBe(d.pairingConfirmation.encoded);
    const confirmationAnswer = device.protectResponse(empty);
    expect(ok(confirmationAnswer)).toBe(d.pairingConfirmation.response);
    expect(vehicle.unprotectResponse(confirmationAnswer)).toEqual(empty);
  });
});

describe("the vehicle's proof and pairing confirmation of the vector", () => {
  const vehicleKey = h(d.publicKeys.vehicle);
  const proofFacts = {
    vehicleIdentifier: h(inputs.vehicleIdentifier),
    shareP: h(d.spake2.shareP),
    shareV: h(d.spake2.shareV),
  };
  const confirmationFacts = {
    pairingId: h(inputs.pairingConfirmation.pairingId),
    vehicleIdentifier: h(inputs.vehicleIdentifier),
    endpointPublicKey: h(d.publicKeys.ownerEndpoint),
    confirmedAt: inputs.pairingConfirmation.confirmedAt,
  };
  const flipBit = (bytes: Uint8Array, bit: number) => {
    const out = bytes.slice();
    out[bit >> 3]! ^= 1 << (bit & 7);
    return out;
  };

  it("builds the proof body over both shares and verifies the vehicle's OpenSSL signature", () => {
    expect(hexOf(vehiclePairingProofBody(proofFacts))).toBe(d.vehicleProof.body);
    const signature = h(d.vehicleProof.signature);
    expect(() => verifyVehiclePairingProof(signature, proofFacts, vehicleKey)).not.toThrow();
    // Another session (other shares), another car's key, or a flipped bit: refused.
    const otherX = { ...proofFacts, shareP: h(d.spake2.shareV) };
    expect(() => verifyVehiclePairingProof(signature, otherX, vehicleKey)).toThrow(/does not verify/);
    expect(() => verifyVehiclePairingProof(signature, proofFacts, h(d.publicKeys.ownerEndpoint))).toThrow(
      /does not verify/,
    );
    for (let bit = 0; bit < 512; bit += 37) {
      expect(() => verifyVehiclePairingProof(flipBit(signature, bit), proofFacts, vehicleKey)).toThrow(
        /does not verify/,
      );
    }
  });

  it("builds the confirmation body and verifies the vehicle's OpenSSL signature", () => {
    const body = pairingConfirmationBody(confirmationFacts);
    expect(hexOf(body)).toBe(d.pairingConfirmation.body);
    expect(hexOf(encodePairingConfirmation(body, h(vectors.signatures.pairingConfirmation)))).toBe(
      d.pairingConfirmation.encoded,
    );
    const encoded = h(d.pairingConfirmation.encoded);
    expect(verifyPairingConfirmation(encoded, vehicleKey)).toEqual(confirmationFacts);
    expect(() => verifyPairingConfirmation(encoded, h(d.publicKeys.ownerEndpoint))).toThrow(
      /does not verify/,
    );
    for (let bit = 0; bit < encoded.length * 8; bit += 13) {
      expect(() => verifyPairingConfirmation(flipBit(encoded, bit), vehicleKey)).toThrow(ProtocolError);
    }
    // A key attestation is no confirmation, whoever signed it.
    expect(() => verifyPairingConfirmation(h(d.keyAttestation.encoded), vehicleKey)).toThrow(/usage/);
  });

  it("round-trips any confirmation", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 8, maxLength: 8 }),
        fc.uint8Array({ minLength: 8, maxLength: 32 }),
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        (pairingId, vehicleIdentifier, confirmedAt) => {
          const keyPair = generateKeyPair();
          const facts = { pairingId, vehicleIdentifier, endpointPublicKey: keyPair.publicKey, confirmedAt };
          const body = pairingConfirmationBody(facts);
          const encoded = encodePairingConfirmation(body, signRaw(keyPair.privateKey, body));
          expect(verifyPairingConfirmation(encoded, keyPair.publicKey)).toEqual(facts);
        },
      ),
      { numRuns: 20 },
    );
  });
});

describe("the emulators replay the vector", () => {
  it("the device's framework applet answers every vehicle command with the vector's bytes", async () => {
    const committed: [StagedOwnerKey, string][] = [];
    const staged: StagedOwnerKey = {
      endpointPublicKey: h(d.publicKeys.ownerEndpoint),
      endpointCertificate: certificate("ownerEndpoint"),
      instanceCaCertificate: certificate("ownerInstanceCa"),
    };
    const applet = new FrameworkApplet({
      pairingPassword: () => inputs.password,
      randomBytes: (length) => {
        expect(length).toBe(48);
        return seedFor(inputs.x);
      },
      stageOwnerKey: async (vehicleIdentifier, vehicleCertificate) => {
        expect(hexOf(vehicleIdentifier)).toBe(inputs.vehicleIdentifier);
        expect(hexOf(vehicleCertificate)).toBe(inputs.certificates.vehicle);
        return staged;
      },
      commitOwnerKey: (key, confirmation) => committed.push([key, hexOf(confirmation)]),
      discardOwnerKey: () => {},
    });
    for (const step of conversation) {
      expect(hexOf(await applet.process(h(step.command)))).toBe(step.response);
    }
    expect(committed).toEqual([[staged, d.pairingConfirmation.encoded]]);
  });

  it("the vehicle sends exactly the vector's commands and enrolls the owner key", async () => {
    let next = 0;
    const channel: ApduChannel = async (command) => {
      const step = conversation[next++]!;
      expect(hexOf(command)).toBe(step.command);
      return h(step.response);
    };
    const endpoint = await runOwnerPairing(channel, {
      vehicleIdentifier: h(inputs.vehicleIdentifier),
      vehicleCertificate: certificate("vehicle"),
      verifier: { w0: h(d.scrypt.w0), L: h(d.scrypt.L), ...scryptParams },
      brand,
      deviceOemRoots: [certificatePem(parseCertificate(certificate("deviceOemRoot")).der)],
      pairingId: h(inputs.pairingConfirmation.pairingId),
      // ECDSA draws a random k: the vehicle must ask to sign exactly the vector's bodies, and gets its signatures.
      signAsVehicle: (message) => {
        const signatures: Record<string, string> = {
          [d.vehicleProof.body]: vectors.signatures.vehicleProof,
          [d.pairingConfirmation.body]: vectors.signatures.pairingConfirmation,
        };
        const signature = signatures[hexOf(message)];
        expect(signature).toBeDefined();
        return h(signature!);
      },
      now: new Date(inputs.pairingConfirmation.confirmedAt),
      random: (length) => {
        expect(length).toBe(48);
        return seedFor(inputs.y);
      },
    });
    expect(next).toBe(conversation.length);
    expect(endpoint).toMatchObject({
      keyId: d.ownerKeyId,
      endpointPublicKey: d.publicKeys.ownerEndpoint,
      role: "owner",
      deviceId: d.deviceId,
      profile: { kind: "full" },
    });
  });
});

describe("malformed pairing messages", () => {
  const request = parseCommand(h(d.spake2Request.command));

  function refuses(fn: () => unknown, message: RegExp): void {
    let caught: unknown;
    try {
      fn();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ProtocolError);
    expect((caught as Error).message).toMatch(message);
  }

  it("refuses a truncated or incomplete SPAKE2+ REQUEST", () => {
    refuses(() => parseSpake2Request({ ...request, data: request.data.subarray(0, -1) }), /./);
    const withoutBrand = request.data.subarray(0, request.data.length - 2 - brand.length);
    refuses(() => parseSpake2Request({ ...request, data: withoutBrand }), /brand/);
    const shortSalt = spake2RequestCommand({
      chosenVersion: SPAKE2PLUS_VERSION,
      appletVersions: SUPPORTED_VERSIONS,
      scrypt: scryptParams,
      brand,
    }).data.slice();
    // C0 10 → C0 0F and the 7F50 length one shorter: a 15-byte salt.
    const saltAt = hexOf(shortSalt).indexOf(`c010${inputs.salt}`) / 2;
    const edited = concatBytes(
      shortSalt.subarray(0, saltAt - 1),
      Uint8Array.of(shortSalt[saltAt - 1]! - 1, 0xc0, 0x0f),
      shortSalt.subarray(saltAt + 3),
    );
    refuses(() => parseSpake2Request({ ...request, data: edited }), /salt/);
  });

  it("refuses a VERIFY with a short share or evidence", () => {
    refuses(() => parseSpake2Verify({ ...request, data: tlv(PAIRING_TAG.SHARE_V, new Uint8Array(64)) }), /Y/);
    refuses(
      () =>
        parseSpake2Verify({
          ...request,
          data: concatBytes(
            tlv(PAIRING_TAG.SHARE_V, h(d.spake2.shareV)),
            tlv(PAIRING_TAG.VEHICLE_EVIDENCE, new Uint8Array(15)),
          ),
        }),
      /vehicle evidence/,
    );
  });

  it("refuses WRITE DATA and GET DATA plaintexts that miss a field or carry a bad length", () => {
    refuses(() => parseVehicleData(tlv(PAIRING_TAG.VEHICLE_ID, new Uint8Array(7))), /vehicle identifier/);
    refuses(() => parseVehicleData(tlv(PAIRING_TAG.VEHICLE_ID, new Uint8Array(16))), /vehicle certificate/);
    // The plaintext of a vehicle that sends no proof (before the proof existed) is refused.
    refuses(
      () =>
        parseVehicleData(
          concatBytes(
            tlv(PAIRING_TAG.VEHICLE_ID, new Uint8Array(16)),
            tlv(PAIRING_TAG.VEHICLE_CERTIFICATE, certificate("vehicle")),
          ),
        ),
      /vehicle proof/,
    );
    refuses(
      () => parseDeviceData(tlv(PAIRING_TAG.ENDPOINT_CERTIFICATE, certificate("ownerEndpoint"))),
      /instance CA certificate/,
    );
    refuses(() => parseFrameworkSelectResponse(h("5a0201005c0402000100")), /pairing state/);
    expect(() => parseVehicleData(h("4d10"))).toThrow(TlvError);
  });

  it("refuses encoding a REQUEST with a salt of the wrong size or an empty brand", () => {
    const base = { chosenVersion: SPAKE2PLUS_VERSION, appletVersions: SUPPORTED_VERSIONS, brand };
    expect(() =>
      spake2RequestCommand({ ...base, scrypt: { ...scryptParams, salt: new Uint8Array(8) } }),
    ).toThrow(/salt/);
    expect(() => spake2RequestCommand({ ...base, scrypt: scryptParams, brand: empty })).toThrow(/brand/);
  });
});

describe("pairing message round trips", () => {
  it("SPAKE2+ REQUEST", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.integer({ min: 1, max: 2 ** 31 }),
        fc.integer({ min: 1, max: 0xffff }),
        fc.integer({ min: 1, max: 0xffff }),
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        (salt, N, r, p, brandBytes) => {
          const data = {
            chosenVersion: SPAKE2PLUS_VERSION,
            appletVersions: SUPPORTED_VERSIONS,
            scrypt: { salt, N, r, p },
            brand: brandBytes,
          };
          const bytes = encodeCommand(spake2RequestCommand(data));
          expect(parseSpake2Request(parseCommand(bytes))).toEqual(data);
        },
      ),
    );
  });

  it("WRITE DATA and GET DATA plaintexts", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 8, maxLength: 32 }),
        fc.uint8Array({ minLength: 1, maxLength: 1500 }),
        fc.uint8Array({ minLength: 1, maxLength: 1500 }),
        fc.uint8Array({ minLength: 64, maxLength: 64 }),
        (vehicleIdentifier, a, b, vehicleProof) => {
          expect(parseVehicleData(vehicleDataPlaintext(vehicleIdentifier, a, vehicleProof))).toEqual({
            vehicleIdentifier,
            vehicleCertificate: a,
            vehicleProof,
          });
          expect(parseDeviceData(deviceDataPlaintext(a, b))).toEqual({
            endpointCertificate: a,
            instanceCaCertificate: b,
          });
        },
      ),
    );
  });
});
