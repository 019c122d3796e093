// The scheduled expiry sweep (functions/expiry-sweep.ts, src/service/expiry-sweep.ts)
// on DynamoDB Local, through the real handlers: keys whose attested profile
// ended are revoked once, as the OEM would (state, revocation-list entry,
// terminate-key notice, event, reason expired), keys not yet ended stay
// active, a second run changes nothing, two concurrent runs revoke each key
// once, a run pages through the key-ends index and one cut short leaves the
// rest for the next, and each key costs two DynamoDB operations beside the
// index's Queries. Keys are registered with ends already past (the service
// takes a registration whatever its end), so no test waits for a clock.
import "../support/quiet-logs.js";
import type { Context } from "aws-lambda";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { makeHandler as deviceEnrollmentHandler } from "../../functions/device-enrollment.js";
import { makeHandler as expirySweepHandler } from "../../functions/expiry-sweep.js";
import { makeHandler as keyTrackingHandler } from "../../functions/key-tracking.js";
import { makeHandler as revocationHandler } from "../../functions/revocation.js";
import { makeHandler as vehicleEnrollmentHandler } from "../../functions/vehicle-enrollment.js";
import { DynamoDbStore } from "../../src/adapters/dynamodb/dynamodb-store.js";
import { countDynamoDbOperations } from "../../src/adapters/dynamodb/operation-count.js";
import { EXPIRY_BUCKETS } from "../../src/adapters/dynamodb/table-design.js";
import { serviceDependenciesFromEnvironment } from "../../src/adapters/service-assembly.js";
import { PublishedEventSchema } from "../../src/api/event-schemas.js";
import type { AccessProfile } from "../../src/protocol/access-profile.js";
import { toHex } from "../../src/protocol/bytes.js";
import type { ExpirySweepLimits, ExpirySweepReport } from "../../src/service/expiry-sweep.js";
import type { ServiceEvent } from "../../src/service/ports.js";
import { publishedEvent } from "../../src/service/published-event.js";
import { keyRegistrationEvent, signedEvent } from "../support/api-requests.js";
import { apiEvent, invoke, type LambdaHarness, startLambdaHarness } from "../support/lambda-harness.js";
import { enrollNewDevice, vehicleOwnedBy } from "../support/lambda-parties.js";
import { term } from "../support/lifecycle-statements.js";
import { publishedDuring } from "../support/published-events.js";
import { attestFriendKey, type TestDevice, type TestEndpoint } from "../support/test-device.js";

// One service from the environment (built on first use, after beforeAll set it), shared by every handler
// here as a Lambda container shares its own, so a test can spy on the service the handlers call.
const dependencies = serviceDependenciesFromEnvironment();
const getService = async () => (await dependencies()).service;
const deviceEnrollment = deviceEnrollmentHandler(dependencies);
const expirySweep = expirySweepHandler(dependencies);
const keyTracking = keyTrackingHandler(dependencies);
const revocation = revocationHandler(dependencies);
const vehicleEnrollment = vehicleEnrollmentHandler(dependencies);

let harness: LambdaHarness;
let device: TestDevice;
const nowSeconds = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  // One vehicle holds all of a test's keys: more than the default five friend slots.
  process.env.FRIEND_KEY_SLOTS = "100";
  harness = await startLambdaHarness();
  device = await enrollNewDevice(harness.manufacturer, { deviceEnrollment, vehicleEnrollment, keyTracking });
}, 120_000);

afterEach(() => {
  vi.restoreAllMocks();
});

afterAll(async () => {
  delete process.env.FRIEND_KEY_SLOTS;
  await harness?.stop();
});

/** An enrolled vehicle with its owner key; `share` registers a friend key with `profile`. */
async function vehicleWithOwner() {
  const { vehicle, owner } = await vehicleOwnedBy(device, {
    deviceEnrollment,
    vehicleEnrollment,
    keyTracking,
  });
  let serial = 0;
  const share = async (profile: AccessProfile = { kind: "unlock-only" }): Promise<TestEndpoint> => {
    const friend = await device.newEndpoint(vehicle.id, "friend");
    const answer = await invoke(
      keyTracking,
      keyRegistrationEvent(device, friend, attestFriendKey(owner, friend, vehicle.id, profile, ++serial)),
    );
    expect(answer.status, JSON.stringify(answer.json)).toBe(201);
    return friend;
  };
  /** `count` friend keys whose end passed an hour ago. */
  const ended = async (count: number) => {
    const keys: TestEndpoint[] = [];
    for (let i = 0; i < count; i++) keys.push(await share({ kind: "full", validUntil: nowSeconds() - 3600 }));
    return keys;
  };
  return { vehicle, vehicleId: toHex(vehicle.id), share, ended };
}

