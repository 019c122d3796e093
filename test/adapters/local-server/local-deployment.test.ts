// The whole local stack over HTTP, as `npm start` runs it but in-process:
// DynamoDB Local in memory, software keys and the token in a temporary
// directory, the real handlers from functions/. Checks the OpenAPI document
// (3.1, every route, every reference resolvable; also against the official
// schema when Python's openapi-spec-validator is present), the trust anchors
// (PEMs OpenSSL parses), OEM authorization end to end, and that a vehicle
// enrolled through the local server gets a certificate OpenSSL verifies.
import "../../support/quiet-logs.js";
import { randomUUID } from "node:crypto";
import { mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type LocalDeployment,
  startLocalDeployment,
} from "../../../src/adapters/local-server/local-deployment.js";
import { ROUTES } from "../../../src/api/routes.js";
import { toHex } from "../../../src/protocol/bytes.js";
import { generateKeyPair } from "../../../src/protocol/p256.js";
import { DISPLAY, payloadOfSize } from "../../service/relay/relay-fixtures.js";
import { runTool, tool } from "../../support/run-tool.js";

let dataDir: string;
let stack: LocalDeployment;
/** The environment before any stack started: neither stack may change it (they get settings, not variables). */
let environmentBefore: string;

beforeAll(async () => {
  environmentBefore = JSON.stringify(process.env);
  dataDir = await mkdtemp(join(tmpdir(), "carkeys-stack-"));
  stack = await startLocalDeployment({ port: 0, inMemory: true, dataDir });
});

