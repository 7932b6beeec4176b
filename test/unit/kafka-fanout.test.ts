import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Catalog } from '../../lambdas/core/catalog.ts';
import {
  deliveredBefore,
  deliveredBeforeBy,
  firstRecords,
  framesPerConnection,
  MAX_MESSAGE_BYTES,
  planBatch,
  recipientsOf,
  topicKeysOf,
  topicsWithGone,
  withinMessageLimit,
} from '../../lambdas/core/fanout-plan.ts';
import {
  decodeRecord,
  kafkaBindings,
  type MskEvent,
  recordsByPartition,
  resolvePointer,
  routeRecord,
} from '../../lambdas/core/kafka-records.ts';
import { createTargetResolver } from '../../lambdas/core/target.ts';
import { parseSiddhi } from '../../lambdas/core/transform/siddhi.ts';
import { bySource, mixedBatchCatalog, sweets, TOPIC, trains } from '../fixtures/msk/catalog.ts';

const fixture = JSON.parse(
  readFileSync(path.resolve(import.meta.dirname, '../fixtures/msk/mixed-batch.json'), 'utf8'),
) as MskEvent;
let event: MskEvent;
beforeEach(() => {
  // Prepare: every test gets its own copy of the AWS-shaped event
  event = structuredClone(fixture);
});

const catalog: Catalog = mixedBatchCatalog;
const resolver = createTargetResolver(catalog);
const bindings = kafkaBindings(catalog);

describe('decoding MSK records', () => {
  it('decodes base64 key and value, and headers given as byte arrays', () => {
    const record = decodeRecord(event.records['train-locations-0']?.[0] as never);
    expect(record).toMatchObject({
      topic: 'train-locations',
      partition: 0,
      offset: 15,
      timestamp: 1545084650987,
    });
    expect(record.key?.toString()).toBe('456');
    expect(JSON.parse(record.value.toString())).toEqual({ lat: 6.93, lon: 79.85 });
    expect(record.headers).toEqual({ source: 'gps', trace: 't-1' });
  });

  it('takes a record without key (absent or null) as having none', () => {
    expect(decodeRecord(event.records['train-locations-1']?.[0] as never).key).toBeUndefined();
    expect(decodeRecord(event.records['kafka_sample_topic-0']?.[0] as never).key).toBeUndefined();
  });

  it('keeps partitions apart and each in offset order', () => {
    const reversed = event.records['train-locations-0']?.reverse();
    expect(reversed?.[0]?.offset).toBe(16);
    const partitions = recordsByPartition(event);
    expect(partitions.map((p) => p.partitionKey)).toEqual([
      'train-locations-0',
      'train-locations-1',
      'kafka_sample_topic-0',
    ]);
    expect(partitions[0]?.records.map((r) => r.offset)).toEqual([15, 16]);
  });
});

describe('routing a record to a channel', () => {
  it('fills parameters from the key, a header or a field of the value', () => {
    const record = decodeRecord(event.records['train-locations-0']?.[0] as never);
    expect(routeRecord(record, bindings.get('train-locations')?.[0] as never)).toEqual({
      ok: true,
      params: { trainID: '456' },
      payload: '{"lat":6.93,"lon":79.85}',
    });
    expect(routeRecord(record, bindings.get('train-locations')?.[1] as never)).toMatchObject({
      ok: true,
      params: { source: 'gps' },
    });
    const byValue = {
      ...(bindings.get('train-locations')?.[0] as never as object),
      backend: {
        type: 'kafka',
        topic: 't',
        coalesce: false,
        parameters: { trainID: { from: 'value', pointer: '/lat' } },
      },
    };
    expect(routeRecord(record, byValue as never)).toMatchObject({ ok: true, params: { trainID: '6.93' } });
  });

  it('calls a record poison when its value is not the channel format or a parameter has no value', () => {
    const noKey = decodeRecord(event.records['train-locations-1']?.[0] as never);
    expect(routeRecord(noKey, bindings.get('train-locations')?.[0] as never)).toEqual({
      ok: false,
      reason: 'no value for parameter trainID (the record key)',
    });
    const brokenJson = decodeRecord(event.records['train-locations-1']?.[1] as never);
    expect(routeRecord(brokenJson, bindings.get('train-locations')?.[0] as never)).toEqual({
      ok: false,
      reason: 'the value is not valid JSON',
    });
    const brokenXml = decodeRecord(event.records['kafka_sample_topic-0']?.[1] as never);
    const xml = routeRecord(brokenXml, bindings.get('kafka_sample_topic')?.[0] as never);
    expect(xml).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^the value is not well-formed XML: .*line 1/),
    });
    const binary = { ...brokenJson, value: Buffer.from([0xff, 0xfe]) };
    expect(routeRecord(binary, bindings.get('train-locations')?.[0] as never)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/not UTF-8/),
    });
  });

  it('resolves JSON pointers (RFC 6901)', () => {
    expect(resolvePointer({ a: { 'b/c': [1, { d: 'x' }] } }, '/a/b~1c/1/d')).toBe('x');
    expect(resolvePointer({ a: 1 }, '/missing/deeper')).toBeUndefined();
  });
});

