// The HTTP ⇄ API Gateway payload 2.0 translation, checked against the event
// and response shapes AWS documents for HTTP APIs (header joining, cookies,
// decoded rawPath, base64 for non-text bodies, results without statusCode).
import type { APIGatewayProxyEventV2WithIAMAuthorizer } from "aws-lambda";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  apiGatewayTime,
  fromApiGatewayResult,
  type HttpRequestFacts,
  newRequestId,
  splitRequestTarget,
  toApiGatewayEvent,
} from "../../../src/adapters/local-server/api-gateway-event.js";
import { InvalidLambdaResultError, RequestTargetError } from "../../../src/adapters/local-server/errors.js";

const NOW = new Date(Date.UTC(2020, 2, 12, 19, 3, 58, 390));

function request(overrides: Partial<HttpRequestFacts> = {}): HttpRequestFacts {
  return {
    method: "POST",
    target: "/v1/keys",
    headers: { Host: ["api.example.test:3000"], "User-Agent": ["agent/1"] },
    body: new Uint8Array(),
    sourceIp: "192.0.2.1",
    protocol: "HTTP/1.1",
    localPort: 3000,
    ...overrides,
  };
}

const OPTIONS = {
  routeKey: "POST /v1/keys",
  accountId: "123456789012",
  apiId: "local",
  requestId: "JKJaXmPLvHcESHA=",
  now: NOW,
  domainName: "api.example.test",
};

describe("toApiGatewayEvent", () => {
  it("builds the documented payload 2.0 shape", () => {
    const event = toApiGatewayEvent(
      request({
        target: "/v1/vehicles/ab%20cd/keys?x=1&x=2&y=a%2Fb&z",
        method: "GET",
        headers: {
          Host: ["api.example.test:3000"],
          "User-Agent": ["agent/1"],
          "X-Multi": ["one", "two"],
          Cookie: ["a=1; b=2", "c=3"],
        },
      }),
      { ...OPTIONS, routeKey: "GET /v1/vehicles/{vehicleId}/keys", pathParameters: { vehicleId: "ab cd" } },
    );
    expect(event).toMatchObject({
      version: "2.0",
      routeKey: "GET /v1/vehicles/{vehicleId}/keys",
      rawPath: "/v1/vehicles/ab cd/keys",
      rawQueryString: "x=1&x=2&y=a%2Fb&z",
      cookies: ["a=1", "b=2", "c=3"],
      queryStringParameters: { x: "1,2", y: "a/b", z: "" },
      pathParameters: { vehicleId: "ab cd" },
      isBase64Encoded: false,
      requestContext: {
        accountId: "123456789012",
        apiId: "local",
        domainName: "api.example.test",
        domainPrefix: "api",
        http: {
          method: "GET",
          path: "/v1/vehicles/ab cd/keys",
          protocol: "HTTP/1.1",
          sourceIp: "192.0.2.1",
          userAgent: "agent/1",
        },
        requestId: "JKJaXmPLvHcESHA=",
        routeKey: "GET /v1/vehicles/{vehicleId}/keys",
        stage: "$default",
        time: "12/Mar/2020:19:03:58 +0000",
        timeEpoch: NOW.getTime(),
      },
    });
    expect(event.headers).toMatchObject({
      host: "api.example.test:3000",
      "user-agent": "agent/1",
      "x-multi": "one,two",
      "x-forwarded-for": "192.0.2.1",
      "x-forwarded-port": "3000",
      "x-forwarded-proto": "http",
    });
    expect(event.headers["x-amzn-trace-id"]).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
    expect(event.headers.cookie).toBeUndefined();
    expect(Object.keys(event.headers).every((name) => name === name.toLowerCase())).toBe(true);
    expect(event.body).toBeUndefined();
    expect("authorizer" in event.requestContext).toBe(false);
  });

  it("leaves out what the request does not have, as API Gateway does", () => {
    const event = toApiGatewayEvent(request({ method: "GET", target: "/v1/trust-anchors" }), OPTIONS);
    for (const field of ["cookies", "queryStringParameters", "pathParameters", "body", "stageVariables"]) {
      expect(field in event, field).toBe(false);
    }
    expect(event.rawQueryString).toBe("");
  });

  it("passes text bodies as UTF-8 and everything else as base64", () => {
    const text = new TextEncoder().encode('{"name":"Ünïcode"}');
    for (const type of [
      "application/json",
      "application/json; charset=utf-8",
      "text/plain",
      "application/xml",
    ]) {
      const event = toApiGatewayEvent(request({ body: text, headers: { "content-type": [type] } }), OPTIONS);
      expect(event.isBase64Encoded, type).toBe(false);
      expect(event.body).toBe('{"name":"Ünïcode"}');
    }
    const binary = Uint8Array.of(0, 1, 2, 0xff);
    for (const headers of [
      { "content-type": ["application/octet-stream"] },
      { "content-type": ["application/x-www-form-urlencoded"] },
      {},
    ]) {
      const event = toApiGatewayEvent(request({ body: binary, headers }), OPTIONS);
      expect(event.isBase64Encoded).toBe(true);
      expect(Buffer.from(event.body!, "base64")).toEqual(Buffer.from(binary));
    }
  });

  it("round-trips any body through base64", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 512 }), (bytes) => {
        const event = toApiGatewayEvent(
          request({ body: bytes, headers: { "content-type": ["application/cbor"] } }),
          OPTIONS,
        );
        expect(new Uint8Array(Buffer.from(event.body!, "base64"))).toEqual(bytes);
      }),
    );
  });

  it("carries the IAM principal when the route was authorized", () => {
    const iam = {
      accessKey: "ASIA",
      accountId: "123456789012",
      callerId: "AIDA",
      cognitoIdentity: null,
      principalOrgId: "o-1",
      userArn: "arn:aws:iam::123456789012:user/x",
      userId: "AIDA",
    };
    const event = toApiGatewayEvent(request(), {
      ...OPTIONS,
      iam,
    }) as APIGatewayProxyEventV2WithIAMAuthorizer;
    expect(event.requestContext.authorizer.iam).toEqual(iam);
  });

  it("refuses a malformed target", () => {
    expect(() => splitRequestTarget("/v1/%zz")).toThrow(RequestTargetError);
    expect(() => splitRequestTarget("http://example.test/")).toThrow(RequestTargetError);
    expect(splitRequestTarget("/a%2Fb?q=%20")).toEqual({ rawPath: "/a/b", rawQueryString: "q=%20" });
  });

  it("formats time and request ids as API Gateway does", () => {
    expect(apiGatewayTime(new Date(Date.UTC(2024, 0, 5, 3, 4, 5)))).toBe("05/Jan/2024:03:04:05 +0000");
    expect(newRequestId()).toMatch(/^[A-Za-z0-9+/]{15}=$/);
  });
});

