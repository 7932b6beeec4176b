import { describe, expect, it } from 'vitest';
import { transformedDeliveries } from '../../lambdas/core/fanout-plan.ts';
import {
  integralAttributes,
  mapInput,
  mapOutput,
  passes,
  project,
} from '../../lambdas/core/transform/engine.ts';
import { parseSiddhi, SiddhiError } from '../../lambdas/core/transform/siddhi.ts';
import {
  applyItems,
  emptyDocument,
  itemsByState,
  stateKeyOf,
  statelessOutputs,
  type TransformItem,
} from '../../lambdas/core/transform/state.ts';
import { api, channel } from '../helpers/catalog.ts';

const seed000 = parseSiddhi(
  `define stream SweetProductionStream (name string, amount double);
   from SweetProductionStream
   select count() as totalCount
   insert into TotalCountStream;`,
  'xml',
);

const stats = parseSiddhi(
  `define stream Readings (sensor string, value double, ok bool);
   -- hourly average per sensor, of good readings
   from Readings[ok == true and value >= 0]#window.timeBatch(1 hour)
   select sensor, avg(value) as avgValue, min(value) as low, max(value) as high, count() as readings
   group by sensor
   insert into SensorStats;`,
  'json',
);

const item = (
  partitionKey: string,
  offset: number,
  events: Record<string, unknown>[],
  timestamp = 1_000,
): TransformItem => ({
  partitionKey,
  offset,
  timestamp,
  events: events as TransformItem['events'],
  order: offset,
});

describe('the Siddhi subset', () => {
  it('parses seed 000’s app', () => {
    expect(seed000).toMatchObject({
      inputStream: {
        name: 'SweetProductionStream',
        attributes: [
          { name: 'name', type: 'string' },
          { name: 'amount', type: 'double' },
        ],
      },
      outputStream: 'TotalCountStream',
      select: [{ name: 'totalCount', expr: { kind: 'aggregate', fn: 'count' } }],
      stateful: true,
    });
  });

  it('parses filters, windows, several aggregates and group by', () => {
    expect(stats.window).toEqual({ type: 'tumbling', ms: 3_600_000 });
    expect(stats.groupBy).toBe('sensor');
    expect(stats.select.map((s) => s.name)).toEqual(['sensor', 'avgValue', 'low', 'high', 'readings']);
    expect(
      parseSiddhi(
        'define stream S (a int); from S#window.time(30 sec) select sum(a) as s insert into O;',
        'json',
      ).window,
    ).toEqual({
      type: 'sliding',
      ms: 30_000,
    });
  });

  it.each([
    ['define stream S (a int); from T select a insert into O;', /reads T but the stream defined is S/],
    ['define stream S (a int); from S select b insert into O;', /S has no attribute b/],
    ['define stream S (a money); from S select a insert into O;', /type money/],
    [
      'define stream S (a int); from S#window.length(5) select count() as c insert into O;',
      /window\.length is not supported/,
    ],
    ['define stream S (a int); from S[count() > 1] select a insert into O;', /filter cannot use aggregates/],
    ['define stream S (a int); from S select a + 1 insert into O;', /'as <name>'/],
    [
      'define stream S (a int); from S select a insert into O; from S select a insert into P;',
      /one define stream and one query/,
    ],
    [
      'define stream S (a int); from S select upper(a) as u insert into O;',
      /function upper\(\) is not supported/,
    ],
  ])('refuses %s', (source, message) => {
    expect(() => parseSiddhi(source, 'json')).toThrow(SiddhiError);
    expect(() => parseSiddhi(source, 'json')).toThrow(message);
  });
});

