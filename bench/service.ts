// Bench of the cloud service through the local server: certificate issuance
// (POST /v1/devices), key registration (POST /v1/keys), and the relay's
// put/get, each as requests per second and p50/p99 latency, beside the floor
// measured in the same run: a bare DynamoDB Local round trip, a bare P-256
// signature by the root signer, and a bare HTTP round trip to the local
// server that no handler serves (its 404). And what every route costs in
// DynamoDB operations (route-costs.ts), against the budget of
// docs/architecture.md "DynamoDB budget": at most 3 per request, at most 12
// for a revocation end to end.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { SoftSigner } from "../src/adapters/kms/soft-signer.js";
import { startCarKeyStack } from "../src/adapters/local-server/car-key-stack.js";
import { CarKeysClient, installVehicleEnrollment, OemBackendClient } from "../src/client/car-keys-client.js";
import { factoryAttesterFromFile } from "../src/client/emulated-factory.js";
import {
  LifecycleClient,
  OemLifecycleClient,
  type VehicleSyncCursor,
} from "../src/client/lifecycle-client.js";
import { deviceFetch } from "../src/client/signed-fetch.js";
import { newDeviceClaim, rfc3339Utc, TigressClient } from "../src/client/tigress-client.js";
import { SecureElement } from "../src/emulator/secure-element/secure-element.js";
import { Vehicle } from "../src/emulator/vehicle/vehicle.js";
import { toHex } from "../src/protocol/bytes.js";
import { sha256Digest } from "../src/protocol/p256.js";
import { emitRecord, formatMs, measure, printTable, type Sample } from "./measure.js";
import { type RequestCost, summarize, traceRequests } from "./route-costs.js";

const RUNS = 60;

/** Counts what `fn` costs: HTTP requests the client sends, and DynamoDB commands the in-process handlers send. */
export async function countCalls(fn: () => Promise<void>) {
  const begin = process.hrtime.bigint();
  const requests = await traceRequests(fn);
  const ms = Number(process.hrtime.bigint() - begin) / 1e6;
  const dynamo: Record<string, number> = {};
  for (const r of requests) {
    for (const [name, n] of Object.entries(r.byCommand)) dynamo[name] = (dynamo[name] ?? 0) + n;
  }
  return {
    ms,
    requests: requests.length,
    perRequest: requests,
    dynamo,
    dynamoTotal: Object.values(dynamo).reduce((a, b) => a + b, 0),
  };
}

/** Requests and DynamoDB operations per unit of work, from countCalls. */
function costRow(counted: Awaited<ReturnType<typeof countCalls>>, units: number, unit: string) {
  return {
    [`ms per ${unit}`]: formatMs(counted.ms / units),
    "HTTP requests": (counted.requests / units).toFixed(1),
    "DynamoDB operations": (counted.dynamoTotal / units).toFixed(1),
    "of which": Object.entries(counted.dynamo)
      .map(([name, n]) => `${name.replace(/(Item)?Command$/, "")} ${(n / units).toFixed(1)}`)
      .join(", "),
  };
}

function row(sample: Sample, floorMs: number) {
  return {
    operation: sample.name,
    "req/s": (1000 / sample.medianMs).toFixed(1),
    "p50 ms": formatMs(sample.medianMs),
    "p99 ms": formatMs(sample.p99Ms),
    "floor ms": formatMs(floorMs),
    "× floor": (sample.medianMs / floorMs).toFixed(2),
  };
}

