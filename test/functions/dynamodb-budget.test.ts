// The DynamoDB budget (docs/architecture.md "DynamoDB budget"): every request
// of every route costs at most 3 DynamoDB operations, and a revocation end to
// end (the owner's request, the friend's device syncing and confirming, the
// car syncing: five HTTP requests) at most 12. Operation counts are
// deterministic, unlike timings, so they are asserted: the whole service runs
// through the local server on DynamoDB Local, with the real clients and
// emulators, and every DynamoDB command the handlers send is counted per
// request (src/adapters/dynamodb/operation-count.ts). The relay's routes are
// held to the same budget, refusals and repeats included: each reads its
// rate-limit buckets with its mailbox in one batch and takes its tokens in
// its one write.
import "../support/quiet-logs.js";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RequestCost, traceRequests } from "../../bench/route-costs.js";
import {
  type LocalDeployment,
  startLocalDeployment,
} from "../../src/adapters/local-server/local-deployment.js";
import {
  CarKeysClient,
  installVehicleEnrollment,
  OemBackendClient,
  provisionPairingMaterial,
} from "../../src/client/car-keys-client.js";
import { LifecycleClient, OemLifecycleClient } from "../../src/client/lifecycle-client.js";
import { TigressClient } from "../../src/client/tigress-client.js";
import { factoryAttesterFromFile } from "../../src/emulator/secure-element/factory-attester-file.js";
import { SecureElement } from "../../src/emulator/secure-element/secure-element.js";
import { Vehicle } from "../../src/emulator/vehicle/vehicle.js";
import { toHex } from "../../src/protocol/bytes.js";

const PER_REQUEST = 3;
const REVOCATION_END_TO_END = 12;

let dataDir: string;
let stack: LocalDeployment;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "carkeys-budget-"));
  stack = await startLocalDeployment({ port: 0, inMemory: true, dataDir });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

function expectWithinBudget(requests: readonly RequestCost[]) {
  expect(requests.length).toBeGreaterThan(0);
  for (const request of requests) {
    expect(request.operations, `${request.route}: ${JSON.stringify(request.byCommand)}`).toBeLessThanOrEqual(
      PER_REQUEST,
    );
  }
}

