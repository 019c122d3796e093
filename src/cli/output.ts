// Output helpers: every command prints JSON for scripts (one document per
// command), and errors as one line on stderr with exit code 1.
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Wraps a command action so any failure is one clear line and exit code 1. */
export function action<A extends unknown[]>(
  run: (...args: A) => Promise<void> | void,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await run(...args);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      process.stderr.write(`carkey: ${message.split("\n")[0]}\n`);
      process.exitCode = 1;
    }
  };
}
