// Bench of the cloud service through the local server: certificate issuance
// (POST /v1/devices), key registration (POST /v1/keys), and the relay's
// put/get, each as requests per second and p50/p99 latency, beside the floor
// measured in the same run: each DynamoDB round trip the route must make, as a
// bare request of the same kind and size (a GetItem, a BatchGetItem of as many
// items, a TransactWriteItems of as many puts, updates and condition checks),
// its signatures (a bare P-256 signature by the root signer, bare node:crypto
// verifications), and a bare HTTP round trip to the local server that no
// handler serves (its 404). Each route is timed in alternation with the bare
// requests of its floor, round by round, so drift during the run (DynamoDB
// Local's JVM, a shared CPU) falls on both alike. And what every route costs in DynamoDB operations
// (route-costs.ts), against the budget of docs/architecture.md "DynamoDB
// budget": at most 3 per request, at most 12 for a revocation end to end.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  TransactWriteItemsCommand,
} from "@aws-sdk/client-dynamodb";
import { SoftSigner } from "../src/adapters/kms/soft-signer.js";
import { startLocalDeployment } from "../src/adapters/local-server/local-deployment.js";
import {
  CarKeysClient,
  installVehicleEnrollment,
  OemBackendClient,
  provisionPairingMaterial,
} from "../src/client/car-keys-client.js";
import {
  LifecycleClient,
  OemLifecycleClient,
  type VehicleSyncCursor,
} from "../src/client/lifecycle-client.js";
import { deviceFetch } from "../src/client/signed-fetch.js";
import { newDeviceClaim, rfc3339Utc, TigressClient } from "../src/client/tigress-client.js";
import { factoryAttesterFromFile } from "../src/emulator/secure-element/factory-attester-file.js";
import { SecureElement } from "../src/emulator/secure-element/secure-element.js";
import { DEFAULT_FRIEND_KEY_SLOTS, Vehicle } from "../src/emulator/vehicle/vehicle.js";
import { toHex } from "../src/protocol/bytes.js";
import { generateKeyPair, signRaw, verifyRaw } from "../src/protocol/p256.js";
import {
  emit,
  emitRecord,
  formatMs,
  measure,
  measureAlternating,
  type Operation,
  printTable,
  type Sample,
} from "./measure.js";
import { OPEN_RELAY_RATE_LIMITS } from "./open-relay-limits.js";
import { type RequestCost, summarize, traceRequests } from "./route-costs.js";

const RUNS = 200;
/**
 * Warm-up runs of each bare floor operation: DynamoDB Local is a JVM that compiles its hot paths only
 * after some hundreds of requests, and the routes measured later run on a warm server (their setup alone
 * makes hundreds of requests), so a floor measured cold would be slower than the routes it bounds.
 */
const FLOOR_WARMUP = 150;

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

function row(sample: Sample, floorMs: number, tightFloorMs: number) {
  return {
    operation: sample.name,
    "req/s": (1000 / sample.medianMs).toFixed(1),
    "p50 ms": formatMs(sample.medianMs),
    "p99 ms": formatMs(sample.p99Ms),
    "floor ms": formatMs(floorMs),
    "× floor": (sample.medianMs / floorMs).toFixed(2),
    "tight-loop floor ms": formatMs(tightFloorMs),
    "× tight-loop floor": (sample.medianMs / tightFloorMs).toFixed(2),
  };
}