afterAll(async () => {
  await stack?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

type Json = Record<string, unknown>;

describe("GET /openapi.json", () => {
  let doc: Json;

  beforeAll(async () => {
    const response = await fetch(`${stack.url}/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    doc = (await response.json()) as Json;
  });

  it("is OpenAPI 3.1 with an operation for every route", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    const paths = doc.paths as Record<string, Record<string, Json>>;
    const operationIds = new Set<string>();
    for (const route of ROUTES) {
      const operation = paths[route.path]?.[route.method.toLowerCase()];
      expect(operation, `${route.method} ${route.path}`).toBeDefined();
      expect(operation!.summary).toBe(route.summary);
      operationIds.add(operation!.operationId as string);
      const parameters = (operation!.parameters as Json[] | undefined) ?? [];
      const declared = parameters.filter((p) => p.in === "path").map((p) => p.name);
      const templated = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      expect(declared).toEqual(templated);
      if (route.query) expect(parameters.some((p) => p.in === "query")).toBe(true);
      const security = operation!.security as Json[];
      if (route.auth === "none") expect(security).toEqual([]);
      if (route.auth === "oem") expect(security).toEqual([{ sigv4: [] }, { oemToken: [] }]);
      if (route.auth === "device") expect(security).toEqual([{ deviceSignature: [] }]);
      const responses = operation!.responses as Json;
      expect(Object.keys(responses).some((s) => s.startsWith("2"))).toBe(true);
      if (route.auth !== "none") expect(responses["401"]).toBeDefined();
    }
    expect(operationIds.size).toBe(ROUTES.length);
    const operations = Object.values(paths).flatMap((p) => Object.keys(p));
    expect(operations).toHaveLength(ROUTES.length);
  });

  it("is rendered at GET /docs by the same function, with a strict Content-Security-Policy", async () => {
    const response = await fetch(`${stack.url}/docs`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const csp = response.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain("unsafe-inline");
    const html = await response.text();
    expect(html).toContain('SwaggerUIBundle({\n  url: new URL("openapi.json", document.baseURI).href');
  });

  it("resolves every $ref and security scheme inside itself", () => {
    const refs: string[] = [];
    const walk = (value: unknown) => {
      if (Array.isArray(value)) value.forEach(walk);
      else if (value && typeof value === "object") {
        for (const [key, inner] of Object.entries(value)) {
          if (key === "$ref" && typeof inner === "string") refs.push(inner);
          else walk(inner);
        }
      }
    };
    walk(doc);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      expect(ref.startsWith("#/"), ref).toBe(true);
      const target = ref
        .slice(2)
        .split("/")
        .reduce<unknown>((node, part) => (node as Json | undefined)?.[part], doc);
      expect(target, ref).toBeDefined();
    }
    const schemes = Object.keys((doc.components as Json).securitySchemes as Json);
    for (const path of Object.values(doc.paths as Record<string, Record<string, Json>>)) {
      for (const operation of Object.values(path)) {
        for (const requirement of operation.security as Json[]) {
          for (const name of Object.keys(requirement)) expect(schemes).toContain(name);
        }
      }
    }
  });

  it("passes openapi-spec-validator when it is installed", async (context) => {
    const probe = await runTool("python3", ["-c", "import openapi_spec_validator"]);
    if (probe.code !== 0) {
      context.skip("python3 with openapi-spec-validator is not installed; structural checks above still ran");
    }
    const file = join(dataDir, "openapi.json");
    await writeFile(file, JSON.stringify(doc));
    const result = await runTool("python3", [
      "-c",
      "import json,sys\nfrom openapi_spec_validator import validate\nvalidate(json.load(open(sys.argv[1])))",
      file,
    ]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
  });
});

describe("GET /v1/trust-anchors", () => {
  it("returns the two roots as PEMs OpenSSL parses", async () => {
    const response = await fetch(`${stack.url}/v1/trust-anchors`);
    expect(response.status).toBe(200);
    const anchors = (await response.json()) as { deviceOemRoot: string; vehicleOemRoot: string };
    for (const [name, pem] of Object.entries(anchors).filter(([, value]) => typeof value === "string")) {
      const file = join(dataDir, `${name}.pem`);
      await writeFile(file, pem);
      const subject = await tool("openssl", [
        "x509",
        "-in",
        file,
        "-noout",
        "-subject",
        "-ext",
        "basicConstraints",
      ]);
      expect(subject, name).toMatch(/O\s*=\s*Car Keys Local/);
      expect(subject, name).toMatch(/CA:TRUE/);
      // Self-signed roots verify against themselves under strict X.509 rules.
      await tool("openssl", ["verify", "-x509_strict", "-CAfile", file, file]);
    }
  });
});

describe("OEM routes through the real handlers", () => {
  const oem = () => ({ authorization: `Bearer ${stack.oemToken}`, "content-type": "application/json" });

  it("refuse a request without the token before the handler runs", async () => {
    const response = await fetch(`${stack.url}/v1/vehicles`, { method: "POST", body: "{}" });
    expect(response.status).toBe(401);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
  });

  it("reach the handler with the token: unknown ids and bad JSON are 4xx problems", async () => {
    const missing = await fetch(`${stack.url}/v1/keys/000000000000`, { headers: oem() });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ type: "urn:carkeys:problem:not-found" });
    const malformed = await fetch(`${stack.url}/v1/vehicles`, {
      method: "POST",
      headers: oem(),
      body: "{bad",
    });
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get("content-type")).toBe("application/problem+json");
  });

  it("enroll a vehicle whose certificate chains to the served Vehicle OEM root", async () => {
    const vehicleId = toHex(crypto.getRandomValues(new Uint8Array(16)));
    const response = await fetch(`${stack.url}/v1/vehicles`, {
      method: "POST",
      headers: oem(),
      body: JSON.stringify({ vehicleId, vehiclePublicKey: toHex(generateKeyPair().publicKey) }),
    });
    expect(response.status).toBe(201);
    const enrolled = (await response.json()) as {
      vehicleCertificate: string;
      trustAnchors: { vehicleOemRoot: string };
    };
    const root = join(dataDir, "vehicle-root.pem");
    const leaf = join(dataDir, "vehicle.pem");
    await writeFile(root, enrolled.trustAnchors.vehicleOemRoot);
    await writeFile(leaf, enrolled.vehicleCertificate);
    const verified = await tool("openssl", ["verify", "-x509_strict", "-CAfile", root, leaf]);
    expect(verified).toContain(": OK");

    const listed = await fetch(`${stack.url}/v1/vehicles/${vehicleId}/keys`, { headers: oem() });
    expect(listed.status).toBe(200);
    expect(await listed.json()).toEqual({ vehicleId, keys: [] });
  });
});

describe("the relay's share link", () => {
  it("points at the stack's own URL whatever Host the client sends", async () => {
    const body = JSON.stringify({ payload: payloadOfSize(40), displayInformation: { ...DISPLAY } });
    const answer = await new Promise<{ status: number; json: Json }>((resolve, reject) => {
      const req = httpRequest(
        `${stack.url}/v1/m`,
        {
          method: "POST",
          headers: {
            host: "attacker.example",
            "x-forwarded-proto": "https",
            "content-type": "application/json",
            "mailbox-device-claim": randomUUID(),
            "mailbox-request-id": randomUUID(),
          },
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            text += chunk;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Json }));
        },
      );
      req.on("error", reject);
      req.end(body);
    });
    expect(answer.status, JSON.stringify(answer.json)).toBe(200);
    expect(answer.json.urlLink).toMatch(new RegExp(`^${stack.url}/v1/m/[0-9a-f-]{36}$`));
    expect(answer.json.urlLink).not.toContain("attacker");
  });
});

describe("the stack's files and lifecycle", () => {
  it("keeps keys and the token private in the data directory", async () => {
    expect(stack.oemTokenSource).toBe("generated");
    expect(stack.dynamoDb.kind).toBe("local-memory");
    const token = await stat(join(dataDir, "oem-token"));
    expect(token.mode & 0o777).toBe(0o600);
    const keys = (await readdir(stack.keysDir)).sort();
    expect(keys).toEqual([
      "device-maker-b-root.json",
      "device-maker-b-root.pem",
      "device-maker-b-se-manufacturer.json",
      "device-oem-root.json",
      "device-pseudonym.key",
      "se-manufacturer.json",
      "vehicle-oem-root.json",
    ]);
    // The other phone maker's root certificate is public; every key file is private.
    for (const key of keys.filter((name) => !name.endsWith(".pem")))
      expect((await stat(join(stack.keysDir, key))).mode & 0o777).toBe(0o600);
    expect(toHex(await stack.manufacturer.publicKey())).toBe(toHex(stack.manufacturerPublicKey));
  });
});

describe("a second stack in the same process", () => {
  it("runs beside the first with its own database, keys and links, and writes nothing into process.env", async () => {
    expect(JSON.stringify(process.env)).toBe(environmentBefore);
    const otherDir = await mkdtemp(join(tmpdir(), "carkeys-stack-b-"));
    const other = await startLocalDeployment({
      port: 0,
      inMemory: true,
      dataDir: otherDir,
      oemName: "Other OEM",
    });
    try {
      expect(JSON.stringify(process.env)).toBe(environmentBefore);
      expect(other.dynamoDb.endpoint).not.toBe(stack.dynamoDb.endpoint);
      const anchors = async (s: LocalDeployment) =>
        (await (await fetch(`${s.url}/v1/trust-anchors`)).json()) as { vehicleOemRoot: string };
      // Each stack's roots are its own keys, named after its own OEM.
      const [mine, theirs] = [await anchors(stack), await anchors(other)];
      expect(theirs.vehicleOemRoot).not.toBe(mine.vehicleOemRoot);
      const name = async (pem: string) => {
        const file = join(otherDir, `root-${randomUUID()}.pem`);
        await writeFile(file, pem);
        return tool("openssl", ["x509", "-noout", "-subject", "-in", file]);
      };
      expect(await name(theirs.vehicleOemRoot)).toContain("Other OEM");
      expect(await name(mine.vehicleOemRoot)).not.toContain("Other OEM");

      // A vehicle enrolled at one stack is unknown at the other.
      const vehicleId = toHex(crypto.getRandomValues(new Uint8Array(16)));
      const enrolled = await fetch(`${other.url}/v1/vehicles`, {
        method: "POST",
        headers: { authorization: `Bearer ${other.oemToken}`, "content-type": "application/json" },
        body: JSON.stringify({ vehicleId, vehiclePublicKey: toHex(generateKeyPair().publicKey) }),
      });
      expect(enrolled.status).toBe(201);
      const keysAt = async (s: LocalDeployment) =>
        (
          await fetch(`${s.url}/v1/vehicles/${vehicleId}/keys`, {
            headers: { authorization: `Bearer ${s.oemToken}` },
          })
        ).status;
      expect(await keysAt(other)).toBe(200);
      expect(await keysAt(stack)).toBe(404);

      // A mailbox made at one stack links to that stack and is not found at the other.
      const created = await fetch(`${other.url}/v1/m`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "mailbox-device-claim": randomUUID(),
          "mailbox-request-id": randomUUID(),
        },
        body: JSON.stringify({ payload: payloadOfSize(40), displayInformation: { ...DISPLAY } }),
      });
      expect(created.status).toBe(200);
      const { urlLink } = (await created.json()) as { urlLink: string };
      expect(urlLink.startsWith(`${other.url}/v1/m/`)).toBe(true);
      const path = new URL(urlLink).pathname;
      expect((await fetch(`${other.url}${path}`)).status).toBe(200);
      expect((await fetch(`${stack.url}${path}`)).status).toBe(404);
    } finally {
      await other.stop();
      await rm(otherDir, { recursive: true, force: true });
    }
    expect(JSON.stringify(process.env)).toBe(environmentBefore);
  });
});
