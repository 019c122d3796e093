// The local stand-in for API Gateway: an HTTP server that routes each request
// by the shared route table (src/api/routes.ts) to the very Lambda handler
// that serves it in AWS, as a payload 2.0 event, and writes the handler's
// result back. There is no second implementation of any route here; what this
// file adds is only what API Gateway itself does in front of the functions:
// - routing, with 404/405 as problem+json before any handler runs;
// - authorization of `oem` routes: IAM (SigV4) in AWS, here a static bearer
//   token compared in constant time; an authenticated request carries a local
//   IAM principal in `requestContext.authorizer.iam`, as an IAM-authorized one
//   does in AWS, and no longer carries the token (no handler can log it);
// - a request body limit (413 from the Content-Length alone when it is
//   declared, otherwise as soon as the limit is crossed); the answer goes out
//   at once, and the rest of the body is read and thrown away (up to a
//   bound) before the connection closes, so a client that writes its whole
//   body before reading still gets the answer instead of a reset;
// - connection timeouts chosen on purpose (see KEEP_ALIVE_TIMEOUT_MS);
// - API Gateway's own failure answers: 500 `{"message":"Internal Server
//   Error"}` when a handler throws or returns an unusable result, 503 when it
//   runs past the 30 s integration timeout.
// - mutual TLS, when configured (`mtls`): a second listener, HTTPS, that asks
//   every client for a certificate and completes the handshake only for a
//   chain to the configured truststore (node:https `requestCert`,
//   `rejectUnauthorized`), as an API Gateway custom domain with mutual TLS
//   does; the verified leaf reaches the handler in
//   `requestContext.authentication.clientCert`, and on that listener it is
//   the OEM credential (the bearer token is for the plain listener).
// - the Lambda Invoke API path for the functions no route serves (the expiry
//   sweep), with the OEM token: lambda-invocations.ts.
// Handlers are built from an explicit table of the functions' factories
// (src/adapters/function-handlers/index.ts) by the route table's function
// names, never by self-registration.
// It listens on loopback only: the OEM token travels in clear text.
import { createHash, randomUUID, timingSafeEqual, type X509Certificate } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { TLSSocket } from "node:tls";
import type { APIGatewayEventRequestContextIAMAuthorizer, Context } from "aws-lambda";
import { type ProblemKind, problemResponse } from "../../api/problems.js";
import { functionNames, ROUTES, type RouteDefinition } from "../../api/routes.js";
import { HTTP_HANDLER_FACTORIES } from "../function-handlers/index.js";
import {
  type ClientCertificateFacts,
  fromApiGatewayResult,
  type HttpResponseFacts,
  newRequestId,
  splitRequestTarget,
  toApiGatewayEvent,
} from "./api-gateway-event.js";
import { LocalServerError, RequestTargetError } from "./errors.js";
import {
  type InvocableFunctions,
  invocationEvent,
  invocationResult,
  invocationTarget,
  invokeRefusal,
  resolveInvocable,
} from "./lambda-invocations.js";
import { Router } from "./router.js";

/**
 * A Lambda handler as the functions export it (`APIGatewayProxyHandlerV2`, or
 * middy's wrapper of one): called with the event and context, it returns a
 * promise or answers through the callback.
 */
export type LambdaHandler = (
  event: never,
  context: Context,
  callback: (error?: unknown, result?: unknown) => void,
) => unknown;

/** Function name (as in src/api/routes.ts) → its module's `handler`. */
export type HandlerMap = Readonly<Record<string, LambdaHandler>>;

/**
 * What a function's `makeHandler` is built with, by function name: the
 * dependencies (or a function that builds them on first use) the local stack
 * assembled. Without it each module's own `handler` runs, which builds its
 * dependencies from process.env as in Lambda.
 */
export type DependenciesByFunction = (functionName: string) => unknown;