export async function benchService(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), "carkeys-bench-"));
  // The relay's rate limits opened wide (open-relay-limits.ts): every request of this run comes from one
  // address, faster than the per-address limit allows for long, and a refused request waited out and
  // repeated would be timed as one slow request.
  const stack = await startLocalDeployment({
    port: 0,
    inMemory: true,
    dataDir,
    relayRateLimits: OPEN_RELAY_RATE_LIMITS,
  });
  try {
    const { attester } = factoryAttesterFromFile(join(stack.keysDir, "se-manufacturer.json"));
    const dynamo = new DynamoDBClient({
      endpoint: stack.dynamoDb.endpoint,
      region: "local",
      credentials: { accessKeyId: "x", secretAccessKey: "x" },
    });
    const signer = await SoftSigner.open(stack.keysDir, "device-oem-root");
    // About the size of the TBSCertificate an issuance signs.
    const tbsSized = new Uint8Array(400);

    // A route's floor has the round trips it must make, each as a bare request of the same kind and
    // size: DynamoDB Local's cost grows with the items of a batch or a transaction (a 7-item transaction
    // costs about twice a 2-item one), so a bare 2-item write under a 7-item route would flatter nothing.
    const bareKeys = Array.from({ length: 4 }, (_, i) => ({
      pk: { S: `BENCH-READ#${i}` },
      sk: { S: "ITEM" },
    }));
    await dynamo.send(
      new BatchWriteItemCommand({
        RequestItems: {
          [stack.tableName]: bareKeys.map((Key) => ({
            PutRequest: { Item: { ...Key, data: { S: "x".repeat(200) } } },
          })),
        },
      }),
    );
    const bareBatch = (keys: number): Operation => ({
      name: `bare DynamoDB Local BatchGetItem (${keys} items)`,
      run: () =>
        dynamo.send(
          new BatchGetItemCommand({
            RequestItems: { [stack.tableName]: { Keys: bareKeys.slice(0, keys), ConsistentRead: true } },
          }),
        ),
    });
    let bareItem = 0;
    const bareTransaction = (shape: { puts: number; updates?: number; checks?: number }): Operation => {
      const { puts, updates = 0, checks = 0 } = shape;
      return {
        name: `bare DynamoDB Local TransactWriteItems (${puts} puts if absent, ${updates} conditional updates, ${checks} condition checks)`,
        run: () => {
          const id = `BENCH#${bareItem++}`;
          return dynamo.send(
            new TransactWriteItemsCommand({
              TransactItems: [
                ...Array.from({ length: puts }, (_, i) => ({
                  Put: {
                    TableName: stack.tableName,
                    Item: { pk: { S: id }, sk: { S: `PUT#${i}` }, data: { S: "x".repeat(200) } },
                    ConditionExpression: "attribute_not_exists(pk)",
                  },
                })),
                ...Array.from({ length: updates }, (_, i) => ({
                  Update: {
                    TableName: stack.tableName,
                    Key: { pk: { S: `BENCH-COUNTER#${i}` }, sk: { S: "COUNTER" } },
                    UpdateExpression: "SET #n = if_not_exists(#n, :zero) + :one",
                    ConditionExpression: "attribute_not_exists(#n) OR #n >= :zero",
                    ExpressionAttributeNames: { "#n": "n" },
                    ExpressionAttributeValues: { ":zero": { N: "0" }, ":one": { N: "1" } },
                  },
                })),
                ...Array.from({ length: checks }, (_, i) => ({
                  ConditionCheck: {
                    TableName: stack.tableName,
                    Key: bareKeys[i % bareKeys.length]!,
                    ConditionExpression: "attribute_not_exists(#s) OR #s <> :suspended",
                    ExpressionAttributeNames: { "#s": "state" },
                    ExpressionAttributeValues: { ":suspended": { S: "suspended" } },
                  },
                })),
              ],
            }),
          );
        },
      };
    };
    // Issuance: the SE's record read; the SE and its nonce written.
    const ddb: Operation = {
      name: "bare DynamoDB Local GetItem",
      run: () =>
        dynamo.send(
          new GetItemCommand({ TableName: stack.tableName, Key: { pk: { S: "BENCH" }, sk: { S: "BENCH" } } }),
        ),
    };
    const write = bareTransaction({ puts: 2 });
    // Friend registration: the device's notice state, the vehicle, the key and the attesting key read in
    // one batch; the key, its device index entry and the nonce put, the vehicle's slot count updated, the
    // attesting key's state and both devices' lost mode checked, in one transaction.
    const batch4 = bareBatch(4);
    const registrationWrite = bareTransaction({ puts: 3, updates: 1, checks: 3 });
    // Relay: the two rate-limit buckets and the mailbox (or the claim's creation record) read in one batch;
    // put takes both buckets' tokens and writes the mailbox and the creation record, get takes the tokens.
    const batch3 = bareBatch(3);
    const relayPutWrite = bareTransaction({ puts: 2, updates: 2 });
    const relayGetWrite = bareTransaction({ puts: 0, updates: 2 });
    const sign: Operation = { name: "bare root signature (sign)", run: () => signer.sign(tbsSized) };
    const verifier = generateKeyPair();
    const message = new Uint8Array(256);
    const signature = signRaw(verifier.privateKey, message);
    const verify: Operation = {
      name: "bare P-256 verification (node:crypto)",
      run: () => verifyRaw(signature, message, verifier.publicKey),
    };
    const http: Operation = {
      name: "bare HTTP round trip (404)",
      run: () => fetch(`${stack.url}/v1/bench`).then((r) => r.arrayBuffer()),
    };
    const floorOperations = [ddb, write, batch4, registrationWrite, batch3, relayPutWrite, relayGetWrite];
    // Each bare request alone, in a tight loop after its warm-up: the fastest it gets on this machine, with
    // every cache and compiled path hot for it, which no request of a route finds.
    const tight = new Map<string, Sample>();
    for (const operation of [...floorOperations, sign, verify, http]) {
      tight.set(operation.name, await measure(operation.name, RUNS, operation.run, FLOOR_WARMUP));
    }
    // Each route is then timed in alternation with the bare requests of its own floor (measureAlternating):
    // the floor the ratio is read against, under the same drift and the same cold caches as the route.
    const floors = new Map<string, Sample[]>();
    /** The route's samples, and its floor: its round trips one after the other, its signatures and checks, one HTTP round trip. */
    const timeRoute = async (
      route: string,
      operation: Operation,
      roundTrips: readonly Operation[],
      f: { signs: number; verifies: number },
    ): Promise<{ sample: Sample; floor: number; tightFloor: number }> => {
      const [sample, ...bare] = await measureAlternating(
        [operation, ...roundTrips, sign, verify, http],
        RUNS,
      );
      floors.set(route, bare);
      const floorOf = (samples: readonly Sample[]) => {
        const [signed, verified, bareHttp] = samples.slice(roundTrips.length) as [Sample, Sample, Sample];
        return (
          samples.slice(0, roundTrips.length).reduce((sum, trip) => sum + trip.medianMs, 0) +
          f.signs * signed.medianMs +
          f.verifies * verified.medianMs +
          bareHttp.medianMs
        );
      };
      const tightSamples = [...roundTrips, sign, verify, http].map((o) => tight.get(o.name)!);
      return { sample: sample!, floor: floorOf(bare), tightFloor: floorOf(tightSamples) };
    };

    // Issuance: every run enrolls a fresh SE (one certificate, one conditional write).
    const devices = Array.from(
      { length: RUNS + Math.ceil(RUNS / 10) },
      () => SecureElement.create({ manufacturer: attester }).se,
    );
    let next = 0;
    // Issuance: the SE signs the request (in this process, as in the timed run), the root signs the
    // certificate; the request's and the factory attestation's signatures are checked. The issuer's own
    // check of the certificate it just signed is an extra safety of ours, not part of the floor.
    const issuance = await timeRoute(
      "issuance",
      {
        name: "certificate issuance (POST /v1/devices)",
        run: () => {
          const se = devices[next++]!;
          return deviceFetch(stack.url, se, `instance:${se.seId}`, "POST", "/v1/devices", {
            seId: se.seId,
            instanceCaPublicKey: toHex(se.instanceCaPublicKey),
            factoryAttestation: toHex(se.factoryAttestation!),
          });
        },
      },
      [ddb, write],
      { signs: 2, verifies: 2 },
    );

    const counting = SecureElement.create({ manufacturer: attester }).se;
    const issuanceCost = await countCalls(async () => {
      await new CarKeysClient(stack.url).enrollSecureElement(counting);
    });

    // Key registration: one paired owner, then friend keys (chain + owner attestation verified, one receipt signed).
    const client = new CarKeysClient(stack.url);
    const oem = new OemBackendClient(stack.url, stack.oemToken);
    // One owner phone paired with several cars: a car holds at most DEFAULT_FRIEND_KEY_SLOTS friend keys.
    const owner = SecureElement.create({ manufacturer: attester }).se;
    await client.enrollSecureElement(owner);
    const pairCar = async () => {
      const car = Vehicle.create();
      const enrollment = await oem.enrollVehicle({
        vehicleId: car.vehicleIdentifier,
        vehiclePublicKey: car.publicKey,
      });
      const { password } = installVehicleEnrollment(car, enrollment.response);
      owner.enterPairingPassword(password);
      const { keyId } = await car.pair((command) => owner.transceive(command));
      return { car, ownerKeyId: keyId, cursor: { revocations: 0, notices: 0 } as VehicleSyncCursor };
    };
    const first = await pairCar();
    const { car, ownerKeyId } = first;
    // One owner registration (the car's pairing confirmation verified, the pairing record spent), counted.
    const ownerRegistration = await countCalls(async () => {
      await client.registerKey(owner, ownerKeyId);
    });
    type PairedCar = typeof first;
    const friends: { se: SecureElement; keyId: string; attestation: Uint8Array; car: PairedCar }[] = [];
    const countedRegistrations = 10;
    let current = first;
    for (let i = 0; i < RUNS + Math.ceil(RUNS / 10) + countedRegistrations; i++) {
      if (i > 0 && i % DEFAULT_FRIEND_KEY_SLOTS === 0) {
        current = await pairCar();
        await client.registerKey(owner, current.ownerKeyId);
      }
      const friend = SecureElement.create({ manufacturer: attester }).se;
      await client.enrollSecureElement(friend);
      const request = await friend.createFriendKey({
        vehicleIdentifier: current.car.vehicleIdentifier,
        vehicleCertificate: owner.key(current.ownerKeyId).vehicleCertificate!,
        profile: { kind: "full" },
      });
      owner.authenticateUser();
      friends.push({
        se: friend,
        keyId: request.keyId,
        attestation: owner.attestFriendKey(current.ownerKeyId, request, { kind: "full" }),
        car: current,
      });
    }
    let nextFriend = 0;
    // Friend registration: the friend's SE signs the request and the service signs the receipt (which
    // the client checks); the request, the chain's two certificates and the owner's attestation checked.
    const registration = await timeRoute(
      "friend-registration",
      {
        name: "key registration (POST /v1/keys, friend)",
        run: () => {
          const friend = friends[nextFriend++]!;
          return client.registerKey(friend.se, friend.keyId, friend.attestation);
        },
      },
      [batch4, registrationWrite],
      { signs: 2, verifies: 5 },
    );
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
    const put = await timeRoute(
      "relay-put",
      {
        name: "relay put (POST /v1/m, 1 KiB)",
        run: async () => {
          const claim = newDeviceClaim();
          const mailbox = await relay.createMailbox(claim, {
            payload,
            displayInformation,
            mailboxConfiguration: { accessRights: "RWD", expiration },
          });
          created.push({ id: mailbox.mailboxId, claim });
        },
      },
      [batch3, relayPutWrite],
      { signs: 0, verifies: 0 },
    );
    let read = 0;
    const get = await timeRoute(
      "relay-get",
      {
        name: "relay get (POST /v1/m/{id})",
        run: () => {
          const mailbox = created[read++ % created.length]!;
          return relay.readSecureContent(mailbox.id, mailbox.claim);
        },
      },
      [batch3, relayGetWrite],
      { signs: 0, verifies: 0 },
    );

    // Revocation end to end: owner posts it, the friend's device syncs (terminate + confirm), the car syncs.
    const lifecycle = new LifecycleClient(stack.url);
    const oemLifecycle = new OemLifecycleClient(stack.url, stack.oemToken);
    const revocations = 10;
    const counted = await countCalls(async () => {
      for (const friend of friends.slice(0, revocations)) {
        const paired = friend.car;
        const revocation = owner.revokeFriendKey(paired.ownerKeyId, friend.keyId);
        await lifecycle.revokeAsOwner(owner, paired.ownerKeyId, revocation);
        await lifecycle.syncDevice(friend.se);
        paired.cursor = (await oemLifecycle.syncVehicle(paired.car, paired.cursor)).cursor;
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
      await relay.readDisplayInformation(relayMailbox);
      const relayFriend = newDeviceClaim();
      await relay.readSecureContent(relayMailbox, relayFriend);
      await relay.relinquish(relayMailbox, relayFriend);
      await relay.deleteMailbox(relayMailbox, relayClaim);
    });
    // The owner moves to a new phone: new pairing material, the new phone pairs and registers (the old key revoked).
    const newPhone = SecureElement.create({ manufacturer: attester }).se;
    await client.enrollSecureElement(newPhone);
    const migration = await countCalls(async () => {
      const { pairing } = await oem.newPairing(toHex(car.vehicleIdentifier));
      provisionPairingMaterial(car, pairing);
      newPhone.enterPairingPassword(pairing.password);
      const { keyId } = await car.pair((command) => newPhone.transceive(command));
      await client.registerKey(newPhone, keyId);
    });
    const perRoute = summarize([
      ...issuanceCost.perRequest,
      ...migration.perRequest.map((r) =>
        r.route === "key-registration" ? { ...r, route: "owner-migration" } : r,
      ),
      ...ownerRegistration.perRequest.map((r) => ({ ...r, route: "owner-registration" })),
      ...registrationCalls.perRequest.map((r) => ({ ...r, route: "friend-registration" })),
      ...counted.perRequest,
      ...others.perRequest,
    ] satisfies RequestCost[]);

    const timed = [
      ["issuance", issuance],
      ["friend-registration", registration],
      ["relay-put", put],
      ["relay-get", get],
    ] as const;
    for (const [route, { sample, floor, tightFloor }] of timed) {
      emit(`service-${route}`, sample, floor, {
        tight_floor_ms: tightFloor,
        tight_ratio: Number((sample.medianMs / tightFloor).toFixed(3)),
      });
      emitRecord({ name: `service-${route}-p50`, ms: Number(sample.medianMs.toFixed(3)) });
      emitRecord({ name: `service-${route}-floor`, ms: Number(floor.toFixed(3)) });
    }
    printTable(
      "Floor of each route: its bare requests, timed in alternation with it (median)",
      timed.flatMap(([route]) =>
        (floors.get(route) ?? []).map((s) => ({
          route,
          operation: s.name,
          "median ms": formatMs(s.medianMs),
          "tight loop ms": formatMs(tight.get(s.name)!.medianMs),
        })),
      ),
    );
    printTable(
      `Service through the local server, sequential, ${RUNS} runs`,
      timed.map(([, { sample, floor, tightFloor }]) => row(sample, floor, tightFloor)),
    );
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
