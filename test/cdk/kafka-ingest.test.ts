import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import type { Catalog } from '../../lambdas/core/catalog.ts';
import { type KafkaConfig, parseConfig } from '../../lib/config.ts';
import { batchingWindows, KafkaIngest, mskResourceArn } from '../../lib/constructs/kafka-ingest.ts';
import { type Json, LocalTemplate } from '../../local/template.ts';
import { api, channel } from '../helpers/catalog.ts';
import {
  catalog,
  DEFAULT_CONFIG,
  expectVpcFunctionsManageInterfaces,
  logRetention,
  statementsOf,
  testFunction,
} from './construct-fixtures.ts';

const EXISTING =
  'arn:aws:kafka:eu-west-1:123456789012:cluster/prod-streams/11111111-2222-3333-4444-555555555555-1';

function ingestStack(cluster: 'serverless' | string = 'serverless', kafka: Partial<KafkaConfig> = {}) {
  const outdir = mkdtempSync(path.join(tmpdir(), 'sg-kafka-'));
  const stack = new Stack(new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } }), 'Test');
  const fanout = testFunction(stack, 'Fanout', 'fanout');
  const ingest = new KafkaIngest(stack, 'Kafka', {
    fanout,
    topics: ['orders', 'prices'],
    allTopics: ['orders', 'prices', 'sensor-readings'],
    batchingWindows: { prices: 2 },
    config: { ...DEFAULT_CONFIG.kafka, startingPosition: 'TRIM_HORIZON', ...kafka },
    cluster,
    catalog,
    logRetention,
    failureQueue: new Queue(stack, 'FailureQueue'),
  });
  return { stack, ingest, outdir };
}

/** The template as the local stack resolves it (the same resolver that runs the functions). */
function localTemplate(stack: Stack, outdir: string): LocalTemplate {
  (stack.node.root as App).synth();
  return LocalTemplate.load(outdir, 'Test', {
    webSocketBase: 'http://localhost:1',
    httpBase: 'http://localhost:2',
  });
}

/** Statements of a role's policies whose actions include `action`. */
function withAction(template: Template, rolePrefix: string, action: string) {
  return statementsOf(template, rolePrefix).filter((s) =>
    ([] as unknown[]).concat(s.Action).includes(action),
  );
}