describe('planning a batch', () => {
  it('sends each record to every channel that reads its topic, and collects poison with its reasons', () => {
    const plan = planBatch(recordsByPartition(event), bindings, resolver);
    expect(plan.deliveries.map((d) => d.topicKey)).toEqual([
      'quantis.com/train/location/1.0.0/loc-train-qnt-456',
      'carbon.super/trains/1.0.0/sources/gps',
      'quantis.com/train/location/1.0.0/loc-train-qnt-456',
      'carbon.super/SweetProdApp/1.0.0',
    ]);
    expect(
      plan.poison.map((p) => [p.record.topic, p.record.offset, p.reasons.map((r) => r.channel)]),
    ).toEqual([
      // offset 16 has no "source" header: poison for that channel only, delivered to the other
      ['train-locations', 16, ['/sources/{source}']],
      ['train-locations', 3, ['/loc-train-qnt-{trainID}', '/sources/{source}']],
      ['train-locations', 4, ['/loc-train-qnt-{trainID}', '/sources/{source}']],
      ['kafka_sample_topic', 1, ['/']],
    ]);
    expect([...plan.lastSeen.values()].map((c) => [c.topic, c.partition, c.offset])).toEqual([
      ['train-locations', 0, 16],
      ['train-locations', 1, 4],
      ['kafka_sample_topic', 0, 1],
    ]);
  });

  it('skips what an earlier attempt of the batch delivered, by offset and timestamp', () => {
    const checkpoint = { offset: 15, timestamp: 1545084650987 };
    const plan = planBatch(recordsByPartition(event), bindings, resolver, (record) =>
      record.topic === 'train-locations' && record.partition === 0
        ? deliveredBefore(checkpoint, record)
        : false,
    );
    expect(plan.skipped).toBe(1);
    expect(deliveredBefore(checkpoint, { offset: 10, timestamp: 1545084659999 })).toBe(false); // topic recreated
    expect(deliveredBefore(undefined, { offset: 1, timestamp: 1 })).toBe(false);
  });

  it('takes a record its transform cannot read as poison, and plans the rest of the batch', () => {
    const counted = {
      ...sweets,
      channels: sweets.channels.map((c) => ({
        ...c,
        backend: {
          type: 'kafka' as const,
          topic: 'kafka_sample_topic',
          parameters: {},
          coalesce: false,
          transform: parseSiddhi(
            'define stream S (name string, amount double); from S select count() as n insert into O;',
            'xml',
          ),
        },
      })),
    };
    const values = [
      '<events note="/>"><event><name>a</name><amount>1</amount></event></events>',
      '<events><event><__proto__>x</__proto__></event></events>',
      '<events><event><name>b</name><amount>2</amount></event></events>',
    ];
    const record = event.records['kafka_sample_topic-0']?.[0] as NonNullable<
      MskEvent['records'][string][number]
    >;
    event.records = {
      'kafka_sample_topic-0': values.map((value, offset) => ({
        ...record,
        offset,
        value: Buffer.from(value).toString('base64'),
      })),
    };
    const transformed = { apis: [counted] };
    const plan = planBatch(
      recordsByPartition(event),
      kafkaBindings(transformed),
      createTargetResolver(transformed),
    );
    expect(plan.transforms.get(`${sweets.id}|/`)?.items.map((i) => [i.offset, i.events])).toEqual([
      [0, [{ name: 'a', amount: 1 }]],
      [2, [{ name: 'b', amount: 2 }]],
    ]);
    expect(plan.poison.map((p) => [p.record.offset, p.reasons[0]?.reason])).toEqual([
      [1, expect.stringMatching(/^the value does not map to S: unreadable XML: /)],
    ]);
  });

  it('counts records of topics no channel reads', () => {
    const record = event.records['train-locations-0']?.[0] as NonNullable<
      MskEvent['records'][string][number]
    >;
    event.records['orphan-0'] = [{ ...record, topic: 'orphan' }];
    expect(planBatch(recordsByPartition(event), bindings, resolver).unbound).toBe(1);
  });
});