/** The table's items of one vehicle and its keys: key records, revocation entries, the device's notices. */
async function recordsOf(vehicleId: string, keyIds: readonly string[]) {
  const items = await harness.table.scan();
  const keys = new Map(
    items
      .filter((i) => i.sk === "KEY" && keyIds.includes(i.keyId as string))
      .map((i) => [i.keyId as string, i]),
  );
  const entries = items.filter(
    (i) => i.pk === `VEHICLE#${vehicleId}` && String(i.sk).startsWith("REVOCATION#"),
  );
  const notices = items.filter(
    (i) => i.type === "device-notice" && i.action === "terminate-key" && keyIds.includes(i.keyId as string),
  );
  const vehicle = items.find((i) => i.pk === `VEHICLE#${vehicleId}` && i.sk === "VEHICLE");
  return { keys, entries, notices, friendKeys: vehicle?.friendKeys };
}

/** The scheduled invocation, as EventBridge makes it: an event the sweep ignores, a context with a deadline. */
async function scheduledRun(): Promise<ExpirySweepReport> {
  const context = { getRemainingTimeInMillis: () => 300_000 } as unknown as Context;
  const event = { "detail-type": "Scheduled Event", source: "aws.events", detail: {} };
  return (await expirySweep(event, context)) as ExpirySweepReport;
}

async function run(limits?: ExpirySweepLimits): Promise<ExpirySweepReport> {
  return (await getService()).expiry.run(limits);
}

const expiredRevocations = (events: readonly ServiceEvent[]) =>
  events.filter((e) => e.type === "key.revoked" && (e.detail as { reason?: string }).reason === "expired");

