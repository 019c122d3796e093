// The local server's connections, over real sockets on loopback: a client
// that writes a whole over-limit body before reading (as Python's urllib
// does) still gets the 413 problem document, not a reset; a refused body past
// the discard bound is not waited for; an idle keep-alive connection outlives
// the idle timeouts of common client pools, and the server says how long it
// keeps one; and a path cannot forge access-log lines.
import { once } from "node:events";
import { writeFile } from "node:fs/promises";
import { Agent, request as httpRequest } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AccessLogEntry,
  escapeForLog,
  KEEP_ALIVE_TIMEOUT_MS,
  type LambdaHandler,
  type LocalServer,
  startLocalServer,
} from "../../../src/adapters/local-server/local-server.js";
import { functionNames, ROUTES } from "../../../src/api/routes.js";
import { runTool } from "../../support/run-tool.js";

const TOKEN = "local-test-token-0123456789abcdef";
const LIMIT = 64 * 1024;
const DISCARD_LIMIT = 8 * 1024 * 1024;
const FOUR_MB = 4 * 1024 * 1024;

const ok: LambdaHandler = async () => ({ statusCode: 200, body: "ok" });

let server: LocalServer;
const accessLog: AccessLogEntry[] = [];

beforeAll(async () => {
  server = await startLocalServer({
    port: 0,
    oemCredential: TOKEN,
    handlers: Object.fromEntries(functionNames().map((name) => [name, ok])),
    routes: ROUTES,
    bodyLimitBytes: LIMIT,
    discardLimitBytes: DISCARD_LIMIT,
    onRequest: (entry) => accessLog.push(entry),
  });
});

afterAll(async () => {
  await server?.close();
});

interface RawAnswer {
  head: string;
  body: string;
  /** A socket error the client saw (a reset, a broken pipe), if any. */
  error?: string;
}

/**
 * Sends `POST path` with `body` the way a write-first client does: every byte
 * written before a single byte of the answer is read.
 */
