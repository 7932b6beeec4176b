import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import type { Producer } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManagementClient } from '../../cli/management-client.ts';
import { trainScenario } from '../scenarios/seeds.ts';
import {
  type Client,
  connect,
  connectionIdsOn,
  connectionStore,
  drainQueue,
  injectFault,
  json,
  kafkaProducer,
  localTarget,
  stack,
  tokenFor,
  unique,
  withKafkaAdmin,
  wsUrl,
} from './helpers.ts';

const run = promisify(execFile);
let producer: Producer;
const scenarioTarget = localTarget();
let quantis: string;
const open: Client[] = [];
const trainUrl = (train: string) => wsUrl(`/t/quantis.com/train/location/1.0.0/loc-train-qnt-${train}`);
const topicKey = (train: string) => `quantis.com/train/location/1.0.0/loc-train-qnt-${train}`;
async function subscribe(train: string, path = trainUrl(train)): Promise<Client> {
  const client = await connect(path, { token: quantis });
  open.push(client);
  return client;
}
const send = (key: string | null, value: string, headers?: Record<string, string>) =>
  producer.send({
    topic: 'train-locations',
    acks: -1,
    messages: [{ key, value, ...(headers ? { headers } : {}) }],
  });

beforeAll(async () => {
  producer = await kafkaProducer();
  quantis = await tokenFor('quantis.com', '');
  await drainQueue(stack.queues.FailureQueue as string);
});
afterAll(async () => {
  await producer.disconnect();
  await scenarioTarget.close();
});
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});

describe('Kafka records reach the subscribers of their topic instance (seed 002)', () => {
  // The seed scenario `npm run test:aws` runs against a deployed stack too.
  it('routes by record key: train 456 gets its locations, not train 789’s', () =>
    trainScenario(scenarioTarget));

  it('takes records from kcat, kafkajs and Kafka’s own console producer', async () => {
    const train = unique('p');
    const client = await subscribe(train);
    await run('bash', [
      '-c',
      `printf '{"via":"kcat"}\\n' | kcat -P -b ${stack.kafkaBrokers[0]} -t train-locations -k ${train}`,
    ]);
    await client.waitFor((m) => m.includes('kcat'));
    await send(train, '{"via":"kafkajs"}');
    await client.waitFor((m) => m.includes('kafkajs'));
    await new Promise<void>((resolve, reject) => {
      const java = spawn('java', [
        '-cp',
        stack.kafkaClasspath,
        'org.apache.kafka.tools.ConsoleProducer',
        '--bootstrap-server',
        stack.kafkaBrokers[0] as string,
        '--topic',
        'train-locations',
        '--property',
        'parse.key=true',
        '--property',
        'key.separator=|',
      ]);
      java.stdin.end(`${train}|{"via":"console-producer"}\n`);
      java.on('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`console producer exited ${code}`)),
      );
    });
    expect(await client.waitFor((m) => m.includes('console-producer'), 20_000)).toBeTruthy();
    expect(client.received.map((m) => json(m).via)).toEqual(['kcat', 'kafkajs', 'console-producer']);
  }, 60_000);

  it('reaches many subscribers of one topic', async () => {
    const train = unique('many');
    const clients = await Promise.all(Array.from({ length: 60 }, () => subscribe(train)));
    for (let i = 0; i < 5; i++) await send(train, JSON.stringify({ seq: i }));
    for (const client of clients) {
      await client.waitFor((m) => m.includes('"seq":4'), 10_000);
      expect(client.received.map((m) => json(m).seq)).toEqual([0, 1, 2, 3, 4]);
    }
  });

  it('keeps the order of 1,000 records of one partition', async () => {
    const train = unique('order');
    const client = await subscribe(train);
    const messages = Array.from({ length: 1000 }, (_, seq) => ({
      key: train,
      value: JSON.stringify({ seq }),
    }));
    for (let i = 0; i < messages.length; i += 100) {
      await producer.send({ topic: 'train-locations', acks: -1, messages: messages.slice(i, i + 100) });
    }
    await client.waitFor((m) => m.includes('"seq":999'), 30_000);
    expect(client.received.map((m) => json(m).seq)).toEqual(messages.map((_, seq) => seq));
  });

  it('sends a poison record to the failure destination and still delivers the good ones after it', async () => {
    const train = unique('poison');
    const client = await subscribe(train);
    await send(train, 'this is not JSON');
    for (let i = 0; i < 5; i++) await send(train, JSON.stringify({ seq: i }));
    await client.waitFor((m) => m.includes('"seq":4'));
    expect(client.received.map((m) => json(m).seq)).toEqual([0, 1, 2, 3, 4]);
    const failures = await drainQueue(stack.queues.FailureQueue as string);
    const poison = failures.find((f) => Buffer.from(String(f.key), 'base64').toString() === train);
    expect(poison).toMatchObject({
      kind: 'poison-record',
      topic: 'train-locations',
      partition: expect.any(Number),
      offset: expect.any(Number),
      reasons: [
        {
          api: 'quantis.com/TrainRealLocationAPI/1.0.0',
          channel: '/loc-train-qnt-{trainID}',
          reason: 'the value is not valid JSON',
        },
      ],
    });
    expect(Buffer.from(String(poison?.value), 'base64').toString()).toBe('this is not JSON');
  });

  it('removes a subscriber that went away (410) and keeps delivering to the others', async () => {
    const train = unique('gone');
    const client = await subscribe(train);
    const store = connectionStore();
    const [id] = await connectionIdsOn(topicKey(train));
    const record = await store.get(id as string);
    const ghost = 'GhostKafka000A=';
    // A ghost from a minute ago: past its handshake window, so a 410 means gone (goneVerdict).
    await store.put({
      ...(record as NonNullable<typeof record>),
      connectionId: ghost,
      connectedAt: Date.now() - 60_000,
    });
    await send(train, '{"hello":1}');
    await client.waitFor((m) => m.includes('hello'));
    await expect.poll(() => store.get(ghost), { timeout: 5_000 }).toBeUndefined();
    expect(await connectionIdsOn(topicKey(train))).toEqual([id]);
  });
});

