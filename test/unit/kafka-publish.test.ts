import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { mskIamToken } from '../../lambdas/adapters/msk-iam-token.ts';
import type { Catalog } from '../../lambdas/core/catalog.ts';
import { brokerAccess } from '../../lambdas/core/kafka-brokers.ts';
import { type OutgoingRecord, recordForFrame } from '../../lambdas/core/kafka-publish.ts';
import { createTargetResolver, type TargetResolver } from '../../lambdas/core/target.ts';
import { createHandler, type KafkaSender } from '../../lambdas/producer/handler.ts';
import { logger, metrics } from '../../lambdas/shared/observability.ts';
import { loadCatalog } from '../../lib/definitions/load.ts';

let resolver: TargetResolver;
beforeAll(async () => {
  const catalog: Catalog = await loadCatalog(path.resolve('test/fixtures/apis'));
  resolver = createTargetResolver(catalog);
});

describe('frames published on Kafka-bound channels', () => {
  it('put key-sourced parameters in the record key', () => {
    expect(recordForFrame(resolver.resolve('/kafkarooms/1.0.0/rooms/lobby'), '{"text":"hi"}')).toEqual({
      topic: 'test-kafka-rooms',
      key: 'lobby',
      value: '{"text":"hi"}',
      headers: {},
    });
  });

  it('accept a frame whose value names the topic instance it was published on, and nothing else', () => {
    const target = resolver.resolve('/kafkarooms/1.0.0/sensors/s1');
    expect(recordForFrame(target, '{"event":{"sensor":"s1","value":1}}')).toMatchObject({
      topic: 'test-sensor-readings',
      key: null,
    });
    expect(() => recordForFrame(target, '{"event":{"sensor":"s2","value":1}}')).toThrow(
      'the frame names sensor "s2", but it was published to /sensors/s1 (sensor "s1")',
    );
    expect(() => recordForFrame(target, '{"event":{}}')).toThrow(/cannot be published to \/sensors\/s1/);
  });
});

