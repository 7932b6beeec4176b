import { CfnOutput, CustomResource, Duration, Fn, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { EventSourceMapping, type FunctionOptions, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { ManagedKafkaEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CfnServerlessCluster } from 'aws-cdk-lib/aws-msk';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { Catalog } from '../../lambdas/core/catalog.ts';
import type { KafkaCluster, KafkaConfig } from '../config.ts';
import { acknowledge } from './nag.ts';
import { StreamgateFunction } from './streamgate-function.ts';

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
  /** `serverless` (create MSK Serverless) or an existing cluster's ARN (see `kafkaClusterOf`). */
  readonly cluster: Exclude<KafkaCluster, 'none'>;
  /**
   * Every topic of the catalog (read and written): the stack creates those missing on a cluster it
   * created, and the producer policy names them.
   * @default - `topics`
   */
  readonly allTopics?: string[];
  /** The catalog, inlined into the topic-admin function like every function. */
  readonly catalog: Catalog;
  /** How long the topic-admin function's logs are kept. */
  readonly logRetention: RetentionDays;
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
  /** The custom resource that creates the catalog's topics (a cluster created here only). */
  readonly topics: CustomResource | undefined;
  /** The cluster's network, when this construct created it (producers run there). */
  private network: { vpc: ec2.Vpc; securityGroup: ec2.SecurityGroup } | undefined;

  constructor(scope: Construct, id: string, props: KafkaIngestProps) {
    super(scope, id);
    const { config, fanout } = props;
    this.clusterArn = props.cluster === 'serverless' ? this.createServerlessCluster(config) : props.cluster;
    const allTopics = [...new Set([...(props.allTopics ?? props.topics), ...props.topics])].sort();
    this.topics = this.network ? this.createTopics(props, allTopics) : undefined;

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
          resources: [mskResourceArn(this.clusterArn, 'topic', topic)],
        }),
      );
      fanout.addToRolePolicy(
        new PolicyStatement({
          actions: ['kafka-cluster:DescribeGroup', 'kafka-cluster:AlterGroup'],
          resources: [mskResourceArn(this.clusterArn, 'group', consumerGroupId)],
        }),
      );
    }
    // A mapping on a topic that does not exist yet reads nothing until it is created.
    if (this.topics) this.dependOnTopics(fanout);
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
    this.producerAccess(allTopics);
  }

  /**
   * Where a function that talks to the brokers runs: the cluster's subnets and security group, with
   * an interface endpoint for the Kafka API (GetBootstrapBrokers). Only for the cluster this
   * construct created; an existing cluster's network is not known here.
   */
  producerPlacement(): Pick<FunctionOptions, 'vpc' | 'vpcSubnets' | 'securityGroups'> {
    const network = this.network;
    if (!network) {
      throw new Error(
        'channels that publish to Kafka need the producer function in the cluster’s VPC; with an existing cluster (kafka.cluster set to an ARN) streamgate cannot place it — remove the publish operations of Kafka-bound channels or let streamgate create the cluster (kafka.cluster: "serverless")',
      );
    }
    if (!network.vpc.node.tryFindChild('KafkaEndpoint')) {
      const endpoint = network.vpc.addInterfaceEndpoint('KafkaEndpoint', {
        service: ec2.InterfaceVpcEndpointAwsService.KAFKA,
        open: false,
      });
      endpoint.connections.allowFrom(network.securityGroup, ec2.Port.tcp(443), 'from the cluster’s clients');
    }
    return {
      vpc: network.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [network.securityGroup],
    };
  }

  /** Let a function write to these topics (and nothing else of the cluster). */
  grantProduce(fn: StreamgateFunction, topics: string[]): void {
    for (const statement of produceStatements(this.clusterArn, topics)) fn.addToRolePolicy(statement);
    // The producer's first record must find its topic: the topics exist before it does.
    if (this.topics) fn.node.addDependency(this.topics);
  }

  /** Every event source mapping of `fn` waits for the topics. */
  private dependOnTopics(fn: StreamgateFunction): void {
    for (const child of fn.node.children) {
      if (child instanceof EventSourceMapping && this.topics) child.node.addDependency(this.topics);
    }
  }

  /**
   * The way in for producers outside the stack: a customer-managed policy (write the catalog's
   * topics) to attach to their role or user, and how to find the brokers. On MSK Serverless the
   * brokers answer only inside the VPCs of `vpcConfigs` (the stack's own and `kafka.clientVpcs`).
   */
  private producerAccess(topics: string[]): void {
    const policy = new ManagedPolicy(this, 'ProducerPolicy', {
      description: 'Produce to the Kafka topics streamgate reads (MSK IAM access control)',
      statements: produceStatements(this.clusterArn, topics),
    });
    new CfnOutput(Stack.of(this), 'KafkaProducerPolicyArn', {
      value: policy.managedPolicyArn,
      description: 'Attach to the role of a Kafka producer: Connect, and write the catalog’s topics',
    });
    new CfnOutput(Stack.of(this), 'KafkaBootstrapBrokersCommand', {
      value: Fn.join('', [
        'aws kafka get-bootstrap-brokers --query BootstrapBrokerStringSaslIam --output text --cluster-arn ',
        this.clusterArn,
      ]),
      description: 'Prints the brokers (SASL/IAM, port 9098) a producer in a client VPC connects to',
    });
    new CfnOutput(Stack.of(this), 'KafkaTopics', {
      value: topics.join(','),
      description: this.network
        ? 'Topics of the catalog (the stack created those missing)'
        : 'Topics of the catalog: create them on your cluster',
    });
  }

  /**
   * The catalog's topics on the cluster created here, by the topic-admin function run as a
   * CloudFormation custom resource (MSK Serverless takes no `auto.create.topics.enable`). It runs in
   * the cluster's VPC with a security group of its own: the brokers (9098), the Kafka API endpoint
   * (443) and S3 through a gateway endpoint, where CloudFormation's pre-signed response URL points.
   */
  private createTopics(props: KafkaIngestProps, topics: string[]): CustomResource {
    const network = this.network as NonNullable<KafkaIngest['network']>;
    const placement = this.producerPlacement();
    network.vpc.addGatewayEndpoint('S3Endpoint', {
      service: ec2.GatewayVpcEndpointAwsService.S3,
      subnets: [{ subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
    });
    // Its own group: HTTPS out (the subnets route only to the VPC and S3), Kafka to the brokers.
    const securityGroup = new ec2.SecurityGroup(this, 'TopicAdminSecurityGroup', {
      vpc: network.vpc,
      description: 'The topic-admin custom resource: brokers, Kafka API endpoint, S3 (response URL)',
      allowAllOutbound: false,
    });
    securityGroup.addEgressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(443),
      'Kafka API endpoint, S3 gateway endpoint',
    );
    securityGroup.addEgressRule(network.securityGroup, ec2.Port.tcp(9098), 'Kafka IAM auth to the brokers');
    network.securityGroup.addIngressRule(
      securityGroup,
      ec2.Port.tcp(9098),
      'Kafka IAM auth from the topic admin',
    );
    (network.vpc.node.findChild('KafkaEndpoint') as ec2.InterfaceVpcEndpoint).connections.allowFrom(
      securityGroup,
      ec2.Port.tcp(443),
      'from the topic admin',
    );
    const admin = new StreamgateFunction(this, 'TopicAdmin', {
      handlerDir: 'topic-admin',
      catalog: props.catalog,
      logRetention: props.logRetention,
      timeout: Duration.minutes(2),
      ...placement,
      securityGroups: [securityGroup],
      environment: { kafkaClusterArn: this.clusterArn },
    });
    admin.addToRolePolicy(
      new PolicyStatement({ actions: ['kafka-cluster:Connect'], resources: [this.clusterArn] }),
    );
    admin.addToRolePolicy(
      new PolicyStatement({
        actions: ['kafka-cluster:CreateTopic', 'kafka-cluster:DescribeTopic'],
        resources: topics.map((topic) => mskResourceArn(this.clusterArn, 'topic', topic)),
      }),
    );
    admin.addToRolePolicy(
      new PolicyStatement({ actions: ['kafka:GetBootstrapBrokers'], resources: [this.clusterArn] }),
    );
    return new CustomResource(this, 'Topics', {
      serviceToken: admin.functionArn,
      resourceType: 'Custom::KafkaTopics',
      properties: { ClusterArn: this.clusterArn, Topics: topics, Partitions: props.config.topicPartitions },
    });
  }

  /**
   * MSK Serverless with IAM auth in a VPC of its own: two isolated subnets, and the interface
   * endpoints the event source mapping needs to reach Lambda, STS and the SQS failure destination
   * without a NAT gateway. `kafka.clientVpcs` add more VPCs the brokers answer in.
   */
  private createServerlessCluster(config: KafkaConfig): string {
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
        ...config.clientVpcs.map((client) => ({
          subnetIds: client.subnetIds,
          ...(client.securityGroupIds.length ? { securityGroups: client.securityGroupIds } : {}),
        })),
      ],
    });
    this.network = { vpc, securityGroup: clusterSecurityGroup };
    return cluster.attrArn;
  }
}

