/**
 * Issue 11, class 2: one Kafka record never fails its batch. The pure decisions: which XML is
 * well-formed, what a tombstone and an oversized record become, a transform that throws on one
 * record, failure records sized for SQS, and which lifecycle states still receive deliveries.
 */
import { describe, expect, it, vi } from 'vitest';
import { Deliverer } from '../../lambdas/adapters/delivery.ts';
import {
  batchesBySize,
  FailureDestination,
  failureRecord,
  MAX_BATCH_BYTES,
  MAX_ENTRY_BYTES,
} from '../../lambdas/adapters/failure-destination.ts';
import { runTransforms } from '../../lambdas/adapters/transform-runner.ts';
import type { TransformStateStore } from '../../lambdas/adapters/transform-state-store.ts';
import type { LifecycleState } from '../../lambdas/core/catalog.ts';
import {
  MAX_RECORD_BYTES,
  type PoisonRecord,
  planBatch,
  receivesDeliveries,
  type TransformJob,
} from '../../lambdas/core/fanout-plan.ts';
import { type DecodedRecord, decodeRecord, kafkaBindings } from '../../lambdas/core/kafka-records.ts';
import { createTargetResolver } from '../../lambdas/core/target.ts';
import { parseSiddhi } from '../../lambdas/core/transform/siddhi.ts';
import {
  applyItems,
  emptyDocument,
  statelessOutputs,
  type TransformItem,
} from '../../lambdas/core/transform/state.ts';
import { isWellFormedXml, nestingDepth, readXml } from '../../lambdas/core/xml.ts';
import { mixedBatchCatalog, sweets, TOPIC, trains } from '../fixtures/msk/catalog.ts';
import { api, channel } from '../helpers/catalog.ts';

const sweet = (name: string) => `<events><event><name>${name}</name><amount>1</amount></event></events>`;
const nested = (depth: number) =>
  `<events><event><name>${'<a>'.repeat(depth)}x${'</a>'.repeat(depth)}</name></event></events>`;

describe('XML 1.0 well-formedness', () => {
  it.each([
    '&#x110000;',
    '&#xFFFFFFFF;',
    '&#99999999999;',
    '&#xD800;',
    '&#xDFFF;',
    '&#0;',
    '&#x1;',
    '&#xFFFE;',
    '\u0000',
    '\u0007',
    '\uD800',
    '\uFFFF',
  ])('refuses the character %j, written or referenced', (text) => {
    expect(isWellFormedXml(sweet(text))).toMatch(/not (allowed in|an) XML 1\.0/);
    expect(readXml(sweet(text))).toMatch(/^not well-formed XML/);
  });

  it.each(['&#65;', '&#x9;', '&#xA;', '&#x1F600;', '😀', '&#xFFFD;', '&#x10FFFF;', 'tab\there'])(
    'takes the legal character %j',
    (text) => {
      expect(isWellFormedXml(sweet(text))).toBe(true);
    },
  );

  it('refuses 20,000 nested elements without exhausting the stack, and counts depth iteratively', () => {
    expect(nestingDepth(nested(20_000))).toBe(20_003);
    expect(isWellFormedXml(nested(20_000))).toBe('elements nest deeper than 100 levels');
    expect(readXml(nested(20_000))).toMatch(/^not well-formed XML: elements nest deeper/);
    expect(isWellFormedXml(nested(90))).toBe(true);
  });

  it('counts depth past comments, CDATA and self-closing elements', () => {
    expect(nestingDepth('<a><!-- <b><c> --><![CDATA[<d><e>]]><f/><g></g></a>')).toBe(2);
  });
});

const record = (overrides: Partial<DecodedRecord> & { value: Buffer | null }): DecodedRecord => ({
  topic: 'kafka_sample_topic',
  partition: 0,
  offset: 1,
  timestamp: 1_000,
  key: undefined,
  headers: {},
  ...overrides,
  value: overrides.value ?? Buffer.alloc(0),
  tombstone: overrides.value === null,
});

