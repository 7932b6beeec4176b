import type { CloudFormationCustomResourceEvent, CloudFormationCustomResourceResponse } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { parseTopicRequest, planTopics, topicNameProblem } from '../../lambdas/core/kafka-topics.ts';
import { createHandler, PHYSICAL_ID } from '../../lambdas/topic-admin/handler.ts';

const CLUSTER =
  'arn:aws:kafka:eu-west-1:123456789012:cluster/prod-streams/11111111-2222-3333-4444-555555555555-s1';

describe('planTopics', () => {
  it('creates what is missing, keeps what exists, and reports a kept topic with another partition count', () => {
    expect(
      planTopics(['orders', 'prices', 'orders', 'audit'], 3, [
        { name: 'prices', partitions: 3 },
        { name: 'audit', partitions: 12 },
        { name: 'unrelated', partitions: 1 },
      ]),
    ).toEqual({
      create: ['orders'],
      kept: [
        { name: 'audit', partitions: 12 },
        { name: 'prices', partitions: 3 },
      ],
      differing: [{ name: 'audit', partitions: 12 }],
      refused: [],
    });
  });

  it('refuses names Kafka refuses, saying why', () => {
    expect(topicNameProblem('a/b')).toMatch(/letters, digits/);
    expect(topicNameProblem('..')).toMatch(/may not be/);
    expect(topicNameProblem('x'.repeat(250))).toMatch(/249/);
    expect(planTopics(['ok', 'bad topic'], 1, []).refused).toEqual([
      { topic: 'bad topic', reason: expect.stringMatching(/^topic name "bad topic" may hold only/) },
    ]);
  });
});

describe('parseTopicRequest', () => {
  it('reads the properties as CloudFormation delivers them (the partition count as a string)', () => {
    expect(
      parseTopicRequest({ ServiceToken: 'x', ClusterArn: CLUSTER, Topics: ['a'], Partitions: '3' }),
    ).toEqual({
      clusterArn: CLUSTER,
      topics: ['a'],
      partitions: 3,
    });
  });

  it('refuses what is malformed, naming the property', () => {
    expect(() => parseTopicRequest({ ClusterArn: 'nope', Topics: [], Partitions: '1' })).toThrow(
      /ClusterArn/,
    );
    expect(() => parseTopicRequest({ ClusterArn: CLUSTER, Topics: 'a', Partitions: '1' })).toThrow(/Topics/);
    expect(() => parseTopicRequest({ ClusterArn: CLUSTER, Topics: [], Partitions: '0' })).toThrow(
      /Partitions/,
    );
  });
});

describe('the topic-admin handler (custom resource Custom::KafkaTopics)', () => {
  function world(existing: { name: string; partitions: number }[] = [], failCreate = false) {
    const created: [string[], number][] = [];
    const responses: [string, CloudFormationCustomResourceResponse][] = [];
    const handler = createHandler({
      existing: async () => existing,
      create: async (topics, partitions) => {
        if (failCreate) throw new Error('TOPIC_AUTHORIZATION_FAILED');
        created.push([topics, partitions]);
      },
      respond: async (url, response) => {
        responses.push([url, response]);
      },
    });
    return { handler, created, responses };
  }
  const event = (RequestType: 'Create' | 'Update' | 'Delete', properties: Record<string, unknown> = {}) =>
    ({
      RequestType,
      ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:admin',
      ResponseURL: 'https://cloudformation-custom-resource-response.example/put',
      StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/S/1',
      RequestId: 'req-1',
      LogicalResourceId: 'KafkaTopics',
      ResourceType: 'Custom::KafkaTopics',
      ResourceProperties: {
        ServiceToken: 'x',
        ClusterArn: CLUSTER,
        Topics: ['a', 'b'],
        Partitions: '3',
        ...properties,
      },
      ...(RequestType === 'Create' ? {} : { PhysicalResourceId: PHYSICAL_ID }),
      ...(RequestType === 'Update' ? { OldResourceProperties: {} } : {}),
    }) as CloudFormationCustomResourceEvent;

  it('creates the missing topics on Create and Update, and answers SUCCESS at the ResponseURL', async () => {
    for (const type of ['Create', 'Update'] as const) {
      const { handler, created, responses } = world([{ name: 'b', partitions: 6 }]);
      await handler(event(type));
      expect(created).toEqual([[['a'], 3]]);
      expect(responses).toEqual([
        [
          'https://cloudformation-custom-resource-response.example/put',
          {
            Status: 'SUCCESS',
            PhysicalResourceId: PHYSICAL_ID,
            StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/S/1',
            RequestId: 'req-1',
            LogicalResourceId: 'KafkaTopics',
            Reason:
              'created a; kept b; kept with other settings: b (6 partitions, kafka.topicPartitions is 3)',
            Data: { Created: 'a', Kept: 'b', Differing: 'b:6' },
          },
        ],
      ]);
    }
  });

  it('leaves every topic alone on Delete (their records are data), without touching Kafka', async () => {
    const { handler, created, responses } = world();
    await handler(event('Delete', { Partitions: 'not even read' }));
    expect(created).toEqual([]);
    expect(responses[0]?.[1]).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: PHYSICAL_ID });
  });

  it('answers FAILED with the reason when Kafka refuses or a property is wrong (the deploy stops, it does not hang)', async () => {
    const refused = world([], true);
    await refused.handler(event('Create'));
    expect(refused.responses[0]?.[1]).toMatchObject({
      Status: 'FAILED',
      Reason: 'Kafka topics: TOPIC_AUTHORIZATION_FAILED',
      PhysicalResourceId: PHYSICAL_ID,
    });
    const malformed = world();
    await malformed.handler(event('Create', { Topics: ['bad name'] }));
    expect(malformed.responses[0]?.[1]).toMatchObject({
      Status: 'FAILED',
      Reason: expect.stringMatching(/bad name/),
    });
    expect(malformed.created).toEqual([]);
  });
});
