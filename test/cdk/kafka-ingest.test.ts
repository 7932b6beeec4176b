import { Template } from 'aws-cdk-lib/assertions';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import type { Catalog } from '../../lambdas/core/catalog.ts';
import { batchingWindows, KafkaIngest } from '../../lib/constructs/kafka-ingest.ts';
import { api, channel } from '../helpers/catalog.ts';
import { DEFAULT_CONFIG, statementsOf, testFunction, testStack } from './construct-fixtures.ts';

const EXISTING =
  'arn:aws:kafka:eu-west-1:123456789012:cluster/prod-streams/11111111-2222-3333-4444-555555555555-1';

function ingestStack(clusterArn?: string) {
  const stack = testStack();
  const fanout = testFunction(stack, 'Fanout', 'fanout');
  const ingest = new KafkaIngest(stack, 'Kafka', {
    fanout,
    topics: ['orders', 'prices'],
    batchingWindows: { prices: 2 },
    config: { ...DEFAULT_CONFIG.kafka, startingPosition: 'TRIM_HORIZON' },
    ...(clusterArn ? { clusterArn } : {}),
    failureQueue: new Queue(stack, 'FailureQueue'),
  });
  return { stack, ingest };
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

  it('reads an existing cluster instead, with the fan-out limited to its topics and groups', () => {
    const { stack } = ingestStack(EXISTING);
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::MSK::ServerlessCluster', 0);
    template.resourceCountIs('AWS::EC2::VPC', 0);
    const kafka = JSON.stringify(
      statementsOf(template, 'FanoutRole').filter((s) => JSON.stringify(s.Action).includes('kafka-cluster:')),
    );
    expect(kafka).toContain('topic/prod-streams/11111111-2222-3333-4444-555555555555-1/orders');
    expect(kafka).toContain('group/prod-streams/11111111-2222-3333-4444-555555555555-1/streamgate-prices');
    expect(kafka).not.toMatch(/kafka-cluster:\*|"\*"/);
  });

  it('places a producer in the cluster VPC only for a cluster it created, and lets it write its topics only', () => {
    const { stack, ingest } = ingestStack();
    const producer = testFunction(stack, 'Producer', 'producer');
    expect(ingest.producerPlacement().vpc).toBeDefined();
    ingest.grantProduce(producer, ['orders']);
    const statements = JSON.stringify(statementsOf(Template.fromStack(stack), 'ProducerRole'));
    expect(statements).toMatch(/kafka-cluster:WriteData.*orders/);
    expect(statements).not.toMatch(/prices|ReadData/);
    expect(() => ingestStack(EXISTING).ingest.producerPlacement()).toThrow(
      /producer function in the cluster’s VPC/,
    );
  });
});

describe('batchingWindows', () => {
  const feed = (batchingWindowSeconds: number) =>
    channel('/feed', {
      backend: { type: 'kafka', topic: 'feed', parameters: {}, coalesce: true, batchingWindowSeconds },
    });
  const catalog = (a: number, b: number) =>
    ({
      apis: [
        api({ name: 'A', context: '/a', channels: [feed(a)] }),
        api({ name: 'B', context: '/b', channels: [feed(b)] }),
      ],
    }) satisfies Catalog;

  it('takes a topic’s window from its channels, and refuses windows that disagree, naming both', () => {
    expect(batchingWindows(catalog(1, 1))).toEqual({ feed: 1 });
    expect(() => batchingWindows(catalog(1, 3))).toThrow(
      /Kafka topic feed: carbon.super\/A\/1.0.0 \/feed asks for a 1 s batching window and carbon.super\/B\/1.0.0 \/feed for 3 s/,
    );
  });
});