describe('the MSK IAM token', () => {
  it('is a base64url presigned kafka-cluster:Connect URL of the region, valid 15 minutes', async () => {
    const { value, lifetimeMs } = await mskIamToken('eu-west-1', async () => ({
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
    }));
    expect(value).toMatch(/^[A-Za-z0-9_-]+$/);
    const url = new URL(Buffer.from(value, 'base64url').toString('utf8'));
    expect(url.host).toBe('kafka.eu-west-1.amazonaws.com');
    expect(url.searchParams.get('Action')).toBe('kafka-cluster:Connect');
    expect(url.searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(url.searchParams.get('X-Amz-Credential')).toMatch(
      /^AKIDEXAMPLE\/\d{8}\/eu-west-1\/kafka-cluster\/aws4_request$/,
    );
    expect(url.searchParams.get('X-Amz-Expires')).toBe('900');
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    expect(lifetimeMs).toBe(900_000);
  });

  it('comes from AWS’s signer, and lasts no longer than the credentials it is signed with', async () => {
    const { value, lifetimeMs } = await mskIamToken('us-east-1', async () => ({
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
      sessionToken: 'session',
      expiration: new Date(Date.now() + 300_000),
    }));
    const url = new URL(Buffer.from(value, 'base64url').toString('utf8'));
    expect(url.searchParams.get('User-Agent')).toMatch(/^aws-msk-iam-sasl-signer-js\//);
    expect(url.searchParams.get('X-Amz-Security-Token')).toBe('session');
    expect(Number(url.searchParams.get('X-Amz-Expires'))).toBeLessThanOrEqual(300);
    expect(lifetimeMs).toBeLessThanOrEqual(300_000);
    expect(lifetimeMs).toBeGreaterThan(290_000);
  });
});

describe('reaching the cluster', () => {
  const arn = 'arn:aws:kafka:eu-west-1:123456789012:cluster/streams/abc';
  it('prefers IAM brokers, then TLS, then plaintext', () => {
    expect(
      brokerAccess(
        { BootstrapBrokerStringSaslIam: 'b-1:9098,b-2:9098', BootstrapBrokerStringTls: 'b-1:9094' },
        arn,
      ),
    ).toEqual({ brokers: ['b-1:9098', 'b-2:9098'], security: 'iam' });
    expect(
      brokerAccess({ BootstrapBrokerStringTls: 'b-1:9094', BootstrapBrokerString: 'b-1:9092' }, arn),
    ).toEqual({ brokers: ['b-1:9094'], security: 'tls' });
    expect(brokerAccess({ BootstrapBrokerString: 'localhost:9092' }, arn)).toEqual({
      brokers: ['localhost:9092'],
      security: 'plaintext',
    });
  });

  it('refuses a cluster with no brokers it can use', () => {
    expect(() => brokerAccess({}, arn)).toThrow(
      `cluster ${arn} has no bootstrap brokers this function can use`,
    );
  });
});

describe('the producer handler', () => {
  const record = (value: string): OutgoingRecord => ({
    topic: 'test-kafka-rooms',
    key: 'lobby',
    value,
    headers: { source: 'ws' },
  });

  /** A kafkajs producer stand-in: offsets count up; `failing` sends throw. */
  function fakeKafka(failing = 0) {
    const sent: unknown[] = [];
    const connections: { disconnected: boolean }[] = [];
    let offset = 41;
    let failures = failing;
    const connect = vi.fn(async (): Promise<KafkaSender> => {
      const connection = { disconnected: false };
      connections.push(connection);
      return {
        send: (async (request: unknown) => {
          if (failures-- > 0) throw new Error('Broker not available');
          sent.push(request);
          return [
            { topicName: 'test-kafka-rooms', partition: 2, errorCode: 0, baseOffset: String(++offset) },
          ];
        }) as KafkaSender['send'],
        disconnect: async () => {
          connection.disconnected = true;
        },
      };
    });
    return { connect, sent, connections };
  }

  beforeEach(() => {
    vi.spyOn(logger, 'error').mockImplementation(() => undefined);
    vi.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => {
      metrics.clearMetrics();
      return metrics;
    });
  });
  afterEach(() => vi.restoreAllMocks());

  it('produces the records in order, acknowledged by all in-sync replicas, on one connection', async () => {
    const kafka = fakeKafka();
    const handler = createHandler({ connect: kafka.connect });
    expect(await handler({ records: [record('a'), record('b')] })).toEqual({
      produced: [
        { topic: 'test-kafka-rooms', partition: 2, offset: '42' },
        { topic: 'test-kafka-rooms', partition: 2, offset: '43' },
      ],
    });
    await handler({ records: [record('c')] });
    expect(kafka.connect).toHaveBeenCalledTimes(1);
    expect(kafka.sent[0]).toEqual({
      topic: 'test-kafka-rooms',
      acks: -1,
      messages: [{ key: 'lobby', value: 'a', headers: { source: 'ws' } }],
    });
    expect(kafka.sent).toHaveLength(3);
  });

  it('fails the invocation when the cluster does not take a record, and connects afresh next time', async () => {
    const kafka = fakeKafka(1);
    const handler = createHandler({ connect: kafka.connect });
    await expect(handler({ records: [record('a')] })).rejects.toThrow(
      'the Kafka cluster did not take the record (Broker not available)',
    );
    await vi.waitFor(() => expect(kafka.connections[0]?.disconnected).toBe(true));
    expect((await handler({ records: [record('a')] })).produced).toHaveLength(1);
    expect(kafka.connect).toHaveBeenCalledTimes(2);
  });

  it('tries to connect again after a connection that failed', async () => {
    const kafka = fakeKafka();
    const connect = vi
      .fn<() => Promise<KafkaSender>>()
      .mockRejectedValueOnce(new Error('getaddrinfo ENOTFOUND'))
      .mockImplementation(kafka.connect);
    const handler = createHandler({ connect });
    await expect(handler({ records: [record('a')] })).rejects.toThrow(/ENOTFOUND/);
    expect((await handler({ records: [record('a')] })).produced).toHaveLength(1);
  });
});
