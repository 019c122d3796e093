// Checks the project code against test/vectors/carkeys/sharing-vectors.json (docs/protocol.md §7 and
// §27), built by hand with node:crypto: access profiles with roles and driving limits encode byte for
// byte and parse back; a profile without the newer fields is the guest profile it always was; the
// re-sharing chain owner → co-owner → friend verifies link by link and travels in the enrollment
// package's upstream entry; the profile rules and "within its own profile" refuse what they must.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  type AccessProfile,
  canonicalProfile,
  checkAccessProfile,
  drivingLimits,
  encodeAccessProfile,
  parseAccessProfile,
  profileBeyond,
  sharingRole,
} from "../../src/protocol/access-profile.js";
import { parseTlvs, tlv } from "../../src/protocol/ber-tlv.js";
import { concatBytes, fromHex, toHex } from "../../src/protocol/bytes.js";
import { TlvError } from "../../src/protocol/errors.js";
import { verifyKeyAttestation } from "../../src/protocol/key-attestation.js";
import { encodePrivateMailbox, parsePrivateMailbox } from "../../src/protocol/private-mailbox.js";
import type { SharingVectors } from "../vectors/carkeys/generate-sharing-vectors.js";

const vectors = JSON.parse(
  readFileSync(new URL("../vectors/carkeys/sharing-vectors.json", import.meta.url), "utf8"),
) as SharingVectors;
const profiles = vectors.inputs.profiles as unknown as Record<string, AccessProfile>;

function profileValueOf(encodedHex: string): Uint8Array {
  const [outer] = parseTlvs(fromHex(encodedHex));
  return outer!.value;
}

describe("access profiles with roles and driving limits", () => {
  it.each(Object.keys(profiles))("%s encodes as the vector and parses back", (name) => {
    const profile = profiles[name]!;
    const expected = (vectors.derived.profiles as Record<string, string>)[name] as string;
    expect(toHex(encodeAccessProfile(profile))).toBe(expected);
    expect(canonicalProfile(parseAccessProfile(profileValueOf(expected)))).toEqual(canonicalProfile(profile));
  });

  it("a profile without the newer fields is a guest with no limits beyond its speed", () => {
    const parsed = parseAccessProfile(profileValueOf(vectors.derived.profiles.legacyDrive!));
    expect(sharingRole(parsed)).toBe("guest");
    expect(drivingLimits(parsed)).toEqual({ speedLimitKmh: 100 });
    // An explicit guest role encodes as its absence, so old profiles and new guest profiles are the same bytes.
    expect(toHex(encodeAccessProfile({ ...profiles.legacyDrive!, role: "guest" }))).toBe(
      vectors.derived.profiles.legacyDrive,
    );
  });

  it.each([
    [
      "an unknown role",
      concatBytes(tlv(0x80, fromHex("01")), tlv(0x84, fromHex("07"))),
      /unknown sharing role 7/,
    ],
    [
      "a power limit below 10%",
      concatBytes(tlv(0x80, fromHex("01")), tlv(0x85, fromHex("09"))),
      /from 10 to 100/,
    ],
    ["a volume above 100%", concatBytes(tlv(0x80, fromHex("01")), tlv(0x86, fromHex("65"))), /from 0 to 100/],
    [
      "a stability byte other than 01",
      concatBytes(tlv(0x80, fromHex("01")), tlv(0x87, fromHex("00"))),
      /must be 01/,
    ],
    [
      "a 2-byte role",
      concatBytes(tlv(0x80, fromHex("01")), tlv(0x84, fromHex("0202"))),
      /role \(tag 84\) must be 1 bytes/,
    ],
    [
      "limits on an unlock-only key",
      concatBytes(tlv(0x80, fromHex("02")), tlv(0x86, fromHex("20"))),
      /no driving limits/,
    ],
    [
      "a full service key",
      concatBytes(tlv(0x80, fromHex("01")), tlv(0x84, fromHex("03")), tlv(0x83, fromHex("0000000000000010"))),
      /never full/,
    ],
    [
      "a service key that never expires",
      concatBytes(tlv(0x80, fromHex("02")), tlv(0x84, fromHex("03"))),
      /must expire/,
    ],
  ])("refuses %s", (_name, value, message) => {
    expect(() => parseAccessProfile(value)).toThrow(TlvError);
    expect(() => parseAccessProfile(value)).toThrow(message);
  });

  it("the encoder refuses the same rules", () => {
    expect(() => checkAccessProfile({ kind: "full", role: "owner" as never })).toThrow(/role must be one of/);
    expect(() => checkAccessProfile({ kind: "drive", speedLimitKmh: 50, powerLimitPercent: 5 })).toThrow(
      /10 to 100/,
    );
    expect(() => checkAccessProfile({ kind: "drive", speedLimitKmh: 50, role: "service" })).toThrow(
      /must expire/,
    );
  });
});

