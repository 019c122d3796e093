// The local server's Lambda Invoke API path (lambda-invocations.ts) over
// HTTP, with handlers of the test's own: the token is checked before the
// name (without it an unknown name is a 403, not a 404), a function is found
// by its name or its ARN in the server's account, only RequestResponse runs,
// a body that is not JSON is refused before the function runs, the function
// gets its own deadline in its context, and what it throws is its answer
// with X-Amz-Function-Error. Nothing of this exists for a server given no
// invocable functions: the path is then an ordinary 404.
import "../../support/quiet-logs.js";
import type { Context } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalServer, startLocalServer } from "../../../src/adapters/local-server/local-server.js";

const TOKEN = "invocations-test-token-0123456789";
let server: LocalServer;
let plain: LocalServer;
const events: unknown[] = [];
let remaining: number | undefined;

beforeAll(async () => {
  server = await startLocalServer({
    port: 0,
    oemCredential: TOKEN,
    routes: [],
    handlers: {},
    accountId: "123456789012",
    invocableFunctions: {
      sweep: {
        handler: async (event: unknown, context: Context) => {
          events.push(event);
          remaining = context.getRemainingTimeInMillis();
          return { ok: true };
        },
        timeoutMs: 300_000,
      },
      broken: {
        handler: async () => {
          throw new RangeError("out of range");
        },
        timeoutMs: 10_000,
      },
    },
  });
  plain = await startLocalServer({ port: 0, oemCredential: TOKEN, routes: [], handlers: {} });
});

afterAll(async () => {
  await server?.close();
  await plain?.close();
});

async function invoke(
  name: string,
  options: { token?: string | null; body?: string; headers?: Record<string, string>; base?: string } = {},
) {
  const token = options.token === undefined ? TOKEN : options.token;
  const response = await fetch(
    `${options.base ?? server.url}/2015-03-31/functions/${encodeURIComponent(name)}/invocations`,
    {
      method: "POST",
      headers: {
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        ...options.headers,
      },
      body: options.body ?? "{}",
    },
  );
  return {
    status: response.status,
    errorType: response.headers.get("x-amzn-errortype"),
    functionError: response.headers.get("x-amz-function-error"),
    json: (await response.json()) as Record<string, unknown>,
  };
}

describe("the local server's Invoke API path", () => {
  it("runs a function by name or ARN with its event and its own deadline", async () => {
    events.length = 0;
    const byName = await invoke("sweep", { body: '{"source":"test"}' });
    expect(byName).toMatchObject({ status: 200, functionError: null, json: { ok: true } });
    expect(events).toEqual([{ source: "test" }]);
    expect(remaining).toBeGreaterThan(290_000);
    const byArn = await invoke("arn:aws:lambda:eu-west-2:123456789012:function:sweep", { body: "" });
    expect(byArn).toMatchObject({ status: 200, json: { ok: true } });
    expect(events[1]).toEqual({});
  });

  it("answers a function's error as Lambda does", async () => {
    expect(await invoke("broken")).toEqual({
      status: 200,
      errorType: null,
      functionError: "Unhandled",
      json: { errorType: "RangeError", errorMessage: "out of range" },
    });
  });

  it("checks the token before the name, and refuses what Lambda would", async () => {
    expect(await invoke("no-such", { token: null })).toMatchObject({
      status: 403,
      errorType: "MissingAuthenticationTokenException",
    });
    expect(await invoke("sweep", { token: "wrong-token-0123456789" })).toMatchObject({
      status: 403,
      errorType: "UnrecognizedClientException",
    });
    const unknown = await invoke("no-such");
    expect(unknown).toMatchObject({ status: 404, errorType: "ResourceNotFoundException" });
    expect(unknown.json.message).toMatch(
      /^Function not found: arn:aws:lambda:[a-z0-9-]+:123456789012:function:no-such/,
    );
    // Another account's function of the same name is not this one.
    expect(await invoke("arn:aws:lambda:eu-west-2:999999999999:function:sweep")).toMatchObject({
      status: 404,
    });
    events.length = 0;
    expect(await invoke("sweep", { headers: { "x-amz-invocation-type": "Event" } })).toMatchObject({
      status: 400,
      errorType: "InvalidParameterValueException",
    });
    expect(await invoke("sweep", { body: "not json" })).toMatchObject({
      status: 400,
      errorType: "InvalidRequestContentException",
    });
    expect(events).toEqual([]);
  });

  it("does not exist on a server without invocable functions", async () => {
    const answer = await invoke("sweep", { base: plain.url });
    expect(answer.status).toBe(404);
    expect(answer.errorType).toBeNull();
  });
});