describe("fromApiGatewayResult", () => {
  const text = (body: Uint8Array) => new TextDecoder().decode(body);

  it("writes a structured result as it is", () => {
    const response = fromApiGatewayResult({
      statusCode: 201,
      headers: { "content-type": "application/json", "x-count": 3, "x-flag": true },
      cookies: ["a=1; Path=/", "b=2"],
      body: '{"ok":true}',
    });
    expect(response.statusCode).toBe(201);
    expect(response.headers).toEqual([
      ["content-type", "application/json"],
      ["x-count", "3"],
      ["x-flag", "true"],
      ["set-cookie", "a=1; Path=/"],
      ["set-cookie", "b=2"],
    ]);
    expect(text(response.body)).toBe('{"ok":true}');
  });

  it("decodes a base64 body", () => {
    const response = fromApiGatewayResult({ statusCode: 200, body: "AAH/", isBase64Encoded: true });
    expect([...response.body]).toEqual([0, 1, 0xff]);
  });

  it("treats a result without statusCode as a 200 JSON body", () => {
    const fromString = fromApiGatewayResult('{"a":1}');
    expect(fromString).toMatchObject({ statusCode: 200, headers: [["content-type", "application/json"]] });
    expect(text(fromString.body)).toBe('{"a":1}');
    const fromObject = fromApiGatewayResult({ a: 1, body: "x" });
    expect(text(fromObject.body)).toBe('{"a":1,"body":"x"}');
  });

  it("ignores multiValueHeaders, which payload 2.0 does not have", () => {
    const response = fromApiGatewayResult({ statusCode: 204, multiValueHeaders: { "x-a": ["1", "2"] } });
    expect(response.headers).toEqual([]);
    expect(response.body.length).toBe(0);
  });

  it("refuses results API Gateway would turn into a 500", () => {
    for (const bad of [
      { statusCode: "200" },
      { statusCode: 99 },
      { statusCode: 200.5 },
      { statusCode: 200, body: { a: 1 } },
      { statusCode: 200, headers: { a: { b: 1 } } },
      { statusCode: 200, cookies: "a=1" },
    ]) {
      expect(() => fromApiGatewayResult(bad), JSON.stringify(bad)).toThrow(InvalidLambdaResultError);
    }
  });
});
