// Maps the service's typed errors to the API's problem kinds (the catalogue
// in src/api/problems.ts), by class, in one table: the handlers never build
// an error response themselves (docs/architecture.md "Conventions"). A known
// refusal becomes middy's HttpError with `expose` (always < 500) and a JSON
// problem as its message, which @middy/http-error-handler turns into the
// response; anything else is left for http-error-handler's fallback, a
// generic 500 that reveals nothing. The detail is the domain error's
// message, written for the client; request bodies, keys and passwords never
// appear in one, nor a library's own text (an ASN.1 decoder's complaint):
// that goes to the log with the error's causes.
import type { MiddlewareObj } from "@middy/core";
import { createError } from "@middy/util";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { type Problem, type ProblemKind, problem } from "../../api/problems.js";
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
} from "../errors.js";
import { logger } from "../logger.js";
import { AccessRightsError, RateLimitedError } from "../relay/relay-errors.js";

/** Most specific class first: ReplayError is an AuthenticationError, AccessRightsError a ForbiddenError. */
const KIND_BY_CLASS: readonly [abstract new (...args: never[]) => ServiceError, ProblemKind][] = [
  [ValidationError, "validation"],
  [ReplayError, "replay"],
  [AuthenticationError, "authentication"],
  [AccessRightsError, "access-rights"],
  [ForbiddenError, "forbidden"],
  [NotFoundError, "not-found"],
  [FriendSlotsFullError, "friend-slots-full"],
  [ConflictError, "conflict"],
  [PayloadTooLargeError, "payload-too-large"],
  [UnsupportedMediaTypeError, "unsupported-media-type"],
  [RateLimitedError, "rate-limited"],
  [StorageUnavailableError, "storage-unavailable"],
  [ServiceUnavailableError, "unavailable"],
];

/** The problem for a domain refusal, or undefined when `error` is not one (an internal failure). */
export function problemFor(error: unknown, instance?: string): Problem | undefined {
  if (!(error instanceof ServiceError)) return undefined;
  const kind = KIND_BY_CLASS.find(([cls]) => error instanceof cls)?.[1];
  if (!kind) return undefined;
  return problem(kind, error.message, {
    instance,
    ...(error instanceof ValidationError ? { errors: error.fields } : {}),
  });
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
export function problemHttpError(answer: Problem, cause: unknown) {
  return createError(answer.status, JSON.stringify(answer), { expose: true, cause });
}

/** A refusal as the client will see it, with any extra response headers (Retry-After). */
export interface MappedProblem {
  readonly problem: Problem;
  readonly headers?: Record<string, string>;
}

export type ProblemMapper = (error: unknown, instance: string | undefined) => MappedProblem | undefined;

/** A domain refusal's problem, with Retry-After when the refusal says when to try again. */
export const mapDomainError: ProblemMapper = (error, instance) => {
  const mapped = problemFor(error, instance);
  if (!mapped) return undefined;
  return error instanceof StorageUnavailableError || error instanceof RateLimitedError
    ? { problem: mapped, headers: { "retry-after": String(error.retryAfterSeconds) } }
    : { problem: mapped };
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
