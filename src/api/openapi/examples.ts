// Examples for the OpenAPI document, captured from real exchanges with the
// local stack (scripts/capture-api-examples.ts writes
// src/api/examples/exchanges.json; nothing in it is written by hand). The
// generator puts each one beside the schema it illustrates;
// test/api/api-examples.test.ts checks that each one validates against that
// schema and that the server accepts the request examples it can replay.
import stored from "../examples/exchanges.json" with { type: "json" };

/** One route's captured exchange: its request, and one answer per success status seen. */
export interface CapturedExchange {
  readonly request?: {
    readonly method: string;
    /** Path and query as sent. */
    readonly path: string;
    /** The request headers that matter to the route (never authorization). */
    readonly headers?: Readonly<Record<string, string>>;
    readonly body?: unknown;
  };
  /** Status → the answer's body (absent for an empty one). */
  readonly responses: Readonly<Record<string, { readonly body?: unknown }>>;
}

export interface ApiExamples {
  /** Route key (`POST /v1/devices`) → its exchange. */
  readonly operations: Readonly<Record<string, CapturedExchange>>;
  /** Status → one problem document the service answered with that status. */
  readonly problems: Readonly<Record<string, unknown>>;
  /** One webhook delivery of a service event, as the receiver got it. */
  readonly webhook?: { readonly headers: Readonly<Record<string, string>>; readonly body: unknown };
}

export const STORED_EXAMPLES: ApiExamples = stored as ApiExamples;
