// The API's one problem catalogue (RFC 9457 problem details): every refusal
// any layer answers with, whether the handler maps a domain error to it
// (src/service/http/problem-mapping.ts) or the local server refuses a request
// before any handler runs (an unknown route, a missing OEM credential, an
// oversize body). One kind, one type URI, one title, one status: a client
// handles "not authenticated" or "body too large" alike whichever layer
// refused it. Two kinds may share a type URI when they differ only in what
// the title tells the caller to do (the two 503s).
import * as z from "zod/mini";

export const PROBLEM_MEDIA_TYPE = "application/problem+json";
export const PROBLEM_TYPE_PREFIX = "urn:carkeys:problem:";

export interface ProblemKindEntry {
  /** The `type` member: `urn:carkeys:problem:<name>`. */
  readonly type: string;
  readonly title: string;
  readonly status: number;
}

const entry = (name: string, title: string, status: number): ProblemKindEntry => ({
  type: `${PROBLEM_TYPE_PREFIX}${name}`,
  title,
  status,
});

export const PROBLEM_KINDS = {
  validation: entry("validation", "Invalid request", 400),
  "bad-request": entry("bad-request", "Malformed request", 400),
  authentication: entry("authentication", "Not authenticated", 401),
  replay: entry("replay", "Request already used", 401),
  forbidden: entry("forbidden", "Evidence not trusted", 403),
  "access-rights": entry("access-rights", "Not allowed by the mailbox's access rights", 403),
  "not-found": entry("not-found", "Not found", 404),
  "method-not-allowed": entry("method-not-allowed", "Method not allowed", 405),
  "friend-slots-full": entry("friend-slots-full", "Friend key slots full", 409),
  conflict: entry("conflict", "Conflicts with the current state", 409),
  "payload-too-large": entry("payload-too-large", "Request body too large", 413),
  "unsupported-media-type": entry("unsupported-media-type", "Unsupported media type", 415),
  "rate-limited": entry("rate-limited", "Too many requests", 429),
  internal: entry("internal", "Internal error", 500),
  unavailable: entry("unavailable", "Not available yet", 503),
  "storage-unavailable": entry("unavailable", "Try again: the request is safe to repeat", 503),
} as const satisfies Record<string, ProblemKindEntry>;

export type ProblemKind = keyof typeof PROBLEM_KINDS;

/** RFC 9457 problem details, as every 4xx/5xx answer carries (`application/problem+json`). */
export const ProblemSchema = z
  .object({
    type: z.string().check(z.meta({ description: "urn:carkeys:problem:<kind>" })),
    title: z.string(),
    status: z.number().check(z.int()),
    detail: z.string().check(z.meta({ description: "What was wrong, for a developer to read" })),
    instance: z.optional(z.string()).check(z.meta({ description: "The request path" })),
    errors: z
      .optional(z.array(z.strictObject({ path: z.string(), message: z.string() })))
      .check(z.meta({ description: "Per-field validation messages" })),
  })
  .check(z.meta({ id: "Problem" }));

export type Problem = z.infer<typeof ProblemSchema>;
export type ProblemField = NonNullable<Problem["errors"]>[number];

/** The problem of `kind` with `detail`, for the request path `instance`. */
export function problem(
  kind: ProblemKind,
  detail: string,
  options: { readonly instance?: string | undefined; readonly errors?: readonly ProblemField[] } = {},
): Problem {
  const { type, title, status } = PROBLEM_KINDS[kind];
  return {
    type,
    title,
    status,
    detail,
    ...(options.instance ? { instance: options.instance } : {}),
    ...(options.errors && options.errors.length > 0 ? { errors: [...options.errors] } : {}),
  };
}

/** The body of every 500: nothing about the cause. */
export const INTERNAL_PROBLEM: Problem = problem(
  "internal",
  "The service could not complete the request; it has been logged.",
);

export interface ProblemResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** A whole problem answer, for a layer that writes responses itself (the local server). */
export function problemResponse(
  kind: ProblemKind,
  detail: string,
  options: { instance?: string; headers?: Readonly<Record<string, string>> } = {},
): ProblemResponse {
  const body = problem(kind, detail, options.instance === undefined ? {} : { instance: options.instance });
  return {
    statusCode: body.status,
    headers: { "content-type": PROBLEM_MEDIA_TYPE, ...options.headers },
    body: JSON.stringify(body),
  };
}