export async function benchService(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), "carkeys-bench-"));
  const stack = await startCarKeyStack({ port: 0, inMemory: true, dataDir });
  try {
    const { attester } = factoryAttesterFromFile(join(stack.keysDir, "se-manufacturer.json"));
    const dynamo = new DynamoDBClient({
      endpoint: stack.dynamoDb.endpoint,
      region: "local",
      credentials: { accessKeyId: "x", secretAccessKey: "x" },
    });
    const signer = await SoftSigner.open(stack.keysDir, "device-oem-root");
    const digest = sha256Digest(new Uint8Array(64));

    const ddb = await measure("bare DynamoDB Local GetItem", RUNS, () =>
      dynamo.send(
        new GetItemCommand({ TableName: stack.tableName, Key: { pk: { S: "BENCH" }, sk: { S: "BENCH" } } }),
      ),
    );
    const sign = await measure("bare root signature (signDigest)", RUNS, () => signer.signDigest(digest));
    const http = await measure("bare HTTP round trip (404)", RUNS, () =>
      fetch(`${stack.url}/v1/bench`).then((r) => r.arrayBuffer()),
    );

    // Issuance: every run enrolls a fresh SE (one certificate, one conditional write).
    const devices = Array.from(
      { length: RUNS + Math.ceil(RUNS / 10) },
      () => SecureElement.create({ manufacturer: attester }).se,
    );
    let next = 0;
    const issuance = await measure("certificate issuance (POST /v1/devices)", RUNS, () => {
      const se = devices[next++]!;
      return deviceFetch(stack.url, se, `instance:${se.seId}`, "POST", "/v1/devices", {
        seId: se.seId,
        instanceCaPublicKey: toHex(se.instanceCaPublicKey),
        factoryAttestation: toHex(se.factoryAttestation!),
      });
    });

    const counting = SecureElement.create({ manufacturer: attester }).se;
    const issuanceCost = await countCalls(async () => {
      await new CarKeysClient(stack.url).enrollSecureElement(counting);
    });

    // Key registration: one paired owner, then friend keys (chain + owner attestation verified, one receipt signed).
    const client = new CarKeysClient(stack.url);
    const oem = new OemBackendClient(stack.url, stack.oemToken);
    const car = Vehicle.create();
    const enrollment = await oem.enrollVehicle({
      vehicleId: car.vehicleIdentifier,
      vehiclePublicKey: car.publicKey,
    });
    const { password } = installVehicleEnrollment(car, enrollment.response);
    const owner = SecureElement.create({ manufacturer: attester }).se;
    await client.enrollSecureElement(owner);
    owner.enterPairingPassword(password);
    const { keyId: ownerKeyId } = await car.pair((command) => owner.transceive(command));
    // One owner registration (the car's pairing confirmation verified, the pairing record spent), counted.
    const ownerRegistration = await countCalls(async () => {
      await client.registerKey(owner, ownerKeyId);
    });
    const friends: { se: SecureElement; keyId: string; attestation: Uint8Array }[] = [];
    const countedRegistrations = 10;
    for (let i = 0; i < RUNS + Math.ceil(RUNS / 10) + countedRegistrations; i++) {
      const friend = SecureElement.create({ manufacturer: attester }).se;
      await client.enrollSecureElement(friend);
      const request = await friend.createFriendKey({
        vehicleIdentifier: car.vehicleIdentifier,
        vehicleCertificate: owner.key(ownerKeyId).vehicleCertificate!,
        profile: { kind: "full" },
      });
      owner.authenticateUser();
      friends.push({
        se: friend,
        keyId: request.keyId,
        attestation: owner.attestFriendKey(ownerKeyId, request, { kind: "full" }),
      });
    }
    let nextFriend = 0;
    const registration = await measure("key registration (POST /v1/keys, friend)", RUNS, () => {
      const friend = friends[nextFriend++]!;
      return client.registerKey(friend.se, friend.keyId, friend.attestation);
    });
    const registrationCalls = await countCalls(async () => {
      for (let i = 0; i < countedRegistrations; i++) {
        const friend = friends[nextFriend++]!;
        await client.registerKey(friend.se, friend.keyId, friend.attestation);
      }
    });

    // Relay: create, then the recipient reads and the initiator updates.
    const relay = TigressClient.forService(stack.url);
    const payload = { type: "AEAD_AES_128_GCM" as const, data: Buffer.alloc(1024, 7).toString("base64") };
    const expiration = rfc3339Utc(new Date(Date.now() + 3600_000));
    const displayInformation = {
      title: "Car key",
      description: "A shared car key",
      imageURL: "https://example.com/key.png",
    };
    const created: { id: string; claim: string }[] = [];
    const put = await measure("relay put (POST /v1/m, 1 KiB)", RUNS, async () => {
      const claim = newDeviceClaim();
      const mailbox = await relay.createMailbox(claim, {
        payload,
        displayInformation,
        mailboxConfiguration: { accessRights: "RWD", expiration },
      });
      created.push({ id: mailbox.mailboxId, claim });
    });
    let read = 0;
    const get = await measure("relay get (POST /v1/m/{id})", RUNS, () => {
      const mailbox = created[read++ % created.length]!;
      return relay.readSecureContent(mailbox.id, mailbox.claim);
    });

    // Revocation end to end: owner posts it, the friend's device syncs (terminate + confirm), the car syncs.
    const lifecycle = new LifecycleClient(stack.url);
    const oemLifecycle = new OemLifecycleClient(stack.url, stack.oemToken);
    let cursor: VehicleSyncCursor = { revocations: 0, notices: 0 };
    const revocations = 10;
    const counted = await countCalls(async () => {
      for (const friend of friends.slice(0, revocations)) {
        const revocation = owner.revokeFriendKey(ownerKeyId, friend.keyId);
        await lifecycle.revokeAsOwner(owner, ownerKeyId, revocation);
        await lifecycle.syncDevice(friend.se);
        cursor = (await oemLifecycle.syncVehicle(car, cursor)).cursor;
      }
    });

    // Every other route once (the story's routes are counted above), each request on its own.
    const spare = SecureElement.create({ manufacturer: attester }).se;
    const otherCar = Vehicle.create();
    const relayClaim = newDeviceClaim();
    let relayMailbox = "";
    const others = await countCalls(async () => {
      await client.getTrustAnchors();
      await client.enrollSecureElement(spare);
      await oem.enrollVehicle({
        vehicleId: otherCar.vehicleIdentifier,
        vehiclePublicKey: otherCar.publicKey,
      });
      await oem.newPairing(toHex(otherCar.vehicleIdentifier));
      await oem.getKey(ownerKeyId);
      await oem.listVehicleKeys(toHex(car.vehicleIdentifier));
      await oemLifecycle.revokeKey(friends[revocations]!.keyId);
      await oemLifecycle.setLostMode(friends[revocations + 1]!.se.seId, "suspend");
      await oemLifecycle.setLostMode(friends[revocations + 1]!.se.seId, "resume");
      relayMailbox = (
        await relay.createMailbox(relayClaim, {
          payload,
          displayInformation,
          mailboxConfiguration: { accessRights: "RWD", expiration },
        })
      ).mailboxId;
      await relay.updateMailbox(relayMailbox, relayClaim, { payload });
      await relay.readSecureContent(relayMailbox, newDeviceClaim());
      await relay.deleteMailbox(relayMailbox, relayClaim);
    });
    const perRoute = summarize([
      ...issuanceCost.perRequest,
      ...ownerRegistration.perRequest.map((r) => ({ ...r, route: "owner-registration" })),
      ...registrationCalls.perRequest.map((r) => ({ ...r, route: "friend-registration" })),
      ...counted.perRequest,
      ...others.perRequest,
    ] satisfies RequestCost[]);

    const issuanceFloor = ddb.medianMs + sign.medianMs + http.medianMs;
    const relayFloor = ddb.medianMs + http.medianMs;
    printTable(
      "Floor, measured in the same run (median)",
      [ddb, sign, http].map((s) => ({ operation: s.name, "median ms": formatMs(s.medianMs) })),
    );
    printTable(`Service through the local server, sequential, ${RUNS} runs`, [
      row(issuance, issuanceFloor),
      row(registration, issuanceFloor),
      row(put, relayFloor),
      row(get, relayFloor),
    ]);
    printTable("Owner registration (POST /v1/keys with the car's pairing confirmation), one", [
      costRow(ownerRegistration, 1, "registration"),
    ]);
    printTable(`Friend key registration (POST /v1/keys), mean of ${countedRegistrations}`, [
      costRow(registrationCalls, countedRegistrations, "registration"),
    ]);
    printTable(`Revocation end to end (owner → service → friend's SE → car), mean of ${revocations}`, [
      costRow(counted, revocations, "revocation"),
    ]);
    printTable(
      "DynamoDB operations per request, by route (budget: at most 3 each; a revocation end to end at most 12)",
      [...perRoute].map(([route, cost]) => ({
        route,
        requests: cost.requests,
        "max per request": cost.max,
        "mean per request": cost.mean.toFixed(1),
        "of which (all requests)": Object.entries(cost.byCommand)
          .map(([name, n]) => `${name.replace(/(Item)?Command$/, "")} ${n}`)
          .join(", "),
      })),
    );
    for (const [route, cost] of perRoute) {
      emitRecord({ name: `ddb-ops-${route}`, count: cost.max, mean: Number(cost.mean.toFixed(2)) });
    }
    emitRecord({
      name: "ddb-ops-revocation-e2e",
      count: Number((counted.dynamoTotal / revocations).toFixed(2)),
      http_requests: counted.requests / revocations,
    });
    dynamo.destroy();
  } finally {
    await stack.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}
