// The local server's own behaviour, over real HTTP on loopback: what reaches
// a handler (the event), what the caller gets back, and the answers the server
// gives before any handler runs (401, 404, 405, 413) or instead of a failed
// one (500, 503). The handlers here are tiny probes that echo their event, so
// each test sees exactly what API Gateway would have delivered; the real
// handlers run in local-deployment.test.ts.
import { request as httpRequest } from "node:http";
import type { APIGatewayProxyEventV2WithIAMAuthorizer } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalServerError } from "../../../src/adapters/local-server/errors.js";
import {
  type HandlerMap,
  type LambdaHandler,
  type LocalServer,
  loadHandlers,
  startLocalServer,
} from "../../../src/adapters/local-server/local-server.js";
import { functionNames, ROUTES, type RouteDefinition } from "../../../src/api/routes.js";

const TOKEN = "local-test-token-0123456789abcdef";
const LIMIT = 1024;

const echo: LambdaHandler = async (event) => ({
  statusCode: 200,
  headers: { "content-type": "application/json" },
  body: JSON.stringify(event),
});

const extraRoutes: RouteDefinition[] = [
  { method: "GET", path: "/test/throws", functionName: "throws", auth: "none", summary: "" },
  { method: "GET", path: "/test/bad-result", functionName: "bad-result", auth: "none", summary: "" },
  { method: "GET", path: "/test/slow", functionName: "slow", auth: "none", summary: "" },
  { method: "GET", path: "/test/callback", functionName: "callback", auth: "none", summary: "" },
  { method: "GET", path: "/test/plain", functionName: "plain", auth: "none", summary: "" },
  { method: "GET", path: "/test/binary", functionName: "binary", auth: "none", summary: "" },
];

const handlers: HandlerMap = {
  ...Object.fromEntries(functionNames().map((name) => [name, echo])),
  throws: async () => {
    throw new Error("boom");
  },
  "bad-result": async () => ({ statusCode: "teapot" }),
  slow: () => new Promise(() => {}),
  callback: (_event, _context, callback) => {
    callback(undefined, { statusCode: 202, body: "via callback" });
  },
  plain: async () => '{"plain":true}',
  binary: async () => ({
    statusCode: 200,
    headers: { "content-type": "application/octet-stream" },
    body: Buffer.from([0, 1, 2, 255]).toString("base64"),
    isBase64Encoded: true,
    cookies: ["a=1", "b=2"],
  }),
};

let server: LocalServer;
const errors: string[] = [];

beforeAll(async () => {
  server = await startLocalServer({
    port: 0,
    oemCredential: TOKEN,
    handlers,
    routes: [...ROUTES, ...extraRoutes],
    bodyLimitBytes: LIMIT,
    timeoutMs: 300,
    onHandlerError: (error, routeKey) => errors.push(`${routeKey}: ${(error as Error).message}`),
  });
});

afterAll(async () => {
  await server?.close();
});

async function json(response: Response): Promise<Record<string, unknown>> {
  return (await response.json()) as Record<string, unknown>;
}

