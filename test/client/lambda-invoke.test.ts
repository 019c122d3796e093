// The Lambda Invoke API client (src/client/lambda-invoke.ts) against a
// loopback server that checks what AWS Lambda checks: the path of the
// Invoke API with the FunctionName percent-encoded, RequestResponse, and a
// SigV4 signature for the service `lambda` in the ARN's region, which the
// server recomputes from the request it received with the same credentials.
// Lambda's answers map to the client's errors: X-Amz-Function-Error to
// LambdaFunctionError, a 404 with x-amzn-ErrorType to LambdaInvokeError.
import { createHash, createHmac } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SignatureV4 } from "@smithy/signature-v4";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LambdaFunctionError, LambdaInvokeError, OemAuthError } from "../../src/client/errors.js";
import { invokeFunction } from "../../src/client/lambda-invoke.js";

const credentials = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};
const ARN = "arn:aws:lambda:eu-west-2:123456789012:function:CarKeys-ExpirySweep-1A2B";

let server: Server;
let endpoint: string;
const seen: { path: string; headers: IncomingMessage["headers"]; body: string; verified: boolean }[] = [];

class Sha256 {
  readonly #hash;
  constructor(secret?: Uint8Array | string) {
    this.#hash = secret === undefined ? createHash("sha256") : createHmac("sha256", secret);
  }
  update(data: Uint8Array | string) {
    this.#hash.update(data);
  }
  async digest() {
    return new Uint8Array(this.#hash.digest());
  }
}

/** Signs the received request again, at its own x-amz-date, and compares with its authorization header. */
async function verifies(req: IncomingMessage, body: string, region: string): Promise<boolean> {
  const date = String(req.headers["x-amz-date"]);
  const signingDate = new Date(
    `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`,
  );
  const signer = new SignatureV4({
    service: "lambda",
    region,
    credentials,
    sha256: Sha256 as unknown as ConstructorParameters<typeof SignatureV4>[0]["sha256"],
  });
  // The canonical URI is the path as received, encoded once more (every service but S3 does so).
  const signed = await signer.sign(
    {
      method: req.method!,
      protocol: "http:",
      hostname: "127.0.0.1",
      path: req.url!,
      query: {},
      headers: { host: req.headers.host! },
      body,
    },
    { signingDate },
  );
  return signed.headers.authorization === req.headers.authorization;
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const sigv4 = req.headers.authorization?.startsWith("AWS4-HMAC-SHA256 ") ?? false;
      const verified = sigv4 && (await verifies(req, body, "eu-west-2"));
      seen.push({ path: req.url!, headers: req.headers, body, verified });
      const name = decodeURIComponent(req.url!.split("/")[3]!);
      if (name.endsWith("missing")) {
        res.writeHead(404, {
          "content-type": "application/json",
          "x-amzn-errortype": "ResourceNotFoundException",
        });
        res.end(JSON.stringify({ Type: "User", message: `Function not found: ${name}` }));
      } else if (name.endsWith("broken")) {
        res.writeHead(200, { "content-type": "application/json", "x-amz-function-error": "Unhandled" });
        res.end(
          JSON.stringify({ errorType: "Error", errorMessage: "expiry sweep: 1 of 3 keys were not revoked" }),
        );
      } else {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({ examined: 0, revoked: 0, settled: 0, notEnded: 0, failed: 0, complete: true }),
        );
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe("invokeFunction", () => {
  it("signs a RequestResponse Invoke with SigV4 for lambda in the ARN's region", async () => {
    seen.length = 0;
    const answer = await invokeFunction({
      functionName: ARN,
      endpoint,
      auth: { kind: "sigv4", credentials: async () => credentials },
      payload: { source: "test" },
    });
    expect(answer).toMatchObject({ revoked: 0, complete: true });
    const [request] = seen;
    expect(request!.path).toBe(`/2015-03-31/functions/${encodeURIComponent(ARN)}/invocations`);
    expect(request!.headers["x-amz-invocation-type"]).toBe("RequestResponse");
    expect(request!.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-2\/lambda\/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/,
    );
    expect(request!.verified).toBe(true);
    expect(JSON.parse(request!.body)).toEqual({ source: "test" });
  });

  it("sends the bearer token instead when given one", async () => {
    seen.length = 0;
    await invokeFunction({
      functionName: "expiry-sweep",
      endpoint,
      auth: { kind: "bearer", token: "t0ken" },
    });
    expect(seen[0]!.headers.authorization).toBe("Bearer t0ken");
  });

  it("reports a function error and a refused call", async () => {
    const auth = { kind: "sigv4", credentials: async () => credentials } as const;
    const failed = invokeFunction({ functionName: `${ARN}-broken`, endpoint, auth });
    await expect(failed).rejects.toBeInstanceOf(LambdaFunctionError);
    await expect(failed).rejects.toThrow(
      /the function failed \(Unhandled\) with Error: expiry sweep: 1 of 3/,
    );
    const missing = invokeFunction({ functionName: `${ARN}-missing`, endpoint, auth });
    await expect(missing).rejects.toBeInstanceOf(LambdaInvokeError);
    await expect(missing).rejects.toThrow(/404 ResourceNotFoundException: Function not found/);
  });

  it("needs a region to sign in", async () => {
    const saved = { region: process.env.AWS_REGION, fallback: process.env.AWS_DEFAULT_REGION };
    delete process.env.AWS_REGION;
    delete process.env.AWS_DEFAULT_REGION;
    try {
      await expect(
        invokeFunction({
          functionName: "plain-name",
          endpoint,
          auth: { kind: "sigv4", credentials: async () => credentials },
        }),
      ).rejects.toBeInstanceOf(OemAuthError);
    } finally {
      if (saved.region !== undefined) process.env.AWS_REGION = saved.region;
      if (saved.fallback !== undefined) process.env.AWS_DEFAULT_REGION = saved.fallback;
    }
  });
});
