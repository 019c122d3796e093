// The deploy-time root bootstrap (functions/root-bootstrap.ts): answers
// CloudFormation's pre-signed ResponseURL with SUCCESS after both roots
// exist, FAILED with a reason when they cannot be made, and does nothing on
// Delete. The URL is a local HTTP server standing in for S3.
import "../support/quiet-logs.js";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeHandler } from "../../functions/root-bootstrap.js";
import { testService } from "../support/test-service.js";

const received: { method?: string; contentType?: string; body: Record<string, unknown> }[] = [];
const server = createServer((req, res) => {
  let text = "";
  req.on("data", (c) => {
    text += c;
  });
  req.on("end", () => {
    received.push({ method: req.method, contentType: req.headers["content-type"], body: JSON.parse(text) });
    res.end();
  });
});
let url = "";

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/response`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const event = (RequestType: "Create" | "Update" | "Delete"): CloudFormationCustomResourceEvent =>
  ({
    RequestType,
    ResponseURL: url,
    StackId: "arn:aws:cloudformation:eu-west-1:123456789012:stack/CarKeys/1",
    RequestId: "req-1",
    LogicalResourceId: "RootCertificates",
    ResourceType: "Custom::CarKeysRootCertificates",
    ServiceToken: "arn:aws:lambda:eu-west-1:123456789012:function:bootstrap",
    ResourceProperties: { ServiceToken: "x" },
    ...(RequestType === "Create"
      ? {}
      : { PhysicalResourceId: "carkeys-root-certificates", OldResourceProperties: {} }),
  }) as CloudFormationCustomResourceEvent;

describe("root bootstrap", () => {
  it("creates both roots on Create and answers SUCCESS; Delete touches nothing", async () => {
    const t = testService();
    const handler = makeHandler({ service: t.service });
    await handler(event("Create"));
    expect(received.at(-1)).toMatchObject({
      method: "PUT",
      body: { Status: "SUCCESS", PhysicalResourceId: "carkeys-root-certificates", RequestId: "req-1" },
    });
    expect(t.store.roots.size).toBe(2);
    const writes = t.store.writes;
    await handler(event("Delete"));
    expect(received.at(-1)?.body.Status).toBe("SUCCESS");
    expect(t.store.writes).toBe(writes);
  });

  it("answers FAILED with the reason when a root cannot be made", async () => {
    const t = testService();
    t.signers["device-oem-root"].sign = async () => {
      throw new Error("KMS unreachable");
    };
    const handler = makeHandler({ service: t.service });
    await handler(event("Update"));
    expect(received.at(-1)?.body).toMatchObject({ Status: "FAILED" });
    expect(String(received.at(-1)?.body.Reason)).toMatch(/^root bootstrap failed: /);
  });
});
