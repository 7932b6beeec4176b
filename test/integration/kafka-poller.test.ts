import { type ChildProcess, spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { MskEvent } from '../../lambdas/core/kafka-records.ts';
import { createTopics } from '../../local/kafka-broker.ts';
import { EventSourcePoller } from '../../local/kafka-poller.ts';
import { LogSink } from '../../local/log.ts';
import { kafkaProducer, stack, unique, withKafkaAdmin } from './helpers.ts';

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** The poller on its own, against the test stack's broker; the "function" records what it gets. */
function pollerFor(topic: string, groupId: string) {
  const invocations: MskEvent[] = [];
  let logged = '';
  const out = new PassThrough().on('data', (d: Buffer) => {
    logged += d.toString();
  });
  const poller = new EventSourcePoller({
    mapping: {
      logicalId: 'PollerTest',
      functionId: 'PollerTestFunction',
      topics: [topic],
      batchSize: 100,
      batchingWindowMs: 0,
      startingPosition: 'LATEST',
      consumerGroupId: groupId,
    },
    brokers: stack.kafkaBrokers,
    clusterArn: 'arn:aws:kafka:us-east-1:000000000000:cluster/local/streamgate',
    lambda: {
      invoke: async <T>(_fn: string, event: unknown) => {
        invocations.push(event as MskEvent);
        return undefined as T;
      },
      functionByLogicalId: () => undefined,
    },
    log: new LogSink({ out }),
  });
  cleanup.push(() => poller.stop());
  const values = () =>
    invocations.flatMap((e) =>
      Object.values(e.records).flatMap((list) =>
        list.map((r) => Buffer.from(r.value ?? '', 'base64').toString()),
      ),
    );
  return { poller, values, logged: () => logged };
}

const groupState = (groupId: string) =>
  withKafkaAdmin(async (admin) => {
    const [group] = (await admin.describeGroups([groupId])).groups;
    return { state: group?.state, protocol: group?.protocol, members: group?.members.length ?? 0 };
  });

describe('the local event source mapping', () => {
  it('outlives a consumer kafkajs gives up on: a kcat consumer holding its group with another protocol', async () => {
    const topic = unique('poller-topic');
    const groupId = unique('poller-group');
    await createTopics(stack.kafkaBrokers, [topic], 1);

    // kcat (librdkafka) joins the group first with its own assignors ("range", "roundrobin"); kafkajs
    // then fails to join with INCONSISTENT_GROUP_PROTOCOL, an error it does not restart after.
    const kcat: ChildProcess = spawn(
      'kcat',
      ['-b', stack.kafkaBrokers.join(','), '-G', groupId, topic, '-q'],
      {
        stdio: 'ignore',
      },
    );
    cleanup.push(() => kcat.kill('SIGKILL'));
    await expect.poll(async () => (await groupState(groupId)).state, { timeout: 20_000 }).toBe('Stable');

    const { poller, values, logged } = pollerFor(topic, groupId);
    await poller.start();
    await expect.poll(() => poller.stats.restarts, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(logged()).toMatch(/ERROR\s+consumer stopped by: .*; a new one starts in 1 s/);

    // Once kcat leaves, the poller's next consumer takes the group and delivers what is produced.
    const left = new Promise((resolve) => kcat.once('exit', resolve));
    kcat.kill('SIGTERM');
    await left;
    await expect
      .poll(async () => groupState(groupId), { timeout: 20_000 })
      .toMatchObject({ state: 'Stable', protocol: 'RoundRobinAssigner', members: 1 });
    const producer = await kafkaProducer();
    cleanup.push(() => producer.disconnect());
    await producer.send({ topic, acks: -1, messages: [{ value: 'after kcat left' }] });
    await expect.poll(values, { timeout: 10_000 }).toEqual(['after kcat left']);
  }, 60_000);
});
