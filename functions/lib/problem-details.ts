// Maps the service's typed errors to RFC 9457 problem details, by class, in
// one table: the handlers never build an error response themselves
// (docs/architecture.md "Conventions"). A known refusal becomes middy's HttpError with
// `expose` (always < 500) and a JSON problem as its message, which
// @middy/http-error-handler turns into the response; anything else is left
// for http-error-handler's fallback, a generic 500 that reveals nothing.
// The detail is the domain error's message, written for the client; request
// bodies, keys and passwords never appear in one, nor a library's own text
// (an ASN.1 decoder's complaint): that goes to the log with the error's causes.
import type { MiddlewareObj } from "@middy/core";
import { createError } from "@middy/util";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import {
  AuthenticationError,
  ConflictError,
  ForbiddenError,
  FriendSlotsFullError,
  NotFoundError,
  PayloadTooLargeError,
  ReplayError,
  ServiceError,
  ServiceUnavailableError,
  StorageUnavailableError,
  UnsupportedMediaTypeError,
  ValidationError,
} from "../../src/service/errors.js";
import { logger } from "../../src/service/logger.js";
import type { Problem } from "../../src/service/schemas.js";

export const PROBLEM_CONTENT_TYPE = "application/problem+json";
const PROBLEM_TYPE_PREFIX = "urn:carkeys:problem:";

interface ProblemKind {
  readonly type: string;
  readonly title: string;
  readonly status: number;
}

/** Most specific class first: ReplayError is an AuthenticationError. */
const PROBLEM_KINDS: readonly [abstract new (...args: never[]) => ServiceError, ProblemKind][] = [
  [ValidationError, { type: "validation", title: "Invalid request", status: 400 }],
  [ReplayError, { type: "replay", title: "Request already used", status: 401 }],
  [AuthenticationError, { type: "authentication", title: "Not authenticated", status: 401 }],
  [ForbiddenError, { type: "forbidden", title: "Evidence not trusted", status: 403 }],
  [NotFoundError, { type: "not-found", title: "Not found", status: 404 }],
  [FriendSlotsFullError, { type: "friend-slots-full", title: "Friend key slots full", status: 409 }],
  [ConflictError, { type: "conflict", title: "Conflicts with the current state", status: 409 }],
  [PayloadTooLargeError, { type: "payload-too-large", title: "Request body too large", status: 413 }],
  [
    UnsupportedMediaTypeError,
    { type: "unsupported-media-type", title: "Unsupported media type", status: 415 },
  ],
  [
    StorageUnavailableError,
    { type: "unavailable", title: "Try again: the request is safe to repeat", status: 503 },
  ],
  [ServiceUnavailableError, { type: "unavailable", title: "Not available yet", status: 503 }],
];

/** The body of every 500: nothing about the cause. */
export const INTERNAL_PROBLEM: Problem = {
  type: `${PROBLEM_TYPE_PREFIX}internal`,
  title: "Internal error",
  status: 500,
  detail: "The service could not complete the request; it has been logged.",
};

/** The problem for a domain refusal, or undefined when `error` is not one (an internal failure). */
export function problemFor(error: unknown, instance?: string): Problem | undefined {
  if (!(error instanceof ServiceError)) return undefined;
  const kind = PROBLEM_KINDS.find(([cls]) => error instanceof cls)?.[1];
  if (!kind) return undefined;
  return {
    type: `${PROBLEM_TYPE_PREFIX}${kind.type}`,
    title: kind.title,
    status: kind.status,
    detail: error.message,
    ...(instance ? { instance } : {}),
    ...(error instanceof ValidationError && error.fields.length > 0 ? { errors: [...error.fields] } : {}),
  };
}

/** The `cause` chain below a refusal, as "Name: message" lines (bounded: a cause may be long or cyclic). */
export function causeChain(error: unknown): string[] {
  const lines: string[] = [];
  let cause = (error as { cause?: unknown } | null)?.cause;
  while (cause !== undefined && cause !== null && lines.length < 5) {
    const text = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    lines.push(text.length > 300 ? `${text.slice(0, 300)}…` : text);
    cause = (cause as { cause?: unknown }).cause;
  }
  return lines;
}

/** Middy's HttpError carrying the problem as its (exposed) message. */
export function problemHttpError(problem: Problem, cause: unknown) {
  return createError(problem.status, JSON.stringify(problem), { expose: true, cause });
}

/** A refusal as the client will see it, with any extra response headers (Retry-After). */
export interface MappedProblem {
  readonly problem: Problem;
  readonly headers?: Record<string, string>;
}

export type ProblemMapper = (error: unknown, instance: string | undefined) => MappedProblem | undefined;

/** A domain refusal's problem, with Retry-After when the refusal says when to try again. */
export const mapDomainError: ProblemMapper = (error, instance) => {
  const problem = problemFor(error, instance);
  if (!problem) return undefined;
  return error instanceof StorageUnavailableError
    ? { problem, headers: { "retry-after": String(error.retryAfterSeconds) } }
    : { problem };
};

/**
 * The middleware every handler chain ends its error path with: a known
 * refusal becomes its problem (logged as a fact, never with the body that
 * caused it); anything else is logged with its stack and left to
 * http-error-handler's generic 500.
 */
export function errorMapper(map: ProblemMapper = mapDomainError): MiddlewareObj<APIGatewayProxyEventV2> {
  return {
    name: "errorMapper",
    onError: (request) => {
      const mapped = map(request.error, request.event?.rawPath);
      if (mapped) {
        const causes = causeChain(request.error);
        logger.info("request refused", {
          route: request.event?.routeKey,
          status: mapped.problem.status,
          problem: mapped.problem.type,
          detail: mapped.problem.detail,
          // What a library said (an ASN.1 decoder's text) is for the operator, never in the detail.
          ...(causes.length > 0 ? { causes } : {}),
        });
        const httpError = problemHttpError(mapped.problem, request.error) as Error & {
          headers?: Record<string, string>;
        };
        if (mapped.headers) httpError.headers = mapped.headers;
        request.error = httpError;
        return;
      }
      const error = request.error as Error | null;
      // The causes say why (e.g. a signer failure's KMS AccessDeniedException); the 500 body never does.
      const causes = causeChain(request.error);
      logger.error("request failed", {
        errorName: error?.name,
        errorMessage: error?.message,
        ...(causes.length > 0 ? { causes } : {}),
        stack: error?.stack,
      });
    },
  };
}
