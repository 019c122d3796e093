// Proves the service keeps no sharing graph: after the whole story against the local server (pair, share through the relay, register friends, revoke, lost mode, migration: `carkey demo`'s steps), no stored DynamoDB item and no OEM response links two devices — no SE id outside that SE's own records and lost-mode notices, no instance CA or endpoint certificate on key items, no attestation or revocation statement, no owner key id in a friend's item, no terminate-key notice left once its termination is confirmed.
import "../support/quiet-logs.js";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type LocalDeployment,
  startLocalDeployment,
} from "../../src/adapters/local-server/local-deployment.js";
import { runDemoStory } from "../../src/cli/demo/demo-story.js";
import { otherDeviceMakerIn } from "../../src/cli/demo/other-device-maker.js";
import { factoryAttesterFromFile } from "../../src/emulator/secure-element/factory-attester-file.js";

type Item = Record<string, unknown>;

/** The statement usages (docs/protocol.md §5) of key attestations and owner revocations, as stored hex. */
const KATT = "93044b415454";
const RVKE = "930452564b45";

const pemBody = (pem: string) => pem.replace(/-----[A-Z ]+-----|\s/g, "");

describe("the table and the OEM's answers after the whole story", () => {
  let stack: LocalDeployment;
  let dataDir: string;
  let items: Item[];
  const responses: { route: string; body: string }[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "carkeys-privacy-"));
    stack = await startLocalDeployment({ port: 0, inMemory: true, dataDir });
    const { attester } = factoryAttesterFromFile(join(stack.keysDir, "se-manufacturer.json"));
    const realFetch = globalThis.fetch;
    globalThis.fetch = (async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
      const answer = await realFetch(input, init);
      const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
      responses.push({
        route: `${init?.method ?? "GET"} ${url.pathname}`,
        body: await answer.clone().text(),
      });
      return answer;
    }) as typeof fetch;
    try {
      const ok = await runDemoStory(
        {
          url: stack.url,
          oemToken: stack.oemToken,
          manufacturer: attester,
          otherDeviceMaker: (await otherDeviceMakerIn(stack.keysDir))!,
        },
        () => {},
      );
      expect(ok).toBe(true);
    } finally {
      globalThis.fetch = realFetch;
    }
    const client = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: stack.dynamoDb.endpoint,
        region: "local",
        credentials: { accessKeyId: "x", secretAccessKey: "x" },
      }),
    );
    items = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await client.send(
        new ScanCommand({ TableName: stack.tableName, ...(start ? { ExclusiveStartKey: start } : {}) }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    client.destroy();
  }, 300_000);

  afterAll(async () => {
    await stack?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const secureElements = () => items.filter((i) => i.type === "secure-element");
  const keys = () => items.filter((i) => i.type === "key");

  it("ran the story it scans: several devices, owner and friend keys, a revocation, lost mode, a migration", () => {
    expect(secureElements().length).toBeGreaterThanOrEqual(3);
    expect(keys().filter((k) => k.role === "friend").length).toBeGreaterThanOrEqual(2);
    expect(keys().filter((k) => k.role === "owner").length).toBeGreaterThanOrEqual(2);
    expect(keys().some((k) => k.state === "terminated")).toBe(true);
    expect(items.some((i) => i.type === "vehicle-notice")).toBe(true);
    expect(keys().some((k) => (k.revocation as Item | undefined)?.reason === "migrated")).toBe(true);
  });

  it("names an SE only in its own records, its own notices and the lost-mode notices its car needs", () => {
    for (const se of secureElements()) {
      const seId = String(se.seId);
      const mentioning = items.filter((i) => JSON.stringify(i).toLowerCase().includes(seId));
      for (const item of mentioning) {
        const own = item.pk === `SE#${seId}`;
        const lostModeNotice = item.type === "vehicle-notice" && item.seId === seId;
        const instanceNonce = String(item.pk).startsWith(`NONCE#instance:${seId}#`);
        expect(own || lostModeNotice || instanceNonce, JSON.stringify(item)).toBe(true);
      }
    }
  });

  it("keeps no certificate of a device and no signed statement of an owner on any key item", () => {
    const instanceCas = secureElements().map((se) => pemBody(String(se.certificatePem)));
    for (const item of items.filter((i) => i.type !== "secure-element")) {
      const text = JSON.stringify(item);
      for (const ca of instanceCas) expect(text.includes(ca.slice(0, 120)), text).toBe(false);
    }
    for (const key of keys()) {
      const text = JSON.stringify(key).toLowerCase();
      expect(text).not.toContain("begin certificate");
      expect(text).not.toContain(KATT);
      expect(text).not.toContain(RVKE);
    }
    for (const item of items) expect(JSON.stringify(item).toLowerCase()).not.toContain(KATT);
  });

  it("keeps no owner key id in a friend key's item, and files keys under HMAC references only", () => {
    const ownerKeyIds = keys()
      .filter((k) => k.role === "owner")
      .map((k) => String(k.keyId));
    for (const friend of keys().filter((k) => k.role === "friend")) {
      const text = JSON.stringify(friend);
      for (const ownerKeyId of ownerKeyIds) expect(text.includes(ownerKeyId), text).toBe(false);
      expect(friend).not.toHaveProperty("seId");
      expect(String(friend.deviceRef)).toMatch(/^[0-9a-f]{64}$/);
    }
    const index = items.filter((i) => i.type === "device-key");
    expect(index.length).toBe(keys().length);
    for (const entry of index) expect(String(entry.pk)).toMatch(/^DEVICE#[0-9a-f]{64}$/);
    // Two keys on one device are filed under one reference, but their seals differ.
    const seals = keys().map((k) => k.deviceSeal);
    expect(new Set(seals).size).toBe(seals.length);
  });

  it("leaves no terminate-key notice behind once its termination is confirmed", () => {
    const terminated = new Set(
      keys()
        .filter((k) => k.state === "terminated")
        .map((k) => String(k.keyId)),
    );
    const leftover = items.filter(
      (i) => i.type === "device-notice" && i.action === "terminate-key" && terminated.has(String(i.keyId)),
    );
    expect(leftover).toEqual([]);
  });

  it("answers the OEM with no SE id, no certificate and no attesting key for any key", async () => {
    const seIds = secureElements().map((se) => String(se.seId));
    const vehicleIds = items.filter((i) => i.type === "vehicle").map((v) => String(v.vehicleId));
    const headers = { authorization: `Bearer ${stack.oemToken}` };
    const answers: string[] = [];
    for (const vehicleId of vehicleIds) {
      const listed = await fetch(`${stack.url}/v1/vehicles/${vehicleId}/keys`, { headers });
      expect(listed.status).toBe(200);
      answers.push(await listed.text());
    }
    for (const key of keys()) {
      const one = await fetch(`${stack.url}/v1/keys/${key.keyId}`, { headers });
      expect(one.status).toBe(200);
      answers.push(await one.text());
    }
    const keyAnswers = responses.filter((r) => /\/v1\/(keys|vehicles\/[^/]+\/keys)/.test(r.route));
    for (const body of [...answers, ...keyAnswers.map((r) => r.body)]) {
      expect(body).not.toContain("ownerKeyId");
      expect(body).not.toContain("BEGIN CERTIFICATE");
      expect(body.toLowerCase()).not.toContain(KATT);
      for (const seId of seIds) expect(body.toLowerCase()).not.toContain(seId);
    }
  });
});