describe("the event a handler receives", () => {
  it("is API Gateway's payload 2.0 event for the matched route", async () => {
    const response = await fetch(`${server.url}/v1/keys?b=2&a=1&a=3`, {
      method: "POST",
      headers: { "content-type": "application/json", "carkey-nonce": "n1", cookie: "s=1; t=2" },
      body: JSON.stringify({ hello: "world" }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("apigw-requestid")).toMatch(/^[A-Za-z0-9+/]{15}=$/);
    const event = (await json(response)) as unknown as APIGatewayProxyEventV2WithIAMAuthorizer;
    expect(event).toMatchObject({
      version: "2.0",
      routeKey: "POST /v1/keys",
      rawPath: "/v1/keys",
      rawQueryString: "b=2&a=1&a=3",
      queryStringParameters: { a: "1,3", b: "2" },
      cookies: ["s=1", "t=2"],
      body: '{"hello":"world"}',
      isBase64Encoded: false,
      requestContext: {
        accountId: "000000000000",
        apiId: "local",
        domainName: "127.0.0.1",
        http: { method: "POST", path: "/v1/keys", protocol: "HTTP/1.1", sourceIp: "127.0.0.1" },
        routeKey: "POST /v1/keys",
        stage: "$default",
        requestId: response.headers.get("apigw-requestid"),
      },
    });
    expect(event.headers["carkey-nonce"]).toBe("n1");
    expect(event.headers["content-type"]).toBe("application/json");
    expect(event.headers["x-forwarded-port"]).toBe(String(server.port));
    expect(event.requestContext.authorizer).toBeUndefined();
    expect(Math.abs(event.requestContext.timeEpoch - Date.now())).toBeLessThan(10_000);
  });

  it("names the server's own domain, whatever Host the client sends", async () => {
    // API Gateway reports the domain it routed by; a client's Host must not become "the API's domain".
    const event = await new Promise<APIGatewayProxyEventV2WithIAMAuthorizer>((resolve, reject) => {
      const req = httpRequest(
        `${server.url}/v1/trust-anchors`,
        { headers: { host: "attacker.example:443" } },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            text += chunk;
          });
          res.on("end", () => resolve(JSON.parse(text)));
        },
      );
      req.on("error", reject);
      req.end();
    });
    expect(event.headers.host).toBe("attacker.example:443");
    expect(event.requestContext.domainName).toBe("127.0.0.1");
  });

  it("has the path parameters, and a base64 body for binary content", async () => {
    const response = await fetch(`${server.url}/v1/vehicles/00112233/keys`, {
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/octet-stream" },
      method: "GET",
    });
    const event = (await json(response)) as unknown as APIGatewayProxyEventV2WithIAMAuthorizer;
    expect(event.pathParameters).toEqual({ vehicleId: "00112233" });
    expect(event.routeKey).toBe("GET /v1/vehicles/{vehicleId}/keys");

    const posted = await fetch(`${server.url}/v1/devices`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: new Uint8Array([0, 1, 2, 255]),
    });
    const binaryEvent = await json(posted);
    expect(binaryEvent.isBase64Encoded).toBe(true);
    expect(binaryEvent.body).toBe("AAEC/w==");
  });
});

describe("what the caller gets back", () => {
  it("is the handler's result as API Gateway writes it", async () => {
    const plain = await fetch(`${server.url}/test/plain`);
    expect(plain.status).toBe(200);
    expect(plain.headers.get("content-type")).toBe("application/json");
    expect(await plain.text()).toBe('{"plain":true}');

    const binary = await fetch(`${server.url}/test/binary`);
    expect(new Uint8Array(await binary.arrayBuffer())).toEqual(Uint8Array.of(0, 1, 2, 255));
    expect(binary.headers.getSetCookie()).toEqual(["a=1", "b=2"]);

    const callback = await fetch(`${server.url}/test/callback`);
    expect(callback.status).toBe(202);
    expect(await callback.text()).toBe("via callback");
  });

  it("is API Gateway's 500 when a handler throws or returns garbage, and 503 on timeout", async () => {
    for (const path of ["/test/throws", "/test/bad-result"]) {
      const response = await fetch(`${server.url}${path}`);
      expect(response.status, path).toBe(500);
      expect(await response.json()).toEqual({ message: "Internal Server Error" });
    }
    expect(errors).toContain("GET /test/throws: boom");
    const slow = await fetch(`${server.url}/test/slow`);
    expect(slow.status).toBe(503);
    expect(await slow.json()).toEqual({ message: "Service Unavailable" });
  });
});

describe("OEM routes", () => {
  const url = () => `${server.url}/v1/vehicles`;
  const post = (headers: Record<string, string>) =>
    fetch(url(), { method: "POST", headers: { "content-type": "application/json", ...headers }, body: "{}" });

  it("refuse a missing, malformed or wrong token with 401 problem+json", async () => {
    const attempts: Record<string, string>[] = [
      {},
      { authorization: TOKEN },
      { authorization: `Basic ${TOKEN}` },
      { authorization: "Bearer wrong-token-wrong-token" },
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: `Bearer ${TOKEN.slice(0, -1)}` },
    ];
    for (const headers of attempts) {
      const response = await post(headers);
      expect(response.status, JSON.stringify(headers)).toBe(401);
      expect(response.headers.get("content-type")).toBe("application/problem+json");
      expect(response.headers.get("www-authenticate")).toMatch(/^Bearer/);
      const body = await json(response);
      expect(body).toMatchObject({
        type: "urn:carkeys:problem:authentication",
        status: 401,
        instance: "/v1/vehicles",
      });
      expect(typeof body.detail).toBe("string");
    }
  });

  it("pass an authenticated request on with the local IAM principal and without the token", async () => {
    const response = await post({ authorization: `Bearer ${TOKEN}` });
    expect(response.status).toBe(200);
    const event = (await json(response)) as unknown as APIGatewayProxyEventV2WithIAMAuthorizer;
    expect(event.requestContext.authorizer.iam).toMatchObject({
      accountId: "000000000000",
      userArn: "arn:aws:iam::000000000000:user/local-oem",
    });
    expect(event.headers.authorization).toBeUndefined();
    expect(JSON.stringify(event)).not.toContain(TOKEN);
  });

  it("are the only ones that need the token", async () => {
    const open = await fetch(`${server.url}/v1/trust-anchors`);
    expect(open.status).toBe(200);
    const device = await fetch(`${server.url}/v1/devices`, { method: "POST", body: "{}" });
    expect(device.status).toBe(200);
  });
});

