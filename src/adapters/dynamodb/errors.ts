// Errors of the DynamoDB adapter's own tooling (the DynamoDB Local launcher).
// The store's refusals are the service's domain errors (src/service/errors.ts).

/** DynamoDB Local could not be started (Java missing, port taken, no answer in time). */
export class DynamoDbLocalError extends Error {
  override name = "DynamoDbLocalError";
}
