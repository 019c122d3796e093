// The TIGRESS relay's Lambda (functions/relay.ts) end to end on DynamoDB
// Local, invoked with API Gateway v2 events as in AWS, the relay built from
// the environment as a Lambda cold start builds it: the full flow of
// draft-vinokurov-tigress-http-00 §3.2/§4.3 (create, first read binds, both
// sides update and read, relinquish and rebind, delete), 201 for repeated
// Mailbox-Request-IDs, 401/404/400/413/429 as problem+json, single redemption
// (ten recipients read one invitation in parallel: exactly one wins), a scan
// of every stored item after a flow for anything but random ids, claim
// digests, ciphertext and expiries, and a draft-following client (src/client)
// through the local server, which runs this same handler.
import "../support/quiet-logs.js";
import { randomUUID } from "node:crypto";
import { DynamoDBClient, InternalServerError } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { handler as environmentHandler, makeHandler } from "../../functions/relay.js";
import { DynamoDbRelayStore } from "../../src/adapters/dynamodb/dynamodb-relay-store.js";
import { startLocalServer } from "../../src/adapters/local-server/local-server.js";
import { relayDependenciesFromEnvironment } from "../../src/adapters/relay-assembly.js";
import { RELAY_ROUTES } from "../../src/api/routes/relay-routes.js";
import { ROUTES } from "../../src/api/routes.js";
import { TigressClient } from "../../src/client/tigress-client.js";
import { logger } from "../../src/service/logger.js";
import { claimDigest } from "../../src/service/relay/mailbox-headers.js";
import type { RateLimits } from "../../src/service/relay/rate-limiter.js";
import { TigressRelay } from "../../src/service/relay/relay-service.js";
import {
  DISPLAY,
  newClaim,
  newRequestId,
  PLAINTEXT,
  payloadOfSize,
  plaintextNeedles,
  seal,
  TestClock,
  unseal,
} from "../service/relay/relay-fixtures.js";
import {
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  startTestTable,
  type TestTable,
} from "../support/dynamodb-table.js";

const HOST = "relay.example.test";
const secret = new Uint8Array(32).fill(3);
let table: TestTable;

beforeAll(async () => {
  table = await startTestTable("carkeys-relay-functions");
  Object.assign(process.env, {
    TABLE_NAME: table.tableName,
    AWS_ENDPOINT_URL_DYNAMODB: table.endpoint,
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
  });
  delete process.env.RELAY_LINK_BASE_URL;
});

// One client address per test, so one test's traffic (or its stepped clock) never spends another's bucket.
let addresses = 0;
let testIp = "203.0.113.0";
beforeEach(() => {
  testIp = `203.0.113.${++addresses}`;
});

/** The handler under test: the one built from the environment, or one a test built around its own relay. */
let handler = environmentHandler;
function useRelay(relay: TigressRelay): void {
  handler = makeHandler({ relay });
}
afterEach(() => {
  handler = environmentHandler;
});

afterAll(async () => {
  await table?.stop();
});

// ---- events ---------------------------------------------------------------------------------

interface Call {
  readonly id?: string;
  readonly claim?: string;
  /** Default: a new UUID; `null` sends none. */
  readonly requestId?: string | null;
  readonly attestation?: string;
  readonly body?: unknown;
  /** Sent as is instead of JSON. */
  readonly rawBody?: string;
  readonly base64?: boolean;
  readonly ip?: string;
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
  readonly json: any;
  readonly requestId: string | undefined;
}