describe('lifecycle on the fan-out path (issue 11)', () => {
  const setLifecycle = (state: string) =>
    new ManagementClient(stack.urls.http).admin(
      'PUT',
      '/tenants/quantis.com/apis/TrainRealLocationAPI/1.0.0/lifecycle',
      { state },
    );
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('a BLOCKED or RETIRED API gets no Kafka deliveries (within the registry cache time); published again, it does', async () => {
    const train = unique('lifecycle');
    const client = await subscribe(train);
    await send(train, '{"before":1}');
    await client.waitFor((m) => m.includes('before'));
    try {
      for (const state of ['BLOCKED', 'RETIRED']) {
        await setLifecycle(state);
        await sleep(2_500); // the registry cache is 1 s in the tests
        await send(train, JSON.stringify({ state }));
        expect(await client.quietFor(3_000), state).toEqual([]);
      }
    } finally {
      await setLifecycle('PUBLISHED');
    }
    await sleep(2_500);
    const again = await subscribe(train);
    await send(train, '{"back":1}');
    expect(await again.waitFor((m) => m.includes('back'))).toBeTruthy();
  });
});

describe('failures and recovery', () => {
  it('a fan-out that fails mid-stream gets its batch again: nothing is lost, order holds', async () => {
    const train = unique('retry');
    const client = await subscribe(train);
    await injectFault('fanout', 2, 'before');
    for (let i = 0; i < 20; i++) await send(train, JSON.stringify({ seq: i }));
    await client.waitFor((m) => m.includes('"seq":19'), 20_000);
    expect(client.received.map((m) => json(m).seq)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('a batch retried after it was delivered (the function failed after posting) is not delivered twice', async () => {
    const train = unique('dup');
    const client = await subscribe(train);
    await injectFault('fanout', 1, 'after');
    await send(train, JSON.stringify({ seq: 0 }));
    await client.waitFor((m) => m.includes('"seq":0'));
    await send(train, JSON.stringify({ seq: 1 }));
    await client.waitFor((m) => m.includes('"seq":1'), 10_000);
    await client.quietFor(500);
    expect(client.received.map((m) => json(m).seq)).toEqual([0, 1]);
  });

  it('a broker restart in the middle of a stream loses nothing', async () => {
    const train = unique('restart');
    const client = await subscribe(train);
    for (let i = 0; i < 50; i++) await send(train, JSON.stringify({ seq: i }));
    await client.waitFor((m) => m.includes('"seq":49'), 20_000);
    const restart = await fetch(`${stack.urls.http}/_local/kafka/restart`, { method: 'POST' });
    expect(restart.status).toBe(200);
    for (let i = 50; i < 100; i++) await send(train, JSON.stringify({ seq: i }));
    await client.waitFor((m) => m.includes('"seq":99'), 60_000);
    expect(client.received.map((m) => json(m).seq)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    // Every mapping of the stack reads again, not only the one this stream went through.
    await withKafkaAdmin(async (admin) => {
      const mappingGroups = (await admin.listGroups()).groups
        .map((g) => g.groupId)
        .filter((id) => id.startsWith('streamgate-') && !id.includes('.local-'));
      expect(mappingGroups).toContain('streamgate-kafka_sample_topic');
      await expect
        .poll(
          async () =>
            (await admin.describeGroups(mappingGroups)).groups
              .filter((g) => g.state !== 'Stable' || g.members.length !== 1)
              .map((g) => `${g.groupId}: ${g.state}, ${g.members.length} member(s)`),
          { timeout: 30_000, interval: 500 },
        )
        .toEqual([]);
    });
  }, 120_000);
});

describe('topics, as on MSK Serverless (issue 12)', () => {
  it('exist because the stack’s topic-admin custom resource created them, with kafka.topicPartitions partitions', async () => {
    const catalogTopics = ['chat-announcements', 'kafka_sample_topic', 'test-kafka-rooms', 'train-locations'];
    const { topics } = await withKafkaAdmin((admin) => admin.fetchTopicMetadata({ topics: catalogTopics }));
    expect(topics.map((t) => [t.name, t.partitions.length]).sort()).toEqual(catalogTopics.map((t) => [t, 3]));
  });

  it('are never created on first use: a client asking the broker to auto-create a topic gets none', async () => {
    const stray = unique('nobody-created-this');
    // kafkajs asks for automatic creation in its metadata requests; MSK Serverless ignores it, so does the local broker.
    await expect(withKafkaAdmin((admin) => admin.fetchTopicMetadata({ topics: [stray] }))).rejects.toThrow(
      /does not host this topic-partition|UNKNOWN_TOPIC/i,
    );
    expect(await withKafkaAdmin((admin) => admin.listTopics())).not.toContain(stray);
  });
});
