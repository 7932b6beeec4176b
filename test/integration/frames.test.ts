import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type Client,
  connect,
  connectionIdsOn,
  connectionStore,
  json,
  tokenFor,
  unique,
  wsUrl,
} from './helpers.ts';

let token: string;
const open: Client[] = [];
const track = (c: Client) => {
  open.push(c);
  return c;
};

beforeAll(async () => {
  token = await tokenFor();
});
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});

describe('frame limits and malformed frames', () => {
  it('a message of 128 KB in 32 KB frames is delivered whole', async () => {
    const room = unique('room');
    const a = track(await connect(wsUrl(`/testchats/1.0.0/rooms/${room}`), { token }));
    const b = track(await connect(wsUrl(`/testchats/1.0.0/rooms/${room}`), { token }));
    const big = 'x'.repeat(100 * 1024);
    for (let i = 0; i < big.length; i += 32 * 1024) {
      a.ws.send(big.slice(i, i + 32 * 1024), { fin: i + 32 * 1024 >= big.length });
    }
    expect((await b.waitFor((m) => m.length === big.length)).length).toBe(big.length);
  });

  it('a single frame over 32 KB closes the connection with 1009 and is not delivered', async () => {
    const room = unique('room');
    const a = track(await connect(wsUrl(`/testchats/1.0.0/rooms/${room}`), { token }));
    const b = track(await connect(wsUrl(`/testchats/1.0.0/rooms/${room}`), { token }));
    a.ws.send('y'.repeat(33 * 1024));
    expect((await a.closed).code).toBe(1009);
    expect(await b.quietFor(400)).toEqual([]);
  });

  it('a message over 128 KB closes the connection with 1009', async () => {
    const a = track(await connect(wsUrl(`/testchats/1.0.0/rooms/${unique('room')}`), { token }));
    const chunk = 'z'.repeat(32 * 1024);
    for (let i = 0; i < 5; i++) a.ws.send(chunk, { fin: i === 4 });
    expect((await a.closed).code).toBe(1009);
  });

  it('a binary frame closes the connection with 1003, as API Gateway does', async () => {
    const a = track(await connect(wsUrl(`/testchats/1.0.0/rooms/${unique('room')}`), { token }));
    a.ws.send(Buffer.from([0xde, 0xad, 0xbe, 0xef]), { binary: true });
    expect((await a.closed).code).toBe(1003);
  });

  it('a text frame that is not UTF-8 closes the connection with 1007', async () => {
    const a = track(await connect(wsUrl(`/testchats/1.0.0/rooms/${unique('room')}`), { token }));
    a.ws.send(Buffer.from([0xc3, 0x28]), { binary: false });
    expect((await a.closed).code).toBe(1007);
  });

  it('a frame that is not valid JSON is an ordinary message for the room', async () => {
    const room = unique('room');
    const a = track(await connect(wsUrl(`/testchats/1.0.0/rooms/${room}`), { token }));
    const b = track(await connect(wsUrl(`/testchats/1.0.0/rooms/${room}`), { token }));
    a.ws.send('{"action":"subscribe", "topic": ');
    expect(await b.waitFor((m) => m.startsWith('{"action"'))).toBe('{"action":"subscribe", "topic": ');
  });

  it('every closing runs $disconnect, which removes the connection', async () => {
    const room = unique('room');
    const a = await connect(wsUrl(`/testchats/1.0.0/rooms/${room}`), { token });
    const topicKey = `carbon.super/testchats/1.0.0/rooms/${room}`;
    expect(await connectionIdsOn(topicKey)).toHaveLength(1);
    a.ws.send('q'.repeat(40 * 1024));
    await a.closed;
    await expect.poll(() => connectionIdsOn(topicKey), { timeout: 5_000 }).toEqual([]);
  });
});

describe('a stale connection', () => {
  it('answering 410 is removed; the sender is not', async () => {
    const room = unique('room');
    const topicKey = `carbon.super/testchats/1.0.0/rooms/${room}`;
    const sender = track(await connect(wsUrl(`/testchats/1.0.0/rooms/${room}`), { token }));
    const peer = track(await connect(wsUrl(`/testchats/1.0.0/rooms/${room}`), { token }));
    const [senderId] = (await connectionIdsOn(topicKey)).filter(Boolean);
    const store = connectionStore();
    // A connection API Gateway no longer knows (its $disconnect was lost): registered, subscribed, gone.
    const ghost = 'GhostConn0000A=';
    const template = await store.get(senderId as string);
    // A ghost from a minute ago: past its handshake window, so a 410 means gone (goneVerdict).
    await store.put({
      ...(template as NonNullable<typeof template>),
      connectionId: ghost,
      connectedAt: Date.now() - 60_000,
    });
    expect(await connectionIdsOn(topicKey)).toContain(ghost);

    sender.ws.send('is anyone there?');
    expect(await peer.waitFor((m) => m === 'is anyone there?')).toBeTruthy();
    await expect.poll(() => store.get(ghost), { timeout: 5_000 }).toBeUndefined();
    expect(await connectionIdsOn(topicKey)).not.toContain(ghost);
    expect(await store.get(senderId as string)).toBeDefined();
    expect(sender.received.filter((m) => m.startsWith('{"type":"error"'))).toEqual([]);
  });
});

describe('a connection whose record is gone', () => {
  it('gets an error frame asking it to connect again', async () => {
    const room = unique('room');
    const topicKey = `carbon.super/testchats/1.0.0/rooms/${room}`;
    const a = track(await connect(wsUrl(`/testchats/1.0.0/rooms/${room}`), { token }));
    const [id] = await connectionIdsOn(topicKey);
    await connectionStore().remove(id as string);
    a.ws.send('hello?');
    expect(json(await a.waitFor((m) => m.includes('"error"')))).toMatchObject({
      status: 401,
      message: 'this connection is not registered; connect again',
    });
  });
});
