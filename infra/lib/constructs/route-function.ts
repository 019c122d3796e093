// One Lambda of the HTTP API: functions/<name>.ts bundled locally by esbuild
// (bundling-options.ts; no Docker), Node 24 on ARM64 (the bundle is plain
// JavaScript, and Graviton costs less per GB-second), with its own role, its
// own log group and alarms on its errors and throttles. Permissions beyond
// writing its logs come from the grant helpers of the resources it uses
// (table.ts, oem-root-key.ts), so this construct never guesses them.
//
// No X-Ray: the handlers carry no tracer, so active tracing would add only
// the Lambda service segments (duration and init time, which CloudWatch
// metrics and the REPORT log line already give) and an xray:Put* statement on
// `*` to every role. Turning it on is `tracing: lambda.Tracing.ACTIVE` here
// with a Powertools tracer in the handlers.
import { existsSync } from "node:fs";
import { posix } from "node:path";
import { Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as nodejs from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { LAMBDA_NODE_MAJOR, nodejsFunctionBundling, PROJECT_ROOT } from "../bundling-options.js";

export interface RouteFunctionProps {
  /** The route table's function name, e.g. `device-enrollment`. */
  readonly name: string;
  /** The handler file (exports `handler`); must lie under the repository root, where esbuild runs. */
  readonly entry: string;
  readonly description: string;
  readonly environment: Readonly<Record<string, string>>;
  /** @default 1024 */
  readonly memoryMiB?: number;
  /** @default 10 seconds */
  readonly timeout?: Duration;
  /** @default three months */
  readonly logRetention?: logs.RetentionDays;
  /** Where the alarms notify; without one they show in the console only. */
  readonly alarmAction?: cloudwatch.IAlarmAction;
  /**
   * Files the function reads at run time, copied beside its bundle after
   * esbuild ran (`from` relative to the repository root, `to` relative to
   * index.mjs): the docs page's Swagger UI (src/api/docs/swagger-ui-files.ts).
   */
  readonly staticFiles?: readonly { readonly from: string; readonly to: string }[];
}

const runtime = lambda.Runtime.ALL.find((r) => r.name === `nodejs${LAMBDA_NODE_MAJOR}.x`);

export class RouteFunction extends Construct implements iam.IGrantable {
  readonly fn: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly errorsAlarm: cloudwatch.Alarm;
  readonly throttlesAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: RouteFunctionProps) {
    super(scope, id);
    if (!existsSync(props.entry)) {
      throw new Error(
        `src/api/routes.ts names the function "${props.name}", but its handler ${props.entry} does not exist`,
      );
    }
    if (!runtime) throw new Error(`aws-cdk-lib has no nodejs${LAMBDA_NODE_MAJOR}.x Lambda runtime`);

    // Created here rather than by Lambda on first run, so retention is set
    // and the role's log permissions name this group only.
    this.logGroup = new logs.LogGroup(this, "Logs", {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // An explicit role instead of NodejsFunction's default, which attaches the
    // AWS-managed AWSLambdaBasicExecutionRole (logs:* on every log group).
    this.role = new iam.Role(this, "Role", {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      description: `Car Keys ${props.name} Lambda`,
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    this.fn = new nodejs.NodejsFunction(this, "Function", {
      entry: props.entry,
      handler: "handler",
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: `${PROJECT_ROOT}/package-lock.json`,
      runtime,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memoryMiB ?? 1024,
      timeout: props.timeout ?? Duration.seconds(10),
      description: props.description.slice(0, 256),
      role: this.role,
      logGroup: this.logGroup,
      environment: { ...props.environment },
      bundling: { ...nodejsFunctionBundling(), ...copyAfterBundling(props.staticFiles ?? []) },
    });

    Validations.of(this.fn).acknowledge({
      id: "AwsSolutions-L1",
      reason:
        `Pinned to nodejs${LAMBDA_NODE_MAJOR}.x on purpose instead of following NODEJS_LATEST: the suite ` +
        "runs on that Node in CI and the bundle targets it (infra/lib/bundling-options.ts); moving to a " +
        "newer runtime is one constant there, after the tests pass on it.",
    });

    const alarm = (alarmId: string, metric: cloudwatch.Metric, what: string): cloudwatch.Alarm => {
      const created = new cloudwatch.Alarm(this, alarmId, {
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: `Car Keys ${props.name}: ${what}`,
      });
      if (props.alarmAction) created.addAlarmAction(props.alarmAction);
      return created;
    };
    const fiveMinutes = { period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM };
    // Handlers answer bad input with 4xx problem+json; an Error here is an
    // unhandled exception or a crash, so one is worth a look.
    this.errorsAlarm = alarm("ErrorsAlarm", this.fn.metricErrors(fiveMinutes), "invocation errors");
    this.throttlesAlarm = alarm(
      "ThrottlesAlarm",
      this.fn.metricThrottles(fiveMinutes),
      "throttled invocations (account concurrency exhausted)",
    );
  }

  get grantPrincipal(): iam.IPrincipal {
    return this.role;
  }
}

/** NodejsFunction command hooks that copy `files` into the bundle's directory (local bundling: a shell). */
function copyAfterBundling(
  files: readonly { readonly from: string; readonly to: string }[],
): Pick<nodejs.BundlingOptions, "commandHooks"> {
  if (files.length === 0) return {};
  const quote = (path: string) => `'${path.replaceAll("'", "'\\''")}'`;
  return {
    commandHooks: {
      beforeBundling: () => [],
      beforeInstall: () => [],
      afterBundling: (inputDir, outputDir) =>
        files.map(
          ({ from, to }) =>
            `mkdir -p ${quote(posix.join(outputDir, posix.dirname(to)))} && ` +
            `cp ${quote(posix.join(inputDir, from))} ${quote(posix.join(outputDir, to))}`,
        ),
    },
  };
}
