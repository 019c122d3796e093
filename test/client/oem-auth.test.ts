// OEM route authentication on the wire: SigV4 as API Gateway's IAM
// authorizer checks it (recomputed here from the AWS SigV4 specification, not
// by the SDK that made it), the bearer token for the local server, errors
// that name what is missing, and `*.localhost` URLs reaching loopback with
// their own Host header.
import { createHash, createHmac } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { OemAuthError, ServiceProblemError } from "../../src/client/errors.js";
import { isLocalhostName } from "../../src/client/loopback-fetch.js";
import { type OemAuth, regionOf } from "../../src/client/oem-auth.js";
import { oemFetch } from "../../src/client/signed-fetch.js";

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

let server: Server;
let port: number;
let seen: Seen[] = [];
let answer: { status: number; body: unknown } = { status: 200, body: { ok: true } };

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(answer.status, { "content-type": "application/json" });
      res.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

afterEach(() => {
  seen = [];
  answer = { status: 200, body: { ok: true } };
});

const credentials = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
  sessionToken: "session-token-example",
};
const sigv4 = (region = "eu-west-2"): OemAuth => ({
  kind: "sigv4",
  region,
  credentials: async () => credentials,
});

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data).digest();

/** The signature API Gateway would compute for `request` (AWS SigV4: canonical request, string to sign, key). */
function expectedSignature(request: Seen, region: string): string {
  const auth = /^AWS4-HMAC-SHA256 Credential=([^,]+), SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
    String(request.headers.authorization),
  );
  expect(auth, String(request.headers.authorization)).not.toBeNull();
  const [, credential, signedHeaders] = auth!;
  const amzDate = String(request.headers["x-amz-date"]);
  const day = amzDate.slice(0, 8);
  expect(credential).toBe(`${credentials.accessKeyId}/${day}/${region}/execute-api/aws4_request`);
  const url = new URL(request.url, "http://placeholder");
  const query = [...url.searchParams]
    .map(([k, v]) => [encodeURIComponent(k), encodeURIComponent(v)] as const)
    .sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : 1) : a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const names = signedHeaders!.split(";");
  const canonicalHeaders = names.map((name) => `${name}:${String(request.headers[name]).trim()}\n`).join("");
  const canonicalRequest = [
    request.method,
    url.pathname,
    query,
    canonicalHeaders,
    signedHeaders,
    sha256(request.body),
  ].join("\n");
  const scope = `${day}/${region}/execute-api/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonicalRequest)].join("\n");
  let key: Buffer = hmac(`AWS4${credentials.secretAccessKey}`, day);
  for (const part of [region, "execute-api", "aws4_request"]) key = hmac(key, part);
  return createHmac("sha256", key).update(stringToSign).digest("hex");
}

describe("OEM requests signed with SigV4", () => {
  it("carry a signature over method, host, path, query and body that IAM's algorithm reproduces", async () => {
    const body = { vehicleId: "ab".repeat(16), note: "ünïcode" };
    await oemFetch(`http://127.0.0.1:${port}/stage`, sigv4(), "POST", "/v1/vehicles?b=2&a=1", body);
    const [request] = seen;
    expect(request!.body.toString()).toBe(JSON.stringify(body));
    expect(String(request!.headers["x-amz-security-token"])).toBe(credentials.sessionToken);
    expect(String(request!.headers.authorization)).toContain("SignedHeaders=host;");
    const signature = /Signature=([0-9a-f]{64})$/.exec(String(request!.headers.authorization))![1];
    expect(signature).toBe(expectedSignature(request!, "eu-west-2"));
  });

  it("a signature made for one body does not match another", async () => {
    await oemFetch(`http://127.0.0.1:${port}`, sigv4(), "POST", "/v1/keys", { a: 1 });
    const [request] = seen;
    const tampered = { ...request!, body: Buffer.from(JSON.stringify({ a: 2 })) };
    const signature = /Signature=([0-9a-f]{64})$/.exec(String(request!.headers.authorization))![1];
    expect(expectedSignature(tampered, "eu-west-2")).not.toBe(signature);
  });

  it("an empty token means SigV4, a token means bearer", async () => {
    await oemFetch(`http://127.0.0.1:${port}`, "the-token", "GET", "/v1/x");
    expect(seen[0]!.headers.authorization).toBe("Bearer the-token");
    expect(seen[0]!.headers["x-amz-date"]).toBeUndefined();
  });

  it("take the region from an execute-api URL, else from AWS_REGION, else say it is missing", () => {
    expect(regionOf(new URL("https://abc123.execute-api.ap-southeast-2.amazonaws.com/"))).toBe(
      "ap-southeast-2",
    );
    const saved = { r: process.env.AWS_REGION, d: process.env.AWS_DEFAULT_REGION };
    try {
      process.env.AWS_REGION = "us-east-2";
      expect(regionOf(new URL("http://abc.execute-api.localhost:4566/"))).toBe("us-east-2");
      delete process.env.AWS_REGION;
      delete process.env.AWS_DEFAULT_REGION;
      expect(() => regionOf(new URL("https://api.example.com/"))).toThrow(/AWS_REGION/);
    } finally {
      if (saved.r === undefined) delete process.env.AWS_REGION;
      else process.env.AWS_REGION = saved.r;
      if (saved.d === undefined) delete process.env.AWS_DEFAULT_REGION;
      else process.env.AWS_DEFAULT_REGION = saved.d;
    }
  });

  it("without credentials: an OemAuthError that says so, and no request", async () => {
    const none: OemAuth = {
      kind: "sigv4",
      region: "eu-west-2",
      credentials: async () => {
        throw new Error("Could not load credentials from any providers");
      },
    };
    const failure = await oemFetch(`http://127.0.0.1:${port}`, none, "GET", "/v1/x").catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(OemAuthError);
    expect(String((failure as Error).message)).toMatch(/no AWS credentials.*AWS_ACCESS_KEY_ID/);
    expect(seen).toEqual([]);
  });

  it("a 403 from IAM names the access key, the region and what to check", async () => {
    answer = {
      status: 403,
      body: { message: "User: anonymous is not authorized to perform: execute-api:Invoke" },
    };
    const failure = await oemFetch(`http://127.0.0.1:${port}`, sigv4("eu-central-1"), "GET", "/v1/x").catch(
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(ServiceProblemError);
    const error = failure as ServiceProblemError;
    expect(error.status).toBe(403);
    expect(error.detail).toMatch(/not authorized to perform: execute-api:Invoke/);
    expect(error.detail).toMatch(/AKIDEXAMPLE for region eu-central-1/);
    expect(error.detail).toMatch(/OemBackendRoleArn/);
    expect(error.detail).not.toContain(credentials.secretAccessKey);
  });
});

describe("*.localhost URLs", () => {
  it("reach loopback with the URL's host name as Host, so an emulator can route by it", async () => {
    expect(isLocalhostName("abc123.execute-api.localhost")).toBe(true);
    expect(isLocalhostName("localhost")).toBe(false);
    expect(isLocalhostName("evil-localhost.example")).toBe(false);
    const { body } = await oemFetch<{ ok: boolean }>(
      `http://abc123.execute-api.localhost:${port}/`,
      sigv4(),
      "POST",
      "/v1/vehicles",
      { a: 1 },
    );
    expect(body).toEqual({ ok: true });
    const [request] = seen;
    expect(request!.headers.host).toBe(`abc123.execute-api.localhost:${port}`);
    const signature = /Signature=([0-9a-f]{64})$/.exec(String(request!.headers.authorization))![1];
    expect(signature).toBe(expectedSignature(request!, "eu-west-2"));
  });
});