describe("within its own profile", () => {
  const coOwner: AccessProfile = {
    kind: "drive",
    speedLimitKmh: 100,
    validFrom: 1000,
    validUntil: 5000,
    powerLimitPercent: 70,
    audioVolumeLimitPercent: 50,
    stabilityControlLocked: true,
    role: "co-owner",
  };
  const within: AccessProfile = {
    ...coOwner,
    speedLimitKmh: 80,
    role: "guest",
    validFrom: 2000,
    validUntil: 3000,
  };

  it("allows equal or narrower grants, and unlock-only from anything", () => {
    expect(profileBeyond(within, coOwner)).toBeUndefined();
    expect(profileBeyond(coOwner, coOwner)).toBeUndefined();
    expect(
      profileBeyond({ kind: "unlock-only", validFrom: 1000, validUntil: 5000 }, coOwner),
    ).toBeUndefined();
    expect(profileBeyond({ kind: "drive", speedLimitKmh: 400 }, { kind: "full" })).toBeUndefined();
  });

  it.each([
    [{ kind: "full" }, "kind full exceeds drive"],
    [{ speedLimitKmh: 101 }, "speed limit 101 km/h exceeds 100 km/h"],
    [{ validFrom: undefined }, "valid from is earlier than the sharer's"],
    [{ validUntil: 5001 }, "valid until is later than the sharer's"],
    [{ validUntil: undefined }, "valid until is later than the sharer's"],
    [{ powerLimitPercent: undefined }, "power limit none exceeds 70%"],
    [{ powerLimitPercent: 80 }, "power limit 80 exceeds 70%"],
    [{ audioVolumeLimitPercent: 51 }, "audio volume limit 51 exceeds 50%"],
    [{ stabilityControlLocked: undefined }, "stability control must stay locked"],
  ] as [Partial<AccessProfile>, string][])("refuses %j: %s", (change, why) => {
    expect(profileBeyond({ ...within, ...change } as AccessProfile, coOwner)).toBe(why);
  });
});

describe("the re-sharing chain owner → co-owner → friend", () => {
  const d = vectors.derived;

  it("each link verifies with the key the link above attested", () => {
    const first = verifyKeyAttestation(fromHex(d.coOwnerAttestation.encoded), fromHex(d.publicKeys.owner));
    expect(toHex(first.endpointPublicKey)).toBe(d.publicKeys.coOwner);
    expect(sharingRole(first.profile)).toBe("co-owner");
    const second = verifyKeyAttestation(fromHex(d.friendAttestation.encoded), first.endpointPublicKey);
    expect(toHex(second.signerKeyId)).toBe(d.keyIds.coOwner);
    expect(canonicalProfile(second.profile)).toEqual(profiles.guestLimited);
    expect(profileBeyond(second.profile, first.profile)).toBeUndefined();
    // The owner's key does not verify the co-owner's link.
    expect(() =>
      verifyKeyAttestation(fromHex(d.friendAttestation.encoded), fromHex(d.publicKeys.owner)),
    ).toThrow();
  });

  it("the enrollment package carries the chain above the signer in E3, and a package without E3 parses as before", () => {
    const enrollment = {
      attestation: fromHex(d.friendAttestation.encoded),
      endpointCertificate: fromHex("3003020101"),
      instanceCaCertificate: fromHex("3003020102"),
      upstream: [fromHex(d.coOwnerAttestation.encoded)],
    };
    const image = encodePrivateMailbox({ enrollment, revocations: [] }, 2048);
    expect(toHex(image)).toContain(d.upstream);
    expect(parsePrivateMailbox(image).enrollment).toEqual(enrollment);
    const { upstream: _upstream, ...legacy } = enrollment;
    const legacyImage = encodePrivateMailbox({ enrollment: legacy, revocations: [] }, 2048);
    expect(parsePrivateMailbox(legacyImage).enrollment).toEqual(legacy);
  });
});
