// Where the service's AWS clients connect when a caller says so rather than
// the SDK's standard settings (environment variables, the shared profile):
// the local stack names DynamoDB Local and its placeholder credentials here,
// so it never writes them into process.env and two stacks in one process each
// reach their own database.
import type { DynamoDBClientConfig } from "@aws-sdk/client-dynamodb";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { createDocumentClient } from "./dynamodb/dynamodb-client.js";

export interface AwsClientSettings {
  readonly region?: string;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** e.g. DynamoDB Local's http://127.0.0.1:8000 */
  readonly dynamoDbEndpoint?: string;
  /** e.g. a KMS emulator on this machine */
  readonly kmsEndpoint?: string;
}

function common(aws: AwsClientSettings): { region?: string; credentials?: AwsClientSettings["credentials"] } {
  return {
    ...(aws.region ? { region: aws.region } : {}),
    ...(aws.credentials ? { credentials: aws.credentials } : {}),
  };
}

/** The DynamoDB client configuration for `aws` (empty: the SDK's standard settings). */
export function dynamoDbClientConfig(aws: AwsClientSettings | undefined): DynamoDBClientConfig {
  if (!aws) return {};
  return { ...common(aws), ...(aws.dynamoDbEndpoint ? { endpoint: aws.dynamoDbEndpoint } : {}) };
}

/** The KMS client configuration for `aws`. */
export function kmsClientConfig(aws: AwsClientSettings | undefined): {
  region?: string;
  endpoint?: string;
  credentials?: AwsClientSettings["credentials"];
} {
  if (!aws) return {};
  return { ...common(aws), ...(aws.kmsEndpoint ? { endpoint: aws.kmsEndpoint } : {}) };
}

/** One document client for a store, with the timeouts of dynamodb-client.ts. */
export function documentClientFor(aws: AwsClientSettings | undefined): DynamoDBDocumentClient {
  return createDocumentClient(dynamoDbClientConfig(aws));
}
