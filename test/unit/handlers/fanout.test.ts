import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Subscriber } from '../../../lambdas/core/connection.ts';
import {
  type Checkpoint,
  type PoisonRecord,
  partitionKeyOf,
  type Recipient,
} from '../../../lambdas/core/fanout-plan.ts';
import { kafkaBindings, type MskEvent } from '../../../lambdas/core/kafka-records.ts';
import { createTargetResolver } from '../../../lambdas/core/target.ts';
import { createHandler } from '../../../lambdas/fanout/handler.ts';
import { logger, metrics } from '../../../lambdas/shared/observability.ts';
import {
  cachedSubscribers,
  FanoutBatch,
  type FanoutBatchDependencies,
} from '../../../lambdas/usecases/fanout-batch.ts';
import { bySource, mixedBatchCatalog, sweets, TOPIC, trains } from '../../fixtures/msk/catalog.ts';

const fixture = JSON.parse(
  readFileSync(path.resolve(import.meta.dirname, '../../fixtures/msk/mixed-batch.json'), 'utf8'),
) as MskEvent;
const context = { getRemainingTimeInMillis: () => 30_000 };
const NOW = 1545084660000;

/** In-memory stand-ins for DynamoDB, `@connections` and SQS, recording what the batch asked of them. */
function fakes(lists: Record<string, Subscriber[]>, gone: string[] = []) {
  const checkpoints = new Map<string, Checkpoint>();
  const posted: { recipients: Recipient[]; deadline: number }[] = [];
  const poison: PoisonRecord[][] = [];
  const forgotten: string[][] = [];
  const calls: string[] = [];
  const deps: FanoutBatchDependencies = {
    bindings: kafkaBindings(mixedBatchCatalog),
    resolver: createTargetResolver(mixedBatchCatalog),
    subscribers: {
      subscribers: async (keys) => new Map(keys.map((k) => [k, lists[k] ?? []])),
      forget: (keys) => void forgotten.push(keys),
    },
    checkpoints: {
      read: async (partitions) => {
        calls.push('checkpoints.read');
        return new Map(
          partitions.flatMap((p) => {
            const found = checkpoints.get(partitionKeyOf(p));
            return found ? [[partitionKeyOf(p), found] as const] : [];
          }),
        );
      },
      write: async (written) => {
        calls.push('checkpoints.write');
        for (const c of written)
          checkpoints.set(partitionKeyOf(c), { offset: c.offset, timestamp: c.timestamp });
      },
    },
    transforms: async () => ({ deliveries: [], stateWrites: 0 }),
    deliverer: {
      deliver: async (recipients, deadline) => {
        calls.push('deliver');
        posted.push({ recipients, deadline });
        const frames = recipients.reduce((n, r) => n + r.frames.length, 0);
        return { sent: frames, gone, failed: [], throttledEvents: 0, counterWrites: 0 };
      },
    },
    failures: {
      send: async (records) => {
        calls.push('failures.send');
        poison.push(records);
      },
    },
    now: () => NOW,
    log: { warn: () => undefined },
  };
  return { deps, checkpoints, posted, poison, forgotten, calls };
}

const subscribed = {
  [TOPIC.train456]: [{ connectionId: 'c1', appId: 'app-1', appName: 'Trains' }],
  [TOPIC.gps]: [{ connectionId: 'c2' }],
  [TOPIC.sweets]: [{ connectionId: 'c3', appId: 'app-2', appName: 'Sweets' }],
};

let event: MskEvent;
let reported: ReturnType<typeof spyOnInfo>;
let metric: ReturnType<typeof spyOnMetrics>;
const spyOnInfo = () => vi.spyOn(logger, 'info').mockImplementation(() => undefined);
const spyOnMetrics = () => vi.spyOn(metrics, 'addMetric');
beforeEach(() => {
  event = structuredClone(fixture);
  reported = spyOnInfo();
  vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
  metric = spyOnMetrics();
  vi.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => {
    metrics.clearMetrics();
    return metrics;
  });
});
afterEach(() => {
  vi.restoreAllMocks();
  metrics.clearMetrics();
});

