// Proves, over APDUs with no network, that a share the owner protected with a
// one-time activation code stays inert until the friend enters that code: no
// code, a wrong code, the attempt limit and a reused code are each refused
// with their reason; the right code enrolls the key; and the code itself is
// nowhere in what the relay and the service carry (the attestation).
import { describe, expect, it } from "vitest";
import { tap } from "../../src/emulator/tap.js";
import { generateActivationCode, MAX_ACTIVATION_ATTEMPTS } from "../../src/protocol/activation-code.js";
import { toHex, utf8 } from "../../src/protocol/bytes.js";
import { parseKeyAttestation } from "../../src/protocol/key-attestation.js";
import {
  createDevice,
  createFriendKeyFor,
  createVehicle,
  EmulatedOem,
  pairOwner,
} from "../support/emulated-pki.js";

async function world() {
  const oem = await EmulatedOem.create();
  const car = await createVehicle(oem);
  const owner = await createDevice(oem);
  const { keyId: ownerKeyId } = await pairOwner(oem, car, owner.se);
  /** A share with an activation code: the owner's SE signs its MAC into the attestation. */
  const share = async (code = generateActivationCode()) => {
    const friend = await createDevice(oem);
    const request = await createFriendKeyFor(owner.se, ownerKeyId, friend.se, { kind: "full" });
    owner.se.authenticateUser();
    const attestation = owner.se.attestFriendKey(ownerKeyId, request, { kind: "full" }, code);
    friend.se.installKeyAttestation(request.keyId, attestation);
    return { se: friend.se, keyId: request.keyId, code, attestation };
  };
  return { car, owner, ownerKeyId, share };
}

/** A code that is not `code`. */
function otherThan(code: string): string {
  return code === "00000000" ? "00000001" : "00000000";
}

describe("activation codes at the car", () => {
  it("refuses the key until the code is entered, then enrolls it with the right code", async () => {
    const { car, share } = await world();
    const friend = await share();
    expect(parseKeyAttestation(friend.attestation).facts.activationCheck).toHaveLength(32);
    // Neither the code nor its digits in any encoding are in the attestation the relay and service carry.
    expect(toHex(friend.attestation)).not.toContain(toHex(utf8(friend.code)));
    expect(await tap(friend.se, car.doorHandle, { intent: "unlock" })).toMatchObject({
      decision: "refused",
      keyId: friend.keyId,
      reason: "enrollment: an activation code is required: enter the 8-digit code the owner was shown",
    });
    expect(car.keys()).toHaveLength(1);
    friend.se.enterActivationCode(friend.keyId, friend.code);
    expect(await tap(friend.se, car.doorHandle, { intent: "unlock" })).toMatchObject({
      decision: "unlocked",
      keyId: friend.keyId,
    });
    expect(car.keys().find((k) => k.keyId === friend.keyId)).toMatchObject({ activatedWithCode: true });
    expect(car.exportState().endpoints.some((e) => "pendingActivation" in e)).toBe(false);
    expect((await tap(friend.se, car.doorHandle, { intent: "lock" })).decision).toBe("locked");
  });

  it(`counts wrong codes and blocks the share after ${MAX_ACTIVATION_ATTEMPTS}, even for the right code then`, async () => {
    const { car, share } = await world();
    const friend = await share();
    friend.se.enterActivationCode(friend.keyId, otherThan(friend.code));
    const reasons: string[] = [];
    for (let i = 0; i < MAX_ACTIVATION_ATTEMPTS; i++) {
      reasons.push((await tap(friend.se, car.doorHandle, { intent: "unlock" })).reason);
    }
    expect(reasons).toEqual([
      "enrollment: wrong activation code (4 attempts left)",
      "enrollment: wrong activation code (3 attempts left)",
      "enrollment: wrong activation code (2 attempts left)",
      "enrollment: wrong activation code (1 attempt left)",
      `enrollment: wrong activation code; activation blocked after ${MAX_ACTIVATION_ATTEMPTS} wrong codes`,
    ]);
    friend.se.enterActivationCode(friend.keyId, friend.code);
    expect(await tap(friend.se, car.doorHandle, { intent: "unlock" })).toMatchObject({
      decision: "refused",
      reason: `enrollment: activation blocked after ${MAX_ACTIVATION_ATTEMPTS} wrong codes; the owner must share again`,
    });
    expect(car.keys()).toHaveLength(1);
    // The count is the car's: a restored state keeps it.
    expect(car.exportState().activationAttempts).toEqual({
      [`${car.keys()[0]!.keyId}:1`]: MAX_ACTIVATION_ATTEMPTS,
    });
  });

  it("refuses another share's code, and a share's code once it has enrolled a key", async () => {
    const { car, share } = await world();
    const first = await share();
    const second = await share();
    first.se.enterActivationCode(first.keyId, first.code);
    expect((await tap(first.se, car.doorHandle, { intent: "unlock" })).decision).toBe("unlocked");
    // The code is bound to the friend key and the attestation's serial: the first share's code is wrong here.
    if (second.code !== first.code) {
      second.se.enterActivationCode(second.keyId, first.code);
      expect((await tap(second.se, car.doorHandle, { intent: "lock" })).reason).toBe(
        "enrollment: wrong activation code (4 attempts left)",
      );
    }
    // The workshop removes the first key without revoking it: its one-time code does not enroll it again.
    car.removeKey(first.keyId);
    expect(await tap(first.se, car.doorHandle, { intent: "lock" })).toMatchObject({
      decision: "refused",
      reason: "enrollment: the activation code of this share was already used; the owner must share again",
    });
  });

  it("refuses a code that is not 8 digits before anything is stored", async () => {
    const { share } = await world();
    const friend = await share();
    expect(() => friend.se.enterActivationCode(friend.keyId, "1234")).toThrow(/8 decimal digits/);
    expect(() => friend.se.enterActivationCode(friend.keyId, "abcdefgh")).toThrow(/8 decimal digits/);
  });
});