export interface LocalServerOptions {
  /** TCP port; 0 picks a free one. */
  readonly port: number;
  /** Loopback only ("127.0.0.1", "::1" or "localhost"); default "127.0.0.1". */
  readonly host?: string;
  /** The static token OEM routes require as `authorization: Bearer <token>`. */
  readonly oemCredential: string;
  /** Default: every function of the route table, built with `loadHandlers(dependencies, names)`. */
  readonly handlers?: HandlerMap;
  /** What the handlers are built with (required unless `handlers` is given). */
  readonly dependencies?: DependenciesByFunction;
  /** Default: src/api/routes.ts `ROUTES`. */
  readonly routes?: readonly RouteDefinition[];
  /** Largest accepted request body; default 256 KiB. */
  readonly bodyLimitBytes?: number;
  /** How long a handler may run before the caller gets 503; default 30 s (API Gateway's limit). */
  readonly timeoutMs?: number;
  /** `requestContext.accountId` and the local IAM principal's account; default 000000000000. */
  readonly accountId?: string;
  /** `requestContext.apiId`; default "local". */
  readonly apiId?: string;
  /**
   * How much of a refused request's body is read and thrown away before the
   * connection closes; default 16 MiB. A body declared larger is not waited for.
   */
  readonly discardLimitBytes?: number;
  /** Called once per request after the response is written (an access log; no bodies, no headers). */
  readonly onRequest?: (entry: AccessLogEntry) => void;
  /** Called when a handler fails; API Gateway hides the cause from the caller, the developer should see it. */
  readonly onHandlerError?: (error: unknown, routeKey: string) => void;
  /** A second, HTTPS listener with mutual TLS (the stand-in for a custom domain with a truststore). */
  readonly mtls?: MutualTlsOptions;
  /**
   * Functions without a route that `POST /2015-03-31/functions/{name}/invocations` runs, with the OEM
   * token (lambda-invocations.ts); default none.
   */
  readonly invocableFunctions?: InvocableFunctions;
}

export interface MutualTlsOptions {
  /** TCP port of the HTTPS listener; 0 picks a free one. */
  readonly port: number;
  /** The truststore: PEM certificates of the CAs whose client certificates are accepted. */
  readonly ca: string;
  /** The server's own certificate chain (PEM) and private key (PEM). */
  readonly cert: string;
  readonly key: string;
}

export interface AccessLogEntry {
  readonly method: string;
  /** The decoded path, safe to print on one line: control characters and backslashes escaped (`escapeForLog`). */
  readonly path: string;
  readonly status: number;
  readonly durationMs: number;
  readonly requestId: string;
}

export interface LocalServer {
  /** e.g. http://127.0.0.1:3000 */
  readonly url: string;
  readonly port: number;
  /** The mutual-TLS listener, e.g. https://127.0.0.1:3443, when `mtls` was given. */
  readonly mtlsUrl: string | undefined;
  /** Stops accepting, drops idle keep-alive connections and resolves once the listener is closed. */
  close(): Promise<void>;
}

export const DEFAULT_BODY_LIMIT_BYTES = 256 * 1024;
export const DEFAULT_DISCARD_LIMIT_BYTES = 16 * 1024 * 1024;
/**
 * How long an idle keep-alive connection stays open. Longer than the idle
 * timeout of common client pools (fetch/undici 4 s, Node's global http.Agent
 * 5 s, Go's net/http 90 s), as API Gateway's own front end keeps idle
 * connections longer than its clients do: the client always gives up an idle
 * connection first, so it never sends a request on a connection the server
 * is closing at that moment (which the client sees as ECONNRESET). Node's
 * default, 5 s, loses that race against a client whose pool keeps 5 s too,
 * and against any client whose process was busy for a few seconds.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 120_000;
/**
 * How long a request's headers may take to arrive, counted from its first
 * byte (an idle keep-alive connection is not counted): Node's default, set
 * here on purpose so it does not change under us.
 */
export const HEADERS_TIMEOUT_MS = 60_000;
/** How long a whole request, headers and body, may take to arrive. */
export const REQUEST_TIMEOUT_MS = 120_000;
const DEFAULT_TIMEOUT_MS = 30_000;
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "::1", "localhost"]);
/**
 * Each named function's handler, built by its factory (src/adapters/function-handlers/) with
 * `dependencies(name)`. The names are the route table's; a name without a factory is reported.
 */
