// The service's single DynamoDB table (single-table design: pk/sk strings,
// one index gsi1 on gsi1pk/gsi1sk for the access patterns the primary key does
// not serve). Nonces, invitations and pairing material expire through the TTL
// attribute `expiresAt` (epoch seconds). Names come from TABLE_DESIGN, which
// the store adapter and the local ensureTable() read too. It holds the
// record of every certificate issued and key registered, so it has
// point-in-time recovery and deletion protection and outlives the stack.
// Encryption uses the AWS-managed key (aws/dynamodb): the items are
// certificates, public keys, verifiers and ids, no secrets (the service keeps
// no copy of pairing passwords), and a customer-managed key would add a key
// policy to every grant for no gain in what it protects.
//
// The grant helpers list the item actions the service uses, on the table and
// on gsi1 only, rather than aws-cdk-lib's grantReadData/grantReadWriteData,
// which add Scan and every index (`/index/*`).
import { RemovalPolicy } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import { Construct } from "constructs";
import { TABLE_DESIGN } from "../../../src/adapters/dynamodb/table-design.js";

const GSI = TABLE_DESIGN.vehicleKeysIndex;
const ENDS = TABLE_DESIGN.keyEndsIndex;

/** GetItem also authorizes TransactGetItems' reads. */
const READ_ACTIONS = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"];
/** Conditional writes and TransactWriteItems need the item actions themselves (and ConditionCheckItem). */
const WRITE_ACTIONS = [
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
  "dynamodb:BatchWriteItem",
  "dynamodb:ConditionCheckItem",
];

export class Table extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new dynamodb.Table(this, "Table", {
      partitionKey: { name: TABLE_DESIGN.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE_DESIGN.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TABLE_DESIGN.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: GSI.name,
      partitionKey: { name: GSI.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: GSI.sortKey, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });
    // Sparse: only active keys with an end carry its attributes (table-design.ts); the expiry sweep's.
    this.table.addGlobalSecondaryIndex({
      indexName: ENDS.name,
      partitionKey: { name: ENDS.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: ENDS.sortKey, type: dynamodb.AttributeType.NUMBER },
      projectionType: dynamodb.ProjectionType.ALL,
    });
  }

  get tableName(): string {
    return this.table.tableName;
  }

  /** Reads on the table and gsi1 (an index takes only Query). */
  grantRead(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: READ_ACTIONS,
        resources: [this.table.tableArn, `${this.table.tableArn}/index/${GSI.name}`],
      }),
    );
  }

  /**
   * The expiry sweep (functions/expiry-sweep.ts): Query on the key-ends index and, for the cascades of
   * a revocation, on gsi1; reads of the records a revocation needs; and the revocation's writes, which
   * are updates and new items only (no delete, no condition check). The key-ends index is queried by
   * this function alone.
   */
  grantExpirySweep(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["dynamodb:Query"],
        resources: [`${this.table.tableArn}/index/${ENDS.name}`, `${this.table.tableArn}/index/${GSI.name}`],
      }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
        resources: [this.table.tableArn],
      }),
    );
  }

  /** grantRead, and item writes on the table (indexes are never written directly). */
  grantReadWrite(grantee: iam.IGrantable): void {
    this.grantRead(grantee);
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: WRITE_ACTIONS, resources: [this.table.tableArn] }),
    );
  }
}
