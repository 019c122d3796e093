// A termination whose confirmation is lost, over HTTP against the real local
// stack with the emulated SE and car. The OEM revokes a key; the device syncs,
// its SE applies the terminate-key notice (deleting the key) but the POST of
// the termination attestation fails on the way. The notice is applied only
// once, so unless the SE keeps the attestation, the service could never learn
// the key is gone. The next sync must resend it and the service record the
// termination; a later sync sends nothing more.
import "../support/quiet-logs.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CarKeysClient,
  installVehicleEnrollment,
  OemBackendClient,
} from "../../src/client/car-keys-client.js";
import { LifecycleClient, OemLifecycleClient } from "../../src/client/lifecycle-client.js";
import { Vehicle } from "../../src/emulator/vehicle/vehicle.js";
import { startTestStack, type TestStack } from "./stack-fixtures.js";

let t: TestStack;

beforeAll(async () => {
  t = await startTestStack();
});

afterAll(async () => {
  await t?.stop();
});

describe("a termination whose POST fails after the SE deleted the key", () => {
  it("is kept by the SE and confirmed at the next sync", async () => {
    const client = new CarKeysClient(t.stack.url);
    const oem = new OemBackendClient(t.stack.url, t.stack.oemToken);
    const oemLifecycle = new OemLifecycleClient(t.stack.url, t.stack.oemToken);
    const se = t.newSecureElement();
    await client.enrollSecureElement(se);
    const car = Vehicle.create();
    const { response } = await oem.enrollVehicle({
      vehicleId: car.vehicleIdentifier,
      vehiclePublicKey: car.publicKey,
    });
    const { password } = installVehicleEnrollment(car, response);
    se.enterPairingPassword(password);
    const keyId = (await car.pair((command) => se.transceive(command))).keyId;
    se.fieldLost();
    expect((await client.registerKey(se, keyId)).created).toBe(true);
    expect((await oemLifecycle.revokeKey(keyId)).state).toBe("revoked");

    // The network drops the confirmation: every POST .../termination fails before it reaches the service.
    let dropped = 0;
    const flaky = new LifecycleClient(t.stack.url, {
      fetch: async (input, init) => {
        if (init?.method === "POST" && String(input).endsWith(`/v1/keys/${keyId}/termination`)) {
          dropped++;
          throw new TypeError("fetch failed");
        }
        return fetch(input, init);
      },
    });
    const first = await flaky.syncDevice(se);
    expect(first.applied).toMatchObject([{ action: "terminate-key", keyId }]);
    expect(se.listKeys().map((k) => k.keyId)).not.toContain(keyId);
    expect(first.terminated).toEqual([]);
    expect(first.unconfirmed.map((u) => u.keyId)).toEqual([keyId]);
    expect(dropped).toBe(1);
    expect((await oemLifecycle.revokeKey(keyId)).state).toBe("revoked");
    expect(se.unconfirmedTerminations().map((u) => u.keyId)).toEqual([keyId]);

    // The SE's state survives a restart of the app with the attestation in it.
    const restored = se.exportState().terminated.find((k) => k.keyId === keyId);
    expect(restored?.unconfirmedAttestation).toMatch(/^[0-9a-f]+$/);

    const lifecycle = new LifecycleClient(t.stack.url);
    const second = await lifecycle.syncDevice(se);
    expect(second.applied).toEqual([]);
    expect(second.terminated).toEqual([keyId]);
    expect(second.unconfirmed).toEqual([]);
    expect((await oemLifecycle.revokeKey(keyId)).state).toBe("terminated");
    expect(se.unconfirmedTerminations()).toEqual([]);

    const third = await lifecycle.syncDevice(se);
    expect(third).toEqual({ applied: [], terminated: [], expired: [], unconfirmed: [] });
    expect(t.handlerErrors).toEqual([]);
  });
});
