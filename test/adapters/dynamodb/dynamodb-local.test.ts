// The DynamoDB Local launcher: it starts a real server that enforces conditional
// writes (the service relies on ConditionalCheckFailedException for
// idempotency), keeps data in -dbPath across restarts, frees its port on stop,
// and says in one line what to install when Java is missing.
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DynamoDbLocal, DynamoDbLocalError, startDynamoDbLocal } from "../../support/dynamodb-local.js";

function clientFor(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: "eu-west-2",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

async function createTable(client: DynamoDBClient, name: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
      KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
      BillingMode: "PAY_PER_REQUEST",
    }),
  );
}

describe("startDynamoDbLocal in memory", () => {
  let server: DynamoDbLocal;
  let client: DynamoDBClient;

  beforeAll(async () => {
    server = await startDynamoDbLocal();
    client = clientFor(server.endpoint);
  });

  afterAll(async () => {
    client?.destroy();
    await server?.stop();
  });

  it("answers on a loopback endpoint", () => {
    expect(server.endpoint).toBe(`http://127.0.0.1:${server.port}`);
  });

  it("enforces a conditional put: the first succeeds, the second fails", async () => {
    await createTable(client, "conditional-test");
    const put = () =>
      client.send(
        new PutItemCommand({
          TableName: "conditional-test",
          Item: { pk: { S: "key-1" }, state: { S: "active" } },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
    await put();
    await expect(put()).rejects.toBeInstanceOf(ConditionalCheckFailedException);
  });

  // DynamoDB Local 1.23+ accepts only alphanumeric access key ids.
  it("shares one database whatever the client's credentials and region (-sharedDb)", async () => {
    const other = new DynamoDBClient({
      endpoint: server.endpoint,
      region: "us-west-1",
      credentials: { accessKeyId: "someoneelse", secretAccessKey: "other" },
    });
    const { TableNames } = await other.send(new ListTablesCommand({}));
    other.destroy();
    expect(TableNames).toContain("conditional-test");
  });

  it("frees its port on stop", async () => {
    const { port } = server;
    await server.stop();
    expect(await canListen(port)).toBe(true);
    // stop() is idempotent, so afterAll may call it again.
    await server.stop();
  });
});

describe("startDynamoDbLocal with a data directory", () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "carkeys-ddb-"));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it("keeps tables across a restart", async () => {
    const first = await startDynamoDbLocal({ dataDir });
    try {
      const client = clientFor(first.endpoint);
      await createTable(client, "persisted");
      client.destroy();
    } finally {
      await first.stop();
    }
    const second = await startDynamoDbLocal({ dataDir });
    try {
      const client = clientFor(second.endpoint);
      const { TableNames } = await client.send(new ListTablesCommand({}));
      client.destroy();
      expect(TableNames).toEqual(["persisted"]);
    } finally {
      await second.stop();
    }
    // Two JVM starts on disk: about 8 s idle, several times that on a loaded 2-core machine.
  }, 180_000);
});

describe("startDynamoDbLocal refusals", () => {
  it("fails with one line saying to install Java 17", async () => {
    const saved = { PATH: process.env.PATH, JAVA_HOME: process.env.JAVA_HOME };
    process.env.PATH = "/nonexistent";
    delete process.env.JAVA_HOME;
    try {
      const error = await startDynamoDbLocal().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(DynamoDbLocalError);
      expect((error as Error).message).toMatch(/Java 17.*openjdk-17-jre-headless/);
      expect((error as Error).message).not.toContain("\n");
    } finally {
      process.env.PATH = saved.PATH;
      if (saved.JAVA_HOME !== undefined) process.env.JAVA_HOME = saved.JAVA_HOME;
    }
  });

  it("refuses a port something else listens on, before starting a JVM", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const { port } = blocker.address() as { port: number };
    try {
      await expect(startDynamoDbLocal({ port })).rejects.toThrow(`port ${port} is already in use`);
    } finally {
      blocker.close();
    }
  });

  it("refuses an impossible port", async () => {
    await expect(startDynamoDbLocal({ port: 70000 })).rejects.toThrow(DynamoDbLocalError);
  });
});