function event(routeKey: string, call: Call): APIGatewayProxyEventV2 {
  const [method, template] = routeKey.split(" ") as [string, string];
  const rawPath = template.replace("{id}", call.id ?? "");
  const requestId = call.requestId === undefined ? newRequestId() : call.requestId;
  const text = call.rawBody ?? (call.body === undefined ? undefined : JSON.stringify(call.body));
  const headers: Record<string, string> = {
    host: HOST,
    "x-forwarded-proto": "https",
    ...(text === undefined ? {} : { "content-type": "application/json" }),
    ...(call.claim ? { "mailbox-device-claim": call.claim } : {}),
    ...(requestId ? { "mailbox-request-id": requestId } : {}),
    ...(call.attestation ? { "mailbox-device-attestation": call.attestation } : {}),
  };
  return {
    version: "2.0",
    routeKey,
    rawPath,
    rawQueryString: "",
    headers,
    ...(call.id === undefined ? {} : { pathParameters: { id: call.id } }),
    requestContext: {
      accountId: "123456789012",
      apiId: "relay",
      domainName: HOST,
      domainPrefix: "relay",
      http: {
        method,
        path: rawPath,
        protocol: "HTTP/1.1",
        sourceIp: call.ip ?? testIp,
        userAgent: "vitest",
      },
      requestId: randomUUID(),
      routeKey,
      stage: "$default",
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    ...(text === undefined
      ? { isBase64Encoded: false }
      : call.base64
        ? { body: Buffer.from(text).toString("base64"), isBase64Encoded: true }
        : { body: text, isBase64Encoded: false }),
  };
}

async function send(routeKey: keyof typeof RELAY_ROUTES.routes, call: Call = {}): Promise<Answer> {
  const request = event(routeKey, call);
  const result = (await handler(request, {} as Context)) as APIGatewayProxyStructuredResultV2;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(result.headers ?? {}))
    headers[name.toLowerCase()] = String(value);
  const text = result.body ?? "";
  const isJson = /json/.test(headers["content-type"] ?? "");
  return {
    status: result.statusCode ?? 200,
    headers,
    text,
    json: isJson && text !== "" ? JSON.parse(text) : undefined,
    requestId: request.headers["mailbox-request-id"],
  };
}

const createBody = (extra: Record<string, unknown> = {}) => ({
  payload: seal(secret, PLAINTEXT.invitation),
  displayInformation: { ...DISPLAY },
  ...extra,
});

async function createMailbox(claim = newClaim(), extra: Record<string, unknown> = {}) {
  const answer = await send("POST /v1/m", { claim, body: createBody(extra) });
  expect(answer.status, answer.text).toBe(200);
  return { claim, id: (answer.json.urlLink as string).split("/").at(-1)!, answer };
}

function expectProblem(answer: Answer, status: number): void {
  expect(answer.status, answer.text).toBe(status);
  expect(answer.headers["content-type"]).toBe("application/problem+json");
  expect(answer.json).toMatchObject({ type: expect.stringMatching(/^urn:carkeys:problem:/), status });
  expect(typeof answer.json.title).toBe("string");
  expect(typeof answer.json.detail).toBe("string");
}

// ---- the flow ---------------------------------------------------------------------------------

