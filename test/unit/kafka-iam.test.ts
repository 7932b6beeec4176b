import { generateAuthTokenFromCredentialsProvider } from 'aws-msk-iam-sasl-signer-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type KafkaCheck,
  KafkaIamServer,
  MskTokenError,
  mskActionOf,
  mskRequestOf,
  mskResourceArn,
  parseClusterArn,
  verifyMskIamToken,
} from '../../local/kafka-iam.ts';
import { LogSink } from '../../local/log.ts';
import { evaluate, type FixturePolicy, fixtureIam } from '../helpers/kafka-iam-fake.ts';

const CLUSTER_ARN =
  'arn:aws:kafka:us-east-1:000000000000:cluster/streamgate/4f7c1a52-3b8e-4d2a-9c1e-0a1b2c3d4e5f-s1';
const cluster = parseClusterArn(CLUSTER_ARN);
const ROLE_KEY = { accessKeyId: 'AKIAFIXTUREROLE00001', secretAccessKey: 'fixture-role-secret' };
const topicArn = (topic: string) =>
  `arn:aws:kafka:us-east-1:000000000000:topic/streamgate/${cluster.uuid}/${topic}`;
const groupArn = (group: string) =>
  `arn:aws:kafka:us-east-1:000000000000:group/streamgate/${cluster.uuid}/${group}`;

async function tokenOf(credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }) {
  return (
    await generateAuthTokenFromCredentialsProvider({
      region: 'us-east-1',
      awsCredentialsProvider: async () => credentials,
    })
  ).token;
}

describe('MSK resource ARNs', () => {
  it('carry the cluster name and UUID: cluster/{name}/{uuid}, topic/{name}/{uuid}/{topic}, group/…, transactional-id/…', () => {
    expect(cluster).toEqual({
      partition: 'aws',
      region: 'us-east-1',
      account: '000000000000',
      name: 'streamgate',
      uuid: '4f7c1a52-3b8e-4d2a-9c1e-0a1b2c3d4e5f-s1',
    });
    expect(mskResourceArn(cluster, 'CLUSTER', 'ignored')).toBe(CLUSTER_ARN);
    expect(mskResourceArn(cluster, 'TOPIC', 'chat-rooms')).toBe(topicArn('chat-rooms'));
    expect(mskResourceArn(cluster, 'GROUP', 'streamgate-chat-rooms')).toBe(groupArn('streamgate-chat-rooms'));
    expect(mskResourceArn(cluster, 'TRANSACTIONAL_ID', 'tx-1')).toBe(
      `arn:aws:kafka:us-east-1:000000000000:transactional-id/streamgate/${cluster.uuid}/tx-1`,
    );
  });

  it('refuses a cluster ARN without the UUID (the form that made every topic ARN wrong)', () => {
    expect(() => parseClusterArn('arn:aws:kafka:us-east-1:000000000000:cluster/streamgate')).toThrow(
      /\{uuid\}/,
    );
    expect(() => parseClusterArn('arn:aws:kafka:us-east-1:000000000000:topic/streamgate/u/t')).toThrow();
  });
});

