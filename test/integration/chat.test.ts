import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Client, connect, connectionStore, stack, tokenFor, unique, wsUrl } from './helpers.ts';

let token: string;
const open: Client[] = [];
const track = (client: Client) => {
  open.push(client);
  return client;
};

beforeAll(async () => {
  token = await tokenFor();
});

afterEach(() => {
  for (const client of open.splice(0)) client.close();
});

describe('chat between clients (seed 001)', () => {
  it('delivers what one client sends in a room to the others in that room only', async () => {
    const room1 = unique('room');
    const room2 = unique('room');
    const alice = track(await connect(wsUrl(`/testchats/1.0.0/rooms/${room1}`), { token }));
    const bob = track(await connect(wsUrl(`/testchats/1.0.0/rooms/${room1}`), { token, via: 'query' }));
    const carol = track(await connect(wsUrl(`/testchats/1.0.0/rooms/${room2}`), { token }));

    alice.ws.send('hello room1 from alice');
    expect(await bob.waitFor((m) => m === 'hello room1 from alice')).toBeTruthy();
    bob.ws.send('hi alice, bob here');
    expect(await alice.waitFor((m) => m === 'hi alice, bob here')).toBeTruthy();
    carol.ws.send('anyone in room2?');

    const aliceRest = await alice.quietFor(400);
    expect(alice.received).toEqual(['hi alice, bob here']);
    expect(aliceRest).toEqual([]);
    expect(bob.received).toEqual(['hello room1 from alice']);
    expect(carol.received).toEqual([]);
  });

  it('reaches the same room through the stage URL with ?target= and through wss', async () => {
    const room = unique('room');
    const viaStage = track(
      await connect(
        `${stack.urls.ws}/${stack.stageName}?target=${encodeURIComponent(`/testchats/1.0.0/rooms/${room}`)}`,
        {
          token,
        },
      ),
    );
    const viaTls = track(
      await connect(`${stack.urls.wss}/testchats/1.0.0/rooms/${room}`, { token, rejectUnauthorized: false }),
    );
    viaStage.ws.send('over the stage URL');
    expect(await viaTls.waitFor((m) => m === 'over the stage URL')).toBeTruthy();
    viaTls.ws.send('over TLS');
    expect(await viaStage.waitFor((m) => m === 'over TLS')).toBeTruthy();
  });

  it('registers the connection with its claims and target, and removes it on close', async () => {
    const room = unique('room');
    const topicKey = `carbon.super/testchats/1.0.0/rooms/${room}`;
    const client = await connect(wsUrl(`/testchats/1.0.0/rooms/${room}`), { token });
    const store = connectionStore();
    const [id] = (await store.subscribers(topicKey)).map((s) => s.connectionId);
    const record = await store.get(id as string);
    expect(record).toMatchObject({
      apiId: 'carbon.super/TestChats/1.0.0',
      channel: '/rooms/{roomID}',
      topic: `/rooms/${room}`,
      params: { roomID: room },
      topicKeys: [topicKey],
      principal: { tenant: 'carbon.super', scopes: ['chat:read', 'chat:write'], keyType: 'PRODUCTION' },
    });
    expect(record?.expiresAt).toBeGreaterThan(Date.now() / 1000 + 2 * 3600);
    expect(record?.expiresAt).toBeLessThan(Date.now() / 1000 + 2.5 * 3600);

    client.close();
    await client.closed;
    await expect.poll(async () => store.get(id as string), { timeout: 5_000 }).toBeUndefined();
    expect(await store.subscribers(topicKey)).toEqual([]);
  });
});