export function loadHandlers(
  dependencies: DependenciesByFunction,
  names: readonly string[] = functionNames(),
): HandlerMap {
  const handlers: Record<string, LambdaHandler> = {};
  for (const name of names) {
    const factory = Object.hasOwn(HTTP_HANDLER_FACTORIES, name) ? HTTP_HANDLER_FACTORIES[name] : undefined;
    if (!factory) throw new LocalServerError(`no handler factory for function "${name}"`);
    handlers[name] = (factory as (dependencies: unknown) => LambdaHandler)(dependencies(name));
  }
  return handlers;
}

export async function startLocalServer(options: LocalServerOptions): Promise<LocalServer> {
  const host = options.host ?? "127.0.0.1";
  if (!LOOPBACK_HOSTS.has(host)) {
    throw new LocalServerError(`host must be a loopback address (127.0.0.1, ::1, localhost), not ${host}`);
  }
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new LocalServerError("port must be an integer from 0 to 65535");
  }
  assertCredential(options.oemCredential);
  const bodyLimit = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  if (!Number.isSafeInteger(bodyLimit) || bodyLimit < 0) {
    throw new LocalServerError("bodyLimitBytes must be a non-negative integer");
  }
  const routes = options.routes ?? ROUTES;
  const router = new Router(routes);
  if (!options.handlers && !options.dependencies) {
    throw new LocalServerError("give the server its handlers, or the dependencies to build them with");
  }
  const handlers =
    options.handlers ?? loadHandlers(options.dependencies!, [...new Set(routes.map((r) => r.functionName))]);
  for (const route of routes) {
    if (typeof handlers[route.functionName] !== "function") {
      throw new LocalServerError(
        `no handler for function ${route.functionName} (route ${route.method} ${route.path})`,
      );
    }
  }

  const discardLimit = options.discardLimitBytes ?? DEFAULT_DISCARD_LIMIT_BYTES;
  if (!Number.isSafeInteger(discardLimit) || discardLimit < 0) {
    throw new LocalServerError("discardLimitBytes must be a non-negative integer");
  }

  const settings: Settings = {
    router,
    handlers,
    bodyLimit,
    discardLimit,
    credentialDigest: sha256(options.oemCredential),
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    accountId: options.accountId ?? "000000000000",
    apiId: options.apiId ?? "local",
    domainName: host,
    onRequest: options.onRequest,
    onHandlerError: options.onHandlerError,
    invocable: options.invocableFunctions ?? {},
  };
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    serve(settings, req, res).catch((error: unknown) => {
      // Only a bug in this file gets here; answer as API Gateway would and keep serving.
      settings.onHandlerError?.(error, "(local server)");
      if (!res.headersSent) writeResponse(res, internalError());
      else res.destroy();
    });
  };
  const server = configureTimeouts(createServer(listener));
  await listen(server, options.port, host);
  const port = (server.address() as AddressInfo).port;
  const urlHost = host === "::1" ? "[::1]" : host;
  let mtlsServer: Server | undefined;
  if (options.mtls) {
    mtlsServer = configureTimeouts(
      createHttpsServer(
        {
          ca: options.mtls.ca,
          cert: options.mtls.cert,
          key: options.mtls.key,
          requestCert: true,
          // The handshake fails for no certificate or one that does not chain to `ca`: no request is read.
          rejectUnauthorized: true,
          minVersion: "TLSv1.2",
        },
        listener,
      ),
    );
    try {
      await listen(mtlsServer, options.mtls.port, host);
    } catch (error) {
      await closeServer(server);
      throw error;
    }
  }
  const mtlsPort = mtlsServer ? (mtlsServer.address() as AddressInfo).port : undefined;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    mtlsUrl: mtlsPort === undefined ? undefined : `https://${urlHost}:${mtlsPort}`,
    close: async () => {
      await Promise.all([closeServer(server), mtlsServer ? closeServer(mtlsServer) : undefined]);
    },
  };
}

