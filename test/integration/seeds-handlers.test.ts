import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Client, connect, refusal, tokenFor, wsUrl } from './helpers.ts';

let token: string;
const open: Client[] = [];
async function join(path: string): Promise<Client> {
  const client = await connect(wsUrl(path), { token });
  open.push(client);
  return client;
}
const count = (client: Client, message: string) => client.received.filter((m) => m === message).length;

beforeAll(async () => {
  token = await tokenFor('carbon.super', 'chat:read chat:write');
});
afterEach(() => {
  for (const client of open.splice(0)) client.close();
});

describe('seed 001: the chat backend (a channel handler)', () => {
  it('five clients in two rooms and a notifications listener hear exactly what the seed says', async () => {
    const listener = await join('/chats/1.0.0/notifications');
    expect(await listener.waitFor((m) => m === 'Subscribed to notifications!')).toBeTruthy();

    const room1 = [
      await join('/chats/1.0.0/rooms/room1'),
      await join('/chats/1.0.0/rooms/room1'),
      await join('/chats/1.0.0/rooms/room1'),
    ];
    const room2 = [await join('/chats/1.0.0/rooms/room2'), await join('/chats/1.0.0/rooms/room2')];
    for (const member of room1) expect(await member.waitFor((m) => m === 'You joined room1!')).toBeTruthy();
    for (const member of room2) expect(await member.waitFor((m) => m === 'You joined room2!')).toBeTruthy();
    await expect.poll(() => count(listener, 'Someone joined room1!')).toBe(3);
    await expect.poll(() => count(listener, 'Someone joined room2!')).toBe(2);

    const [alice, bob, carol] = room1 as [Client, Client, Client];
    const [dave, erin] = room2 as [Client, Client];
    alice.ws.send('hello room1, alice here');
    await bob.waitFor((m) => m === 'hello room1, alice here');
    await carol.waitFor((m) => m === 'hello room1, alice here');
    erin.ws.send('room2 only');
    await dave.waitFor((m) => m === 'room2 only');
    bob.ws.send('hi alice');
    await alice.waitFor((m) => m === 'hi alice');
    await alice.quietFor(300);

    expect(alice.received).toEqual(['You joined room1!', 'hi alice']);
    expect(bob.received).toEqual(['You joined room1!', 'hello room1, alice here']);
    expect(carol.received).toEqual(['You joined room1!', 'hello room1, alice here', 'hi alice']);
    expect(dave.received).toEqual(['You joined room2!', 'room2 only']);
    expect(erin.received).toEqual(['You joined room2!']);
    expect(listener.received.filter((m) => !m.startsWith('Someone joined'))).toEqual([
      'Subscribed to notifications!',
    ]);
  });

  it('the common room has its own greeting, and a room the backend does not have is refused', async () => {
    const member = await join('/chats/1.0.0/rooms/common');
    expect(await member.waitFor((m) => m === 'You joined the common room!')).toBeTruthy();
    const refused = await refusal(connect(wsUrl('/chats/1.0.0/rooms/room9'), { token }));
    expect(refused.status).toBe(404);
    expect(JSON.parse(refused.body).message).toMatch(/there is no room room9/);
  });

  it('what a notifications listener sends reaches the other listeners', async () => {
    const one = await join('/chats/1.0.0/notifications');
    const two = await join('/chats/1.0.0/notifications');
    await two.waitFor((m) => m === 'Subscribed to notifications!');
    one.ws.send('maintenance at noon');
    expect(await two.waitFor((m) => m === 'maintenance at noon')).toBeTruthy();
    expect(await one.quietFor(300)).not.toContain('maintenance at noon');
  });
});

describe('seed 003: EchoWebSocket', () => {
  it('echoes what a client sends, to that client only', async () => {
    const a = await connect(wsUrl('/echowebsocket/1.0.0'), { token: await tokenFor('carbon.super', '') });
    const b = await connect(wsUrl('/echowebsocket/1.0.0'), { token: await tokenFor('carbon.super', '') });
    open.push(a, b);
    a.ws.send('Hello, echo!');
    expect(await a.waitFor((m) => m === 'Hello, echo!')).toBeTruthy();
    expect(await b.quietFor(300)).toEqual([]);
  });
});