describe("the TIGRESS flow over the Lambda handler", () => {
  it("creates, binds, relays both ways, relinquishes and rebinds, deletes", async () => {
    const created = await createMailbox();
    const { claim: owner, id } = created;
    expect(created.answer.json).toEqual({
      urlLink: `https://${HOST}/v1/m/${id}`,
      isPushNotificationSupported: false,
      expiration: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    });
    expect(created.answer.headers["mailbox-request-id"]).toBe(created.answer.requestId);
    expect(created.answer.headers["cache-control"]).toBe("no-store");
    RELAY_ROUTES.routes["POST /v1/m"].response.content.schema.parse(created.answer.json);

    const friend = newClaim();
    const first = await send("POST /v1/m/{id}", { id, claim: friend, requestId: null });
    expect(first.status).toBe(200);
    RELAY_ROUTES.routes["POST /v1/m/{id}"].response.content.schema.parse(first.json);
    expect(unseal(secret, first.json.payload)).toEqual(PLAINTEXT.invitation);
    expect(first.json.displayInformation).toEqual(DISPLAY);
    expect(first.json.expiration).toBe(created.answer.json.expiration);

    const friendWrite = await send("PUT /v1/m/{id}", {
      id,
      claim: friend,
      body: { payload: seal(secret, PLAINTEXT.keyCreationRequest) },
    });
    expect(friendWrite.status).toBe(200);
    expect(friendWrite.json).toEqual({ isPushNotificationSupported: false });
    const ownerRead = await send("POST /v1/m/{id}", { id, claim: owner });
    expect(unseal(secret, ownerRead.json.payload)).toEqual(PLAINTEXT.keyCreationRequest);
    expect(
      (
        await send("PUT /v1/m/{id}", {
          id,
          claim: owner,
          body: { payload: seal(secret, PLAINTEXT.keyAttestation) },
        })
      ).status,
    ).toBe(200);
    expect(unseal(secret, (await send("POST /v1/m/{id}", { id, claim: friend })).json.payload)).toEqual(
      PLAINTEXT.keyAttestation,
    );

    const preview = await send("GET /v1/m/{id}", { id, requestId: null });
    expect(preview.status).toBe(200);
    expect(preview.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(preview.headers["content-security-policy"]).toContain("default-src 'none'");
    expect(preview.text).toContain(`<meta property="og:title" content="${DISPLAY.title}">`);
    expect(preview.text).toContain(`<meta property="og:url" content="https://${HOST}/v1/m/${id}">`);

    const stranger = newClaim();
    expectProblem(await send("POST /v1/m/{id}", { id, claim: stranger }), 401);
    expectProblem(
      await send("PUT /v1/m/{id}", { id, claim: stranger, body: { payload: payloadOfSize(40) } }),
      401,
    );
    expectProblem(await send("DELETE /v1/m/{id}", { id, claim: stranger }), 401);
    expectProblem(await send("PATCH /v1/m/{id}", { id, claim: stranger }), 401);

    const relinquished = await send("PATCH /v1/m/{id}", { id, claim: friend });
    expect(relinquished.status).toBe(200);
    expect(relinquished.text).toBe("");
    const newDevice = newClaim();
    expect((await send("POST /v1/m/{id}", { id, claim: newDevice })).status).toBe(200);
    expectProblem(await send("POST /v1/m/{id}", { id, claim: friend }), 401);

    const deleted = await send("DELETE /v1/m/{id}", { id, claim: owner });
    expect(deleted.status).toBe(200);
    expect(deleted.text).toBe("");
    expectProblem(await send("POST /v1/m/{id}", { id, claim: owner }), 404);
    expectProblem(await send("GET /v1/m/{id}", { id }), 404);
    expectProblem(await send("DELETE /v1/m/{id}", { id, claim: owner }), 404);
  });

  it("takes the link's origin from the API's domain, never from the Host or X-Forwarded-* headers", async () => {
    const claim = newClaim();
    const request = event("POST /v1/m", { claim, body: createBody() });
    request.headers.host = "attacker.example";
    request.headers["x-forwarded-proto"] = "http";
    const result = (await handler(request, {} as Context)) as APIGatewayProxyStructuredResultV2;
    expect(result.statusCode, result.body).toBe(200);
    const { urlLink } = JSON.parse(result.body ?? "{}") as { urlLink: string };
    expect(urlLink).toMatch(new RegExp(`^https://${HOST.replaceAll(".", "\\.")}/v1/m/[0-9a-f-]{36}$`));
  });

  it("answers repeated request ids with 201 and does nothing", async () => {
    const owner = newClaim();
    const requestId = newRequestId();
    const first = await send("POST /v1/m", { claim: owner, requestId, body: createBody() });
    const again = await send("POST /v1/m", { claim: owner, requestId, body: createBody() });
    expect(again.status).toBe(201);
    expect(again.json).toEqual(first.json);
    expect(again.headers["mailbox-request-id"]).toBe(requestId);
    const id = (first.json.urlLink as string).split("/").at(-1)!;
    const mailboxes = (await table.scan()).filter(
      (i) => i.type === "mailbox" && i.initiatorClaimDigest === claimDigest(owner),
    );
    expect(mailboxes).toHaveLength(1);

    const update = { payload: seal(secret, PLAINTEXT.keyAttestation) };
    const updateId = newRequestId();
    expect(
      (await send("PUT /v1/m/{id}", { id, claim: owner, requestId: updateId, body: update })).status,
    ).toBe(200);
    const repeat = await send("PUT /v1/m/{id}", {
      id,
      claim: owner,
      requestId: updateId,
      body: { payload: payloadOfSize(100) },
    });
    expect(repeat.status).toBe(201);
    expect((await send("POST /v1/m/{id}", { id, claim: owner })).json.payload).toEqual(update.payload);

    const friend = newClaim();
    await send("POST /v1/m/{id}", { id, claim: friend });
    const patchId = newRequestId();
    expect((await send("PATCH /v1/m/{id}", { id, claim: friend, requestId: patchId })).status).toBe(200);
    expect((await send("PATCH /v1/m/{id}", { id, claim: friend, requestId: patchId })).status).toBe(201);

    const deleteId = newRequestId();
    expect((await send("DELETE /v1/m/{id}", { id, claim: owner, requestId: deleteId })).status).toBe(200);
    expectProblem(await send("DELETE /v1/m/{id}", { id, claim: owner, requestId: deleteId }), 404);
  });
});

// ---- refusals ---------------------------------------------------------------------------------

describe("refusals, as problem+json", () => {
  it("404 for unknown, malformed and expired mailboxes", async () => {
    const claim = newClaim();
    expectProblem(await send("POST /v1/m/{id}", { id: randomUUID(), claim }), 404);
    expectProblem(await send("GET /v1/m/{id}", { id: "../../etc/passwd" }), 404);
    expectProblem(
      await send("PUT /v1/m/{id}", { id: "1", claim, body: { payload: payloadOfSize(40) } }),
      404,
    );

    // A relay whose clock can step past the expiration, on the same table.
    const clock = new TestClock(Date.now());
    useRelay(new TigressRelay({ store: new DynamoDbRelayStore({ tableName: table.tableName }), clock }));
    const expiration = new Date(Date.now() + 60_000).toISOString().replace(/\.\d+Z$/, "Z");
    const { id } = await createMailbox(claim, { mailboxConfiguration: { expiration } });
    expect((await send("POST /v1/m/{id}", { id, claim })).status).toBe(200);
    clock.advance(61_000);
    expectProblem(await send("POST /v1/m/{id}", { id, claim }), 404);
    expectProblem(await send("GET /v1/m/{id}", { id }), 404);
    // Not swept yet: the item is still in the table, and still refused.
    expect((await table.scan()).some((i) => i.pk === `MBX#${id}`)).toBe(true);
  });

  it("400 for malformed JSON, missing fields, bad expiration and a missing request id", async () => {
    const claim = newClaim();
    const malformed = await send("POST /v1/m", { claim, rawBody: '{"payload": ' });
    expectProblem(malformed, 400);
    expect(malformed.json.detail).toBe("the request body is not valid JSON");
    expectProblem(await send("POST /v1/m", { claim }), 400);

    const missing = await send("POST /v1/m", { claim, body: { payload: seal(secret, {}) } });
    expectProblem(missing, 400);
    expect(missing.json.errors).toContainEqual({
      path: "body.displayInformation",
      message: expect.any(String),
    });

    for (const expiration of ["2020-01-01T00:00:00Z", "2030-02-30T00:00:00Z", "next week"]) {
      const bad = await send("POST /v1/m", {
        claim,
        body: createBody({ mailboxConfiguration: { expiration } }),
      });
      expectProblem(bad, 400);
      expect(bad.json.errors[0].path).toBe("body.mailboxConfiguration.expiration");
    }
    expectProblem(await send("POST /v1/m", { claim, requestId: null, body: createBody() }), 400);
    expectProblem(await send("POST /v1/m", { claim, requestId: "not-a-uuid", body: createBody() }), 400);
  });

  it("401 for a missing or malformed claim or attestation", async () => {
    expectProblem(await send("POST /v1/m", { body: createBody() }), 401);
    expectProblem(await send("POST /v1/m", { claim: "me", body: createBody() }), 401);
    expectProblem(
      await send("POST /v1/m", { claim: newClaim(), attestation: "%%%", body: createBody() }),
      401,
    );
    const { id } = await createMailbox();
    expectProblem(await send("POST /v1/m/{id}", { id }), 401);
  });

  it("413 for payload data over 64 KiB and bodies over 128 KiB, plain or base64-encoded", async () => {
    const claim = newClaim();
    const full = await send("POST /v1/m", {
      claim,
      body: { payload: payloadOfSize(64 * 1024), displayInformation: DISPLAY },
      base64: true,
    });
    expect(full.status).toBe(200);
    expectProblem(
      await send("POST /v1/m", {
        claim,
        body: { payload: payloadOfSize(64 * 1024 + 1), displayInformation: DISPLAY },
      }),
      413,
    );
    const huge = JSON.stringify({ ...createBody(), padding: "x".repeat(128 * 1024) });
    expectProblem(await send("POST /v1/m", { claim, rawBody: huge }), 413);
    expectProblem(await send("POST /v1/m", { claim, rawBody: huge, base64: true }), 413);
  });

  it("429 with Retry-After per claim and per address", async () => {
    const limits: RateLimits = {
      perAddress: { burst: 4, intervalMs: 30_000 },
      perClaim: { burst: 2, intervalMs: 5_000 },
    };
    useRelay(
      new TigressRelay({ store: new DynamoDbRelayStore({ tableName: table.tableName }), rateLimits: limits }),
    );
    const claim = newClaim();
    const ip = "198.51.100.23";
    const { id } = await (async () => {
      const answer = await send("POST /v1/m", { claim, body: createBody(), ip });
      return { id: (answer.json.urlLink as string).split("/").at(-1)! };
    })();
    expect((await send("POST /v1/m/{id}", { id, claim, ip })).status).toBe(200);
    const limited = await send("POST /v1/m/{id}", { id, claim, ip });
    expectProblem(limited, 429);
    expect(limited.headers["retry-after"]).toMatch(/^[1-5]$/);
    // The address has one token left: a fresh claim gets it, the next one does not.
    expect((await send("POST /v1/m/{id}", { id, claim: newClaim(), ip })).status).toBe(200);
    const byAddress = await send("POST /v1/m/{id}", { id, claim: newClaim(), ip });
    expectProblem(byAddress, 429);
    expect(Number(byAddress.headers["retry-after"])).toBeGreaterThan(5);
    expectProblem(await send("GET /v1/m/{id}", { id, ip }), 429);
    expect((await send("GET /v1/m/{id}", { id, ip: "198.51.100.24" })).status).toBe(200);
  });
});

// ---- one redemption -------------------------------------------------------------------------------

describe("single redemption", () => {
  it("binds exactly one of ten recipients reading one invitation in parallel", async () => {
    // Counts the binding writes that reach DynamoDB, to show the race is decided by its condition.
    let bindAttempts = 0;
    class CountingStore extends DynamoDbRelayStore {
      override bindRecipient(...args: Parameters<DynamoDbRelayStore["bindRecipient"]>) {
        bindAttempts++;
        return super.bindRecipient(...args);
      }
    }
    useRelay(new TigressRelay({ store: new CountingStore({ tableName: table.tableName }) }));
    const { id } = await createMailbox();
    const claims = Array.from({ length: 10 }, () => newClaim());
    const answers = await Promise.all(claims.map((claim) => send("POST /v1/m/{id}", { id, claim })));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([200, 401, 401, 401, 401, 401, 401, 401, 401, 401]);
    // Usually several binding writes race; on a loaded machine the first may land before the others
    // read the mailbox, and they are refused on read. Either way exactly one wins; the store-level
    // test (dynamodb-relay-store.test.ts) forces ten writes into the race.
    expect(bindAttempts).toBeGreaterThanOrEqual(1);
    const winner = claims[answers.findIndex((a) => a.status === 200)]!;
    const item = (await table.scan()).find((i) => i.pk === `MBX#${id}`)!;
    expect(item.recipientClaimDigest).toBe(claimDigest(winner));
    // The winner keeps reading; the losers stay out.
    expect((await send("POST /v1/m/{id}", { id, claim: winner })).status).toBe(200);
    for (const claim of claims.filter((c) => c !== winner)) {
      expect((await send("POST /v1/m/{id}", { id, claim })).status).toBe(401);
    }
  });
});

// ---- housekeeping --------------------------------------------------------------------------------

describe("a delete whose housekeeping write fails", () => {
  it("answers 200 (the mailbox is gone), logs the failure, and a second delete answers 404", async () => {
    // DynamoDB Local cannot be made to fail one write on demand, so the SDK client refuses exactly the
    // creation-record delete (the housekeeping write) with a service error, before it is sent.
    const client = new DynamoDBClient({
      endpoint: table.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    let refused = 0;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { Key?: { pk?: { S?: string } } };
        if (context.commandName === "DeleteItemCommand" && input.Key?.pk?.S?.startsWith("MBXCREATE#")) {
          refused++;
          throw new InternalServerError({ message: "injected", $metadata: {} });
        }
        return next(args);
      },
      { step: "build", name: "refuseHousekeeping" },
    );
    const documentClient = DynamoDBDocumentClient.from(client);
    const warn = vi.spyOn(logger, "warn");
    try {
      useRelay(
        new TigressRelay({
          store: new DynamoDbRelayStore({ tableName: table.tableName, client: documentClient }),
        }),
      );
      const { claim, id } = await createMailbox();
      const deleted = await send("DELETE /v1/m/{id}", { id, claim });
      expect(deleted.status, deleted.text).toBe(200);
      expect(refused).toBe(1);
      expect(warn).toHaveBeenCalledWith(
        expect.stringMatching(/housekeeping failed/),
        expect.objectContaining({ mailboxId: id, error: "InternalServerError" }),
      );
      const items = await table.scan();
      expect(items.some((i) => i.pk === `MBX#${id}`)).toBe(false);
      // The creation record stays for its TTL; the mailbox stays gone.
      expect(items.some((i) => i.pk === `MBXCREATE#${claimDigest(claim)}`)).toBe(true);
      expectProblem(await send("DELETE /v1/m/{id}", { id, claim }), 404);
      expectProblem(await send("POST /v1/m/{id}", { id, claim }), 404);
    } finally {
      warn.mockRestore();
      client.destroy();
    }
  });
});

// ---- privacy ------------------------------------------------------------------------------------

const MAILBOX_ATTRIBUTES = new Set([
  "pk",
  "sk",
  "type",
  "expiresAt",
  "expiration",
  "payload",
  "displayInformation",
  "recipientRights",
  "initiatorClaimDigest",
  "initiatorRequestId",
  "initiatorAttestation",
  "recipientClaimDigest",
  "recipientRequestId",
  "recipientAttestation",
  "relinquishedClaimDigest",
  "relinquishedRequestId",
]);
const HEX64 = /^[0-9a-f]{64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("what the relay stores (no plaintext, no names, no link beyond random ids)", () => {
  it("holds only random ids, claim digests, ciphertext, rights, opaque attestations and expiries", async () => {
    const owner = newClaim();
    const friend = newClaim();
    const ownerIp = "192.0.2.44";
    const friendIp = "2001:db8:feed:1::99";
    const attestation = Buffer.from("opaque-oem-attestation").toString("base64");
    const created = await send("POST /v1/m", {
      claim: owner,
      ip: ownerIp,
      attestation,
      body: createBody({
        notificationToken: { type: "com.apple.apns", tokenData: "PUSH-TOKEN-OF-ALICE" },
        mailboxConfiguration: { accessRights: "RWD" },
        sender: "Alice Owner-Example",
      }),
    });
    const id = (created.json.urlLink as string).split("/").at(-1)!;
    await send("POST /v1/m/{id}", { id, claim: friend, ip: friendIp });
    await send("PUT /v1/m/{id}", {
      id,
      claim: friend,
      ip: friendIp,
      body: { payload: seal(secret, PLAINTEXT.keyCreationRequest) },
    });
    await send("POST /v1/m/{id}", { id, claim: owner, ip: ownerIp });
    const final = seal(secret, PLAINTEXT.keyAttestation);
    await send("PUT /v1/m/{id}", { id, claim: owner, ip: ownerIp, body: { payload: final } });
    await send("POST /v1/m/{id}", { id, claim: friend, ip: friendIp });

    const items = await table.scan();
    // Ciphertext is random base64, which now and then spells a short needle ("Bob") by chance: the
    // needles are looked for everywhere but in payload data, which is checked below to be base64.
    const text = JSON.stringify(items, (key, value) => (key === "data" ? "<ciphertext>" : value));
    for (const needle of [...plaintextNeedles(), owner, friend, ownerIp, "2001:db8", "PUSH-TOKEN", "Alice"]) {
      expect(text, `the table holds ${needle}`).not.toContain(needle);
    }
    for (const item of items) {
      const pk = String(item.pk);
      if (pk.startsWith("MBX#")) {
        for (const name of Object.keys(item)) expect(MAILBOX_ATTRIBUTES.has(name), name).toBe(true);
        expect(pk.slice(4)).toMatch(UUID);
        for (const name of ["initiatorClaimDigest", "recipientClaimDigest", "relinquishedClaimDigest"]) {
          if (item[name] !== undefined) expect(item[name]).toMatch(HEX64);
        }
        for (const name of ["initiatorRequestId", "recipientRequestId", "relinquishedRequestId"]) {
          if (item[name] !== undefined) expect(item[name]).toMatch(UUID);
        }
        expect(Object.keys(item.payload as object).sort()).toEqual(["data", "type"]);
        expect((item.payload as { data: string }).data).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
        expect(item.displayInformation).toEqual(DISPLAY);
        expect(typeof item.expiresAt).toBe("number");
      } else if (pk.startsWith("MBXCREATE#")) {
        expect(pk.slice(10)).toMatch(HEX64);
        expect(Object.keys(item).sort()).toEqual([
          "expiration",
          "expiresAt",
          "mailboxId",
          "pk",
          "requestId",
          "sk",
          "type",
        ]);
        // The mailbox's own expiration, which a repeated create answers with; not when the claim was used.
        expect(item.expiration).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        expect(item.mailboxId).toMatch(UUID);
        expect(item.requestId).toMatch(UUID);
      } else if (pk.startsWith("MBXRATE#")) {
        expect(pk).toMatch(/^MBXRATE#(?:addr:[0-9a-f]{32}|claim:[0-9a-f]{64})$/);
        expect(Object.keys(item).sort()).toEqual(["expiresAt", "pk", "sk", "tat", "type"]);
      } else {
        throw new Error(`an item the relay did not write: ${pk}`);
      }
    }
    const mailbox = items.find((i) => i.pk === `MBX#${id}`)!;
    // Exactly the ciphertext the owner sent, which only the Secret opens.
    expect(mailbox.payload).toEqual(final);
    expect(unseal(secret, mailbox.payload as typeof final)).toEqual(PLAINTEXT.keyAttestation);
    expect(mailbox.initiatorAttestation).toBe(attestation);
    // Nothing ties the two parties together but this mailbox's own claim digests.
    expect(mailbox.initiatorClaimDigest).toBe(claimDigest(owner));
    expect(mailbox.recipientClaimDigest).toBe(claimDigest(friend));
  });
});

// ---- a client written from the draft, through the local server ------------------------------------

describe("a draft-following client (src/client/tigress-client.ts) through the local server", () => {
  it("runs the whole flow", async () => {
    // As the local stack (local-deployment.ts) does: links point at the server's own URL, read at the first request.
    const env: Record<string, string | undefined> = { ...process.env };
    const server = await startLocalServer({
      port: 0,
      host: "127.0.0.1",
      oemCredential: "unused-in-this-test-0123456789",
      routes: ROUTES.filter((r) => r.functionName === "relay"),
      handlers: { relay: makeHandler(relayDependenciesFromEnvironment(env)) },
    });
    env.RELAY_LINK_BASE_URL = server.url;
    try {
      const client = TigressClient.forService(server.url);
      const owner = newClaim();
      const expiration = new Date(Date.now() + 48 * 3600_000).toISOString().replace(/\.\d+Z$/, "Z");
      const created = await client.createMailbox(owner, {
        payload: seal(secret, PLAINTEXT.invitation),
        displayInformation: { ...DISPLAY },
        mailboxConfiguration: { accessRights: "RWD", expiration },
      });
      expect(created.urlLink).toBe(`${server.url}/v1/m/${created.mailboxId}`);
      expect(client.serves(created.urlLink)).toBe(true);
      const friend = newClaim();
      const read = await client.readSecureContent(created.mailboxId, friend);
      expect(unseal(secret, read.payload as ReturnType<typeof seal>)).toEqual(PLAINTEXT.invitation);
      expect(read.expiration).toBe(expiration);
      const requestId = newRequestId();
      const answer = { payload: seal(secret, PLAINTEXT.keyCreationRequest) };
      expect(await client.updateMailbox(created.mailboxId, friend, answer, { requestId })).toEqual({
        isPushNotificationSupported: false,
        duplicate: false,
      });
      expect((await client.updateMailbox(created.mailboxId, friend, answer, { requestId })).duplicate).toBe(
        true,
      );
      expect((await client.readSecureContent(created.mailboxId, owner)).payload).toEqual(answer.payload);
      expect(await client.readDisplayInformation(created.mailboxId)).toContain("og:title");
      await expect(client.readSecureContent(created.mailboxId, newClaim())).rejects.toMatchObject({
        status: 401,
      });
      expect(await client.relinquish(created.mailboxId, friend)).toEqual({ duplicate: false });
      await client.deleteMailbox(created.mailboxId, owner);
      await expect(client.readSecureContent(created.mailboxId, owner)).rejects.toMatchObject({ status: 404 });
    } finally {
      await server.close();
    }
  });
});
