// Runs the Lambda handlers of functions/ the way API Gateway (HTTP API,
// payload format 2.0) invokes them, against DynamoDB Local and software root
// keys: the environment is what the CDK stack sets, so
// src/adapters/service-assembly.ts builds the service exactly as in production.
// Builds events (routeKey, rawPath, headers, base64 bodies, an IAM authorizer
// context for OEM routes) and reads results back as status, headers and JSON.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyHandlerV2,
  APIGatewayProxyStructuredResultV2,
  Context,
} from "aws-lambda";
import { toHex } from "../../src/protocol/bytes.js";
import { LOCAL_CREDENTIALS, LOCAL_REGION, startTestTable, type TestTable } from "./dynamodb-table.js";
import { type TestManufacturer, testManufacturer } from "./test-device.js";

export interface LambdaHarness {
  readonly table: TestTable;
  readonly manufacturer: TestManufacturer;
  readonly keysDir: string;
  stop(): Promise<void>;
}

/** Starts DynamoDB Local with the table and points the handlers' environment at it. */
export async function startLambdaHarness(): Promise<LambdaHarness> {
  const table = await startTestTable();
  const keysDir = await mkdtemp(join(tmpdir(), "carkeys-keys-"));
  const manufacturer = testManufacturer();
  Object.assign(process.env, {
    TABLE_NAME: table.tableName,
    AWS_ENDPOINT_URL_DYNAMODB: table.endpoint,
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    DEVICE_OEM_SIGNER_URI: `softkms:${keysDir}#device-oem-root`,
    VEHICLE_OEM_SIGNER_URI: `softkms:${keysDir}#vehicle-oem-root`,
    SE_MANUFACTURER_PUBLIC_KEY: toHex(manufacturer.keyPair.publicKey),
    DEVICE_OEM_NAME: "Test Device OEM",
    VEHICLE_OEM_NAME: "Test Vehicle OEM",
    DEVICE_PSEUDONYM_KEY: `file:${join(keysDir, "device-pseudonym.key")}`,
  });
  return {
    table,
    manufacturer,
    keysDir,
    async stop() {
      await table.stop();
      await rm(keysDir, { recursive: true, force: true });
    },
  };
}

export interface EventOptions {
  /** Path parameters; substituted into the route's path for rawPath. */
  readonly params?: Record<string, string>;
  /** A string or bytes is sent as is; anything else as JSON. */
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  /** Add the IAM authorizer context API Gateway sets after SigV4 (OEM routes). */
  readonly iam?: boolean;
  readonly base64?: boolean;
  readonly query?: string;
}

/** The raw body bytes an event will carry, as a device would sign them. */
export function bodyBytes(body: unknown): Uint8Array {
  if (body === undefined) return new Uint8Array();
  if (body instanceof Uint8Array) return body;
  return new TextEncoder().encode(typeof body === "string" ? body : JSON.stringify(body));
}

export function apiEvent(routeKey: string, options: EventOptions = {}): APIGatewayProxyEventV2 {
  const [method, pathTemplate] = routeKey.split(" ") as [string, string];
  const rawPath = pathTemplate.replace(/\{(\w+)\}/g, (_, name: string) => options.params?.[name] ?? "");
  const bytes = bodyBytes(options.body);
  const hasBody = options.body !== undefined;
  return {
    version: "2.0",
    routeKey,
    rawPath,
    rawQueryString: options.query ?? "",
    headers: { "content-type": "application/json", ...options.headers },
    ...(options.params ? { pathParameters: options.params } : {}),
    requestContext: {
      accountId: "123456789012",
      apiId: "local",
      domainName: "localhost",
      domainPrefix: "localhost",
      http: { method, path: rawPath, protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "vitest" },
      requestId: `req-${Math.random().toString(16).slice(2)}`,
      routeKey,
      stage: "$default",
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
      ...(options.iam
        ? {
            authorizer: {
              iam: {
                accessKey: "AKIATEST",
                accountId: "123456789012",
                callerId: "AIDATEST",
                cognitoIdentity: null,
                principalOrgId: "",
                userArn: "arn:aws:iam::123456789012:user/oem-backend",
                userId: "AIDATEST",
              },
            },
          }
        : {}),
    } as APIGatewayProxyEventV2["requestContext"],
    ...(hasBody
      ? options.base64
        ? { body: Buffer.from(bytes).toString("base64"), isBase64Encoded: true }
        : { body: Buffer.from(bytes).toString("utf8"), isBase64Encoded: false }
      : { isBase64Encoded: false }),
  };
}

const context = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: "carkeys-test",
  functionVersion: "$LATEST",
  invokedFunctionArn: "arn:aws:lambda:eu-west-1:123456789012:function:carkeys-test",
  memoryLimitInMB: "512",
  awsRequestId: "test-request",
  logGroupName: "/aws/lambda/carkeys-test",
  logStreamName: "test",
  getRemainingTimeInMillis: () => 30_000,
  done: () => {},
  fail: () => {},
  succeed: () => {},
} as Context;

export interface InvokeResult {
  readonly status: number;
  readonly headers: Record<string, string>;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
  readonly json: any;
  readonly raw: APIGatewayProxyStructuredResultV2;
}

export async function invoke(
  handler: APIGatewayProxyHandlerV2,
  event: APIGatewayProxyEventV2,
): Promise<InvokeResult> {
  const result = (await handler(event, context, () => {})) as APIGatewayProxyStructuredResultV2;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(result.headers ?? {}))
    headers[name.toLowerCase()] = String(value);
  return {
    status: result.statusCode ?? 200,
    headers,
    json: result.body ? JSON.parse(result.body) : undefined,
    raw: result,
  };
}
