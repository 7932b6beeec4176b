import type { Producer } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Client, connect, injectFault, kafkaProducer, tokenFor, unique, wsUrl } from './helpers.ts';

// The fixtures' BatchedFeed: topic test-batched-feed, a 2 s batching window, coalesce on.
let producer: Producer;
let token: string;
const open: Client[] = [];
const join = async (feed: string) => {
  const client = await connect(wsUrl(`/batched/1.0.0/feeds/${feed}`), { token });
  open.push(client);
  return client;
};
const send = (key: string, value: string) =>
  producer.send({ topic: 'test-batched-feed', acks: -1, messages: [{ key, value }] });

beforeAll(async () => {
  producer = await kafkaProducer();
  token = await tokenFor('carbon.super', '');
});
afterAll(async () => {
  await producer.disconnect();
});
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});

describe('a channel with a batching window and coalescing', () => {
  it('gathers records produced one by one into one frame per connection, in order', async () => {
    const feed = unique('feed');
    const [a, b] = [await join(feed), await join(feed)];
    const other = await join(unique('other'));
    // Five separate produce requests: each is its own fetch for the poller, so only the window
    // can bring them together.
    for (let i = 1; i <= 5; i++) await send(feed, JSON.stringify({ n: i }));
    for (const client of [a, b]) {
      const frame = JSON.parse(await client.waitFor(() => true, 15_000)) as unknown;
      expect(frame).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }, { n: 5 }]);
      expect(await client.quietFor(300)).toEqual([]);
    }
    expect(await other.quietFor(100)).toEqual([]);
  });

  it('sends a lone record as it is, not wrapped', async () => {
    const feed = unique('feed');
    const client = await join(feed);
    await send(feed, '{"only":true}');
    expect(JSON.parse(await client.waitFor(() => true, 15_000))).toEqual({ only: true });
  });

  it('reads ahead while a batch waits, and a failing batch comes again whole and in order', async () => {
    const feed = unique('feed');
    const client = await join(feed);
    await injectFault('fanout', 2, 'before');
    for (let i = 1; i <= 30; i++) await send(feed, JSON.stringify({ n: i }));
    const events = async () => client.received.flatMap((m) => JSON.parse(m) as unknown[]);
    await expect.poll(async () => (await events()).length, { timeout: 30_000 }).toBe(30);
    expect(await events()).toEqual(Array.from({ length: 30 }, (_, i) => ({ n: i + 1 })));
    expect(await client.quietFor(500)).toEqual([]);
  });
});