const report = () => reported.mock.calls.find(([message]) => message === 'batch delivered')?.[1];

describe('the fan-out handler', () => {
  it('posts each subscriber its records in offset order, under its API and application, and checkpoints', async () => {
    const { deps, posted, checkpoints } = fakes(subscribed);
    await createHandler(deps)(event, context);

    expect(posted).toHaveLength(1);
    const byConnection = Object.fromEntries((posted[0]?.recipients ?? []).map((r) => [r.connectionId, r]));
    expect(byConnection.c1).toMatchObject({
      api: { id: trains.id },
      app: { appId: 'app-1', appName: 'Trains' },
    });
    expect(byConnection.c1?.frames.map((f) => JSON.parse(f.data))).toEqual([
      { lat: 6.93, lon: 79.85 },
      { lat: 6.94, lon: 79.86 },
    ]);
    expect(byConnection.c2).toMatchObject({ api: { id: bySource.id } });
    expect(byConnection.c2).not.toHaveProperty('app');
    expect(byConnection.c3).toMatchObject({
      api: { id: sweets.id },
      frames: [{ data: expect.stringContaining('<name>Toffee</name>'), events: 1 }],
    });
    // The deadline keeps 2 s of the remaining 30 s for checkpointing and reporting.
    expect(posted[0]?.deadline).toBeGreaterThan(Date.now() + 27_000);
    expect(posted[0]?.deadline).toBeLessThanOrEqual(Date.now() + 28_000);
    expect(Object.fromEntries(checkpoints)).toEqual({
      'train-locations-0': { offset: 16, timestamp: 1545084650990 },
      'train-locations-1': { offset: 4, timestamp: 1545084650989 },
      'kafka_sample_topic-0': { offset: 1, timestamp: 1545084650992 },
    });
    expect(report()).toMatchObject({ records: 6, poison: 4, skipped: 0, topics: 3, connections: 3, sent: 4 });
    expect(metric).toHaveBeenCalledWith('kafkaRecords', 'Count', 6);
    expect(metric).toHaveBeenCalledWith('recordAgeMs', 'Milliseconds', NOW - 1545084650987);
  });

  it('sends poison records to the failure destination with their reasons, before posting', async () => {
    const { deps, poison, calls } = fakes(subscribed);
    await createHandler(deps)(event, context);

    expect(poison).toHaveLength(1);
    expect(
      poison[0]?.map((p) => [
        p.record.topic,
        p.record.offset,
        p.reasons.map((r) => `${r.channel}: ${r.reason}`),
      ]),
    ).toEqual([
      ['train-locations', 16, ['/sources/{source}: no value for parameter source (header source)']],
      [
        'train-locations',
        3,
        [
          '/loc-train-qnt-{trainID}: no value for parameter trainID (the record key)',
          '/sources/{source}: no value for parameter source (header source)',
        ],
      ],
      [
        'train-locations',
        4,
        [
          '/loc-train-qnt-{trainID}: the value is not valid JSON',
          '/sources/{source}: the value is not valid JSON',
        ],
      ],
      ['kafka_sample_topic', 1, [expect.stringMatching(/^\/: the value is not well-formed XML: /)]],
    ]);
    expect(calls).toEqual(['checkpoints.read', 'failures.send', 'deliver', 'checkpoints.write']);
    expect(metric).toHaveBeenCalledWith('poisonRecords', 'Count', 4);
  });

  it('fails the batch, unchecked, when the failure destination refuses the poison (the mapping retries it)', async () => {
    const { deps, posted, checkpoints } = fakes(subscribed);
    deps.failures.send = async () => {
      throw new Error('the failure destination refused 1 poison records');
    };
    await expect(createHandler(deps)(event, context)).rejects.toThrow(/refused/);
    expect(posted).toHaveLength(0);
    expect(checkpoints.size).toBe(0);
  });

  it('delivers nothing again when the mapping retries a batch it already delivered', async () => {
    const { deps, posted, poison } = fakes(subscribed);
    const handler = createHandler(deps);
    await handler(event, context);
    await handler(structuredClone(fixture), context);

    expect(posted).toHaveLength(2);
    expect(posted[1]?.recipients).toEqual([]);
    expect(poison).toHaveLength(1); // the retry sends no poison either
    expect(report()).toMatchObject({ records: 6, skipped: 0 });
    expect(reported.mock.calls.at(-1)?.[1]).toMatchObject({ records: 6, skipped: 6, poison: 0, sent: 0 });
    expect(metric).toHaveBeenCalledWith('redeliveredRecordsSkipped', 'Count', 6);
  });

  it('delivers only what a retry adds after the checkpoint', async () => {
    const { deps, posted, checkpoints } = fakes(subscribed);
    checkpoints.set('train-locations-0', { offset: 15, timestamp: 1545084650987 });
    await createHandler(deps)(event, context);

    const c1 = posted[0]?.recipients.find((r) => r.connectionId === 'c1');
    expect(c1?.frames.map((f) => JSON.parse(f.data).lat)).toEqual([6.94]);
    expect(posted[0]?.recipients.map((r) => r.connectionId)).not.toContain('c2'); // its one record was offset 15
    expect(report()).toMatchObject({ skipped: 1 });
  });

  it('forgets the cached subscribers of topics whose connections are gone', async () => {
    const { deps, forgotten } = fakes(subscribed, ['c2']);
    await createHandler(deps)(event, context);
    expect(forgotten).toEqual([[TOPIC.gps]]);
    expect(report()).toMatchObject({ gone: 1 });
    expect(metric).toHaveBeenCalledWith('staleConnectionsRemoved', 'Count', 1);
  });
});

