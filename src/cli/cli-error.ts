// An error the CLI reports as one line on stderr with a non-zero exit.

export class CliError extends Error {
  override name = "CliError";
}