describe('planning a batch with bad records', () => {
  const bindings = kafkaBindings(mixedBatchCatalog);
  const resolver = createTargetResolver(mixedBatchCatalog);
  const good = record({ offset: 3, value: Buffer.from(sweet('Toffee')) });

  it('a tombstone (null value) is no event: skipped and counted, never delivered, and still checkpointed', () => {
    const decoded = decodeRecord({
      topic: 'kafka_sample_topic',
      partition: 0,
      offset: 2,
      timestamp: 1_000,
      timestampType: 'CREATE_TIME',
      value: null,
    });
    expect(decoded.tombstone).toBe(true);
    const plan = planBatch(
      [{ partitionKey: 'kafka_sample_topic-0', records: [decoded, good] }],
      bindings,
      resolver,
    );
    expect(plan.tombstones).toEqual([{ topic: 'kafka_sample_topic', partition: 0, offset: 2 }]);
    expect(plan.poison).toEqual([]);
    expect(plan.deliveries.map((d) => d.payload)).toEqual([sweet('Toffee')]);
    expect(plan.lastSeen.get('kafka_sample_topic-0')?.offset).toBe(3);
  });

  it('a record over 128 KB is poison for every channel that reads it, with the reason', () => {
    const big = record({
      topic: 'train-locations',
      key: Buffer.from('456'),
      value: Buffer.from(`{"x":"${'y'.repeat(MAX_RECORD_BYTES)}"}`),
    });
    const plan = planBatch([{ partitionKey: 'train-locations-0', records: [big] }], bindings, resolver);
    expect(plan.deliveries).toEqual([]);
    expect(plan.poison).toHaveLength(1);
    expect(plan.poison[0]?.reasons.map((r) => r.channel)).toEqual([
      '/loc-train-qnt-{trainID}',
      '/sources/{source}',
    ]);
    expect(plan.poison[0]?.reasons[0]?.reason).toMatch(/over the 131072-byte limit/);
  });

  it('a record whose reading throws is poison; the good record beside it is delivered', () => {
    const throwing = {
      ...resolver,
      topicFor: vi.fn((...args: Parameters<typeof resolver.topicFor>) => {
        if (throwing.topicFor.mock.calls.length === 1) throw new RangeError('Invalid code point 1114112');
        return resolver.topicFor(...args);
      }),
    };
    const bad = record({ offset: 2, value: Buffer.from(sweet('Fudge')) });
    const plan = planBatch(
      [{ partitionKey: 'kafka_sample_topic-0', records: [bad, good] }],
      bindings,
      throwing,
    );
    expect(plan.poison.map((p) => [p.record.offset, p.reasons[0]?.reason])).toEqual([
      [2, 'the record could not be read: RangeError: Invalid code point 1114112'],
    ]);
    expect(plan.deliveries.map((d) => [d.topicKey, d.payload])).toEqual([[TOPIC.sweets, sweet('Toffee')]]);
  });

  it('XML outside XML 1.0 is poison on a plain XML channel', () => {
    const bad = record({ offset: 2, value: Buffer.from(sweet('&#x110000;')) });
    const plan = planBatch(
      [{ partitionKey: 'kafka_sample_topic-0', records: [bad, good] }],
      bindings,
      resolver,
    );
    expect(plan.poison[0]?.reasons[0]?.reason).toMatch(
      /character reference &#x110000; is not an XML 1\.0 character/,
    );
    expect(plan.deliveries).toHaveLength(1);
  });
});

describe('a transform that throws on one record', () => {
  const doubled = parseSiddhi(
    `define stream S (v double);
     from S[v > 0]
     select v * 2 as twice
     insert into Out;`,
    'json',
  );
  const counted = parseSiddhi(
    `define stream S (v double);
     from S
     select sum(v) as total
     insert into Out;`,
    'json',
  );
  /** An event whose attribute throws when read: stands for any exception inside the transform. */
  const hostile = () => {
    const event = {};
    Object.defineProperty(event, 'v', {
      enumerable: true,
      get: () => {
        throw new TypeError('boom');
      },
    });
    return event as TransformItem['events'][number];
  };
  const item = (offset: number, events: TransformItem['events']): TransformItem => ({
    partitionKey: 'p-0',
    offset,
    timestamp: 1_000,
    events,
    order: offset,
  });

  it('stateless: that record gives no output and is reported; the others are projected', () => {
    const failures: { order: number; reason: string }[] = [];
    const outputs = statelessOutputs(
      doubled,
      [item(0, [{ v: 1 }]), item(1, [hostile()]), item(2, [{ v: 3 }])],
      failures,
    );
    expect(outputs).toEqual([
      { order: 0, event: { twice: 2 } },
      { order: 2, event: { twice: 6 } },
    ]);
    expect(failures).toEqual([{ order: 1, reason: 'the transform failed: TypeError: boom' }]);
  });

  it('stateful: that record leaves the aggregate untouched; the others count', () => {
    const { document, outputs, failures } = applyItems(counted, emptyDocument(), [
      item(0, [{ v: 1 }]),
      item(1, [{ v: 10 }, hostile()]),
      item(2, [{ v: 3 }]),
    ]);
    expect(outputs.map((o) => [o.order, o.event])).toEqual([
      [0, { total: 1 }],
      [2, { total: 4 }],
    ]);
    expect(document.agg?.sum).toEqual({ v: 4 });
    expect(document.applied).toEqual({ 'p-0': 2 });
    expect(failures.map((f) => f.order)).toEqual([1]);
  });

  it('the runner makes it a poison record with topic, partition and offset', async () => {
    const channelApi = api({
      name: 'Doubled',
      context: '/doubled',
      channels: [
        channel('/', {
          pub: false,
          format: 'json',
          backend: { type: 'kafka', topic: 'nums', parameters: {}, coalesce: false, transform: doubled },
        }),
      ],
    });
    const [binding] = kafkaBindings({ apis: [channelApi] }).get('nums') ?? [];
    const raw = (offset: number) => record({ topic: 'nums', offset, value: Buffer.from('{}') });
    const job: TransformJob = {
      binding: binding as NonNullable<typeof binding>,
      items: [
        { ...item(0, [{ v: 1 }]), topicKey: 'k', record: raw(0) },
        { ...item(1, [hostile()]), topicKey: 'k', record: raw(1) },
      ],
    };
    const result = await runTransforms([job], {} as TransformStateStore);
    expect(result.deliveries.map((d) => d.payload)).toEqual(['{"event":{"twice":2}}']);
    expect(
      result.poison.map((p) => [p.record.topic, p.record.partition, p.record.offset, p.reasons[0]?.reason]),
    ).toEqual([['nums', 0, 1, 'the transform failed: TypeError: boom']]);
  });
});

