import { Arn, ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { type FunctionOptions, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { ManagedKafkaEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CfnServerlessCluster } from 'aws-cdk-lib/aws-msk';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { Catalog } from '../../lambdas/core/catalog.ts';
import type { KafkaConfig } from '../config.ts';
import { acknowledge } from './nag.ts';
import type { StreamgateFunction } from './streamgate-function.ts';

export interface KafkaIngestProps {
  /** The function every topic's event source mapping invokes. */
  readonly fanout: StreamgateFunction;
  /** Kafka topics that channels read. */
  readonly topics: string[];
  /**
   * Batching windows (seconds) of topics whose channels set their own (see `batchingWindows`).
   * @default - every topic uses `config.batchingWindowSeconds`
   */
  readonly batchingWindows?: Record<string, number>;
  /** `kafka` of streamgate.config.json. */
  readonly config: KafkaConfig;
  /**
   * An existing MSK cluster; wins over `config.clusterArn` (the stack passes the CDK context's).
   * @default - `config.clusterArn`, else a new MSK Serverless cluster
   */
  readonly clusterArn?: string;
  /** The mappings' on-failure destination. */
  readonly failureQueue: IQueue;
}

/**
 * Kafka → fan-out on AWS: one MSK event source mapping per Kafka topic in use, each with its own
 * consumer group and the failure queue as on-failure destination, on an existing MSK cluster or a
 * new MSK Serverless cluster (IAM auth) in a VPC of its own. The fan-out function may read those
 * topics and use those groups only.
 *
 * Retries (issue 11): the mappings run in on-demand poller mode. Maximum retry attempts, maximum
 * record age, split-batch-on-error and partial batch responses exist for Kafka mappings only in
 * provisioned mode, billed per event poller unit per hour whether records flow or not, so they are
 * not set. No setting is needed for a bad record: the fan-out isolates it (failure queue) and the
 * batch succeeds. A batch fails only on infrastructure errors (DynamoDB, SQS); with the on-failure
 * destination set, the mapping then retries it at most 10 times (not forever) and sends the batch's
 * metadata (topic, partitions, offsets) to the failure queue. `local/kafka-poller.ts` does the same.
 */
export class KafkaIngest extends Construct {
  /** The MSK cluster the mappings read: given, or the one created here. */
  readonly clusterArn: string;
  /** The cluster's network, when this construct created it (producers run there). */
  private network: { vpc: ec2.Vpc; securityGroup: ec2.SecurityGroup } | undefined;
  private readonly kafkaArn: (resource: 'topic' | 'group', name: string) => string;

  constructor(scope: Construct, id: string, props: KafkaIngestProps) {
    super(scope, id);
    const { config, fanout } = props;
    this.clusterArn = props.clusterArn ?? config.clusterArn ?? this.createServerlessCluster();

    const stack = Stack.of(this);
    const cluster = Arn.split(this.clusterArn, ArnFormat.SLASH_RESOURCE_NAME);
    // resourceName is "{clusterName}/{clusterUuid}"; topic and group ARNs extend it.
    const kafkaArn = (resource: 'topic' | 'group', name: string) =>
      stack.formatArn({
        service: 'kafka',
        resource,
        resourceName: `${cluster.resourceName}/${name}`,
        region: cluster.region,
        account: cluster.account,
        partition: cluster.partition,
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      });
    this.kafkaArn = kafkaArn;

    for (const topic of props.topics) {
      const consumerGroupId = `${config.consumerGroupPrefix}-${topic}`;
      fanout.addEventSource(
        new ManagedKafkaEventSource({
          clusterArn: this.clusterArn,
          topic,
          consumerGroupId,
          batchSize: config.batchSize,
          maxBatchingWindow: Duration.seconds(props.batchingWindows?.[topic] ?? config.batchingWindowSeconds),
          startingPosition:
            config.startingPosition === 'TRIM_HORIZON'
              ? StartingPosition.TRIM_HORIZON
              : StartingPosition.LATEST,
          // On-demand mode: with a destination, 10 retries then metadata (see the class comment).
          onFailure: new SqsDlq(props.failureQueue),
        }),
      );
      fanout.addToRolePolicy(
        new PolicyStatement({
          actions: ['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'],
          resources: [kafkaArn('topic', topic)],
        }),
      );
      fanout.addToRolePolicy(
        new PolicyStatement({
          actions: ['kafka-cluster:DescribeGroup', 'kafka-cluster:AlterGroup'],
          resources: [kafkaArn('group', consumerGroupId)],
        }),
      );
    }
    fanout.addToRolePolicy(
      new PolicyStatement({
        actions: ['kafka-cluster:Connect', 'kafka-cluster:DescribeClusterDynamicConfiguration'],
        resources: [this.clusterArn],
      }),
    );
    acknowledge(
      fanout.role as Construct,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaMSKExecutionRole]',
      'The MSK event source mapping adds AWSLambdaMSKExecutionRole: it manages the network interfaces the mapping uses in the cluster VPC.',
    );
  }

  /**
   * Where a producer function runs: the cluster's subnets and security group, with an interface
   * endpoint for the Kafka API (GetBootstrapBrokers). Only for the cluster this construct created;
   * an existing cluster's network is not known here.
   */
  producerPlacement(): Pick<FunctionOptions, 'vpc' | 'vpcSubnets' | 'securityGroups'> {
    const network = this.network;
    if (!network) {
      throw new Error(
        'channels that publish to Kafka need the producer function in the cluster’s VPC; with an existing cluster (kafka.clusterArn) streamgate cannot place it — remove the publish operations of Kafka-bound channels or let streamgate create the cluster',
      );
    }
    if (!network.vpc.node.tryFindChild('KafkaEndpoint')) {
      const endpoint = network.vpc.addInterfaceEndpoint('KafkaEndpoint', {
        service: ec2.InterfaceVpcEndpointAwsService.KAFKA,
        open: false,
      });
      endpoint.connections.allowFrom(network.securityGroup, ec2.Port.tcp(443), 'from the producer');
    }
    return {
      vpc: network.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [network.securityGroup],
    };
  }

  /** Let a function write to these topics (and nothing else of the cluster). */
  grantProduce(fn: StreamgateFunction, topics: string[]): void {
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['kafka-cluster:Connect', 'kafka-cluster:DescribeCluster'],
        resources: [this.clusterArn],
      }),
    );
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['kafka-cluster:DescribeTopic', 'kafka-cluster:WriteData'],
        resources: topics.map((topic) => this.kafkaArn('topic', topic)),
      }),
    );
    fn.addToRolePolicy(
      new PolicyStatement({ actions: ['kafka:GetBootstrapBrokers'], resources: [this.clusterArn] }),
    );
  }

  /**
   * MSK Serverless with IAM auth in a VPC of its own: two isolated subnets, and the interface
   * endpoints the event source mapping needs to reach Lambda, STS and the SQS failure destination
   * without a NAT gateway.
   */
  private createServerlessCluster(): string {
    const flowLogs = new LogGroup(this, 'FlowLogs', {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'kafka', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
      flowLogs: { all: { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs) } },
    });
    const clusterSecurityGroup = new ec2.SecurityGroup(this, 'ClusterSecurityGroup', {
      vpc,
      description: 'MSK Serverless brokers and the event source mapping',
      allowAllOutbound: false,
    });
    // The mapping's pollers use this security group: brokers (IAM auth, 9098) and endpoints (443).
    clusterSecurityGroup.addIngressRule(
      clusterSecurityGroup,
      ec2.Port.tcp(9098),
      'Kafka IAM auth from the mapping',
    );
    clusterSecurityGroup.addEgressRule(
      clusterSecurityGroup,
      ec2.Port.tcp(9098),
      'Kafka IAM auth to the brokers',
    );
    clusterSecurityGroup.addEgressRule(ec2.Peer.ipv4(vpc.vpcCidrBlock), ec2.Port.tcp(443), 'VPC endpoints');
    for (const [name, service] of [
      ['Lambda', ec2.InterfaceVpcEndpointAwsService.LAMBDA],
      ['Sts', ec2.InterfaceVpcEndpointAwsService.STS],
      ['Sqs', ec2.InterfaceVpcEndpointAwsService.SQS],
    ] as const) {
      const endpoint = vpc.addInterfaceEndpoint(`${name}Endpoint`, { service, open: false });
      endpoint.connections.allowFrom(
        clusterSecurityGroup,
        ec2.Port.tcp(443),
        'from the event source mapping',
      );
    }
    const cluster = new CfnServerlessCluster(this, 'Cluster', {
      clusterName: `${Stack.of(this).stackName.toLowerCase().slice(0, 40)}-streams`,
      clientAuthentication: { sasl: { iam: { enabled: true } } },
      vpcConfigs: [
        {
          subnetIds: vpc.isolatedSubnets.map((s) => s.subnetId),
          securityGroups: [clusterSecurityGroup.securityGroupId],
        },
      ],
    });
    this.network = { vpc, securityGroup: clusterSecurityGroup };
    return cluster.attrArn;
  }
}

/**
 * The batching window each Kafka topic's mapping gets from its channels. A topic has one mapping, so
 * channels reading it must not ask for different windows (throws, naming both).
 */
export function batchingWindows(catalog: Catalog): Record<string, number> {
  const windows: Record<string, { seconds: number; channel: string }> = {};
  for (const api of catalog.apis) {
    for (const channel of api.channels) {
      const backend = channel.backend;
      if (backend.type !== 'kafka' || backend.batchingWindowSeconds === undefined) continue;
      const name = `${api.id} ${channel.name}`;
      const earlier = windows[backend.topic];
      if (earlier && earlier.seconds !== backend.batchingWindowSeconds) {
        throw new Error(
          `Kafka topic ${backend.topic}: ${earlier.channel} asks for a ${earlier.seconds} s batching window and ${name} for ${backend.batchingWindowSeconds} s; one topic has one event source mapping, so they must agree`,
        );
      }
      windows[backend.topic] = { seconds: backend.batchingWindowSeconds, channel: name };
    }
  }
  return Object.fromEntries(Object.entries(windows).map(([topic, w]) => [topic, w.seconds]));
}