describe("DynamoDB operations per request", () => {
  it("every route of the key lifecycle stays within 3 per request, a revocation end to end within 12", async () => {
    const { attester } = factoryAttesterFromFile(join(stack.keysDir, "se-manufacturer.json"));
    const client = new CarKeysClient(stack.url);
    const oem = new OemBackendClient(stack.url, stack.oemToken);
    const lifecycle = new LifecycleClient(stack.url);
    const oemLifecycle = new OemLifecycleClient(stack.url, stack.oemToken);
    const car = Vehicle.create();
    const owner = SecureElement.create({ manufacturer: attester }).se;
    const friends = [0, 1, 2].map(() => SecureElement.create({ manufacturer: attester }).se);
    // The roots are created by the first requests of a container: warm them, as a running service is.
    await client.getTrustAnchors();

    let ownerKeyId = "";
    const friendKeys: string[] = [];
    const setup = await traceRequests(async () => {
      const enrollment = await oem.enrollVehicle({
        vehicleId: car.vehicleIdentifier,
        vehiclePublicKey: car.publicKey,
      });
      const { password } = installVehicleEnrollment(car, enrollment.response);
      await client.enrollSecureElement(owner);
      // A repeat of an enrollment is answered from the record.
      await client.enrollSecureElement(owner);
      owner.enterPairingPassword(password);
      ownerKeyId = (await car.pair((command) => owner.transceive(command))).keyId;
      await client.registerKey(owner, ownerKeyId);
      for (const friend of friends) {
        await client.enrollSecureElement(friend);
        const request = await friend.createFriendKey({
          vehicleIdentifier: car.vehicleIdentifier,
          vehicleCertificate: owner.key(ownerKeyId).vehicleCertificate!,
          profile: { kind: "full" },
        });
        owner.authenticateUser();
        const attestation = owner.attestFriendKey(ownerKeyId, request, { kind: "full" });
        await client.registerKey(friend, request.keyId, attestation);
        // A repeat of a registration is answered from the record.
        await client.registerKey(friend, request.keyId, attestation);
        friendKeys.push(request.keyId);
      }
      await client.getTrustAnchors();
      await oem.getKey(ownerKeyId);
      await oem.listVehicleKeys(toHex(car.vehicleIdentifier));
    });
    expectWithinBudget(setup);
    // A new friend key: its records (the attesting owner key among them) read in one batch, written in one
    // transaction; a repeat reads the same batch and claims its nonce.
    const friendRegistrations = setup.filter((r) => r.route === "key-registration").slice(1);
    expect(friendRegistrations).toHaveLength(2 * friends.length);
    for (const [i, registration] of friendRegistrations.entries()) {
      expect(registration.byCommand, `friend registration ${i}`).toEqual(
        i % 2 === 0
          ? { BatchGetItemCommand: 1, TransactWriteItemsCommand: 1 }
          : { BatchGetItemCommand: 1, PutItemCommand: 1 },
      );
    }
    expect(setup.map((r) => r.route)).toEqual(
      expect.arrayContaining(["vehicle-enrollment", "issuance", "key-registration", "key", "vehicle-keys"]),
    );

    // The revocation end to end, as the bench defines it.
    const revocation = owner.revokeFriendKey(ownerKeyId, friendKeys[0]!);
    const story = await traceRequests(async () => {
      await lifecycle.revokeAsOwner(owner, ownerKeyId, revocation);
      const sync = await lifecycle.syncDevice(friends[0]!);
      expect(sync.terminated).toEqual([friendKeys[0]]);
      const { revoked } = await oemLifecycle.syncVehicle(car, { revocations: 0, notices: 0 });
      expect(revoked).toBe(1);
    });
    expect(story.map((r) => r.route)).toEqual([
      "owner-revocation",
      "device-notices",
      "termination",
      "revocation-list",
      "vehicle-notices",
    ]);
    expectWithinBudget(story);
    const total = story.reduce((sum, r) => sum + r.operations, 0);
    expect(total, JSON.stringify(story)).toBeLessThanOrEqual(REVOCATION_END_TO_END);

    // The OEM's routes: revoke a key, a repeat of it; a device's sync when it has nothing new.
    const oemRoutes = await traceRequests(async () => {
      await oemLifecycle.revokeKey(friendKeys[1]!);
      await oemLifecycle.revokeKey(friendKeys[1]!);
      await lifecycle.syncDevice(friends[2]!);
    });
    expectWithinBudget(oemRoutes);
  }, 180_000);
  it("lost mode (a change and its repeat) and an owner's migration to a new phone stay within 3 per request", async () => {
    const { attester } = factoryAttesterFromFile(join(stack.keysDir, "se-manufacturer.json"));
    const client = new CarKeysClient(stack.url);
    const oem = new OemBackendClient(stack.url, stack.oemToken);
    const oemLifecycle = new OemLifecycleClient(stack.url, stack.oemToken);
    const cars = [Vehicle.create(), Vehicle.create()];
    const owner = SecureElement.create({ manufacturer: attester }).se;
    const newPhone = SecureElement.create({ manufacturer: attester }).se;
    await client.getTrustAnchors();
    await client.enrollSecureElement(owner);
    await client.enrollSecureElement(newPhone);
    // The owner's phone holds keys of two cars: lost mode writes a notice for each.
    const ownerKeys: string[] = [];
    for (const car of cars) {
      const enrollment = await oem.enrollVehicle({
        vehicleId: car.vehicleIdentifier,
        vehiclePublicKey: car.publicKey,
      });
      owner.enterPairingPassword(installVehicleEnrollment(car, enrollment.response).password);
      const { keyId } = await car.pair((command) => owner.transceive(command));
      await client.registerKey(owner, keyId);
      ownerKeys.push(keyId);
    }

    const lostMode = await traceRequests(async () => {
      const suspended = await oemLifecycle.setLostMode(owner.seId, "suspend");
      expect(suspended.vehicleIds).toHaveLength(2);
      await oemLifecycle.setLostMode(owner.seId, "suspend");
      await oemLifecycle.setLostMode(owner.seId, "resume");
    });
    expect(lostMode.map((r) => r.route)).toEqual(["lost-mode", "lost-mode", "lost-mode"]);
    expectWithinBudget(lostMode);

    // Migration: new pairing material, the new phone pairs, its owner key registers and the old one is revoked.
    const car = cars[0]!;
    let newOwnerKeyId = "";
    const migration = await traceRequests(
      async () => {
        const { pairing } = await oem.newPairing(toHex(car.vehicleIdentifier));
        provisionPairingMaterial(car, pairing);
        newPhone.enterPairingPassword(pairing.password);
        newOwnerKeyId = (await car.pair((command) => newPhone.transceive(command))).keyId;
        await client.registerKey(newPhone, newOwnerKeyId);
      },
      (route) => (route === "key-registration" ? "owner-migration" : route),
    );
    expect(migration.map((r) => r.route)).toEqual(["pairing", "owner-migration"]);
    expectWithinBudget(migration);
    expect((await oem.getKey(ownerKeys[0]!)).state).toBe("revoked");
    expect((await oem.getKey(newOwnerKeyId)).state).toBe("active");
  }, 180_000);

  it("every relay route (TIGRESS mailboxes), its repeats and its refusals stay within 3 per request", async () => {
    const relay = TigressClient.forService(stack.url);
    const payload = { type: "AEAD_AES_128_GCM" as const, data: Buffer.alloc(256, 5).toString("base64") };
    const displayInformation = { title: "Car key", description: "A shared car key", imageURL: "" };
    const owner = crypto.randomUUID();
    const friend = crypto.randomUUID();
    const mailboxUrl = (id: string) => `${stack.url}/v1/m/${id}`;
    let mailboxId = "";
    const statuses: number[] = [];
    const raw = async (method: string, url: string, headers: Record<string, string> = {}) => {
      const response = await fetch(url, { method, headers });
      await response.body?.cancel();
      statuses.push(response.status);
    };
    const flow = await traceRequests(async () => {
      const createId = crypto.randomUUID();
      mailboxId = (await relay.createMailbox(owner, { payload, displayInformation }, { requestId: createId }))
        .mailboxId;
      // A repeated Create answers 201 with the first answer's link.
      const repeat = await relay.createMailbox(
        owner,
        { payload, displayInformation },
        { requestId: createId },
      );
      expect(repeat).toMatchObject({ mailboxId, duplicate: true });
      expect(await relay.readDisplayInformation(mailboxId)).toContain("og:title");
      // The friend's first read binds it; its later reads and the owner's only read.
      await relay.readSecureContent(mailboxId, friend);
      await relay.readSecureContent(mailboxId, friend);
      await relay.readSecureContent(mailboxId, owner);
      const updateId = crypto.randomUUID();
      await relay.updateMailbox(mailboxId, owner, { payload }, { requestId: updateId });
      expect(
        (await relay.updateMailbox(mailboxId, owner, { payload }, { requestId: updateId })).duplicate,
      ).toBe(true);
      const relinquishId = crypto.randomUUID();
      await relay.relinquish(mailboxId, friend, { requestId: relinquishId });
      expect((await relay.relinquish(mailboxId, friend, { requestId: relinquishId })).duplicate).toBe(true);
      // Refusals cost their tokens too: a third claim (401), no claim (401), an unknown mailbox (404).
      await relay.readSecureContent(mailboxId, friend);
      await raw("POST", mailboxUrl(mailboxId), { "mailbox-device-claim": crypto.randomUUID() });
      await raw("POST", mailboxUrl(mailboxId));
      await raw("GET", mailboxUrl(crypto.randomUUID()));
      await relay.deleteMailbox(mailboxId, friend);
      await raw("DELETE", mailboxUrl(mailboxId), {
        "mailbox-device-claim": owner,
        "mailbox-request-id": crypto.randomUUID(),
      });
    });
    expect(statuses).toEqual([401, 401, 404, 404]);
    // The repeated Create answers from the claim's creation record: its read and its token, no read of the mailbox.
    const creates = flow.filter((request) => request.route === "relay-put");
    expect(creates.map((request) => request.operations)).toEqual([2, 2]);
    expect(new Set(flow.map((r) => r.route))).toEqual(
      new Set([
        "relay-put",
        "relay-preview",
        "relay-get",
        "relay-update",
        "relay-relinquish",
        "relay-delete",
      ]),
    );
    expectWithinBudget(flow);

    // 429: a claim whose bucket is spent, then an address whose bucket is spent.
    const limits = {
      perAddress: { burst: 3, intervalMs: 60_000 },
      perClaim: { burst: 1, intervalMs: 60_000 },
    };
    // A second stack in this process whose relay has these limits (the first keeps its own).
    const limitedDir = await mkdtemp(join(tmpdir(), "carkeys-budget-limited-"));
    const limitedStack = await startLocalDeployment({
      port: 0,
      inMemory: true,
      dataDir: limitedDir,
      relayRateLimits: limits,
    });
    try {
      const claim = crypto.randomUUID();
      const limited = await traceRequests(async () => {
        // Without the client's retries: each 429 is one request.
        const post = async () => {
          const response = await fetch(`${limitedStack.url}/v1/m`, {
            method: "POST",
            headers: {
              "mailbox-device-claim": claim,
              "mailbox-request-id": crypto.randomUUID(),
              "content-type": "application/json",
            },
            body: JSON.stringify({ payload, displayInformation }),
          });
          await response.body?.cancel();
          return { status: response.status, retryAfter: response.headers.get("retry-after") };
        };
        // Retry-After counts down from the interval (60 s) by the time since the first take: on a loaded
        // machine a second may pass between two requests, so the value is checked against the interval.
        const refusedFor = (answer: { status: number; retryAfter: string | null }) => {
          expect(answer.status).toBe(429);
          expect(Number(answer.retryAfter)).toBeGreaterThan(0);
          expect(Number(answer.retryAfter)).toBeLessThanOrEqual(60);
        };
        expect((await post()).status).toBe(200);
        refusedFor(await post());
        expect((await post()).status).toBe(429);
        // The address's three tokens are spent: refused before anything else is looked at.
        refusedFor(await post());
      });
      expectWithinBudget(limited);
      expect(limited.map((r) => r.operations)).toEqual([2, 2, 2, 1]);
    } finally {
      await limitedStack.stop();
      await rm(limitedDir, { recursive: true, force: true });
    }
  }, 180_000);
});