describe('the fan-out batch', () => {
  it('reports records of topics no channel reads, and sends records too large to post to the failure destination', async () => {
    const { deps, posted, poison } = fakes(subscribed);
    const record = fixture.records['train-locations-0']?.[0] as NonNullable<
      MskEvent['records'][string][number]
    >;
    event.records = {
      'orphan-0': [{ ...record, topic: 'orphan' }],
      'train-locations-0': [
        { ...record, value: Buffer.from(`{"x":"${'y'.repeat(130 * 1024)}"}`).toString('base64') },
      ],
    };
    const result = await new FanoutBatch(deps).run(event, NOW + 1_000);
    expect(result).toMatchObject({
      records: 2,
      unbound: 1,
      poison: 1,
      oversized: 0,
      topics: 0,
      connections: 0,
      sent: 0,
    });
    expect(posted[0]?.recipients).toEqual([]);
    expect(poison.flat().map((p) => [p.record.topic, p.record.offset, p.reasons[0]?.reason])).toEqual([
      ['train-locations', record.offset, expect.stringMatching(/over the 131072-byte limit/)],
    ]);
  });

  it('reports no record age for an empty batch', async () => {
    const { deps } = fakes(subscribed);
    const result = await new FanoutBatch(deps).run({ ...event, records: {} }, NOW);
    expect(result.records).toBe(0);
    expect(result).not.toHaveProperty('recordAgeMs');
  });
});

describe('cached subscribers', () => {
  it('look a topic instance up once within the time to live, and again once forgotten', async () => {
    const load = vi.fn(async (topicKey: string) => [{ connectionId: `${topicKey}-sub` }]);
    const lookup = cachedSubscribers(load, 60_000);
    expect(await lookup.subscribers(['a', 'b'])).toEqual(
      new Map([
        ['a', [{ connectionId: 'a-sub' }]],
        ['b', [{ connectionId: 'b-sub' }]],
      ]),
    );
    await lookup.subscribers(['a']);
    expect(load).toHaveBeenCalledTimes(2);
    lookup.forget(['a']);
    await lookup.subscribers(['a', 'b']);
    expect(load).toHaveBeenCalledTimes(3);
  });
});
