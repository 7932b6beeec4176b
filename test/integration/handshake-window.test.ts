/**
 * Issue 12, finding 5: a client that connects to a busy topic is posted to while its `$connect`
 * has not returned; `@connections` answers 410 then (on AWS and locally). The fan-outs must keep
 * its records, so that once the socket opens it is registered and receives events. The gateway
 * holds the handshake open for a while after `$connect` answered (`/_local/gateway/hold-openings`),
 * which widens the window a slow `$connect` has on AWS.
 */
import type { Producer } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type Client,
  connect,
  connectionIdsOn,
  kafkaProducer,
  stack,
  tokenFor,
  unique,
  wsUrl,
} from './helpers.ts';

const HOLD_MS = 3_000;
const open: Client[] = [];
const timers: NodeJS.Timeout[] = [];

/** Hold the next handshake `ms` between `$connect`'s answer and the socket opening. */
async function holdNextOpening(ms: number): Promise<void> {
  const response = await fetch(`${stack.urls.http}/_local/gateway/hold-openings`, {
    method: 'POST',
    body: JSON.stringify({ ms, count: 1 }),
  });
  expect(response.status).toBe(200);
}

/** The sum of a metric the functions whose logical id starts with `fn` emitted so far (EMF). */
async function metricSum(fn: string, name: string): Promise<number> {
  const status = (await (await fetch(`${stack.urls.http}/_local/status`)).json()) as {
    metrics: Record<string, Record<string, number>>;
  };
  return Object.entries(status.metrics)
    .filter(([component]) => component.startsWith(fn))
    .reduce((sum, [, byName]) => sum + (byName[name] ?? 0), 0);
}

/** Whether the metric grows past `before` within `ms` (function logs reach the stack's log a little late). */
async function grows(fn: string, name: string, before: number, ms = 5_000): Promise<boolean> {
  for (const until = Date.now() + ms; Date.now() < until; ) {
    if ((await metricSum(fn, name)) > before) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

/** Call `tick(n)` every `ms` until the test ends. */
function every(ms: number, tick: (n: number) => unknown): void {
  let n = 0;
  timers.push(setInterval(() => void tick(n++), ms));
}

let producer: Producer;
beforeAll(async () => {
  producer = await kafkaProducer();
});
afterAll(async () => {
  await producer.disconnect();
});
afterEach(() => {
  for (const timer of timers.splice(0)) clearInterval(timer);
  for (const client of open.splice(0)) client.close();
});

describe('a subscriber whose $connect has not returned yet (handshake window)', () => {
  it('the local @connections answers 410 for it until the socket opens', async () => {
    const token = await tokenFor();
    const room = unique('room');
    await holdNextOpening(HOLD_MS);
    const connecting = connect(wsUrl(`/testchats/1.0.0/rooms/${room}`), { token });
    const topicKey = `carbon.super/testchats/1.0.0/rooms/${room}`;
    let ids: string[] = [];
    for (let i = 0; i < 50 && !ids.length; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      ids = await connectionIdsOn(topicKey);
    }
    const [id] = ids;
    expect(id).toBeDefined();
    const { ApiGatewayManagementApiClient, GetConnectionCommand } = await import(
      '@aws-sdk/client-apigatewaymanagementapi'
    );
    const client = new ApiGatewayManagementApiClient({
      endpoint: stack.urls.callback,
      region: stack.awsEnvironment.AWS_REGION as string,
      credentials: stack.credentials,
    });
    await expect(client.send(new GetConnectionCommand({ ConnectionId: id }))).rejects.toMatchObject({
      name: 'GoneException',
    });
    open.push(await connecting);
    await expect(client.send(new GetConnectionCommand({ ConnectionId: id }))).resolves.toMatchObject({
      $metadata: { httpStatusCode: 200 },
    });
  });

  it('a client publishing every 50 ms (fanout backend) does not unregister it; it receives afterwards', async () => {
    const token = await tokenFor();
    const room = unique('room');
    const url = wsUrl(`/testchats/1.0.0/rooms/${room}`);
    const topicKey = `carbon.super/testchats/1.0.0/rooms/${room}`;
    const publisher = await connect(url, { token });
    open.push(publisher);
    every(50, (n) => publisher.ws.send(`event-${n}`));
    // Events flowing: an earlier subscriber receives them (the message function is warm).
    const earlier = await connect(url, { token });
    open.push(earlier);
    await earlier.waitFor((m) => m.startsWith('event-'), 20_000);
    const openingBefore = await metricSum('Message', 'connectionsStillOpening');

    await holdNextOpening(HOLD_MS);
    const subscriber = await connect(url, { token });
    open.push(subscriber);

    // It is registered and receives; posts reached it while it was opening (410) and kept it.
    expect(await connectionIdsOn(topicKey)).toHaveLength(3);
    expect(await subscriber.waitFor((m) => m.startsWith('event-'), 5_000)).toMatch(/^event-\d+$/);
    expect(await grows('Message', 'connectionsStillOpening', openingBefore)).toBe(true);
    expect(await connectionIdsOn(topicKey)).toHaveLength(3);
  });

  it('a Kafka topic with a record every 10 ms does not unregister it; it receives afterwards', async () => {
    const quantis = await tokenFor('quantis.com', '');
    const trainUrl = (train: string) => wsUrl(`/t/quantis.com/train/location/1.0.0/loc-train-qnt-${train}`);
    const send = (key: string, value: string) =>
      producer.send({ topic: 'train-locations', messages: [{ key, value }] });
    // The fan-out function warm and its poller reading: a record reaches another subscriber first.
    const warm = unique('warm');
    const warmClient = await connect(trainUrl(warm), { token: quantis });
    open.push(warmClient);
    await send(warm, '{"warm":true}');
    await warmClient.waitFor((m) => m.includes('warm'), 20_000);

    const train = unique('hw');
    const topicKey = `quantis.com/train/location/1.0.0/loc-train-qnt-${train}`;
    every(10, (n) => send(train, `{"n":${n}}`).catch(() => undefined));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const openingBefore = await metricSum('Fanout', 'connectionsStillOpening');

    await holdNextOpening(HOLD_MS);
    const subscriber = await connect(trainUrl(train), { token: quantis });
    open.push(subscriber);

    expect(await connectionIdsOn(topicKey)).toHaveLength(1);
    expect(await subscriber.waitFor((m) => m.startsWith('{"n":'), 5_000)).toMatch(/^\{"n":\d+\}$/);
    expect(await grows('Fanout', 'connectionsStillOpening', openingBefore)).toBe(true);
    expect(await connectionIdsOn(topicKey)).toHaveLength(1);
  });
});
