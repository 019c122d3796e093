// The expiry sweep's schedule: an EventBridge rule that invokes
// functions/expiry-sweep.ts every hour (src/service/expiry-sweep.ts). A rule
// on the default bus rather than EventBridge Scheduler: one resource and one
// Lambda permission (scoped to this rule's ARN), nothing to assume. The
// target does not retry a failed run: the sweep is idempotent and the next
// hour's run takes every key the failed one left, so a retry would only
// overlap with it; a failure raises the function's errors alarm instead.
import { Duration } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import { Construct } from "constructs";

/** How often the sweep runs in AWS; a key is stopped at the service within this of its end. */
export const EXPIRY_SWEEP_RATE = Duration.hours(1);

export interface ExpiryScheduleProps {
  readonly fn: lambda.IFunction;
  /** @default EXPIRY_SWEEP_RATE */
  readonly rate?: Duration;
}

export class ExpirySchedule extends Construct {
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: ExpiryScheduleProps) {
    super(scope, id);
    this.rule = new events.Rule(this, "Rule", {
      description: "Car Keys expiry sweep: revokes keys whose profile has ended",
      schedule: events.Schedule.rate(props.rate ?? EXPIRY_SWEEP_RATE),
    });
    this.rule.addTarget(
      new targets.LambdaFunction(props.fn, { retryAttempts: 0, maxEventAge: Duration.hours(1) }),
    );
  }
}