describe('KafkaIngest', () => {
  it('maps each topic to the fan-out with its own consumer group, its batching window and the failure queue', () => {
    const { stack } = ingestStack();
    const template = Template.fromStack(stack);
    const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping'));
    expect(
      mappings.map((m) => [m.Properties.Topics[0], m.Properties.MaximumBatchingWindowInSeconds]).sort(),
    ).toEqual([
      ['orders', 0],
      ['prices', 2],
    ]);
    for (const mapping of mappings) {
      expect(mapping.Properties).toMatchObject({
        StartingPosition: 'TRIM_HORIZON',
        BatchSize: 100,
        AmazonManagedKafkaEventSourceConfig: {
          ConsumerGroupId: `streamgate-${mapping.Properties.Topics[0]}`,
        },
        DestinationConfig: {
          OnFailure: { Destination: { 'Fn::GetAtt': [expect.stringMatching(/^FailureQueue/), 'Arn'] } },
        },
      });
    }
  });

  it('stays in on-demand poller mode: no retry settings that need provisioned pollers, the failure queue bounds retries', () => {
    const { stack } = ingestStack();
    const mappings = Object.values(
      Template.fromStack(stack).findResources('AWS::Lambda::EventSourceMapping'),
    );
    expect(mappings).toHaveLength(2);
    for (const { Properties: properties } of mappings) {
      // Provisioned mode bills by the hour; the function isolates bad records instead.
      for (const provisionedOnly of [
        'ProvisionedPollerConfig',
        'MaximumRetryAttempts',
        'MaximumRecordAgeInSeconds',
        'BisectBatchOnFunctionError',
        'FunctionResponseTypes',
      ])
        expect(properties).not.toHaveProperty(provisionedOnly);
      // With an on-failure destination AWS retries a failed batch 10 times, not forever.
      expect(properties.DestinationConfig?.OnFailure?.Destination).toBeDefined();
    }
  });

  it('creates MSK Serverless with IAM auth in isolated subnets without NAT, with flow logs', () => {
    const { stack } = ingestStack();
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::MSK::ServerlessCluster', {
      ClientAuthentication: { Sasl: { Iam: { Enabled: true } } },
    });
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'ALL' });
  });

  it('names topics and groups of the created cluster with its name AND its UUID (issue 12 #1)', () => {
    const { stack, outdir } = ingestStack();
    const template = Template.fromStack(stack);
    const cluster = Object.keys(template.findResources('AWS::MSK::ServerlessCluster'))[0] as string;
    const [read] = withAction(template, 'FanoutRole', 'kafka-cluster:ReadData');
    const [alter] = withAction(template, 'FanoutRole', 'kafka-cluster:AlterGroup');
    // Deploy time: everything after ":cluster/" of the cluster's ARN (name/uuid), not Arn.split's name alone.
    const after = { 'Fn::Select': [1, { 'Fn::Split': [':cluster/', { 'Fn::GetAtt': [cluster, 'Arn'] }] }] };
    const before = { 'Fn::Select': [0, { 'Fn::Split': [':cluster/', { 'Fn::GetAtt': [cluster, 'Arn'] }] }] };
    expect(read?.Resource).toEqual({ 'Fn::Join': ['', [before, ':topic/', after, '/orders']] });
    // Resolved as CloudFormation would, against the local cluster's ARN (cluster/<name>/<uuid>).
    const local = localTemplate(stack, outdir);
    const clusterArn = local.attribute(cluster, 'Arn');
    expect(clusterArn).toMatch(
      /^arn:aws:kafka:us-east-1:000000000000:cluster\/test-streams\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-s1$/,
    );
    const uuid = clusterArn.split('/')[2];
    expect(local.resolve(read?.Resource as Json)).toBe(
      `arn:aws:kafka:us-east-1:000000000000:topic/test-streams/${uuid}/orders`,
    );
    expect(local.resolve(alter?.Resource as Json)).toBe(
      `arn:aws:kafka:us-east-1:000000000000:group/test-streams/${uuid}/streamgate-orders`,
    );
  });

  it('names topics and groups of an existing cluster with its UUID, exactly', () => {
    const { stack } = ingestStack(EXISTING);
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::MSK::ServerlessCluster', 0);
    template.resourceCountIs('AWS::EC2::VPC', 0);
    const uuid = '11111111-2222-3333-4444-555555555555-1';
    expect(
      withAction(template, 'FanoutRole', 'kafka-cluster:ReadData')
        .map((s) => s.Resource)
        .sort(),
    ).toEqual([
      `arn:aws:kafka:eu-west-1:123456789012:topic/prod-streams/${uuid}/orders`,
      `arn:aws:kafka:eu-west-1:123456789012:topic/prod-streams/${uuid}/prices`,
    ]);
    expect(
      withAction(template, 'FanoutRole', 'kafka-cluster:AlterGroup')
        .map((s) => s.Resource)
        .sort(),
    ).toEqual([
      `arn:aws:kafka:eu-west-1:123456789012:group/prod-streams/${uuid}/streamgate-orders`,
      `arn:aws:kafka:eu-west-1:123456789012:group/prod-streams/${uuid}/streamgate-prices`,
    ]);
    expect(JSON.stringify(statementsOf(template, 'FanoutRole'))).not.toMatch(/kafka-cluster:\*|"\*"/);
    expect(mskResourceArn(EXISTING, 'group', 'g')).toBe(
      `arn:aws:kafka:eu-west-1:123456789012:group/prod-streams/${uuid}/g`,
    );
  });

  it('places a producer in the cluster VPC only for a cluster it created, and lets it write its topics only', () => {
    const { stack, ingest } = ingestStack();
    const producer = testFunction(stack, 'Producer', 'producer');
    expect(ingest.producerPlacement().vpc).toBeDefined();
    ingest.grantProduce(producer, ['orders']);
    const template = Template.fromStack(stack);
    const statements = JSON.stringify(statementsOf(template, 'ProducerRole'));
    expect(statements).toMatch(/kafka-cluster:WriteData.*orders/);
    expect(statements).not.toMatch(/prices|ReadData/);
    expect(() => ingestStack(EXISTING).ingest.producerPlacement()).toThrow(
      /producer function in the cluster’s VPC/,
    );
  });
});