describe('failure records sized for SQS', () => {
  const poison = (bytes: number, offset = 1): PoisonRecord => ({
    record: record({
      topic: 'test-announcements',
      offset,
      key: Buffer.from('k'),
      value: Buffer.alloc(bytes, 'o'),
    }),
    reasons: [{ api: 'a', channel: '/c', reason: 'too large' }],
  });

  it('carries a record whole when it fits, with where it was and why', () => {
    const body = JSON.parse(failureRecord('streamgate-fanout', poison(1_000)));
    expect(body).toMatchObject({
      kind: 'poison-record',
      topic: 'test-announcements',
      partition: 0,
      offset: 1,
      reasons: [{ reason: 'too large' }],
      valueTruncated: false,
    });
    expect(Buffer.from(body.value, 'base64').length).toBe(1_000);
  });

  it('summarises a record too large to carry: size, SHA-256 and the first kilobyte', () => {
    const text = failureRecord('streamgate-fanout', poison(600 * 1024));
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(MAX_ENTRY_BYTES);
    expect(JSON.parse(text)).toMatchObject({
      offset: 1,
      valueTruncated: true,
      valueBytes: 600 * 1024,
      valueSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  it('never puts more than 256 KB or 10 entries in one SendMessageBatch', async () => {
    const bodies = [
      poison(140 * 1024, 1),
      poison(140 * 1024, 2),
      ...Array.from({ length: 12 }, (_, i) => poison(10, 3 + i)),
    ].map((p) => failureRecord('s', p));
    const batches = batchesBySize(bodies);
    for (const batch of batches) {
      expect(batch.length).toBeLessThanOrEqual(10);
      expect(batch.reduce((n, b) => n + Buffer.byteLength(b), 0)).toBeLessThanOrEqual(MAX_BATCH_BYTES);
    }
    expect(batches.flat()).toEqual(bodies);
    expect(batches.map((b) => b.length)).toEqual([1, 10, 3]);

    const sent: number[] = [];
    const sqs = {
      send: vi.fn(async (command: { input: { Entries: { MessageBody: string }[] } }) => {
        const bytes = command.input.Entries.reduce((n, e) => n + Buffer.byteLength(e.MessageBody), 0);
        if (bytes > MAX_BATCH_BYTES || command.input.Entries.length > 10)
          throw new Error('BatchRequestTooLong');
        sent.push(command.input.Entries.length);
        return {};
      }),
    };
    await new FailureDestination(sqs as never, 'q', 's').send([poison(130 * 1024, 1), poison(130 * 1024, 2)]);
    expect(sent).toEqual([1, 1]);
  });
});

describe('lifecycle on the fan-out path', () => {
  it.each<[LifecycleState, boolean]>([
    ['PUBLISHED', true],
    ['DEPRECATED', true],
    ['BLOCKED', false],
    ['RETIRED', false],
    ['CREATED', false],
  ])('an API %s receives deliveries: %s', (state, receives) => {
    expect(receivesDeliveries(sweets, state)).toBe(receives);
  });

  it('the deliverer drops (and counts) the frames of a BLOCKED API, and charges nothing for them', async () => {
    const posted: (readonly [string, readonly string[]])[] = [];
    const reserve = vi.fn(async (_key: string, _plan: unknown, wanted: number) => ({ granted: wanted }));
    const deliverer = new Deliverer(
      {} as never,
      {
        postQueues: async (queues: typeof posted) => {
          posted.push(...queues);
          return { sent: queues.length, gone: [], failed: [] };
        },
      } as never,
      { reserve } as never,
      {
        lifecycleOf: async (a: { id: string }) => (a.id === trains.id ? 'BLOCKED' : 'PUBLISHED'),
        entitlement: async () => ({ status: 'ACTIVE', key: 'k', plan: {} }),
      } as never,
    );
    const outcome = await deliverer.deliver(
      [
        {
          connectionId: 'blocked',
          api: trains,
          app: { appId: 'a', appName: 'A' },
          frames: [{ data: 'x', events: 2 }],
        },
        { connectionId: 'open', api: sweets, frames: [{ data: 'y', events: 1 }] },
      ],
      Date.now() + 1_000,
    );
    expect(posted.map(([id]) => id)).toEqual(['open']);
    expect(outcome.lifecycleDroppedEvents).toBe(2);
    expect(reserve).not.toHaveBeenCalled();
  });
});
