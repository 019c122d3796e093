// Sharing a car key through the service's own TIGRESS relay, over real HTTP
// against the local stack: the owner's phone (enrolled, paired, registered)
// invites, the friend's phone accepts, the owner attests after Face ID, the
// friend installs the attestation and registers the key with it; the car
// stays offline until the friend's first tap. Also two friends racing for one
// invitation (exactly one wins) and the mailbox gone after the share.
//
// Runs once src/api/routes.ts routes the relay (`POST /v1/m`); until then
// the suite is skipped with that reason, and the same flow runs against the
// in-memory relay in share-invitation.test.ts.
import "../support/quiet-logs.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROUTES } from "../../src/api/routes.js";
import {
  CarKeysClient,
  installVehicleEnrollment,
  OemBackendClient,
  verifyKeyReceipt,
} from "../../src/client/car-keys-client.js";
import { ServiceProblemError } from "../../src/client/errors.js";
import {
  friendAcceptInvitation,
  friendFinishShare,
  ownerCancelInvitation,
  ownerCompleteShare,
  ownerCreateInvitation,
} from "../../src/client/share-invitation.js";
import { TigressClient } from "../../src/client/tigress-client.js";
import type { SecureElement } from "../../src/emulator/secure-element/secure-element.js";
import { tap } from "../../src/emulator/tap.js";
import { Vehicle } from "../../src/emulator/vehicle/vehicle.js";
import { startTestStack, type TestStack } from "./stack-fixtures.js";

const RELAY_ROUTED = ROUTES.some((route) => route.method === "POST" && route.path === "/v1/m");
const POLL = { intervalMs: 50, timeoutMs: 10_000 };

describe.skipIf(!RELAY_ROUTED)(
  "sharing over the service's relay (skipped while src/api/routes.ts has no POST /v1/m)",
  () => {
    let t: TestStack;
    let client: CarKeysClient;
    let relay: TigressClient;

    beforeAll(async () => {
      t = await startTestStack();
      client = new CarKeysClient(t.stack.url);
      relay = TigressClient.forService(t.stack.url);
    });

    afterAll(async () => {
      await t?.stop();
    });

    async function ownerWithCar(): Promise<{ owner: SecureElement; ownerKeyId: string; car: Vehicle }> {
      const oem = new OemBackendClient(t.stack.url, t.stack.oemToken);
      const owner = t.newSecureElement();
      await client.enrollSecureElement(owner);
      const car = Vehicle.create();
      const { response } = await oem.enrollVehicle({
        vehicleId: car.vehicleIdentifier,
        vehiclePublicKey: car.publicKey,
      });
      const { password } = installVehicleEnrollment(car, response);
      owner.enterPairingPassword(password);
      const { keyId } = await car.pair((command) => owner.transceive(command));
      owner.fieldLost();
      await client.registerKey(owner, keyId);
      return { owner, ownerKeyId: keyId, car };
    }

    it("owner invites, friend accepts, owner attests, friend installs and registers; the car opens", async () => {
      const { owner, ownerKeyId, car } = await ownerWithCar();
      const friend = t.newSecureElement();
      await client.enrollSecureElement(friend);
      const profile = { kind: "unlock-only" } as const;

      const { url, state } = await ownerCreateInvitation(relay, owner, ownerKeyId, profile);
      expect(relay.serves(url)).toBe(true);
      const accepted = await friendAcceptInvitation(relay, url, friend);
      owner.authenticateUser();
      const completed = await ownerCompleteShare(relay, state, owner, { poll: POLL });
      const finished = await friendFinishShare(relay, accepted.state, friend, { poll: POLL });
      expect(finished.keyId).toBe(completed.friendKeyId);
      expect(finished.mailboxDeleted).toBe(true);
      const gone = await relay.readSecureContent(state.mailboxId, state.claim).catch((e: unknown) => e);
      expect(gone).toBeInstanceOf(ServiceProblemError);
      expect((gone as ServiceProblemError).status).toBe(404);

      const registered = await client.registerKey(friend, finished.keyId, finished.attestation);
      expect(registered.response).toMatchObject({ role: "friend", profile });
      expect(registered.response).not.toHaveProperty("ownerKeyId");
      const anchors = await client.getTrustAnchors();
      expect(verifyKeyReceipt(registered.response, anchors.vehicleOemRoot).role).toBe("friend");

      expect(await tap(friend, car.doorHandle)).toMatchObject({
        decision: "unlocked",
        keyId: finished.keyId,
      });
      expect((await tap(friend, car.dashboard)).decision).toBe("refused");
      expect(t.handlerErrors).toEqual([]);
    });

    it("serves a preview without the Secret; a cancelled invitation is gone (404) and creates no key", async () => {
      const { owner, ownerKeyId } = await ownerWithCar();
      const friend = t.newSecureElement();
      await client.enrollSecureElement(friend);
      const { url, state } = await ownerCreateInvitation(relay, owner, ownerKeyId, { kind: "full" });
      const html = await relay.readDisplayInformation(state.mailboxId);
      expect(html).toContain("Car key invitation");
      expect(html).not.toContain(state.secret);
      await ownerCancelInvitation(relay, state);
      const refusal = await friendAcceptInvitation(relay, url, friend).catch((e: unknown) => e);
      expect(refusal).toBeInstanceOf(ServiceProblemError);
      expect((refusal as ServiceProblemError).status).toBe(404);
      expect(friend.listKeys()).toEqual([]);
    });

    it("two friends racing for one invitation: exactly one binds it", async () => {
      const { owner, ownerKeyId } = await ownerWithCar();
      const friends = [t.newSecureElement(), t.newSecureElement()];
      for (const friend of friends) await client.enrollSecureElement(friend);
      const { url } = await ownerCreateInvitation(relay, owner, ownerKeyId, { kind: "full" });
      const outcomes = await Promise.allSettled(
        friends.map((friend) => friendAcceptInvitation(relay, url, friend)),
      );
      const won = outcomes.filter((o) => o.status === "fulfilled");
      const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(lost[0]!.reason).toBeInstanceOf(ServiceProblemError);
      // The draft answers an unbound claim with 401; a relay may choose 409 for the lost race.
      expect([401, 409]).toContain((lost[0]!.reason as ServiceProblemError).status);
      const loser = friends[outcomes.findIndex((o) => o.status === "rejected")]!;
      expect(loser.listKeys()).toEqual([]);
      expect(t.handlerErrors).toEqual([]);
    });
  },
);