describe("the expiry sweep", () => {
  it("revokes each key past its end once, as the OEM would; keys not yet ended stay active; a second run changes nothing", async () => {
    const w = await vehicleWithOwner();
    const ended = await w.ended(2);
    const later = await w.share({ kind: "full", validUntil: nowSeconds() + 86_400 });
    const forever = await w.share();
    const all = [...ended, later, forever].map((k) => k.keyId);
    expect((await recordsOf(w.vehicleId, all)).friendKeys).toBe(4);

    const { result: report, events } = await publishedDuring(scheduledRun);
    expect(report).toMatchObject({ revoked: 2, failed: 0, complete: true });

    const after = await recordsOf(w.vehicleId, all);
    for (const key of ended) {
      const item = after.keys.get(key.keyId)!;
      expect(item.state).toBe("revoked");
      expect(item.revocation).toMatchObject({ reason: "expired", revokedBy: "expiry-sweep" });
      // Out of the key-ends index: no run lists it again.
      expect(item.gsi2pk).toBeUndefined();
      expect(item.gsi2sk).toBeUndefined();
    }
    expect(after.keys.get(later.keyId)).toMatchObject({ state: "active", gsi2sk: expect.any(Number) });
    expect(after.keys.get(forever.keyId)!.state).toBe("active");
    expect(after.keys.get(forever.keyId)!.gsi2pk).toBeUndefined();
    // For the car: one revocation-list entry each; for the SE: one terminate-key notice each.
    expect(after.entries.map((e) => e.keyId).sort()).toEqual(ended.map((k) => k.keyId).sort());
    expect(after.entries.map((e) => e.sequence).sort()).toEqual([1, 2]);
    expect(after.notices.map((n) => n.keyId).sort()).toEqual(ended.map((k) => k.keyId).sort());
    expect(after.friendKeys).toBe(2);
    // One key.revoked event each, with its terminate-key notice's, in the published schema.
    const revoked = expiredRevocations(events);
    expect(revoked.map((e) => e.keyId).sort()).toEqual(ended.map((k) => k.keyId).sort());
    for (const event of events) PublishedEventSchema.parse(publishedEvent(event));
    expect(events.filter((e) => e.type === "device.notice-issued")).toHaveLength(2);

    // An OEM revocation of it repeats the sweep's; the key reports the one end state of a time-boxed key,
    // expired, stored as a revocation (reason expired) until its SE confirms the deletion.
    const view = await invoke(
      revocation,
      apiEvent("POST /v1/keys/{keyId}/revocation", { iam: true, params: { keyId: ended[0]!.keyId } }),
    );
    expect(view.status).toBe(200);
    expect(view.json).toMatchObject({ state: "expired", reason: "expired", revokedBy: "expiry-sweep" });
    const key = await invoke(
      keyTracking,
      apiEvent("GET /v1/keys/{keyId}", { iam: true, params: { keyId: ended[0]!.keyId } }),
    );
    expect(key.status).toBe(200);
    expect(key.json.state).toBe("expired");

    // A second run finds nothing and writes nothing.
    const before = await harness.table.scan();
    const { result: again, events: none } = await publishedDuring(() => run());
    expect(again).toMatchObject({ examined: 0, revoked: 0, failed: 0, complete: true });
    expect(none).toEqual([]);
    expect(await harness.table.scan()).toEqual(before);

    // The SE, having applied its notice, confirms the deletion: the revocation is confirmed.
    const confirmed = await invoke(
      revocation,
      signedEvent(
        "POST /v1/keys/{keyId}/termination",
        { attestation: toHex(term(ended[1]!, w.vehicle.id)) },
        (o) => device.signAsInstance(o),
        { params: { keyId: ended[1]!.keyId } },
      ),
    );
    expect(confirmed.status, JSON.stringify(confirmed.json)).toBe(201);
    expect(confirmed.json).toMatchObject({
      state: "expired",
      reason: "expired",
      terminatedAt: expect.any(String),
    });
    expect((await recordsOf(w.vehicleId, all)).keys.get(ended[1]!.keyId)!.state).toBe("terminated");
  }, 180_000);

  it("two concurrent runs revoke each key once", async () => {
    const w = await vehicleWithOwner();
    const ended = await w.ended(4);
    // Both runs list the keys before either revokes one, so they race for every key.
    const list = DynamoDbStore.prototype.listEndedKeys;
    let arrived = 0;
    let release!: () => void;
    const both = new Promise<void>((resolve) => {
      release = resolve;
    });
    vi.spyOn(DynamoDbStore.prototype, "listEndedKeys").mockImplementation(async function (
      this: DynamoDbStore,
      ...args: Parameters<DynamoDbStore["listEndedKeys"]>
    ) {
      const page = await list.apply(this, args);
      if (args[2] === undefined) {
        if (++arrived === 2) release();
        await both;
      }
      return page;
    });
    const { result: reports, events } = await publishedDuring(() => Promise.all([run(), run()]));
    vi.restoreAllMocks();
    expect(reports.map((r) => r.failed)).toEqual([0, 0]);
    expect(reports.every((r) => r.complete)).toBe(true);
    expect(reports[0]!.revoked + reports[1]!.revoked).toBe(4);
    expect(reports[0]!.examined).toBe(4);
    expect(reports[1]!.examined).toBe(4);

    const after = await recordsOf(
      w.vehicleId,
      ended.map((k) => k.keyId),
    );
    expect(after.entries.map((e) => e.keyId).sort()).toEqual(ended.map((k) => k.keyId).sort());
    expect(after.entries.map((e) => e.sequence).sort()).toEqual([1, 2, 3, 4]);
    expect(after.notices).toHaveLength(4);
    expect(new Set(after.notices.map((n) => n.keyId)).size).toBe(4);
    expect(after.friendKeys).toBe(0);
    expect(
      expiredRevocations(events)
        .map((e) => e.keyId)
        .sort(),
    ).toEqual(ended.map((k) => k.keyId).sort());
  }, 180_000);

  it("pages through many keys; a run cut short leaves the rest to the next", async () => {
    const w = await vehicleWithOwner();
    const ended = await w.ended(12);
    const keyIds = ended.map((k) => k.keyId);
    // Stops before its eighth key: a page of five, then two keys of the next.
    const spied = vi.spyOn((await getService()).revocations, "revokeExpired");
    const cut = await run({ pageSize: 5, shouldStop: () => spied.mock.calls.length >= 7 });
    expect(cut).toMatchObject({ examined: 7, revoked: 7, failed: 0, complete: false });
    const partial = await recordsOf(w.vehicleId, keyIds);
    expect(partial.entries).toHaveLength(7);

    const rest = await run({ pageSize: 5 });
    expect(rest).toMatchObject({ failed: 0, complete: true });
    expect(rest.revoked).toBe(5);
    const after = await recordsOf(w.vehicleId, keyIds);
    expect(after.entries.map((e) => e.keyId).sort()).toEqual([...keyIds].sort());
    for (const keyId of keyIds) expect(after.keys.get(keyId)!.state).toBe("revoked");
  }, 240_000);

  it("costs two DynamoDB operations per key (a read, the revocation's transaction) beside the index's Queries", async () => {
    const w = await vehicleWithOwner();
    const count = 6;
    const pageSize = 4;
    await w.ended(count);
    // Warm: the Device OEM root certificate is read once per container, not per key.
    await (await getService()).roots.get("device-oem-root");
    const { result: report, byCommand } = await countDynamoDbOperations(() => run({ pageSize }));
    expect(report).toMatchObject({ revoked: count, failed: 0, complete: true });
    expect(byCommand.BatchGetItemCommand, JSON.stringify(byCommand)).toBe(count);
    expect(byCommand.TransactWriteItemsCommand, JSON.stringify(byCommand)).toBe(count);
    // Each page Queries bucket after bucket until it is full: at most one Query per bucket and page.
    const pages = Math.ceil(count / pageSize) + 1;
    expect(byCommand.QueryCommand).toBeLessThanOrEqual(EXPIRY_BUCKETS + pages);
    expect(Object.keys(byCommand).sort(), JSON.stringify(byCommand)).toEqual([
      "BatchGetItemCommand",
      "QueryCommand",
      "TransactWriteItemsCommand",
    ]);
    const { byCommand: idle } = await countDynamoDbOperations(() => run({ pageSize }));
    // Nothing left: one Query per bucket, nothing else.
    expect(idle).toEqual({ QueryCommand: EXPIRY_BUCKETS });
  }, 180_000);
});
