// The scheduled expiry sweep (src/service/expiry-sweep.ts): an EventBridge
// rule invokes it hourly (infra/lib/constructs/expiry-schedule.ts) and the
// local server every minute. It revokes, reason `expired`, every active key
// whose attested profile has ended, until the index is through or the
// Lambda's remaining time falls under SWEEP_MARGIN_MS; what is left waits for
// the next run. Not an HTTP route: the event carries nothing the sweep reads,
// and nobody can ask for it from outside.
import type { Context } from "aws-lambda";
import type { CarKeysService } from "../../service/car-keys-service.js";
import { emitMetricCounts } from "../../service/embedded-metrics.js";
import type { ExpirySweepReport } from "../../service/expiry-sweep.js";
import { type DependencySource, resolverOf } from "../../service/http/dependency-source.js";
import { withInvocationDeadline } from "../../service/http/invocation-deadline.js";
import { withInvocationLogContext } from "../../service/http/invocation-log-context.js";
import { logger } from "../../service/logger.js";

/** What the sweep uses: the expiry part of the service. */
export interface ExpirySweepDependencies {
  readonly service: Pick<CarKeysService, "expiry">;
}

/**
 * Time kept when the sweep stops taking keys: one revocation (a KMS GenerateMac and Sign, a read, a
 * transaction, the events, retries of a lost counter race) is done well within it.
 */
export const SWEEP_MARGIN_MS = 20_000;

/**
 * The function's timeout: the stack's (infra/lib/car-keys-stack.ts, checked by test/infra), and the
 * local server's for an on-demand run through its Invoke API path (local-server/lambda-invocations.ts).
 */
export const EXPIRY_SWEEP_TIMEOUT_MS = 300_000;

/** One run; `remainingMs` (the Lambda context's) bounds it. Exported for the local server and the tests. */
export async function sweepExpiredKeys(
  service: Pick<CarKeysService, "expiry">,
  remainingMs?: () => number,
): Promise<ExpirySweepReport> {
  const report = await service.expiry.run(
    remainingMs ? { shouldStop: () => remainingMs() < SWEEP_MARGIN_MS } : {},
  );
  logger.info("expiry sweep", { ...report });
  if (report.revoked > 0) {
    // Beside the routes' Revocations {By: owner|oem|partner} (src/service/http/business-metrics.ts).
    emitMetricCounts([{ name: "Revocations", value: report.revoked, dimensions: { By: "expiry" } }]);
  }
  return report;
}

export function makeHandler(dependencies: DependencySource<ExpirySweepDependencies>) {
  const resolve = resolverOf(dependencies);
  const sweep = withInvocationDeadline<unknown, ExpirySweepReport>(
    async (_event: unknown, context: Context) => {
      const remaining =
        typeof context?.getRemainingTimeInMillis === "function"
          ? () => context.getRemainingTimeInMillis()
          : undefined;
      const report = await sweepExpiredKeys((await resolve()).service, remaining);
      // A key that failed stays in the index for the next run; the failed invocation raises the function's
      // errors alarm, so somebody looks (the rule does not retry: the next hour's run is the retry).
      if (report.failed > 0) {
        throw new Error(
          `expiry sweep: ${report.failed} of ${report.examined} keys were not revoked; the next run tries again`,
        );
      }
      return report;
    },
  );
  return withInvocationLogContext(sweep);
}
