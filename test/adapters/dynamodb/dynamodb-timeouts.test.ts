// A DynamoDB that never answers. The stand-in is a TCP server on loopback
// that accepts connections, reads the requests and answers nothing: a mock,
// used here only because no local DynamoDB (DynamoDB Local, LocalStack) can be
// made to hang on demand. Through the vehicle-enrollment Lambda (a write
// route), the invocation's deadline must cut the wait short and the answer be
// 503 "unavailable" with Retry-After, saying a repeat is safe, not a 500 after
// 30 s. Without a deadline, the SDK's own timeouts end the call, and every
// retry of a transaction carries the same ClientRequestToken, so a first
// attempt that did commit is not applied twice.
import "../../support/quiet-logs.js";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Context } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handler as vehicleEnrollment } from "../../../functions/vehicle-enrollment.js";
import { createDocumentClient } from "../../../src/adapters/dynamodb/dynamodb-client.js";
import { DynamoDbRelayStore } from "../../../src/adapters/dynamodb/dynamodb-relay-store.js";
import { toHex } from "../../../src/protocol/bytes.js";
import { generateKeyPair } from "../../../src/protocol/p256.js";
import { StorageUnavailableError } from "../../../src/service/errors.js";
import { DISPLAY, payloadOfSize } from "../../service/relay/relay-fixtures.js";
import { vehicleEnrollmentEvent } from "../../support/api-requests.js";
import { LOCAL_CREDENTIALS, LOCAL_REGION } from "../../support/dynamodb-table.js";
import { testVehicle } from "../../support/test-device.js";

let server: Server;
let endpoint: string;
let keysDir: string;
const sockets = new Set<Socket>();
/** What each connection sent, as text. */
const received: string[] = [];

beforeAll(async () => {
  server = createServer((socket) => {
    sockets.add(socket);
    const index = received.push("") - 1;
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      received[index] += chunk;
    });
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  endpoint = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  keysDir = await mkdtemp(join(tmpdir(), "carkeys-hang-"));
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  if (keysDir) await rm(keysDir, { recursive: true, force: true });
});

describe("a DynamoDB that never answers", () => {
  it("a write route answers 503 'try again' with Retry-After before the Lambda's deadline", async () => {
    Object.assign(process.env, {
      TABLE_NAME: "carkeys-hanging",
      AWS_ENDPOINT_URL_DYNAMODB: endpoint,
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      DEVICE_OEM_SIGNER_URI: `softkms:${keysDir}#device-oem-root`,
      VEHICLE_OEM_SIGNER_URI: `softkms:${keysDir}#vehicle-oem-root`,
      SE_MANUFACTURER_PUBLIC_KEY: toHex(generateKeyPair().publicKey),
      DEVICE_OEM_NAME: "Test Device OEM",
      VEHICLE_OEM_NAME: "Test Vehicle OEM",
    });
    const connectionsBefore = received.length;
    // A Lambda with 2.5 s left: the deadline fires 1 s before, while the database still says nothing.
    const context = { getRemainingTimeInMillis: () => 2_500 } as unknown as Context;
    const result = (await vehicleEnrollment(vehicleEnrollmentEvent(testVehicle()), context)) as {
      statusCode: number;
      headers: Record<string, string>;
      body: string;
    };
    expect(result.statusCode, result.body).toBe(503);
    expect(result.headers["content-type"]).toBe("application/problem+json");
    expect(result.headers["retry-after"]).toBe("1");
    const problem = JSON.parse(result.body) as { type: string; title: string; detail: string };
    expect(problem.type).toBe("urn:carkeys:problem:unavailable");
    expect(problem.detail).toMatch(/may have been applied: repeat it, a repeat is safe/);
    // The request did reach the stand-in: the wait was on the database, not on anything else.
    expect(received.length).toBeGreaterThan(connectionsBefore);
    expect(received.slice(connectionsBefore).join("")).toMatch(/X-Amz-Target: DynamoDB_20120810\.\w+/i);
  });

  it("without a deadline the SDK's timeouts end the call, and each retry of a transaction repeats its token", async () => {
    const client = createDocumentClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    try {
      const store = new DynamoDbRelayStore({ tableName: "carkeys-hanging", client });
      const connectionsBefore = received.length;
      const write = store.createMailbox(
        {
          mailboxId: "6f1b7c1e-9a57-4bb0-8c4e-2f4c6c1f0b11",
          initiator: { claimDigest: "ab".repeat(32), lastRequestId: "0c3e3a4e-5a55-4b5e-9f59-6b8b2f6a2c11" },
          payload: payloadOfSize(40),
          displayInformation: { ...DISPLAY },
          recipientRights: "RWD",
          expiration: "2030-01-01T01:00:00Z",
        },
        "0c3e3a4e-5a55-4b5e-9f59-6b8b2f6a2c11",
        new Date("2030-01-01T00:00:00Z"),
      );
      await expect(write).rejects.toBeInstanceOf(StorageUnavailableError);
      const tokens = received
        .slice(connectionsBefore)
        .map((text) => /"ClientRequestToken":"([^"]+)"/.exec(text)?.[1])
        .filter((token) => token !== undefined);
      // The SDK tried more than once (standard retries) and every attempt named the same transaction.
      expect(tokens.length).toBeGreaterThan(1);
      expect(new Set(tokens).size).toBe(1);
    } finally {
      client.destroy();
    }
  }, 60_000);
});
