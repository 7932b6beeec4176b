import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import type { EnvKey } from '../../lambdas/shared/env.ts';
import type { StreamgateFunction } from './streamgate-function.ts';

/** The contract keys (lambdas/shared/env.ts) that name a table to the functions. */
export type TableEnvKey = Extract<
  EnvKey,
  'connectionsTable' | 'registryTable' | 'throttleTable' | 'streamStateTable'
>;

export interface StreamgateTableProps {
  /** The variable that names this table to the functions bound to it. */
  readonly envKey: TableEnvKey;
  /**
   * Items expire at the epoch seconds in `expiresAt` (DynamoDB TTL).
   * @default true
   */
  readonly expiring?: boolean;
  /**
   * What stack deletion does to the table.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** Item-level reads: every read is a GetItem or a Query on a key, so no function may Scan. */
const READ_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:ConditionCheckItem',
  'dynamodb:DescribeTable',
];
const WRITE_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
];

/**
 * Every streamgate table, with its secure defaults in one place: `pk`/`sk` string keys, on-demand
 * billing, encrypted with an AWS managed key, point-in-time recovery, and (unless turned off) a TTL
 * on `expiresAt`. Functions reach a table only through `bind`, which sets its variable and its grant
 * together.
 */
export class StreamgateTable extends Table {
  /** The variable naming this table to bound functions. */
  readonly envKey: TableEnvKey;

  constructor(scope: Construct, id: string, props: StreamgateTableProps) {
    super(scope, id, {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.AWS_MANAGED,
      ...((props.expiring ?? true) ? { timeToLiveAttribute: 'expiresAt' } : {}),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });
    this.envKey = props.envKey;
  }

  /**
   * Let `fn` use this table: sets the variable naming it and grants item-level access (CDK's
   * grantReadData would allow Scan).
   */
  bind(fn: StreamgateFunction, access: 'read' | 'readwrite'): void {
    fn.setEnvironment({ [this.envKey]: this.tableName });
    this.grant(fn, ...READ_ACTIONS, ...(access === 'readwrite' ? WRITE_ACTIONS : []));
  }
}