function configureTimeouts(server: Server): Server {
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  return server;
}

function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}

/**
 * The client certificate the handshake verified, in API Gateway's shape; undefined on the plain listener.
 * `authorized` is true only when the chain verified against the truststore (rejectUnauthorized
 * already refused every other handshake; checked again so nothing unverified is ever passed on).
 */
function verifiedClientCertificate(req: IncomingMessage): ClientCertificateFacts | undefined {
  const socket = req.socket;
  if (!(socket instanceof TLSSocket) || !socket.authorized) return undefined;
  const peer = socket.getPeerX509Certificate();
  if (!peer) return undefined;
  return clientCertificateFacts(peer);
}

/** API Gateway's fields for a client certificate: DNs as comma-separated RDNs, serial in hex. */
export function clientCertificateFacts(cert: X509Certificate): ClientCertificateFacts {
  const dn = (name: string) => name.split("\n").filter(Boolean).join(",");
  return {
    clientCertPem: cert.toString(),
    subjectDN: dn(cert.subject),
    issuerDN: dn(cert.issuer),
    serialNumber: cert.serialNumber.toLowerCase(),
    validity: {
      notBefore: new Date(cert.validFrom).toISOString(),
      notAfter: new Date(cert.validTo).toISOString(),
    },
  };
}

interface Settings {
  readonly router: Router;
  readonly handlers: HandlerMap;
  readonly bodyLimit: number;
  readonly discardLimit: number;
  readonly credentialDigest: Buffer;
  readonly timeoutMs: number;
  readonly accountId: string;
  readonly apiId: string;
  readonly domainName: string;
  readonly onRequest: LocalServerOptions["onRequest"];
  readonly onHandlerError: LocalServerOptions["onHandlerError"];
  readonly invocable: InvocableFunctions;
}

async function serve(settings: Settings, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = performance.now();
  const requestId = newRequestId();
  const method = req.method ?? "GET";
  let path = "";
  res.setHeader("apigw-requestid", requestId);
  res.once("finish", () => {
    settings.onRequest?.({
      method,
      path: escapeForLog(path),
      status: res.statusCode,
      durationMs: Math.round((performance.now() - started) * 10) / 10,
      requestId,
    });
  });

  try {
    path = splitRequestTarget(req.url ?? "").rawPath;
  } catch (error) {
    if (!(error instanceof RequestTargetError)) throw error;
    return refuse(settings, req, res, problemFacts("bad-request", error.message));
  }
  const invocation = invocationTarget(method, path);
  if (invocation !== undefined && Object.keys(settings.invocable).length > 0) {
    return serveInvocation(settings, req, res, invocation);
  }
  const match = settings.router.match(method, path);
  if (match.kind === "not-found") {
    return refuse(
      settings,
      req,
      res,
      problemFacts("not-found", `no route for ${method} ${path}`, { instance: path }),
    );
  }
  if (match.kind === "method-not-allowed") {
    return refuse(
      settings,
      req,
      res,
      problemFacts(
        "method-not-allowed",
        `${path} does not accept ${method}; it accepts ${match.allowed.join(", ")}`,
        {
          instance: path,
          headers: { allow: match.allowed.join(", ") },
        },
      ),
    );
  }

  let iam: APIGatewayEventRequestContextIAMAuthorizer["iam"] | undefined;
  const clientCert = verifiedClientCertificate(req);
  // Over mutual TLS the verified certificate is the OEM credential; the handler names the caller by it.
  if (match.route.auth === "oem" && !clientCert) {
    const refusal = checkOemCredential(req.headers.authorization, settings.credentialDigest, path);
    if (refusal) return refuse(settings, req, res, refusal);
    iam = localPrincipal(settings.accountId);
  }

  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > settings.bodyLimit) {
    return refuse(settings, req, res, tooLarge(settings.bodyLimit, path));
  }
  const body = await readBody(req, settings.bodyLimit);
  if (body === undefined) return refuse(settings, req, res, tooLarge(settings.bodyLimit, path));

  const headers = { ...req.headersDistinct };
  // The token authorized this request; past this point nothing needs it (in AWS the header holds a SigV4 signature).
  if (iam) delete headers.authorization;
  const now = new Date();
  const event = toApiGatewayEvent(
    {
      method,
      target: req.url ?? "/",
      headers,
      body,
      sourceIp: (req.socket.remoteAddress ?? "127.0.0.1").replace(/^::ffff:/, ""),
      protocol: `HTTP/${req.httpVersion}`,
      localPort: req.socket.localPort ?? 0,
      tls: req.socket instanceof TLSSocket,
    },
    {
      routeKey: match.routeKey,
      pathParameters: match.pathParameters,
      accountId: settings.accountId,
      apiId: settings.apiId,
      domainName: settings.domainName,
      requestId,
      now,
      iam,
      clientCert,
    },
  );

  const functionName = match.route.functionName;
  const handler = settings.handlers[functionName]!;
  const deadline = Date.now() + settings.timeoutMs;
  const context = lambdaContext(functionName, settings.accountId, deadline);
  let response: HttpResponseFacts;
  try {
    const result = await invokeWithTimeout(handler, event, context, settings.timeoutMs);
    response = result === TIMED_OUT ? serviceUnavailable() : fromApiGatewayResult(result);
  } catch (error) {
    settings.onHandlerError?.(error, match.routeKey);
    response = internalError();
  }
  writeResponse(res, response);
}

