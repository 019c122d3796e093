// Alarms on unusual refusal rates, from the business metrics the functions
// emit (src/service/http/business-metrics.ts: `Refusals` by `ProblemKind`, EMF in
// the functions' logs). A steady trickle of refusals is normal (a stale
// cursor, a phone's clock); a burst of failed authentications, replays,
// untrusted evidence or spent rate limits is someone probing the API or a
// client gone wrong, so each of those kinds has an alarm of its own, on the
// count per five minutes. No data means no refusals: not breaching.
import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import { Construct } from "constructs";

/** Must match src/service/http/business-metrics.ts (namespace, service dimension, metric and dimension names). */
export const METRICS_NAMESPACE = "CarKeys";
export const METRICS_SERVICE = "carkeys";

/** The problem kinds whose bursts are worth waking someone for. */
export const ALARMED_REFUSAL_KINDS = [
  "authentication",
  "replay",
  "forbidden",
  "access-rights",
  "rate-limited",
  "validation",
] as const;

export interface RefusalAlarmsProps {
  /** Refusals of one kind per five minutes that raise its alarm. @default 100 */
  readonly threshold?: number;
  readonly alarmAction?: cloudwatch.IAlarmAction;
}

export class RefusalAlarms extends Construct {
  readonly alarms: ReadonlyMap<string, cloudwatch.Alarm>;

  constructor(scope: Construct, id: string, props: RefusalAlarmsProps = {}) {
    super(scope, id);
    const threshold = props.threshold ?? 100;
    if (!Number.isInteger(threshold) || threshold < 1) {
      throw new Error(`the refusal alarm threshold must be a positive integer, not ${threshold}`);
    }
    const alarms = new Map<string, cloudwatch.Alarm>();
    for (const kind of ALARMED_REFUSAL_KINDS) {
      const alarm = new cloudwatch.Alarm(this, `Refusals-${kind}`, {
        metric: new cloudwatch.Metric({
          namespace: METRICS_NAMESPACE,
          metricName: "Refusals",
          dimensionsMap: { service: METRICS_SERVICE, ProblemKind: kind },
          statistic: cloudwatch.Stats.SUM,
          period: Duration.minutes(5),
        }),
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: `Car Keys: ${threshold} or more ${kind} refusals in five minutes`,
      });
      if (props.alarmAction) alarm.addAlarmAction(props.alarmAction);
      alarms.set(kind, alarm);
    }
    this.alarms = alarms;
  }
}