describe('mappings', () => {
  it('read Siddhi’s default XML, several events per message, typed', () => {
    expect(
      mapInput(
        seed000,
        '<events><event><name>Jelly Bean</name><amount>4532.918273645</amount></event><event><name>&#201;clair</name><amount>12</amount></event></events>',
      ),
    ).toEqual([
      { name: 'Jelly Bean', amount: 4532.918273645 },
      { name: 'Éclair', amount: 12 },
    ]);
  });

  it('call malformed or unmappable records what they are', () => {
    expect(mapInput(seed000, '<events><event><name>x</name></events>')).toMatch(/not well-formed XML/);
    expect(mapInput(seed000, '<sweets><event/></sweets>')).toMatch(/root element is <sweets>/);
    expect(mapInput(seed000, '<events><event><name>x</name></event></events>')).toBe(
      'attribute amount of SweetProductionStream is missing',
    );
    expect(mapInput(seed000, '<events><event><name>x</name><amount>lots</amount></event></events>')).toMatch(
      /amount is not a double/,
    );
    expect(mapInput(stats, '{"sensor":')).toBe('not valid JSON');
  });

  it('read XML as written: namespaces, CDATA, character references, comments and declarations', () => {
    expect(
      mapInput(
        seed000,
        '<?xml version="1.0"?>\n<s:events xmlns:s="urn:x"><!-- one --><s:event id="1">\n  <name>a &amp; <![CDATA[<b>]]></name><amount> 2 </amount></s:event></s:events>',
      ),
    ).toEqual([{ name: 'a & <b>', amount: 2 }]);
  });

  it('refuse, never throw on, well-formed records the old regex reader lost its place in', () => {
    // A '/>' inside an attribute value once closed the root early and threw out of the whole batch.
    expect(
      mapInput(seed000, '<events note="/>"><event><name>a</name><amount>1</amount></event></events>'),
    ).toEqual([{ name: 'a', amount: 1 }]);
    expect(
      mapInput(
        seed000,
        '<events><event><__proto__>x</__proto__><name>a</name><amount>1</amount></event></events>',
      ),
    ).toMatch(/^unreadable XML: /);
    const deep = `${'<a>'.repeat(20_000)}${'</a>'.repeat(20_000)}`;
    expect(() => mapInput(seed000, deep)).not.toThrow();
  });

  it('read JSON events bare or wrapped as Siddhi writes them, and text key:value pairs', () => {
    expect(mapInput(stats, '{"event":{"sensor":"s1","value":2.5,"ok":true}}')).toEqual([
      { sensor: 's1', value: 2.5, ok: true },
    ]);
    expect(mapInput(stats, '[{"sensor":"s1","value":1,"ok":"false"}]')).toEqual([
      { sensor: 's1', value: 1, ok: false },
    ]);
    const text = parseSiddhi('define stream T (name string, n int); from T select n insert into O;', 'text');
    expect(mapInput(text, 'name:"Toffee",\nn:3')).toEqual([{ name: 'Toffee', n: 3 }]);
  });

  it('write Siddhi’s default XML, JSON and text', () => {
    const integral = integralAttributes(seed000);
    expect(mapOutput('xml', [{ totalCount: 5 }], integral)).toBe(
      '<events><event><totalCount>5</totalCount></event></events>',
    );
    expect(mapOutput('xml', [{ name: 'a<b', amount: 100 }], new Set())).toBe(
      '<events><event><name>a&lt;b</name><amount>100.0</amount></event></events>',
    );
    expect(mapOutput('json', [{ totalCount: 5 }], integral)).toBe('{"event":{"totalCount":5}}');
    expect(mapOutput('text', [{ name: 'x', n: 2 }], new Set(['n']))).toBe('name:"x",\nn:2');
  });
});

describe('filters and projection', () => {
  it('filter with comparisons and logic, project with renaming and arithmetic', () => {
    expect(passes(stats, { sensor: 's', value: 3, ok: true })).toBe(true);
    expect(passes(stats, { sensor: 's', value: -1, ok: true })).toBe(false);
    expect(passes(stats, { sensor: 's', value: 3, ok: false })).toBe(false);
    const renamed = parseSiddhi(
      'define stream S (a double, b double); from S[not (a < 1)] select a * 2 + b as c, a insert into O;',
      'json',
    );
    expect(project(renamed, { a: 2, b: 1 })).toEqual({ c: 5, a: 2 });
    expect(passes(renamed, { a: 0.5, b: 0 })).toBe(false);
  });
});

