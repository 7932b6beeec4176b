import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Client, connect, json, tokenFor, unique, wsUrl } from './helpers.ts';

let token: string;
const open: Client[] = [];
async function client(path: string, clientToken = token): Promise<Client> {
  const c = await connect(wsUrl(path), { token: clientToken });
  open.push(c);
  return c;
}
const send = (c: Client, message: unknown) =>
  c.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
const errorFrame = (c: Client) => c.waitFor((m) => m.startsWith('{"type":"error"')).then(json);

beforeAll(async () => {
  token = await tokenFor();
});

afterEach(() => {
  for (const c of open.splice(0)) c.close();
});

describe('control messages', () => {
  it('1. subscribe adds another topic of the same API and acknowledges it', async () => {
    const [home, other] = [unique('room'), unique('room')];
    const listener = await client(`/testchats/1.0.0/rooms/${home}`);
    const speaker = await client(`/testchats/1.0.0/rooms/${other}`);
    send(listener, { action: 'subscribe', topic: `/rooms/${other}`, id: 'sub-1' });
    expect(json(await listener.waitFor((m) => m.includes('subscribed')))).toEqual({
      type: 'subscribed',
      topic: `/rooms/${other}`,
      id: 'sub-1',
    });
    speaker.ws.send('news from the other room');
    expect(await listener.waitFor((m) => m === 'news from the other room')).toBeTruthy();
  });

  it('2. subscribing twice is harmless and delivers once', async () => {
    const [home, other] = [unique('room'), unique('room')];
    const listener = await client(`/testchats/1.0.0/rooms/${home}`);
    const speaker = await client(`/testchats/1.0.0/rooms/${other}`);
    send(listener, { action: 'subscribe', topic: `/rooms/${other}` });
    send(listener, { action: 'subscribe', topic: `/rooms/${other}` });
    await listener.waitFor((m) => m.includes('subscribed'));
    await listener.quietFor(300);
    speaker.ws.send('once');
    await listener.waitFor((m) => m === 'once');
    await listener.quietFor(300);
    expect(listener.received.filter((m) => m === 'once')).toHaveLength(1);
  });

  it('3. unsubscribe stops delivery of that topic', async () => {
    const [home, other] = [unique('room'), unique('room')];
    const listener = await client(`/testchats/1.0.0/rooms/${home}`);
    const speaker = await client(`/testchats/1.0.0/rooms/${other}`);
    send(listener, { action: 'subscribe', topic: `/rooms/${other}` });
    await listener.waitFor((m) => m.includes('"subscribed"'));
    send(listener, { action: 'unsubscribe', topic: `/rooms/${other}`, id: 'u' });
    expect(json(await listener.waitFor((m) => m.includes('"unsubscribed"')))).toMatchObject({ id: 'u' });
    speaker.ws.send('you should not see this');
    expect(await listener.quietFor(500)).toEqual([]);
  });

  it('4. unsubscribing from a topic not subscribed is a 404 error frame', async () => {
    const listener = await client(`/testchats/1.0.0/rooms/${unique('room')}`);
    send(listener, { action: 'unsubscribe', topic: '/rooms/never' });
    expect(await errorFrame(listener)).toMatchObject({
      status: 404,
      error: 'not_found',
      action: 'unsubscribe',
      topic: '/rooms/never',
      message: 'this connection is not subscribed to /rooms/never',
    });
  });

  it('5. subscribing to an unknown topic is a 404 error frame; the connection stays usable', async () => {
    const room = unique('room');
    const listener = await client(`/testchats/1.0.0/rooms/${room}`);
    const peer = await client(`/testchats/1.0.0/rooms/${room}`);
    send(listener, { action: 'subscribe', topic: '/lobby' });
    expect(await errorFrame(listener)).toMatchObject({
      status: 404,
      message: 'API TestChats 1.0.0 has no topic /lobby',
    });
    peer.ws.send('still here');
    expect(await listener.waitFor((m) => m === 'still here')).toBeTruthy();
  });

  it('6. publish sends to a named topic of the same API', async () => {
    const [home, other] = [unique('room'), unique('room')];
    const publisher = await client(`/testchats/1.0.0/rooms/${home}`);
    const receiver = await client(`/testchats/1.0.0/rooms/${other}`);
    send(publisher, { action: 'publish', topic: `/rooms/${other}`, data: 'cross-room hello', id: 'p1' });
    expect(await receiver.waitFor((m) => m === 'cross-room hello')).toBeTruthy();
    expect(json(await publisher.waitFor((m) => m.includes('"published"')))).toEqual({
      type: 'published',
      topic: `/rooms/${other}`,
      id: 'p1',
    });
  });

  it('7. publish of JSON data arrives as JSON text', async () => {
    const [home, other] = [unique('room'), unique('room')];
    const publisher = await client(`/testchats/1.0.0/rooms/${home}`);
    const receiver = await client(`/testchats/1.0.0/rooms/${other}`);
    send(publisher, { action: 'publish', topic: `/rooms/${other}`, data: { text: 'hi', n: 1 } });
    expect(json(await receiver.waitFor((m) => m.startsWith('{')))).toEqual({ text: 'hi', n: 1 });
  });

  it('8. a control message missing its topic is a 400 error frame', async () => {
    const c = await client(`/testchats/1.0.0/rooms/${unique('room')}`);
    send(c, { action: 'subscribe' });
    expect(await errorFrame(c)).toMatchObject({
      status: 400,
      error: 'bad_request',
      message: expect.stringMatching(/needs "topic"/),
    });
  });

  it('9. publish without the publish scope is a 403 error frame, and nothing is delivered', async () => {
    const room = unique('room');
    const reader = await client(
      `/testchats/1.0.0/rooms/${room}`,
      await tokenFor('carbon.super', 'chat:read'),
    );
    const peer = await client(`/testchats/1.0.0/rooms/${room}`);
    reader.ws.send('raw frame without chat:write');
    send(reader, { action: 'publish', topic: `/rooms/${room}`, data: 'control without chat:write' });
    const errors = [
      await errorFrame(reader),
      await reader.waitFor((m) => m.includes('"action":"publish"')).then(json),
    ];
    for (const error of errors) {
      expect(error).toMatchObject({
        status: 403,
        message: 'the access token lacks the scope chat:write to publish to /rooms/{roomID}',
      });
    }
    expect(await peer.quietFor(400)).toEqual([]);
  });

  it('10. a JSON frame with any other action is an ordinary message for the room', async () => {
    const room = unique('room');
    const a = await client(`/testchats/1.0.0/rooms/${room}`);
    const b = await client(`/testchats/1.0.0/rooms/${room}`);
    send(a, { action: 'sendmessage', text: 'not a control message' });
    expect(json(await b.waitFor((m) => m.includes('sendmessage')))).toEqual({
      action: 'sendmessage',
      text: 'not a control message',
    });
  });

  it('11. a subscribe to a topic of another API is not possible: topics are paths of the same API', async () => {
    const c = await client(`/testchats/1.0.0/rooms/${unique('room')}`);
    send(c, { action: 'subscribe', topic: '/t/quantis.com/train/location/1.0.0/loc-train-qnt-1' });
    expect(await errorFrame(c)).toMatchObject({ status: 404 });
  });
});
