// A write whose first attempt DynamoDB applied but whose answer never came
// back: the SDK retries, and the retry finds the condition false because of
// the first attempt itself (a put-if-absent finds its own item). That must be
// answered as the success it was, never as a conflict or a replay. The
// database is DynamoDB Local; between it and the store sits a loopback proxy
// that forwards every request and, for the first one of a chosen operation,
// waits for DynamoDB Local's answer and then drops the connection instead of
// passing it on (what a lost response looks like to the SDK: a reset socket).
import { createServer, request as httpRequest, type IncomingMessage, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient } from "../../../src/adapters/dynamodb/dynamodb-client.js";
import { DynamoDbStore } from "../../../src/adapters/dynamodb/dynamodb-store.js";
import { ReplayError } from "../../../src/service/errors.js";
import type { NonceClaim, SecureElementRecord } from "../../../src/service/ports.js";
import {
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  startTestTable,
  type TestTable,
} from "../../support/dynamodb-table.js";

let table: TestTable;
let proxy: Server;
let proxyEndpoint: string;
/** The DynamoDB operation (X-Amz-Target suffix) whose next answer is dropped, and how many were dropped. */
let dropNext: string | undefined;
let dropped = 0;
const seen: string[] = [];

beforeAll(async () => {
  table = await startTestTable("carkeys-unanswered");
  const upstream = new URL(table.endpoint);
  proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const operation = String(req.headers["x-amz-target"] ?? "").split(".")[1] ?? "";
      seen.push(operation);
      const forward = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer: IncomingMessage) => {
          const body: Buffer[] = [];
          answer.on("data", (chunk: Buffer) => body.push(chunk));
          answer.on("end", () => {
            if (dropNext === operation) {
              // Applied by DynamoDB Local; the caller never hears of it.
              dropNext = undefined;
              dropped++;
              req.socket.destroy();
              return;
            }
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            res.end(Buffer.concat(body));
          });
        },
      );
      forward.on("error", () => req.socket.destroy());
      forward.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const address = proxy.address();
  proxyEndpoint = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
}, 120_000);

afterAll(async () => {
  await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
  await table?.stop();
});

function storeBehindProxy() {
  const client = createDocumentClient({
    endpoint: proxyEndpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  return { client, store: new DynamoDbStore({ tableName: table.tableName, client }) };
}

let counter = 0;
const nonce = (): NonceClaim => ({
  signer: "instance:unanswered",
  nonce: (++counter).toString(16).padStart(32, "0"),
  expiresAt: new Date(Date.now() + 600_000),
});

describe("a write whose first attempt was applied but not answered", () => {
  it("claiming a nonce (a conditional PutItem) answers success; claiming it again is a replay", async () => {
    const { client, store } = storeBehindProxy();
    try {
      const claim = nonce();
      const before = seen.length;
      dropNext = "PutItem";
      await store.claimNonce(claim);
      expect(dropped).toBe(1);
      // The SDK did try again: the first attempt's answer was lost, the second found the item.
      expect(seen.slice(before).filter((op) => op === "PutItem").length).toBeGreaterThanOrEqual(2);
      const items = await table.scan();
      expect(items.filter((item) => item.pk === `NONCE#${claim.signer}#${claim.nonce}`)).toHaveLength(1);
      // A second request with the same nonce is still a replay: only this call's own item counts as success.
      await expect(store.claimNonce(claim)).rejects.toBeInstanceOf(ReplayError);
    } finally {
      client.destroy();
    }
  }, 60_000);

  it("enrolling a secure element (a TransactWriteItems) answers success, written once", async () => {
    const { client, store } = storeBehindProxy();
    try {
      const seId = "ab".repeat(16);
      const record: SecureElementRecord = {
        seId,
        instanceCaPublicKey: `04${"cd".repeat(64)}`,
        certificatePem: "pem",
        serialNumber: "01",
        factoryAttestedAt: new Date().toISOString(),
        enrolledAt: new Date().toISOString(),
      };
      const claim = nonce();
      const droppedBefore = dropped;
      dropNext = "TransactWriteItems";
      await store.createSecureElement(record, claim);
      expect(dropped).toBe(droppedBefore + 1);
      expect(await store.getSecureElement(seId)).toEqual(record);
      // Its nonce is spent: the same signed request cannot enroll anything again.
      await expect(store.claimNonce(claim)).rejects.toBeInstanceOf(ReplayError);
    } finally {
      client.destroy();
    }
  }, 60_000);
});