function checkOemCredential(
  header: string | undefined,
  expected: Buffer,
  instance: string,
): HttpResponseFacts | undefined {
  const options = { instance, headers: { "www-authenticate": 'Bearer realm="carkeys-local"' } };
  const state = bearerToken(header, expected);
  if (state === "missing") {
    return problemFacts(
      "authentication",
      "this route needs the OEM API token: send `authorization: Bearer <token>`",
      options,
    );
  }
  if (state === "invalid") return problemFacts("authentication", "the OEM API token is not valid", options);
  return undefined;
}

/** Whether `header` carries the OEM token whose digest is `expected`. */
function bearerToken(header: string | undefined, expected: Buffer): "missing" | "invalid" | "valid" {
  const match = header === undefined ? null : /^Bearer[ ]+(\S+)[ ]*$/i.exec(header);
  if (!match) return "missing";
  // Digests first: timingSafeEqual needs equal lengths, and hashing hides the token's length too.
  return timingSafeEqual(sha256(match[1]!), expected) ? "valid" : "invalid";
}

/**
 * One Invoke of a function without a route (lambda-invocations.ts): the OEM token first, then the
 * name, then the body; the function runs under its own timeout, and what it threw is its answer.
 */
async function serveInvocation(
  settings: Settings,
  req: IncomingMessage,
  res: ServerResponse,
  encodedName: string,
): Promise<void> {
  const token = bearerToken(req.headers.authorization, settings.credentialDigest);
  if (token !== "valid") {
    return refuse(
      settings,
      req,
      res,
      token === "missing"
        ? invokeRefusal(
            403,
            "MissingAuthenticationTokenException",
            "invoking a function on the local server needs the OEM API token: send `authorization: Bearer <token>` (.data/oem-token)",
          )
        : invokeRefusal(403, "UnrecognizedClientException", "the OEM API token is not valid"),
    );
  }
  const region = arnRegion();
  const target = resolveInvocable(settings.invocable, encodedName, settings.accountId);
  if (!target) {
    let shown = encodedName;
    try {
      shown = decodeURIComponent(encodedName);
    } catch {
      // shown as sent
    }
    const arn = shown.startsWith("arn:")
      ? shown
      : `arn:aws:lambda:${region}:${settings.accountId}:function:${shown}`;
    return refuse(
      settings,
      req,
      res,
      invokeRefusal(
        404,
        "ResourceNotFoundException",
        `Function not found: ${escapeForLog(arn)} (the local server runs ${Object.keys(settings.invocable).join(", ")})`,
      ),
    );
  }
  const type = req.headers["x-amz-invocation-type"];
  if (type !== undefined && type !== "RequestResponse") {
    return refuse(
      settings,
      req,
      res,
      invokeRefusal(
        400,
        "InvalidParameterValueException",
        `the local server runs RequestResponse invocations only, not ${escapeForLog(String(type))}`,
      ),
    );
  }
  const declared = req.headers["content-length"];
  const tooLargeAnswer = () =>
    invokeRefusal(413, "RequestTooLargeException", `request body is larger than ${settings.bodyLimit} bytes`);
  if (declared !== undefined && Number(declared) > settings.bodyLimit) {
    return refuse(settings, req, res, tooLargeAnswer());
  }
  const body = await readBody(req, settings.bodyLimit);
  if (body === undefined) return refuse(settings, req, res, tooLargeAnswer());
  const parsed = invocationEvent(body);
  if (!parsed) {
    return writeResponse(
      res,
      invokeRefusal(400, "InvalidRequestContentException", "Could not parse request body into json"),
    );
  }
  const { name, fn } = target;
  const context = lambdaContext(name, settings.accountId, Date.now() + fn.timeoutMs);
  let answer: HttpResponseFacts;
  try {
    const result = await invokeWithTimeout(
      fn.handler as unknown as LambdaHandler,
      parsed.event,
      context,
      fn.timeoutMs,
    );
    answer =
      result === TIMED_OUT
        ? invocationResult({
            error: Object.assign(
              new Error(`Task timed out after ${(fn.timeoutMs / 1000).toFixed(2)} seconds`),
              {
                name: "Sandbox.Timedout",
              },
            ),
          })
        : invocationResult({ result });
  } catch (error) {
    settings.onHandlerError?.(error, `invoke ${name}`);
    answer = invocationResult({ error });
  }
  writeResponse(res, answer);
}