/**
 * What a producer needs on MSK with IAM access control: Connect and DescribeCluster on the
 * cluster, DescribeTopic and WriteData on each topic's ARN, GetBootstrapBrokers (Kafka API).
 */
function produceStatements(clusterArn: string, topics: string[]): PolicyStatement[] {
  return [
    new PolicyStatement({
      actions: ['kafka-cluster:Connect', 'kafka-cluster:DescribeCluster'],
      resources: [clusterArn],
    }),
    new PolicyStatement({
      actions: ['kafka-cluster:DescribeTopic', 'kafka-cluster:WriteData'],
      resources: topics.map((topic) => mskResourceArn(clusterArn, 'topic', topic)),
    }),
    new PolicyStatement({ actions: ['kafka:GetBootstrapBrokers'], resources: [clusterArn] }),
  ];
}

/**
 * The ARN of a topic or consumer group of an MSK cluster, for IAM access control:
 * `arn:aws:kafka:<region>:<account>:topic/<cluster-name>/<cluster-uuid>/<topic>` (and `group/…`),
 * from the cluster's `arn:aws:kafka:<region>:<account>:cluster/<cluster-name>/<cluster-uuid>`
 * (AWS: "IAM access control for Amazon MSK", Resources;
 * https://docs.aws.amazon.com/msk/latest/developerguide/kafka-actions.html). A literal ARN is
 * rewritten at synth time; a token (a cluster created by the stack) with Fn::Split on `:cluster/`
 * and Fn::Join at deploy time — `Arn.split` would keep the name and drop the UUID.
 */
export function mskResourceArn(clusterArn: string, resource: 'topic' | 'group', name: string): string {
  if (!Token.isUnresolved(clusterArn)) {
    const at = clusterArn.indexOf(':cluster/');
    if (at < 0) throw new Error(`not an MSK cluster ARN: ${clusterArn}`);
    return `${clusterArn.slice(0, at)}:${resource}/${clusterArn.slice(at + ':cluster/'.length)}/${name}`;
  }
  const parts = Fn.split(':cluster/', clusterArn);
  return Fn.join('', [Fn.select(0, parts), `:${resource}/`, Fn.select(1, parts), `/${name}`]);
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
