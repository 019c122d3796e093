// The offline story through the public library API: provision,
// standard then fast transactions, door and dashboard, access profiles,
// express mode, power reserve, the lock, and key deletion.
import { describe, expect, it } from "vitest";
import { SecureElement } from "../../src/emulator/secure-element/secure-element.js";
import { tap } from "../../src/emulator/tap.js";
import { Vehicle } from "../../src/emulator/vehicle/vehicle.js";
import type { AccessProfile } from "../../src/protocol/access-profile.js";
import { fromHex } from "../../src/protocol/bytes.js";
import { verifyTerminationAttestation } from "../../src/protocol/termination-attestation.js";

function setup(options: { profile?: AccessProfile; express?: boolean; start?: number } = {}) {
  let now = options.start ?? Date.parse("2026-06-01T10:00:00Z");
  const clock = { now: () => now, advance: (ms: number) => (now += ms) };
  const { se } = SecureElement.create({ now: clock.now });
  const car = Vehicle.create({ now: clock.now });
  const key = se.provisionKey({
    vehicleIdentifier: car.vehicleIdentifier,
    vehiclePublicKey: car.publicKey,
    express: options.express ?? true,
  });
  car.enrollKey({
    endpointPublicKey: fromHex(key.endpointPublicKey),
    profile: options.profile ?? { kind: "full" },
  });
  return { se, car, key, clock };
}

describe("offline transactions", () => {
  it("runs a standard transaction first, then fast ones at the door, and standard at the dashboard", async () => {
    const { se, car, key } = setup();
    expect(car.doorsLocked).toBe(true);
    const first = await tap(se, car.doorHandle);
    expect(first).toMatchObject({ decision: "unlocked", flow: "standard", keyId: key.keyId });
    expect(se.hasPersistentKey(key.keyId)).toBe(true);

    const second = await tap(se, car.doorHandle);
    expect(second).toMatchObject({ decision: "locked", flow: "fast", keyId: key.keyId });

    const start = await tap(se, car.dashboard);
    expect(start).toMatchObject({ decision: "started", flow: "standard", keyId: key.keyId });

    const third = await tap(se, car.doorHandle, { intent: "unlock" });
    expect(third).toMatchObject({ decision: "unlocked", flow: "fast" });
    expect(car.transactionLog.map((entry) => entry.decision)).toEqual([
      "unlocked",
      "locked",
      "started",
      "unlocked",
    ]);
  });

  it("refuses an unlock-only key at the dashboard but opens the door", async () => {
    const { se, car } = setup({ profile: { kind: "unlock-only" } });
    expect((await tap(se, car.doorHandle)).decision).toBe("unlocked");
    const start = await tap(se, car.dashboard);
    expect(start).toMatchObject({
      decision: "refused",
      flow: "standard",
      reason: "unlock-only key cannot start the engine",
    });
  });

  it("applies a drive key's speed limit at engine start", async () => {
    const { se, car } = setup({ profile: { kind: "drive", speedLimitKmh: 80 } });
    const start = await tap(se, car.dashboard);
    expect(start).toMatchObject({ decision: "started", speedLimitKmh: 80 });
    expect(start.reason).toContain("80 km/h");
  });

  it("enforces the validity window", async () => {
    const from = Math.floor(Date.parse("2026-06-02T00:00:00Z") / 1000);
    const until = Math.floor(Date.parse("2026-06-03T00:00:00Z") / 1000);
    const { se, car, clock } = setup({ profile: { kind: "full", validFrom: from, validUntil: until } });
    expect(await tap(se, car.doorHandle)).toMatchObject({ decision: "refused", reason: "key not yet valid" });
    clock.advance(24 * 3600 * 1000);
    expect((await tap(se, car.doorHandle)).decision).toBe("unlocked");
    clock.advance(24 * 3600 * 1000);
    const expired = await tap(se, car.doorHandle);
    expect(expired.decision).toBe("refused");
    expect(expired.reason).toMatch(/^key expired at /);
  });

  it("needs a fresh user authentication when express mode is off, for one transaction", async () => {
    const { se, car, clock } = setup({ express: false });
    const refused = await tap(se, car.doorHandle);
    expect(refused).toMatchObject({ decision: "refused", flow: null });
    expect(refused.reason).toContain("6982");
    se.authenticateUser();
    expect((await tap(se, car.doorHandle)).decision).toBe("unlocked");
    // The authentication covered one transaction.
    expect((await tap(se, car.doorHandle)).reason).toContain("6982");
    // And it goes stale.
    se.authenticateUser();
    clock.advance(61_000);
    expect((await tap(se, car.doorHandle)).reason).toContain("6982");
  });

  it("answers on power reserve with express keys only, for a bounded time", async () => {
    const { se, car, clock } = setup();
    const { se: other } = SecureElement.create({ now: clock.now });
    const nonExpress = other.provisionKey({
      vehicleIdentifier: car.vehicleIdentifier,
      vehiclePublicKey: car.publicKey,
      express: false,
    });
    car.enrollKey({ endpointPublicKey: fromHex(nonExpress.endpointPublicKey) });
    se.powerOff();
    other.powerOff();
    other.authenticateUser();
    expect((await tap(se, car.doorHandle)).decision).toBe("unlocked");
    const nonExpressAnswer = await tap(other, car.doorHandle);
    expect(nonExpressAnswer.decision).toBe("refused");
    expect(nonExpressAnswer.reason).toContain("6985");
    clock.advance(5 * 3600 * 1000 + 1);
    const exhausted = await tap(se, car.doorHandle);
    expect(exhausted.decision).toBe("refused");
    expect(exhausted.reason).toContain("6985");
    se.powerOn();
    expect((await tap(se, car.doorHandle)).decision).not.toBe("refused");
  });

  it("answers nothing while the SE is locked", async () => {
    const { se, car } = setup();
    se.lock();
    const locked = await tap(se, car.doorHandle);
    expect(locked.decision).toBe("refused");
    expect(locked.reason).toContain("6283");
    se.unlock();
    expect((await tap(se, car.doorHandle)).decision).toBe("unlocked");
  });

  it("refuses a deleted key at once and yields a verifiable termination attestation", async () => {
    const { se, car, key } = setup();
    expect((await tap(se, car.doorHandle)).decision).toBe("unlocked");
    const { attestation } = se.deleteKey(key.keyId);
    const refused = await tap(se, car.doorHandle);
    expect(refused.decision).toBe("refused");
    expect(refused.reason).toContain("6A88");
    const facts = verifyTerminationAttestation(attestation, fromHex(key.endpointPublicKey));
    expect(facts.vehicleIdentifier).toEqual(car.vehicleIdentifier);
    expect(se.terminatedKeys().map((t) => t.keyId)).toEqual([key.keyId]);
  });

  it("refuses a key the car does not know, and a car the device has no key for", async () => {
    const { se, car } = setup();
    const stranger = SecureElement.create().se;
    stranger.provisionKey({ vehicleIdentifier: car.vehicleIdentifier, vehiclePublicKey: car.publicKey });
    expect(await tap(stranger, car.doorHandle)).toMatchObject({
      decision: "refused",
      reason: "AUTH1: key not enrolled in this vehicle",
    });
    const otherCar = Vehicle.create();
    expect((await tap(se, otherCar.doorHandle)).reason).toContain("6A88");
  });
});