/** The principal an IAM-authorized request carries; here the one local OEM caller. */
function localPrincipal(accountId: string): APIGatewayEventRequestContextIAMAuthorizer["iam"] {
  return {
    accessKey: "ASIALOCALOEMCALLER00",
    accountId,
    callerId: "AIDALOCALOEMCALLER00",
    cognitoIdentity: null,
    // API Gateway sends null when the caller is not in an AWS Organization; the type says string.
    principalOrgId: null as unknown as string,
    userArn: `arn:aws:iam::${accountId}:user/local-oem`,
    userId: "AIDALOCALOEMCALLER00",
  };
}

/** The body, or undefined once it is larger than `limit` (reading stops there). */
function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.pause();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(new Uint8Array(Buffer.concat(chunks, size)));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
    };
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("error", onError);
  });
}

const TIMED_OUT = Symbol("timed out");

async function invokeWithTimeout(
  handler: LambdaHandler,
  event: unknown,
  context: Context,
  timeoutMs: number,
): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), timeoutMs);
  });
  try {
    return await Promise.race([invoke(handler, event, context), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Calls the handler as the Node.js Lambda runtime does: a returned promise or the callback, whichever comes. */
function invoke(handler: LambdaHandler, event: unknown, context: Context): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const callback = (error?: unknown, result?: unknown) => (error ? reject(error) : resolve(result));
    try {
      const returned = handler(event as never, context, callback);
      if (isPromiseLike(returned)) returned.then(resolve, reject);
    } catch (error) {
      reject(error);
    }
  });
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === "function";
}

/** The region the ARNs the server shows name: the developer's own setting, as the SDK reads it. */
function arnRegion(): string {
  return process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1";
}