describe('frames per connection', () => {
  const delivery = (
    topicKey: string,
    payload: string,
    format: 'json' | 'xml' | 'text',
    coalesce: boolean,
  ) => ({
    topicKey,
    api: trains,
    payload,
    format,
    coalesce,
  });
  const data = (frames: { data: string }[] | undefined) => frames?.map((f) => f.data);
  const subscribers = new Map([['t', ['c']]]);

  it('keeps record order per connection and sends each connection only its topics', () => {
    const frames = framesPerConnection(
      [
        delivery('a', '1', 'json', false),
        delivery('b', '2', 'json', false),
        delivery('a', '3', 'json', false),
      ],
      new Map([
        ['a', ['c1', 'c2']],
        ['b', ['c2']],
      ]),
    );
    expect(data(frames.get('c1'))).toEqual(['1', '3']);
    expect(data(frames.get('c2'))).toEqual(['1', '2', '3']);
    expect(frames.get('c2')?.map((f) => f.events)).toEqual([1, 1, 1]);
  });

  it('coalesces consecutive records where the channel allows: JSON arrays, one <events> document, lines', () => {
    const json = framesPerConnection(
      [delivery('t', '{"a":1}', 'json', true), delivery('t', '{"a":2}', 'json', true)],
      subscribers,
    );
    expect(json.get('c')).toEqual([{ data: '[{"a":1},{"a":2}]', events: 2 }]);
    const xml = framesPerConnection(
      [
        delivery('t', '<events><event><n>1</n></event></events>', 'xml', true),
        delivery('t', '<events><event><n>2</n></event></events>', 'xml', true),
      ],
      subscribers,
    );
    expect(data(xml.get('c'))).toEqual(['<events><event><n>1</n></event><event><n>2</n></event></events>']);
    const text = framesPerConnection(
      [delivery('t', 'x', 'text', true), delivery('t', 'y', 'text', true)],
      subscribers,
    );
    expect(data(text.get('c'))).toEqual(['x\ny']);
  });

  it('never coalesces past a record that does not allow it, nor beyond 128 KB', () => {
    const mixed = framesPerConnection(
      [delivery('t', '1', 'json', true), delivery('t', '2', 'json', false), delivery('t', '3', 'json', true)],
      subscribers,
    );
    expect(data(mixed.get('c'))).toEqual(['1', '2', '3']);
    const big = `"${'x'.repeat(70 * 1024)}"`;
    expect(
      framesPerConnection(
        [delivery('t', big, 'json', true), delivery('t', big, 'json', true)],
        subscribers,
      ).get('c'),
    ).toHaveLength(2);
  });
});

describe('checkpoints of a retried batch', () => {
  it('look up the first record of each partition, and skip what each partition’s checkpoint covers', () => {
    const partitions = recordsByPartition(event);
    expect(firstRecords(partitions).map((r) => [r.topic, r.partition, r.offset])).toEqual([
      ['train-locations', 0, 15],
      ['train-locations', 1, 3],
      ['kafka_sample_topic', 0, 0],
    ]);
    const delivered = deliveredBeforeBy(
      new Map([['train-locations-0', { offset: 15, timestamp: 1545084650987 }]]),
    );
    const skipped = partitions.flatMap((p) =>
      p.records.filter(delivered).map((r) => [r.partition, r.offset]),
    );
    expect(skipped).toEqual([[0, 15]]);
  });
});

describe('who receives what', () => {
  const plan = () => planBatch(recordsByPartition(event), bindings, resolver);

  it('names every topic instance a plan reaches, once', () => {
    expect(topicKeysOf(plan())).toEqual([TOPIC.train456, TOPIC.gps, TOPIC.sweets]);
  });

  it('drops deliveries larger than an API Gateway message, and counts them', () => {
    const [first] = plan().deliveries;
    const big = { ...(first as NonNullable<typeof first>), payload: 'x'.repeat(MAX_MESSAGE_BYTES + 1) };
    const limited = withinMessageLimit([big, ...plan().deliveries]);
    expect(limited.oversized).toBe(1);
    expect(limited.deliveries).toHaveLength(4);
  });

  it('gives each subscriber its frames in record order, under the API and application of its first topic', () => {
    const recipients = recipientsOf(
      plan().deliveries,
      new Map([
        [TOPIC.train456, [{ connectionId: 'c1', appId: 'app-1', appName: 'Trains' }]],
        [TOPIC.gps, [{ connectionId: 'c1', appId: 'app-1', appName: 'Trains' }, { connectionId: 'c2' }]],
      ]),
    );
    expect(
      recipients.map((r) => [
        r.connectionId,
        r.api.id,
        r.app?.appId,
        r.frames.map((f) => JSON.parse(f.data).lat),
      ]),
    ).toEqual([
      ['c1', trains.id, 'app-1', [6.93, 6.93, 6.94]],
      ['c2', bySource.id, undefined, [6.93]],
    ]);
    expect(recipients[1]).not.toHaveProperty('app');
  });

  it('names the topic instances whose subscriber lists hold a connection found gone', () => {
    const lists = new Map([
      [TOPIC.train456, [{ connectionId: 'c1' }]],
      [TOPIC.gps, [{ connectionId: 'c1' }, { connectionId: 'c2' }]],
      [TOPIC.sweets, []],
    ]);
    expect(topicsWithGone(lists, ['c2'])).toEqual([TOPIC.gps]);
    expect(topicsWithGone(lists, ['c1', 'c9'])).toEqual([TOPIC.train456, TOPIC.gps]);
    expect(topicsWithGone(lists, [])).toEqual([]);
  });
});