describe("answers before any handler runs", () => {
  it("404 for an unknown path and 405 for a wrong method, as problem+json", async () => {
    const missing = await fetch(`${server.url}/v1/nothing-here`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get("content-type")).toBe("application/problem+json");
    expect(await json(missing)).toMatchObject({
      type: "urn:carkeys:problem:not-found",
      status: 404,
      instance: "/v1/nothing-here",
    });

    const wrong = await fetch(`${server.url}/v1/keys`, { method: "DELETE" });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("POST");
    expect(await json(wrong)).toMatchObject({ type: "urn:carkeys:problem:method-not-allowed", status: 405 });

    const malformed = await fetch(`${server.url}/v1/keys/%zz`);
    expect(malformed.status).toBe(400);
  });

  it("413 for a body over the limit, declared or streamed", async () => {
    const declared = await fetch(`${server.url}/v1/keys`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "x".repeat(LIMIT + 1),
    });
    expect(declared.status).toBe(413);
    expect(declared.headers.get("content-type")).toBe("application/problem+json");
    expect(await json(declared)).toMatchObject({
      type: "urn:carkeys:problem:payload-too-large",
      status: 413,
    });

    const atLimit = await fetch(`${server.url}/v1/keys`, { method: "POST", body: "x".repeat(LIMIT) });
    expect(atLimit.status).toBe(200);

    const streamed = await rawRequest({ chunked: true, chunks: 4, chunkSize: LIMIT / 2 });
    expect(streamed.status).toBe(413);
  });

  it("413 from the declared length alone, without waiting for the body", async () => {
    // Declares 100 MiB and sends only a few bytes: the answer must not need the rest.
    const result = await rawRequest({ contentLength: 100 * 1024 * 1024, chunks: 1, chunkSize: 16 });
    expect(result.status).toBe(413);
    expect(result.body).toContain("larger than");
  });
});

describe("configuration", () => {
  it("listens on loopback only and wants a real token", async () => {
    await expect(
      startLocalServer({ port: 0, host: "0.0.0.0", oemCredential: TOKEN, handlers }),
    ).rejects.toThrow(LocalServerError);
    await expect(startLocalServer({ port: 0, oemCredential: "short", handlers })).rejects.toThrow(
      /16 to 512/,
    );
    await expect(startLocalServer({ port: 0, oemCredential: TOKEN, handlers: {} })).rejects.toThrow(
      /no handler for function/,
    );
  });

  it("builds handlers only for the functions it has a factory for", () => {
    expect(() => loadHandlers(() => ({}), ["../src/cli/main"])).toThrow(/no handler factory for function/);
    expect(() => loadHandlers(() => ({}), ["no-such-function"])).toThrow(
      /no handler factory for function "no-such-function"/,
    );
    expect(() => loadHandlers(() => ({}), ["toString"])).toThrow(/no handler factory/);
    expect(Object.keys(loadHandlers(() => ({}), ["openapi"]))).toEqual(["openapi"]);
  });

  it("wants its handlers or the dependencies to build them with", async () => {
    await expect(startLocalServer({ port: 0, oemCredential: TOKEN })).rejects.toThrow(
      /handlers, or the dependencies/,
    );
  });
});

/** A hand-made request, so the test controls framing and can stop sending early. */
function rawRequest(options: {
  contentLength?: number;
  chunked?: boolean;
  chunks: number;
  chunkSize: number;
}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { "content-type": "application/json" };
    if (options.contentLength !== undefined) headers["content-length"] = options.contentLength;
    const req = httpRequest(`${server.url}/v1/keys`, { method: "POST", headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    // The server may close the connection while we are still sending: that is the point.
    req.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "ECONNRESET" && error.code !== "EPIPE") reject(error);
    });
    for (let i = 0; i < options.chunks; i++) req.write("x".repeat(options.chunkSize));
    if (options.chunked) req.end();
  });
}