function lambdaContext(functionName: string, accountId: string, deadline: number): Context {
  const region = arnRegion();
  const unsupported = () => {
    throw new Error("context.done/fail/succeed are not supported: return a promise");
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:${region}:${accountId}:function:${functionName}`,
    memoryLimitInMB: "1024",
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

/**
 * Answers a request refused before its body was read (400, 401, 404, 405,
 * 413). The answer goes out at once, for clients that read while they write
 * (curl, fetch); the connection then closes. Closing a socket that still
 * holds unread data makes the kernel reset the connection, and a client that
 * writes its whole body before reading (Python's urllib, many scripts) would
 * get a broken pipe and never see the answer. So the rest of the body is read
 * and thrown away first, up to `discardLimit` bytes; the response is ended,
 * and the connection closed, when the body has ended. A body declared larger
 * than that, or found to be, is not waited for: the connection goes once the
 * answer is out. A client that stalls mid-body is dropped by the server's
 * request timeout (REQUEST_TIMEOUT_MS).
 */
function refuse(
  settings: Settings,
  req: IncomingMessage,
  res: ServerResponse,
  response: HttpResponseFacts,
): void {
  if (req.complete) {
    writeResponse(res, response);
    return;
  }
  res.shouldKeepAlive = false;
  res.setHeader("connection", "close");
  const declared = Number(req.headers["content-length"]);
  if (declared > settings.discardLimit) {
    req.pause();
    writeResponse(res, response);
    return;
  }
  writeResponse(res, response, { end: false });
  let discarded = 0;
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    req.off("data", discard);
    res.end();
  };
  const discard = (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded <= settings.discardLimit) return;
    end();
    req.socket.destroy();
  };
  req.on("data", discard);
  req.once("end", end);
  req.once("close", end);
  req.resume();
}

/**
 * A decoded path made safe for a one-line log: a backslash becomes `\\`, and
 * control characters (C0, DEL, C1) and the Unicode line and paragraph
 * separators become `\xHH` or `\uHHHH`, so `%0A` in a request cannot start
 * a forged log line.
 */
export function escapeForLog(text: string): string {
  return text.replace(/[\\\p{Cc}\u2028\u2029]/gu, (c) => {
    if (c === "\\") return "\\\\";
    const code = c.charCodeAt(0);
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, "0").toUpperCase()}`
      : `\\u${code.toString(16).toUpperCase()}`;
  });
}

function problemFacts(
  kind: ProblemKind,
  detail: string,
  options: Parameters<typeof problemResponse>[2] = {},
): HttpResponseFacts {
  const response = problemResponse(kind, detail, options);
  return {
    statusCode: response.statusCode,
    headers: Object.entries(response.headers),
    body: new TextEncoder().encode(response.body),
  };
}

function writeResponse(res: ServerResponse, response: HttpResponseFacts, options = { end: true }): void {
  res.statusCode = response.statusCode;
  const grouped = new Map<string, string[]>();
  for (const [name, value] of response.headers) {
    const key = name.toLowerCase();
    grouped.set(key, [...(grouped.get(key) ?? []), value]);
  }
  for (const [name, values] of grouped) {
    if (name === "content-length" || name === "transfer-encoding" || name === "connection") continue;
    res.setHeader(name, name === "set-cookie" ? values : values.join(","));
  }
  res.setHeader("content-length", response.body.length);
  const body = Buffer.from(response.body.buffer, response.body.byteOffset, response.body.length);
  // Not ended: the whole answer is on the wire (its length is declared), and the caller ends it later.
  if (options.end) res.end(body);
  else res.write(body);
}

function tooLarge(limit: number, instance: string): HttpResponseFacts {
  return problemFacts("payload-too-large", `request body is larger than ${limit} bytes`, { instance });
}

/** API Gateway's answer when the integration fails. */
function internalError(): HttpResponseFacts {
  return jsonMessage(500, "Internal Server Error");
}

/** API Gateway's answer when the integration times out. */
function serviceUnavailable(): HttpResponseFacts {
  return jsonMessage(503, "Service Unavailable");
}

function jsonMessage(statusCode: number, message: string): HttpResponseFacts {
  return {
    statusCode,
    headers: [["content-type", "application/json"]],
    body: new TextEncoder().encode(JSON.stringify({ message })),
  };
}

function assertCredential(credential: string): void {
  if (typeof credential !== "string" || !/^[\x21-\x7e]{16,512}$/.test(credential)) {
    throw new LocalServerError("oemCredential must be 16 to 512 printable ASCII characters without spaces");
  }
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
}
