import type { Producer } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sweet, sweetCountScenario, totalOf } from '../scenarios/seeds.ts';
import {
  type Client,
  connect,
  drainQueue,
  injectFault,
  json,
  kafkaProducer,
  localTarget,
  poisonReasons,
  stack,
  tokenFor,
  unique,
  wsUrl,
} from './helpers.ts';

let producer: Producer;
const scenarioTarget = localTarget();
let token: string;
const open: Client[] = [];
const listen = async (path: string) => {
  const client = await connect(wsUrl(path), { token });
  open.push(client);
  return client;
};
const produceSweets = (...values: string[]) =>
  producer.send({ topic: 'kafka_sample_topic', acks: -1, messages: values.map((value) => ({ value })) });
const reading = (sensor: string, value: number, ok = true) => ({
  key: sensor,
  value: JSON.stringify({ event: { sensor, value, ok } }),
});

beforeAll(async () => {
  producer = await kafkaProducer();
  token = await tokenFor('carbon.super', '');
  await drainQueue(stack.queues.FailureQueue as string);
});
afterAll(async () => {
  await producer.disconnect();
  await scenarioTarget.close();
});
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});

describe('SweetProdApp (seed 000): the Siddhi app runs as the channel’s transform', () => {
  // The first record of each test may wait for its mapping's consumer to (re)join the group: 10 s, not 5.
  it('subscribers get TotalCountStream XML events counting the SweetProductionStream events', () =>
    sweetCountScenario(scenarioTarget));

  it('a record that does not map to the input stream is poison: reported, not counted, nothing stalls', async () => {
    const client = await listen('/sweetProdApp/1.0.0');
    await produceSweets(sweet('Toffee', 1));
    const first = totalOf(await client.waitFor(() => true, 10_000));
    await produceSweets('<events><event><name>Broken', sweet('Fudge', 'lots'), sweet('Fudge', 2));
    await client.waitFor(() => client.received.length === 2);
    expect(client.received.map(totalOf)).toEqual([first, first + 1]);
    expect(await client.quietFor(300)).toEqual([]);
    const reasons = await poisonReasons('kafka_sample_topic');
    // Records without a key spread over partitions: the reports come in any order.
    expect(reasons.sort()).toEqual([
      'the value does not map to SweetProductionStream: attribute amount is not a double ("lots")',
      'the value does not map to SweetProductionStream: not well-formed XML: unclosed elements <events>, <event>, <name> at the end of the document',
    ]);
  });

  it('a batch retried after it was delivered does not count its events twice', async () => {
    const client = await listen('/sweetProdApp/1.0.0');
    await produceSweets(sweet('Toffee', 1));
    const first = totalOf(await client.waitFor(() => true, 10_000));
    await injectFault('fanout', 1, 'after');
    await produceSweets(sweet('Nougat', 2));
    await client.waitFor(() => client.received.length === 2, 10_000);
    await produceSweets(sweet('Praline', 3));
    await client.waitFor(() => client.received.length === 3, 10_000);
    expect(await client.quietFor(500)).toEqual([]);
    expect(client.received.map(totalOf)).toEqual([first, first + 1, first + 2]);
  });

  it('a batch that fails before delivering is applied once when it comes again', async () => {
    const client = await listen('/sweetProdApp/1.0.0');
    await produceSweets(sweet('Toffee', 1));
    const first = totalOf(await client.waitFor(() => true, 10_000));
    await injectFault('fanout', 2, 'before');
    await produceSweets(...Array.from({ length: 5 }, (_, i) => sweet(`Batch${i}`, i)));
    await client.waitFor(() => client.received.length === 6, 20_000);
    expect(await client.quietFor(500)).toEqual([]);
    expect(client.received.map(totalOf)).toEqual(Array.from({ length: 6 }, (_, i) => first + i));
  });
});

describe('a windowed, grouped transform over JSON records', () => {
  it('keeps running hourly statistics per sensor, filtered, each on its own channel instance', async () => {
    const [s1, s2] = [unique('s1'), unique('s2')];
    const a = await listen(`/sensorstats/1.0.0/sensors/${s1}`);
    const b = await listen(`/sensorstats/1.0.0/sensors/${s2}`);
    await producer.send({
      topic: 'test-sensor-readings',
      acks: -1,
      messages: [reading(s1, 10), reading(s2, 5), reading(s1, 20), reading(s1, 99, false), reading(s1, 30)],
    });
    await a.waitFor(() => a.received.length === 3, 10_000);
    await b.waitFor(() => b.received.length === 1, 10_000);
    expect(a.received.map(json)).toEqual([
      { event: { sensor: s1, avgValue: 10, high: 10, readings: 1 } },
      { event: { sensor: s1, avgValue: 15, high: 20, readings: 2 } },
      { event: { sensor: s1, avgValue: 20, high: 30, readings: 3 } },
    ]);
    expect(b.received.map(json)).toEqual([{ event: { sensor: s2, avgValue: 5, high: 5, readings: 1 } }]);
    expect(await a.quietFor(300)).toEqual([]);
  });

  it('malformed JSON readings are poison records: reported, not aggregated', async () => {
    const sensor = unique('s');
    const client = await listen(`/sensorstats/1.0.0/sensors/${sensor}`);
    await producer.send({
      topic: 'test-sensor-readings',
      acks: -1,
      messages: [
        { key: sensor, value: '{"event": {"sensor": ' },
        { key: sensor, value: JSON.stringify({ event: { sensor, value: 'high', ok: true } }) },
        reading(sensor, 7),
      ],
    });
    expect(json(await client.waitFor(() => true, 10_000))).toEqual({
      event: { sensor, avgValue: 7, high: 7, readings: 1 },
    });
    const reasons = await poisonReasons('test-sensor-readings');
    expect(reasons.sort()).toEqual([
      'the value does not map to Readings: attribute value is not a double ("high")',
      'the value does not map to Readings: not valid JSON',
    ]);
  });
});
