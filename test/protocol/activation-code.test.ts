// Checks the activation-code formats (docs/protocol.md §26) against
// test/vectors/carkeys/activation-vectors.json, made by node:crypto alone: the
// activation key from both sides, the check, the key attestation carrying it
// (tag CA) and the code's TLV in the enrollment package (tag DE).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  activationCheck,
  activationCodeMatches,
  activationKey,
  checkActivationCode,
  generateActivationCode,
} from "../../src/protocol/activation-code.js";
import { fromHex, toHex } from "../../src/protocol/bytes.js";
import {
  keyAttestationBody,
  parseKeyAttestation,
  verifyKeyAttestation,
} from "../../src/protocol/key-attestation.js";
import { MAILBOX_SIZE, Mailbox } from "../../src/protocol/mailbox-operations.js";
import { encodePrivateMailbox, parsePrivateMailbox } from "../../src/protocol/private-mailbox.js";

const vectors = JSON.parse(
  readFileSync(new URL("../vectors/carkeys/activation-vectors.json", import.meta.url), "utf8"),
) as {
  inputs: Record<string, string | number>;
  derived: Record<string, string>;
};
const i = vectors.inputs as {
  ownerEndpointPrivateKey: string;
  vehiclePrivateKey: string;
  vehicleIdentifier: string;
  serial: number;
  issuedAt: number;
  code: string;
};
const d = vectors.derived;

describe("activation key and check", () => {
  it("derives the vector's key from either side of the ECDH", () => {
    const args = [fromHex(i.vehicleIdentifier), fromHex(d.ownerKeyId!)] as const;
    const fromOwner = activationKey(
      fromHex(i.ownerEndpointPrivateKey),
      fromHex(d.vehiclePublicKey!),
      ...args,
    );
    const fromVehicle = activationKey(
      fromHex(i.vehiclePrivateKey),
      fromHex(d.ownerEndpointPublicKey!),
      ...args,
    );
    expect(toHex(fromOwner)).toBe(d.activationKey);
    expect(toHex(fromVehicle)).toBe(d.activationKey);
  });

  it("makes the vector's check and accepts only its code, key id and serial", () => {
    const key = fromHex(d.activationKey!);
    const friend = fromHex(d.friendKeyId!);
    expect(toHex(activationCheck(key, friend, i.serial, i.code))).toBe(d.activationCheck);
    const check = fromHex(d.activationCheck!);
    expect(activationCodeMatches(key, check, friend, i.serial, i.code)).toBe(true);
    expect(activationCodeMatches(key, check, friend, i.serial, "40215938")).toBe(false);
    expect(activationCodeMatches(key, check, friend, i.serial + 1, i.code)).toBe(false);
    expect(activationCodeMatches(key, check, fromHex("000000000000"), i.serial, i.code)).toBe(false);
    const flipped = check.slice();
    flipped[0]! ^= 1;
    expect(activationCodeMatches(key, flipped, friend, i.serial, i.code)).toBe(false);
  });

  it("codes are exactly 8 decimal digits", () => {
    for (let n = 0; n < 200; n++) expect(generateActivationCode()).toMatch(/^[0-9]{8}$/);
    expect(generateActivationCode(() => new Uint8Array(4))).toBe("00000000");
    for (const bad of ["1234567", "123456789", "1234567a", " 12345678", ""]) {
      expect(() => checkActivationCode(bad)).toThrow(/8 decimal digits/);
    }
  });
});

describe("the formats that carry it", () => {
  it("owner's-device attestation: tag CB = 01 after C4, verified with the owner key", () => {
    const facts = verifyKeyAttestation(
      fromHex(d.ownerDeviceAttestation!),
      fromHex(d.ownerEndpointPublicKey!),
    );
    expect(facts.ownerDevice).toBe(true);
    expect(
      toHex(
        keyAttestationBody({
          ...facts,
          endpointPublicKey: fromHex(d.watchEndpointPublicKey!),
        }),
      ),
    ).toBe(d.ownerDeviceAttestationBody);
    expect(() => parseKeyAttestation(fromHex(d.ownerDeviceAttestation!.replace("cb0101", "cb0102")))).toThrow(
      /unknown key holder/,
    );
  });

  it("key attestation: tag CA after C4, as the vector's body; parsed back", () => {
    const body = keyAttestationBody({
      vehicleIdentifier: fromHex(i.vehicleIdentifier),
      endpointPublicKey: fromHex(d.friendEndpointPublicKey!),
      profile: { kind: "full" },
      serial: i.serial,
      issuedAt: i.issuedAt,
      signerKeyId: fromHex(d.ownerKeyId!),
      activationCheck: fromHex(d.activationCheck!),
    });
    expect(toHex(body)).toBe(d.keyAttestationBody);
    const facts = verifyKeyAttestation(fromHex(d.keyAttestation!), fromHex(d.ownerEndpointPublicKey!));
    expect(toHex(facts.activationCheck!)).toBe(d.activationCheck);
    const short = d.keyAttestation!.replace("ca20", "ca1f");
    expect(() => parseKeyAttestation(fromHex(short))).toThrow();
  });

  it("enrollment package: tag DE with the code as ASCII digits", () => {
    const enrollment = {
      attestation: fromHex(d.keyAttestation!),
      endpointCertificate: Uint8Array.of(1),
      instanceCaCertificate: Uint8Array.of(2),
      activationCode: i.code,
    };
    const image = encodePrivateMailbox({ enrollment, revocations: [] }, MAILBOX_SIZE[Mailbox.PRIVATE]);
    expect(toHex(image)).toContain(d.activationCodeTlv);
    expect(parsePrivateMailbox(image).enrollment?.activationCode).toBe(i.code);
    const without = encodePrivateMailbox(
      { enrollment: { ...enrollment, activationCode: undefined }, revocations: [] },
      MAILBOX_SIZE[Mailbox.PRIVATE],
    );
    expect(parsePrivateMailbox(without).enrollment?.activationCode).toBeUndefined();
    const letters = toHex(image).replace(d.activationCodeTlv!, "de08343032313539337a");
    expect(() => parsePrivateMailbox(fromHex(letters))).toThrow(/decimal digits/);
  });
});
