import type { Consumer } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Client, connect, json, stack, tokenFor, unique, wsUrl } from './helpers.ts';

let token: string;
let consumer: Consumer;
const seen: { key: string; value: string }[] = [];
const open: Client[] = [];
const join = async (path: string) => {
  const client = await connect(wsUrl(path), { token });
  open.push(client);
  return client;
};

beforeAll(async () => {
  token = await tokenFor('carbon.super', '');
  // What reaches Kafka, read by a plain consumer of the topic.
  const { Kafka, logLevel } = await import('kafkajs');
  consumer = new Kafka({
    clientId: 'streamgate-tests',
    brokers: stack.kafkaBrokers,
    logLevel: logLevel.NOTHING,
  }).consumer({ groupId: unique('kafka-publish-test') });
  await consumer.connect();
  await consumer.subscribe({ topic: 'test-kafka-rooms', fromBeginning: false });
  await consumer.run({
    eachMessage: async ({ message }) => {
      seen.push({ key: message.key?.toString() ?? '', value: message.value?.toString() ?? '' });
    },
  });
});
afterAll(async () => {
  await consumer.disconnect();
});
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});

describe('clients publishing to Kafka', () => {
  it('a frame goes to the channel’s topic, keyed by the room, and back to the room’s subscribers', async () => {
    const room = unique('room');
    const [alice, bob, elsewhere] = [
      await join(`/kafkarooms/1.0.0/rooms/${room}`),
      await join(`/kafkarooms/1.0.0/rooms/${room}`),
      await join(`/kafkarooms/1.0.0/rooms/${unique('other')}`),
    ];
    alice.ws.send('{"text":"through Kafka"}');
    expect(json(await bob.waitFor(() => true, 15_000))).toEqual({ text: 'through Kafka' });
    // Everything on the topic reaches every subscriber, the sender too (as with any Kafka consumer).
    expect(json(await alice.waitFor(() => true, 5_000))).toEqual({ text: 'through Kafka' });
    expect(await elsewhere.quietFor(300)).toEqual([]);
    await expect
      .poll(() => seen.find((r) => r.key === room), { timeout: 15_000 })
      .toEqual({
        key: room,
        value: '{"text":"through Kafka"}',
      });
  });

  it('publishes with a control message to another room, acknowledged', async () => {
    const [room, other] = [unique('room'), unique('room')];
    const sender = await join(`/kafkarooms/1.0.0/rooms/${room}`);
    const listener = await join(`/kafkarooms/1.0.0/rooms/${other}`);
    sender.ws.send(JSON.stringify({ action: 'publish', topic: `/rooms/${other}`, data: { n: 1 }, id: 'p1' }));
    expect(json(await sender.waitFor(() => true))).toEqual({
      type: 'published',
      topic: `/rooms/${other}`,
      id: 'p1',
    });
    expect(json(await listener.waitFor(() => true, 15_000))).toEqual({ n: 1 });
  });

  it('feeds another API’s transform: readings published by clients become SensorStats', async () => {
    const sensor = unique('sensor');
    const stats = await join(`/sensorstats/1.0.0/sensors/${sensor}`);
    const device = await join(`/kafkarooms/1.0.0/sensors/${sensor}`);
    device.ws.send(JSON.stringify({ event: { sensor, value: 12.5, ok: true } }));
    expect(json(await stats.waitFor(() => true, 15_000))).toEqual({
      event: { sensor, avgValue: 12.5, high: 12.5, readings: 1 },
    });
  });

  it('refuses frames that could not come back to the same topic, precisely', async () => {
    const room = unique('room');
    const client = await join(`/kafkarooms/1.0.0/rooms/${room}`);
    client.ws.send('not json');
    expect(json(await client.waitFor(() => true))).toEqual({
      type: 'error',
      status: 400,
      error: 'bad_request',
      message: `this frame cannot be published to /rooms/${room}: the value is not valid JSON`,
    });
    const sensor = unique('sensor');
    const device = await join(`/kafkarooms/1.0.0/sensors/${sensor}`);
    device.ws.send(JSON.stringify({ event: { sensor: 'someone-else', value: 1, ok: true } }));
    expect(json(await device.waitFor(() => true))).toMatchObject({
      status: 400,
      message: `the frame names sensor "someone-else", but it was published to /sensors/${sensor} (sensor "${sensor}")`,
    });
    await expect.poll(() => seen.some((r) => r.value === 'not json'), { timeout: 1_000 }).toBe(false);
  });
});