describe('aggregate state', () => {
  it('counts up across batches, one output per event (seed 000)', () => {
    let document = emptyDocument();
    const first = applyItems(seed000, document, [
      item('t-0', 0, [{ name: 'a', amount: 1 }]),
      item('t-0', 1, [{ name: 'b', amount: 2 }]),
    ]);
    document = first.document;
    expect(first.outputs.map((o) => o.event)).toEqual([{ totalCount: 1 }, { totalCount: 2 }]);
    const second = applyItems(seed000, document, [
      item('t-1', 0, [
        { name: 'c', amount: 3 },
        { name: 'd', amount: 4 },
      ]),
    ]);
    expect(second.outputs.map((o) => o.event)).toEqual([{ totalCount: 3 }, { totalCount: 4 }]);
    expect(second.document.version).toBe(2);
  });

  it('is exact when the same batch is applied twice: nothing counted again, the same outputs again', () => {
    const batch = [item('t-0', 7, [{ name: 'a', amount: 1 }]), item('t-0', 8, [{ name: 'b', amount: 2 }])];
    const once = applyItems(seed000, emptyDocument(), batch);
    const twice = applyItems(seed000, once.document, batch);
    expect(twice.changed).toBe(false);
    expect(twice.outputs).toEqual(once.outputs);
    const after = applyItems(seed000, once.document, [...batch, item('t-0', 9, [{ name: 'c', amount: 3 }])]);
    expect(after.outputs.map((o) => o.event)).toEqual([
      { totalCount: 1 },
      { totalCount: 2 },
      { totalCount: 3 },
    ]);
  });

  it('averages per group within a tumbling window, and starts over in the next window', () => {
    const hour = 3_600_000;
    const a1 = { sensor: 'a', value: 10, ok: true };
    const a2 = { sensor: 'a', value: 20, ok: true };
    expect(stateKeyOf(stats, a1, 5)).toBe('a|t0');
    expect(stateKeyOf(stats, a1, hour + 5)).toBe('a|t1');
    const { document, outputs } = applyItems(stats, emptyDocument(), [
      item('p-0', 0, [a1], 5),
      item('p-0', 1, [a2], 10),
    ]);
    expect(outputs.at(-1)?.event).toEqual({ sensor: 'a', avgValue: 15, low: 10, high: 20, readings: 2 });
    expect(document.agg).toEqual({ count: 2, sum: { value: 30 }, min: { value: 10 }, max: { value: 20 } });
  });

  it('slides: old buckets leave the window', () => {
    const sliding = parseSiddhi(
      'define stream S (v double); from S#window.time(20 sec) select sum(v) as total insert into O;',
      'json',
    );
    const { document } = applyItems(sliding, emptyDocument(), [
      item('p-0', 0, [{ v: 1 }], 0),
      item('p-0', 1, [{ v: 2 }], 10_000),
    ]);
    const later = applyItems(sliding, document, [item('p-0', 2, [{ v: 4 }], 25_000)]);
    expect(later.outputs[0]?.event).toEqual({ total: 6 });
  });
});

describe('running a batch through a transform', () => {
  it('projects what passes the filter of a stateless transform, in batch order', () => {
    const doubled = parseSiddhi(
      'define stream S (v double); from S[v > 0] select v * 2 as w insert into O;',
      'json',
    );
    expect(
      statelessOutputs(doubled, [item('p-0', 0, [{ v: 1 }, { v: -1 }]), item('p-0', 1, [{ v: 3 }])]),
    ).toEqual([
      { order: 0, event: { w: 2 } },
      { order: 1, event: { w: 6 } },
    ]);
  });

  it('splits a stateful transform’s records by the group and window they count in', () => {
    const hour = 3_600_000;
    const byState = itemsByState(stats, [
      item('p-0', 0, [
        { sensor: 'a', value: 1, ok: true },
        { sensor: 'b', value: 2, ok: true },
        { sensor: 'a', value: 3, ok: false },
      ]),
      item('p-0', 1, [{ sensor: 'a', value: 4, ok: true }], hour + 1),
    ]);
    expect([...byState].map(([key, items]) => [key, items.map((i) => [i.offset, i.events.length])])).toEqual([
      ['a|t0', [[0, 1]]],
      ['b|t0', [[0, 1]]],
      ['a|t1', [[1, 1]]],
    ]);
  });

  it('delivers outputs in record order to the topic instance of their record, in the channel’s format', () => {
    const sweets = api({
      name: 'SweetProdApp',
      context: '/SweetProdApp',
      channels: [
        channel('/{line}', {
          format: 'xml',
          backend: { type: 'kafka', topic: 't', parameters: {}, coalesce: true, transform: seed000 },
        }),
      ],
    });
    const binding = {
      api: sweets,
      channel: sweets.channels[0] as NonNullable<(typeof sweets.channels)[0]>,
      backend: { type: 'kafka' as const, topic: 't', parameters: {}, coalesce: true, transform: seed000 },
    };
    const job = {
      binding,
      items: [
        { ...item('p-0', 0, []), topicKey: 'k/a' },
        { ...item('p-0', 1, []), topicKey: 'k/b' },
      ],
    };
    const deliveries = transformedDeliveries(job, [
      { order: 1, event: { totalCount: 2 } },
      { order: 0, event: { totalCount: 1 } },
    ]);
    expect(deliveries.map((d) => [d.topicKey, d.payload, d.format, d.coalesce])).toEqual([
      ['k/a', '<events><event><totalCount>1</totalCount></event></events>', 'xml', true],
      ['k/b', '<events><event><totalCount>2</totalCount></event></events>', 'xml', true],
    ]);
  });
});
