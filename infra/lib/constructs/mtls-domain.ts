// A custom domain for the HTTP API with mutual TLS: the server-to-server
// interface another automaker's servers call. API Gateway completes the TLS
// handshake only for a client certificate that chains to a CA in the
// truststore (a PEM bundle in S3), passes the verified certificate to the
// function (`requestContext.authentication.clientCert`), and the functions
// get SERVER_TO_SERVER_MTLS=required, so the server-to-server routes refuse
// requests that came through the default execute-api endpoint, which has no
// mutual TLS (src/service/http/client-certificate.ts). Devices keep using the
// default endpoint: they hold no client certificates.
//
// The ACM certificate (for the domain, in the stack's region) and the
// truststore object are the OEM's own and exist before the deployment; the
// stack names them and creates neither. Whoever deploys needs s3:GetObject
// on the truststore (API Gateway reads it with the caller's permissions).
// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-mutual-tls.html
import * as apigw from "aws-cdk-lib/aws-apigatewayv2";
import * as acm from "aws-cdk-lib/aws-certificatemanager";
import * as s3 from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import { MtlsDomainSettingsError } from "../errors.js";

export interface MtlsDomainSettings {
  /** e.g. partners.carkeys.example.com */
  readonly domainName: string;
  /** An ACM certificate for `domainName` in the stack's region. */
  readonly certificateArn: string;
  /** `s3://bucket/key` of the truststore: PEM certificates of the partners' CAs. */
  readonly truststoreUri: string;
  /** The S3 object version of the truststore, so an update of it is a deployment. @default the latest */
  readonly truststoreVersion?: string | undefined;
}

export interface MtlsDomainProps extends MtlsDomainSettings {
  readonly api: apigw.IHttpApi;
  readonly stage: apigw.IStage;
}

const DOMAIN_NAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const ACM_ARN = /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]+$/;

/** `s3://bucket/key` → its parts; throws MtlsDomainSettingsError naming what is wrong. */
export function parseTruststoreUri(uri: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.+)$/.exec(uri);
  if (!match) {
    throw new MtlsDomainSettingsError(
      `truststore URI must be s3://<bucket>/<key of a PEM bundle>, not ${uri}`,
    );
  }
  return { bucket: match[1]!, key: match[2]! };
}

export class MtlsDomain extends Construct {
  readonly domain: apigw.DomainName;

  constructor(scope: Construct, id: string, props: MtlsDomainProps) {
    super(scope, id);
    if (!DOMAIN_NAME.test(props.domainName)) {
      throw new MtlsDomainSettingsError(`mTLS domain name ${props.domainName} is not a lower-case DNS name`);
    }
    if (!ACM_ARN.test(props.certificateArn)) {
      throw new MtlsDomainSettingsError(
        `certificate ARN ${props.certificateArn} is not an ACM certificate ARN`,
      );
    }
    const truststore = parseTruststoreUri(props.truststoreUri);
    this.domain = new apigw.DomainName(this, "Domain", {
      domainName: props.domainName,
      certificate: acm.Certificate.fromCertificateArn(this, "Certificate", props.certificateArn),
      securityPolicy: apigw.SecurityPolicy.TLS_1_2,
      mtls: {
        bucket: s3.Bucket.fromBucketName(this, "Truststore", truststore.bucket),
        key: truststore.key,
        ...(props.truststoreVersion ? { version: props.truststoreVersion } : {}),
      },
    });
    new apigw.ApiMapping(this, "Mapping", { api: props.api, domainName: this.domain, stage: props.stage });
  }

  /** The name to point the domain's DNS record at (CNAME or alias). */
  get regionalDomainName(): string {
    return this.domain.regionalDomainName;
  }
}
