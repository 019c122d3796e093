// Who wants to know how many DynamoDB operations the service sends: the
// bench (`npm run bench -- service` prints them per route) and the test that
// holds every route to its budget (docs/architecture.md "DynamoDB budget").
// Every client the service makes (dynamodb-client.ts) reports each command it
// sends, once per call whatever the SDK's retries do, to the observers
// registered here. Counts are deterministic, unlike timings, so a test may
// assert them. With no observer registered this costs one empty loop per call.

/** One operation as the SDK names it, e.g. `BatchGetItemCommand`, `TransactWriteItemsCommand`. */
export type DynamoDbOperationObserver = (commandName: string) => void;

const observers = new Set<DynamoDbOperationObserver>();

/** Calls `observer` for every DynamoDB command any of the service's clients sends; returns the unsubscribe. */
export function observeDynamoDbOperations(observer: DynamoDbOperationObserver): () => void {
  observers.add(observer);
  return () => observers.delete(observer);
}

/** For dynamodb-client.ts: one command is about to be sent. */
export function reportDynamoDbOperation(commandName: string): void {
  for (const observer of observers) observer(commandName);
}

/** Counts, by command name, what `fn` sends; the counter is removed even when `fn` throws. */
export async function countDynamoDbOperations<T>(
  fn: () => Promise<T>,
): Promise<{ result: T; total: number; byCommand: Record<string, number> }> {
  const byCommand: Record<string, number> = {};
  const stop = observeDynamoDbOperations((name) => {
    byCommand[name] = (byCommand[name] ?? 0) + 1;
  });
  try {
    const result = await fn();
    return { result, total: Object.values(byCommand).reduce((a, b) => a + b, 0), byCommand };
  } finally {
    stop();
  }
}