describe('Kafka operations as MSK IAM actions', () => {
  // What Kafka's request handling asks the authorizer for, per request (kafka.server.KafkaApis).
  const cases: [string, KafkaCheck, string | undefined, string | undefined][] = [
    [
      'Produce',
      { operation: 'WRITE', resourceType: 'TOPIC', resourceName: 'rooms' },
      'kafka-cluster:WriteData',
      topicArn('rooms'),
    ],
    [
      'Fetch',
      { operation: 'READ', resourceType: 'TOPIC', resourceName: 'rooms' },
      'kafka-cluster:ReadData',
      topicArn('rooms'),
    ],
    [
      'Metadata',
      { operation: 'DESCRIBE', resourceType: 'TOPIC', resourceName: 'rooms' },
      'kafka-cluster:DescribeTopic',
      topicArn('rooms'),
    ],
    [
      'JoinGroup, SyncGroup, Heartbeat, OffsetCommit',
      { operation: 'READ', resourceType: 'GROUP', resourceName: 'g' },
      'kafka-cluster:AlterGroup',
      groupArn('g'),
    ],
    [
      'FindCoordinator, OffsetFetch, DescribeGroups',
      { operation: 'DESCRIBE', resourceType: 'GROUP', resourceName: 'g' },
      'kafka-cluster:DescribeGroup',
      groupArn('g'),
    ],
    [
      'DeleteGroups',
      { operation: 'DELETE', resourceType: 'GROUP', resourceName: 'g' },
      'kafka-cluster:DeleteGroup',
      groupArn('g'),
    ],
    [
      'CreateTopics (per topic)',
      { operation: 'CREATE', resourceType: 'TOPIC', resourceName: 'new' },
      'kafka-cluster:CreateTopic',
      topicArn('new'),
    ],
    [
      'CreateTopics (cluster-wide first)',
      { operation: 'CREATE', resourceType: 'CLUSTER', resourceName: 'kafka-cluster' },
      'kafka-cluster:CreateTopic',
      topicArn('*'),
    ],
    [
      'DeleteTopics',
      { operation: 'DELETE', resourceType: 'TOPIC', resourceName: 'old' },
      'kafka-cluster:DeleteTopic',
      topicArn('old'),
    ],
    [
      'CreatePartitions',
      { operation: 'ALTER', resourceType: 'TOPIC', resourceName: 'rooms' },
      'kafka-cluster:AlterTopic',
      topicArn('rooms'),
    ],
    [
      'DescribeConfigs (topic)',
      { operation: 'DESCRIBE_CONFIGS', resourceType: 'TOPIC', resourceName: 'rooms' },
      'kafka-cluster:DescribeTopicDynamicConfiguration',
      topicArn('rooms'),
    ],
    [
      'IncrementalAlterConfigs (topic)',
      { operation: 'ALTER_CONFIGS', resourceType: 'TOPIC', resourceName: 'rooms' },
      'kafka-cluster:AlterTopicDynamicConfiguration',
      topicArn('rooms'),
    ],
    [
      'DescribeCluster',
      { operation: 'DESCRIBE', resourceType: 'CLUSTER', resourceName: 'kafka-cluster' },
      'kafka-cluster:DescribeCluster',
      CLUSTER_ARN,
    ],
    [
      'DescribeConfigs (broker)',
      { operation: 'DESCRIBE_CONFIGS', resourceType: 'CLUSTER', resourceName: 'kafka-cluster' },
      'kafka-cluster:DescribeClusterDynamicConfiguration',
      CLUSTER_ARN,
    ],
    [
      'InitProducerId (idempotent)',
      { operation: 'IDEMPOTENT_WRITE', resourceType: 'CLUSTER', resourceName: 'kafka-cluster' },
      'kafka-cluster:WriteDataIdempotently',
      CLUSTER_ARN,
    ],
    [
      'AddPartitionsToTxn',
      { operation: 'WRITE', resourceType: 'TRANSACTIONAL_ID', resourceName: 'tx' },
      'kafka-cluster:AlterTransactionalId',
      mskResourceArn(cluster, 'TRANSACTIONAL_ID', 'tx'),
    ],
    [
      'inter-broker (CLUSTER_ACTION): no IAM action',
      { operation: 'CLUSTER_ACTION', resourceType: 'CLUSTER', resourceName: 'kafka-cluster' },
      undefined,
      undefined,
    ],
    [
      'delegation tokens: no IAM action',
      { operation: 'CREATE_TOKENS', resourceType: 'USER', resourceName: 'u' },
      undefined,
      undefined,
    ],
  ];
  it.each(cases)('%s', (_request, check, action, resourceArn) => {
    expect(mskRequestOf(check, cluster)).toEqual(action ? { action, resourceArn } : undefined);
  });

  it('implies no DESCRIBE from READ or WRITE, as MSK lists DescribeTopic and DescribeGroup as separate actions', () => {
    expect(mskActionOf('DESCRIBE', 'TOPIC')).toBe('kafka-cluster:DescribeTopic');
    expect(mskActionOf('WRITE', 'GROUP')).toBeUndefined();
  });
});

