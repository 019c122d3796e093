// The HTTP API (API Gateway v2): a $default stage with JSON access logs and a
// throttle, a 5xx alarm, and one route per entry of the route table, each
// authorized as the table says. `oem` routes take SigV4 (IAM authorizer) and
// are what the OEM backend role may invoke; `device` and `none` routes have no
// gateway authorizer, and say why to cdk-nag route by route.
//
// The access log leaves out the caller's IP address and user agent: for
// device routes they identify a person's phone, and the service has no use
// for them (data minimization, README "What the service stores and never
// learns"); the request id ties a log line to the Lambda's own logs.
import { type CfnElement, Duration, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import { AccessLogFormat } from "aws-cdk-lib/aws-apigateway";
import * as apigw from "aws-cdk-lib/aws-apigatewayv2";
import { HttpIamAuthorizer } from "aws-cdk-lib/aws-apigatewayv2-authorizers";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import type { RouteAuth, RouteDefinition } from "../../../src/api/routes.js";
import type { RouteFunction } from "./route-function.js";

export interface ServiceApiProps {
  /** Requests per second across the stage, steady and burst. */
  readonly throttle: { readonly rateLimit: number; readonly burstLimit: number };
  /** @default three months */
  readonly logRetention?: logs.RetentionDays;
  readonly alarmAction?: cloudwatch.IAlarmAction;
}

/** Why a route has no API Gateway authorizer, for cdk-nag's AwsSolutions-APIG4. */
const UNAUTHORIZED_ROUTE_REASONS: Readonly<Record<Exclude<RouteAuth, "oem">, string>> = {
  device:
    "Device route: the handler authenticates every request by an ECDSA signature from the device's " +
    "secure-element key over method, path, body hash, timestamp and nonce (src/protocol/request-signature.ts), " +
    "refusing stale timestamps and replayed nonces. Devices hold no AWS credentials or bearer secrets, so " +
    "there is nothing for an API Gateway authorizer to check.",
  none:
    "Public by design: the OEM root certificates (trust anchors) and the OpenAPI document are meant to be " +
    "fetched by anyone, and the route only reads.",
};

const ACCESS_LOG_FIELDS = {
  requestId: "$context.requestId",
  requestTime: "$context.requestTime",
  routeKey: "$context.routeKey",
  status: "$context.status",
  protocol: "$context.protocol",
  responseLength: "$context.responseLength",
  responseLatencyMs: "$context.responseLatency",
  integrationLatencyMs: "$context.integrationLatency",
  integrationStatus: "$context.integrationStatus",
  integrationError: "$context.integrationErrorMessage",
  error: "$context.error.message",
  // The IAM principal on oem routes (the OEM backend); empty on device routes.
  caller: "$context.identity.userArn",
};

export class ServiceApi extends Construct {
  readonly api: apigw.HttpApi;
  readonly stage: apigw.HttpStage;
  readonly accessLogs: logs.LogGroup;
  readonly serverErrorsAlarm: cloudwatch.Alarm;
  /** The role an OEM backend assumes to call `oem` routes with SigV4. */
  readonly oemBackendRole: iam.Role;
  private readonly integrations = new Map<RouteFunction, HttpLambdaIntegration>();
  private readonly iamAuthorizer = new HttpIamAuthorizer();

  constructor(scope: Construct, id: string, props: ServiceApiProps) {
    super(scope, id);
    this.api = new apigw.HttpApi(this, "Api", {
      description: "Car Keys: certificate issuance and key tracking for an automaker",
      createDefaultStage: false,
    });
    this.accessLogs = new logs.LogGroup(this, "AccessLogs", {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.stage = new apigw.HttpStage(this, "DefaultStage", {
      httpApi: this.api,
      stageName: "$default",
      autoDeploy: true,
      throttle: props.throttle,
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });

    this.serverErrorsAlarm = new cloudwatch.Alarm(this, "ServerErrorsAlarm", {
      metric: this.api.metricServerError({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      // Bad input is a 4xx by design, so any 5xx is a fault (a crash, a timeout, a throttled Lambda).
      alarmDescription: "Car Keys API: 5xx responses",
    });
    if (props.alarmAction) this.serverErrorsAlarm.addAlarmAction(props.alarmAction);

    this.oemBackendRole = new iam.Role(this, "OemBackendRole", {
      // Principals of this account whose own policies allow sts:AssumeRole on it;
      // an OEM backend in another account is added to this trust policy.
      assumedBy: new iam.AccountRootPrincipal(),
      description: "Car Keys: the OEM backend assumes this role to call the oem routes (SigV4)",
      maxSessionDuration: Duration.hours(1),
    });
  }

  get url(): string {
    return this.stage.url;
  }

  /** The route as the table defines it, served by `fn`. */
  addRoute(route: RouteDefinition, fn: RouteFunction): apigw.HttpRoute {
    let integration = this.integrations.get(fn);
    if (!integration) {
      integration = new HttpLambdaIntegration(`${fn.node.id}Integration`, fn.fn, {
        payloadFormatVersion: apigw.PayloadFormatVersion.VERSION_2_0,
      });
      this.integrations.set(fn, integration);
    }
    const [httpRoute] = this.api.addRoutes({
      path: route.path,
      methods: [apigw.HttpMethod[route.method]],
      integration,
      ...(route.auth === "oem" ? { authorizer: this.iamAuthorizer } : {}),
    });
    if (!httpRoute) throw new Error(`no route was created for ${route.method} ${route.path}`);
    if (route.auth === "oem") {
      this.grantOemInvoke(route);
    } else {
      Validations.of(httpRoute).acknowledge({
        id: "AwsSolutions-APIG4",
        reason: UNAUTHORIZED_ROUTE_REASONS[route.auth],
      });
    }
    return httpRoute;
  }

  /**
   * execute-api:Invoke on this one route of the $default stage for the OEM
   * backend role. Written out rather than HttpRoute.grantInvoke, which allows
   * every stage (`*`).
   */
  private grantOemInvoke(route: RouteDefinition): void {
    // In execute-api ARNs a path parameter is matched by `*`.
    const arnPath = route.path.replace(/\{[^}]+\}/g, "*");
    this.oemBackendRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["execute-api:Invoke"],
        resources: [this.api.arnForExecuteApi(route.method, arnPath, this.stage.stageName)],
      }),
    );
    if (arnPath !== route.path) {
      const apiId = Stack.of(this).getLogicalId(this.api.node.defaultChild as CfnElement);
      Validations.of(this.oemBackendRole).acknowledge({
        id:
          "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:" +
          `<${apiId}>/${this.stage.stageName}/${route.method}${arnPath}]`,
        reason:
          `The * stands for the path parameter of ${route.method} ${route.path}, as execute-api ARNs require; ` +
          "the grant is this one route of this API's $default stage.",
      });
    }
  }
}