describe('the topics on the cluster the stack created (issue 12 #2)', () => {
  const { stack, outdir } = ingestStack('serverless', { topicPartitions: 6 });
  const template = Template.fromStack(stack);
  const adminRole = Object.keys(template.findResources('AWS::IAM::Role')).find((id) =>
    id.startsWith('KafkaTopicAdminRole'),
  ) as string;

  it('are created by the topic-admin function as a custom resource, with the configured partitions', () => {
    const token = new Capture();
    template.hasResourceProperties('Custom::KafkaTopics', {
      ServiceToken: token,
      ClusterArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^KafkaCluster'), 'Arn'] },
      Topics: ['orders', 'prices', 'sensor-readings'],
      Partitions: 6,
    });
    const [functionId] = token.asObject()['Fn::GetAtt'] as [string];
    expect(template.toJSON().Resources[functionId].Properties).toMatchObject({
      Environment: {
        Variables: { KAFKA_CLUSTER_ARN: { 'Fn::GetAtt': [expect.stringMatching(/^KafkaCluster/), 'Arn'] } },
      },
      VpcConfig: { SubnetIds: [expect.anything(), expect.anything()] },
      Role: { 'Fn::GetAtt': [adminRole, 'Arn'] },
    });
  });

  it('come before the mappings that read them', () => {
    const resource = Object.keys(template.findResources('Custom::KafkaTopics'))[0] as string;
    const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping'));
    expect(mappings).toHaveLength(2);
    for (const mapping of mappings) expect(mapping.DependsOn).toContain(resource);
  });

  it('are all the topic admin may create or describe: the exact ARNs, with the cluster UUID', () => {
    const local = localTemplate(stack, outdir);
    const cluster = Object.keys(template.findResources('AWS::MSK::ServerlessCluster'))[0] as string;
    const prefix = local.attribute(cluster, 'Arn').replace(':cluster/', ':topic/');
    const statements = statementsOf(template, 'KafkaTopicAdminRole').filter((s) =>
      JSON.stringify(s.Action).includes('kafka'),
    );
    const resolved = statements.map((s) => ({
      Action: s.Action,
      Resource: local.resolve(s.Resource as Json),
    }));
    expect(resolved).toEqual(
      expect.arrayContaining([
        { Action: 'kafka-cluster:Connect', Resource: local.attribute(cluster, 'Arn') },
        {
          Action: ['kafka-cluster:CreateTopic', 'kafka-cluster:DescribeTopic'],
          Resource: ['orders', 'prices', 'sensor-readings'].map((topic) => `${prefix}/${topic}`),
        },
        { Action: 'kafka:GetBootstrapBrokers', Resource: local.attribute(cluster, 'Arn') },
      ]),
    );
    expect(JSON.stringify(resolved)).not.toMatch(
      /"\*"|kafka-cluster:\*|DeleteTopic|AlterTopic|WriteData|ReadData/,
    );
  });

  it('gives every function in a VPC the network-interface permissions on its own role (issue 12 #3)', () => {
    expectVpcFunctionsManageInterfaces(template, 1);
  });

  it('are not created on an existing cluster (its network is unknown): the KafkaTopics output lists them', () => {
    const existing = Template.fromStack(ingestStack(EXISTING).stack);
    existing.resourceCountIs('Custom::KafkaTopics', 0);
    existing.hasOutput('KafkaTopics', { Value: 'orders,prices,sensor-readings' });
  });
});

describe('the way in for producers outside the stack (issue 12 #2)', () => {
  it('is a managed policy that writes the catalog’s topics, the bootstrap command, and more client VPCs', () => {
    const { stack } = ingestStack('serverless', {
      clientVpcs: parseConfig({
        kafka: { clientVpcs: [{ subnetIds: ['subnet-0a', 'subnet-0b'], securityGroupIds: ['sg-0c'] }] },
      }).kafka.clientVpcs,
    });
    const template = Template.fromStack(stack);
    const policy = Object.values(template.findResources('AWS::IAM::ManagedPolicy'))[0];
    const statements = policy?.Properties.PolicyDocument.Statement as {
      Action: unknown;
      Resource: unknown;
    }[];
    expect(statements.map((s) => s.Action)).toEqual([
      ['kafka-cluster:Connect', 'kafka-cluster:DescribeCluster'],
      ['kafka-cluster:DescribeTopic', 'kafka-cluster:WriteData'],
      'kafka:GetBootstrapBrokers',
    ]);
    expect(JSON.stringify(statements[1]?.Resource)).toMatch(/orders.*prices.*sensor-readings/);
    template.hasOutput('KafkaProducerPolicyArn', {
      Value: { Ref: Match.stringLikeRegexp('^KafkaProducerPolicy') },
    });
    template.hasOutput('KafkaBootstrapBrokersCommand', {
      Value: {
        'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('aws kafka get-bootstrap-brokers')])],
      },
    });
    const vpcs = new Capture();
    template.hasResourceProperties('AWS::MSK::ServerlessCluster', { VpcConfigs: vpcs });
    expect(vpcs.asArray()).toHaveLength(2);
    expect(vpcs.asArray()[1]).toEqual({ SubnetIds: ['subnet-0a', 'subnet-0b'], SecurityGroups: ['sg-0c'] });
  });
});

describe('batchingWindows', () => {
  const feed = (batchingWindowSeconds: number) =>
    channel('/feed', {
      backend: { type: 'kafka', topic: 'feed', parameters: {}, coalesce: true, batchingWindowSeconds },
    });
  const twoApis = (a: number, b: number) =>
    ({
      apis: [
        api({ name: 'A', context: '/a', channels: [feed(a)] }),
        api({ name: 'B', context: '/b', channels: [feed(b)] }),
      ],
    }) satisfies Catalog;

  it('takes a topic’s window from its channels, and refuses windows that disagree, naming both', () => {
    expect(batchingWindows(twoApis(1, 1))).toEqual({ feed: 1 });
    expect(() => batchingWindows(twoApis(1, 3))).toThrow(
      /Kafka topic feed: carbon.super\/A\/1.0.0 \/feed asks for a 1 s batching window and carbon.super\/B\/1.0.0 \/feed for 3 s/,
    );
  });
});