describe('MSK IAM tokens (aws-msk-iam-sasl-signer-js) verified with the key’s secret', () => {
  const secretOf = (key: string) => (key === ROLE_KEY.accessKeyId ? ROLE_KEY.secretAccessKey : undefined);

  it('accepts a token signed with the secret: the principal is the access key id, valid 15 minutes', async () => {
    const identity = await verifyMskIamToken(await tokenOf(ROLE_KEY), secretOf);
    expect(identity.accessKeyId).toBe(ROLE_KEY.accessKeyId);
    expect(identity.expiresAtMs - Date.now()).toBeGreaterThan(14 * 60_000);
    expect(identity.expiresAtMs - Date.now()).toBeLessThanOrEqual(15 * 60_000);
  });

  it('accepts temporary credentials (the session token is signed too)', async () => {
    const token = await tokenOf({ ...ROLE_KEY, sessionToken: 'session-token-1' });
    await expect(verifyMskIamToken(token, secretOf)).resolves.toMatchObject({
      accessKeyId: ROLE_KEY.accessKeyId,
    });
    const url = new URL(Buffer.from(token, 'base64url').toString());
    url.searchParams.set('X-Amz-Security-Token', 'session-token-2');
    await expect(verifyMskIamToken(Buffer.from(url.href).toString('base64url'), secretOf)).rejects.toThrow(
      /signature/,
    );
  });

  it('refuses a wrong secret, an unknown key, an expired token and one altered after signing', async () => {
    const forged = await tokenOf({ ...ROLE_KEY, secretAccessKey: 'guessed' });
    await expect(verifyMskIamToken(forged, secretOf)).rejects.toThrow(/signature does not match/);
    const stranger = await tokenOf({ accessKeyId: 'AKIASTRANGER00000000', secretAccessKey: 'x' });
    await expect(verifyMskIamToken(stranger, secretOf)).rejects.toThrow(/not known/);
    const token = await tokenOf(ROLE_KEY);
    await expect(verifyMskIamToken(token, secretOf, Date.now() + 16 * 60_000)).rejects.toThrow(/expired/);
    const url = new URL(Buffer.from(token, 'base64url').toString());
    url.searchParams.set('X-Amz-Expires', '604800');
    await expect(verifyMskIamToken(Buffer.from(url.href).toString('base64url'), secretOf)).rejects.toThrow(
      MskTokenError,
    );
  });

  it('refuses what is not an MSK IAM request: another host, another action, not a URL', async () => {
    const url = new URL(Buffer.from(await tokenOf(ROLE_KEY), 'base64url').toString());
    const encoded = (u: URL) => Buffer.from(u.href).toString('base64url');
    const otherAction = new URL(url);
    otherAction.searchParams.set('Action', 'kafka-cluster:WriteData');
    await expect(verifyMskIamToken(encoded(otherAction), secretOf)).rejects.toThrow(
      /not kafka-cluster:Connect/,
    );
    const otherHost = new URL(url);
    otherHost.hostname = 'example.com';
    await expect(verifyMskIamToken(encoded(otherHost), secretOf)).rejects.toThrow(/not an MSK IAM request/);
    await expect(verifyMskIamToken('not a token', secretOf)).rejects.toThrow(MskTokenError);
  });
});

