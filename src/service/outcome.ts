// What an idempotent write of the service returns: the record it made, or
// the one an earlier identical request made (`created: false`). The domain
// says which; the route's entry in src/api says what status each answers.
export interface Outcome<T> {
  /** False when an earlier request's result is returned (nothing was written again). */
  readonly created: boolean;
  readonly response: T;
}
