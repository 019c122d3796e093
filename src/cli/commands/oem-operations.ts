// `carkey oem …`: what an automaker's operator does to a running deployment.
// `sweep-expired` runs the expiry sweep once now (docs/architecture.md
// "Expiry sweep") instead of waiting for the hourly schedule: it invokes the
// deployed expiry-sweep function through the Lambda Invoke API, signed with
// SigV4 and the AWS default credentials (src/client/lambda-invoke.ts), or
// `npm start`'s through the same path on the local server with its OEM token.
// It prints the run's report and exits 1 when a key failed.
import type { Command } from "commander";
import { CliError } from "../errors.js";
import { readLocalOemToken } from "../local-oem-token.js";
import { action, printJson } from "../output.js";

interface SweepOptions {
  function: string;
  region?: string;
  endpoint?: string;
  oemToken?: string;
  dataDir: string;
}

/** The report's fields (src/service/expiry-sweep.ts ExpirySweepReport), in the order printed. */
const COUNTS = ["examined", "revoked", "settled", "notEnded", "failed"] as const;

export function registerOemOperationCommands(program: Command): void {
  const oem = program
    .command("oem")
    .description("operate a deployment of the service (the automaker's side)");
  oem
    .command("sweep-expired")
    .description(
      "run the expiry sweep once now: revokes every active key whose profile has ended; prints the report " +
        "{examined, revoked, settled, notEnded, failed, complete}; exit 1 if a key failed",
    )
    .requiredOption(
      "--function <name|arn>",
      "the expiry-sweep function (the stack's ExpirySweepFunctionName output; `expiry-sweep` on npm start)",
    )
    .option("--region <region>", "its region (default: the ARN's, else AWS_REGION)")
    .option(
      "--endpoint <url>",
      "the Lambda API (default AWS_ENDPOINT_URL_LAMBDA, else AWS's); http://127.0.0.1:3000 for npm start",
    )
    .option(
      "--oem-token <token>",
      "the local server's OEM token (default: DATA_DIR/oem-token for a loopback endpoint; otherwise the call " +
        "is signed with SigV4 using the AWS default credentials)",
    )
    .option("--data-dir <dir>", "the data directory of `npm start`", ".data")
    .action(
      action(async (options: SweepOptions) => {
        const { invokeFunction, lambdaEndpointFromEnvironment } = await import(
          "../../client/lambda-invoke.js"
        );
        const endpoint = options.endpoint ?? lambdaEndpointFromEnvironment();
        const token = options.oemToken ?? localToken(endpoint, options.dataDir);
        const answer = await invokeFunction({
          functionName: options.function,
          ...(options.region ? { region: options.region } : {}),
          ...(endpoint ? { endpoint } : {}),
          auth: token ? { kind: "bearer", token } : { kind: "sigv4" },
          // What the schedule sends carries nothing the sweep reads; this says who asked.
          payload: { source: "carkey", "detail-type": "On-demand expiry sweep" },
        });
        const report = sweepReport(answer);
        printJson(report);
        if (report.failed > 0) {
          throw new CliError(
            `${report.failed} of ${report.examined} keys were not revoked; the next run tries again`,
          );
        }
      }),
    );
}

/**
 * The local server's OEM token when the endpoint is on loopback and DATA_DIR holds one; "" (sign with
 * SigV4) otherwise. A token never goes to another host: in AWS, IAM authorizes the Invoke.
 */
function localToken(endpoint: string | undefined, dataDir: string): string {
  if (endpoint === undefined) return "";
  let host: string;
  try {
    host = new URL(endpoint).hostname;
  } catch {
    throw new CliError(`--endpoint is not an absolute URL: ${endpoint}`);
  }
  if (!["127.0.0.1", "localhost", "[::1]"].includes(host)) return "";
  return readLocalOemToken(dataDir);
}

/** The answer as an ExpirySweepReport, or an error naming what the function answered instead. */
function sweepReport(answer: unknown): Record<(typeof COUNTS)[number], number> & { complete: boolean } {
  const value = answer as Record<string, unknown> | null;
  const ok =
    value !== null &&
    typeof value === "object" &&
    COUNTS.every((name) => Number.isSafeInteger(value[name]) && (value[name] as number) >= 0) &&
    typeof value.complete === "boolean";
  if (!ok) {
    throw new CliError(
      `the function did not answer an expiry sweep report (is it the expiry-sweep function?): ${JSON.stringify(answer)?.slice(0, 200)}`,
    );
  }
  const report = Object.fromEntries(COUNTS.map((name) => [name, value[name] as number]));
  return { ...(report as Record<(typeof COUNTS)[number], number>), complete: value.complete as boolean };
}