describe('the endpoint the broker’s Java classes call', () => {
  const policy: FixturePolicy = {
    Statement: [
      { Sid: 'Connect', Effect: 'Allow', Action: 'kafka-cluster:Connect', Resource: CLUSTER_ARN },
      {
        Sid: 'Produce',
        Effect: 'Allow',
        Action: ['kafka-cluster:DescribeTopic', 'kafka-cluster:WriteData'],
        Resource: topicArn('rooms'),
      },
    ],
  };
  const lines: string[] = [];
  const log = new LogSink({ out: { write: (line: string) => lines.push(line) } as never, verbose: true });
  let iamPolicy = policy;
  const server = new KafkaIamServer({
    clusterArn: CLUSTER_ARN,
    iam: () => fixtureIam({ credentials: ROLE_KEY, policy: iamPolicy, adminKeyId: 'AKIAADMIN' }),
    log,
  });
  let url: string;
  const post = async (path: string, body: string) => {
    const response = await fetch(`${url}${path}`, { method: 'POST', body });
    return { status: response.status, text: await response.text() };
  };
  beforeAll(async () => {
    url = await server.start();
  });
  afterAll(() => server.stop());

  it('answers each check of a role by its policy, and lets the broker’s own listeners (ANONYMOUS) and the admin do all', async () => {
    const reply = await post(
      '/authorize',
      [
        `${ROLE_KEY.accessKeyId}\tWRITE\tTOPIC\trooms`,
        `${ROLE_KEY.accessKeyId}\tWRITE\tTOPIC\tother`,
        `${ROLE_KEY.accessKeyId}\tREAD\tTOPIC\trooms`,
        `${ROLE_KEY.accessKeyId}\tCLUSTER_ACTION\tCLUSTER\tkafka-cluster`,
        'ANONYMOUS\tCLUSTER_ACTION\tCLUSTER\tkafka-cluster',
        'AKIAADMIN\tDELETE\tTOPIC\trooms',
        'AKIAUNKNOWN\tDESCRIBE\tTOPIC\trooms',
      ].join('\n'),
    );
    expect(reply).toEqual({
      status: 200,
      text: ['ALLOWED', 'DENIED', 'DENIED', 'DENIED', 'ALLOWED', 'ALLOWED', 'DENIED'].join('\n'),
    });
    expect(lines.join('')).toContain(
      `denied kafka-cluster:ReadData on ${topicArn('rooms')} to ${'arn:aws:iam::000000000000:role/streamgate-fixture'}: no statement allows it`,
    );
  });

  it('decodes resource names (a group id may hold any character)', async () => {
    iamPolicy = {
      Statement: [
        { Sid: 'G', Effect: 'Allow', Action: 'kafka-cluster:DescribeGroup', Resource: groupArn('a b/ç') },
      ],
    };
    const reply = await post(
      '/authorize',
      `${ROLE_KEY.accessKeyId}\tDESCRIBE\tGROUP\t${encodeURIComponent('a b/ç')}`,
    );
    expect(reply.text).toBe('ALLOWED');
    iamPolicy = policy;
  });

  it('authenticates a valid token whose role may Connect, and refuses it once Connect is removed', async () => {
    const token = await tokenOf(ROLE_KEY);
    const ok = await post('/authenticate', token);
    expect(ok.status).toBe(200);
    expect(ok.text).toMatch(new RegExp(`^${ROLE_KEY.accessKeyId} \\d{13}$`));
    iamPolicy = { Statement: policy.Statement.filter((s) => s.Sid !== 'Connect') };
    const refused = await post('/authenticate', token);
    iamPolicy = policy;
    expect(refused).toEqual({
      status: 401,
      text: `arn:aws:iam::000000000000:role/streamgate-fixture is not allowed kafka-cluster:Connect on ${CLUSTER_ARN}`,
    });
  });

  it('refuses a forged token with 401', async () => {
    const reply = await post('/authenticate', await tokenOf({ ...ROLE_KEY, secretAccessKey: 'guessed' }));
    expect(reply.status).toBe(401);
  });
});

describe('the test fake’s policy evaluation', () => {
  it('an explicit Deny wins over an Allow; nothing matching is an implicit deny', () => {
    const policy: FixturePolicy = {
      Statement: [
        { Sid: 'All', Effect: 'Allow', Action: 'kafka-cluster:*', Resource: '*' },
        { Sid: 'NoWrite', Effect: 'Deny', Action: 'kafka-cluster:WriteData', Resource: topicArn('r?oms') },
      ],
    };
    expect(evaluate(policy, 'kafka-cluster:WriteData', topicArn('rooms')).allowed).toBe(false);
    expect(evaluate(policy, 'kafka-cluster:writedata', topicArn('other')).allowed).toBe(true);
    expect(evaluate({ Statement: [] }, 'kafka-cluster:Connect', CLUSTER_ARN).allowed).toBe(false);
  });
});
