// Typed errors of the CLI (docs/architecture.md "Conventions": one errors.ts
// per module, names ending in Error).

/** An error the CLI reports as one line on stderr with a non-zero exit. */
export class CliError extends Error {
  override name = "CliError";
}

/** Thrown inside a step of `carkey demo` to end the story there: the step's report says why. */
export class DemoStepFailedError extends Error {
  override name = "DemoStepFailedError";
}