async function writeFirst(
  path: string,
  body: Buffer,
  headers: Record<string, string> = {},
): Promise<RawAnswer> {
  const socket = connect(server.port, "127.0.0.1");
  await once(socket, "connect");
  socket.pause();
  const head = [
    `POST ${path} HTTP/1.1`,
    "host: 127.0.0.1",
    "content-type: application/json",
    `content-length: ${body.length}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    "",
    "",
  ].join("\r\n");
  const chunks: Buffer[] = [];
  let error: string | undefined;
  socket.on("error", (e: NodeJS.ErrnoException) => {
    error = e.code ?? e.message;
  });
  await new Promise<void>((resolve) => {
    socket.write(Buffer.concat([Buffer.from(head), body]), () => resolve());
  });
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  socket.resume();
  await once(socket, "close");
  const text = Buffer.concat(chunks).toString("utf8");
  const split = text.indexOf("\r\n\r\n");
  return {
    head: split < 0 ? text : text.slice(0, split),
    body: split < 0 ? "" : text.slice(split + 4),
    ...(error ? { error } : {}),
  };
}

describe("a body over the limit", () => {
  it("gets 413 and its problem document when the client writes all 4 MB before reading", async () => {
    const answer = await writeFirst("/v1/keys", Buffer.alloc(FOUR_MB, "x"));
    expect(answer.error).toBeUndefined();
    expect(answer.head).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer.head.toLowerCase()).toContain("content-type: application/problem+json");
    expect(answer.head.toLowerCase()).toContain("connection: close");
    expect(JSON.parse(answer.body)).toMatchObject({
      type: "urn:carkeys:problem:payload-too-large",
      status: 413,
      detail: `request body is larger than ${LIMIT} bytes`,
    });
  });

  it("gets the refusal the same way on routes that refuse for another reason (401 before the body)", async () => {
    const answer = await writeFirst("/v1/vehicles", Buffer.alloc(FOUR_MB / 4, "x"));
    expect(answer.error).toBeUndefined();
    expect(answer.head).toMatch(/^HTTP\/1\.1 401 /);
    expect(JSON.parse(answer.body)).toMatchObject({ status: 401 });
  });

  it("gets 413 from Python's urllib, which writes its whole body before it reads", async (context) => {
    const probe = await runTool("python3", ["-c", "import urllib.request"]);
    if (probe.code !== 0) context.skip("python3 is not installed; the raw-socket test above covers this");
    const script = [
      "import json, sys, urllib.request, urllib.error",
      "request = urllib.request.Request(sys.argv[1], data=b'x' * (4 * 1024 * 1024), method='POST',",
      "                                 headers={'content-type': 'application/json'})",
      "try:",
      "    urllib.request.urlopen(request, timeout=300)",
      "    print(json.dumps({'status': 200}))",
      "except urllib.error.HTTPError as error:",
      "    print(json.dumps({'status': error.code, 'type': error.headers['content-type'],",
      "                      'problem': json.loads(error.read())}))",
    ].join("\n");
    const file = join(tmpdir(), `carkeys-urllib-${process.pid}.py`);
    await writeFile(file, script);
    const run = await runTool("python3", [file, `${server.url}/v1/keys`]);
    expect(run.stderr).toBe("");
    expect(JSON.parse(run.stdout)).toMatchObject({
      status: 413,
      type: "application/problem+json",
      problem: { type: "urn:carkeys:problem:payload-too-large", status: 413 },
    });
  });

  it("is not waited for past the discard bound: the server lets the connection go", async () => {
    const answer = await writeFirst("/v1/keys", Buffer.alloc(DISCARD_LIMIT + FOUR_MB, "x"));
    // Whether the answer arrives before the reset is up to the kernel; that the connection ends is not.
    if (answer.error === undefined) expect(answer.head).toMatch(/^HTTP\/1\.1 413 /);
    else expect(answer.error).toMatch(/ECONNRESET|EPIPE/);
  });

  it("leaves the server serving", async () => {
    const response = await fetch(`${server.url}/v1/trust-anchors`);
    expect(response.status).toBe(200);
  });
});

describe("keep-alive", () => {
  it("says how long an idle connection is kept, and keeps it past common client pools' idle timeouts", async () => {
    // An agent that would keep its idle socket for longer than the server did before (Node's 5 s).
    const agent = new Agent({ keepAlive: true, maxSockets: 1, timeout: KEEP_ALIVE_TIMEOUT_MS });
    const get = () =>
      new Promise<{ status: number; keepAlive: string | undefined; reused: boolean }>((resolve, reject) => {
        const req = httpRequest(`${server.url}/v1/trust-anchors`, { agent }, (res) => {
          res.resume();
          res.on("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              keepAlive: res.headers["keep-alive"] as string | undefined,
              reused: req.reusedSocket,
            }),
          );
        });
        req.on("error", reject);
        req.end();
      });
    try {
      const first = await get();
      expect(first).toMatchObject({ status: 200, keepAlive: `timeout=${KEEP_ALIVE_TIMEOUT_MS / 1000}` });
      // Idle longer than Node's default keep-alive (5 s) and undici's pool (4 s).
      await new Promise((resolve) => setTimeout(resolve, 6_000));
      const second = await get();
      expect(second).toMatchObject({ status: 200, reused: true });
    } finally {
      agent.destroy();
    }
  });
});

describe("the access log", () => {
  it("escapes control characters in the decoded path, so %0A cannot forge a line", async () => {
    const forged = "/v1/keys/x%0D%0AGET%20%2Fadmin%20200%200.1%20ms%0A%5Cx0A%E2%80%A8";
    const response = await fetch(`${server.url}${forged}`);
    expect(response.status).toBe(404);
    await response.arrayBuffer();
    const entry = accessLog.find((e) => e.path.startsWith("/v1/keys/x"));
    expect(entry?.path).toBe("/v1/keys/x\\x0D\\x0AGET /admin 200 0.1 ms\\x0A\\\\x0A\\u2028");
    expect(`${entry?.method} ${entry?.path} ${entry?.status}`).not.toMatch(/[\r\n\u2028]/);
  });

  it("escapes every C0 and C1 control, DEL and backslash, and nothing else", () => {
    expect(escapeForLog("\u0000\u001f\u007f\u0080\u009f\\ é/ü\u2029")).toBe(
      "\\x00\\x1F\\x7F\\x80\\x9F\\\\ é/ü\\u2029",
    );
  });
});
