// RFC 9457 problem details for the answers the local server gives itself,
// before any handler runs: a malformed path, an unknown route, a wrong
// method, a missing OEM credential, an oversize body. They use the service's
// own problem types (`urn:carkeys:problem:<kind>`, as functions/lib maps its
// domain errors), and the same kind for the same cause, so a client handles
// "not authenticated" or "body too large" alike whichever layer refused it.

export const PROBLEM_CONTENT_TYPE = "application/problem+json";
const PROBLEM_TYPE_PREFIX = "urn:carkeys:problem:";

export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  /** The request path. */
  readonly instance?: string;
}

export interface ProblemResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** The refusals the gateway layer makes, keyed by status. */
const KINDS = {
  400: { kind: "bad-request", title: "Malformed request" },
  401: { kind: "authentication", title: "Not authenticated" },
  404: { kind: "not-found", title: "Not found" },
  405: { kind: "method-not-allowed", title: "Method not allowed" },
  413: { kind: "payload-too-large", title: "Request body too large" },
} as const;

export type LocalProblemStatus = keyof typeof KINDS;

export function problem(status: LocalProblemStatus, detail: string, instance?: string): Problem {
  const { kind, title } = KINDS[status];
  return {
    type: `${PROBLEM_TYPE_PREFIX}${kind}`,
    title,
    status,
    detail,
    ...(instance !== undefined ? { instance } : {}),
  };
}

export function problemResponse(
  status: LocalProblemStatus,
  detail: string,
  options: { instance?: string; headers?: Readonly<Record<string, string>> } = {},
): ProblemResponse {
  return {
    statusCode: status,
    headers: { "content-type": PROBLEM_CONTENT_TYPE, ...options.headers },
    body: JSON.stringify(problem(status, detail, options.instance)),
  };
}
