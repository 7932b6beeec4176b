import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CliError, ManagementClient } from '../../cli/management-client.ts';
import { verifyBackendSignature } from '../../lambdas/core/backend-signature.ts';
import {
  type Client,
  connect,
  httpBackendSigningSecret,
  json,
  stack,
  tokenFor,
  unique,
  wsUrl,
} from './helpers.ts';

/** The backend the HttpRooms fixture API points at (servers.production / servers.sandbox). */
const BACKEND_PORT = 19096;
interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}
const received: Received[] = [];
let backend: Server;
let production: string;
let sandbox: string;
const open: Client[] = [];
const admin = new ManagementClient(stack.urls.http);

/**
 * A backend: `/rooms` answers "echo: <frame>" (or nothing for "quiet", or a push to the room through
 * the management API for "tell-room:<text>"); the unmapped `/slow` channel takes 2 s; `/events` fails with 500;
 * `/rooms?room=broken` drops the connection.
 */
function startBackend(): Promise<Server> {
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', async () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const url = new URL(req.url ?? '/', 'http://backend');
      if (url.searchParams.get('room') === 'broken') return req.socket.destroy();
      if (url.pathname.endsWith('/events')) return res.writeHead(500).end('database down');
      if (req.headers['x-streamgate-topic'] === '/slow') {
        setTimeout(() => res.writeHead(200).end('too late'), 2_000).unref();
        return;
      }
      if (body === 'quiet') return res.writeHead(204).end();
      if (body.startsWith('tell-room:')) {
        await admin.admin('POST', '/tenants/carbon.super/apis/HttpRooms/1.0.0/publish', {
          topic: `/rooms/${url.searchParams.get('room')}`,
          data: body.slice('tell-room:'.length),
        });
        return res.writeHead(202).end();
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`echo: ${body}`);
    });
  });
  return new Promise((resolve) => server.listen(BACKEND_PORT, '127.0.0.1', () => resolve(server)));
}

async function join(room: string, token = production): Promise<Client> {
  const client = await connect(wsUrl(`/httprooms/1.0.0/rooms/${room}`), { token });
  open.push(client);
  return client;
}
const lastRequest = () => received.at(-1) as Received;

beforeAll(async () => {
  backend = await startBackend();
  production = await tokenFor('carbon.super', '');
  sandbox = await tokenFor('carbon.super', '', 'SANDBOX');
});
afterAll(async () => {
  await new Promise((resolve) => backend.close(resolve));
});
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});

describe('http backend', () => {
  it('POSTs a frame to the endpoint plus the URL mapping, with who sent it, and replies to the sender', async () => {
    const room = unique('room');
    const client = await join(room);
    client.ws.send('hello backend');
    expect(await client.waitFor(() => true)).toBe('echo: hello backend');
    const request = lastRequest();
    expect(request).toMatchObject({
      method: 'POST',
      url: `/prod/rooms?room=${room}`,
      body: 'hello backend',
      headers: {
        'content-type': 'text/plain; charset=utf-8',
        'x-streamgate-api': 'carbon.super/HttpRooms/1.0.0',
        'x-streamgate-topic': `/rooms/${room}`,
        'x-streamgate-application': 'DefaultApplication',
        'x-streamgate-key-type': 'PRODUCTION',
        'x-streamgate-client-id': expect.any(String),
        'x-streamgate-connection-id': expect.stringMatching(/^[A-Za-z0-9+_-]{15}=$/),
        'x-streamgate-signature': expect.stringMatching(/^t=\d+,v1=[0-9a-f]{64}$/),
      },
    });
    // Signed with the stack's secret over method, path and query, and body: the backend can check it.
    const signed = { method: request.method, path: request.url, body: request.body };
    const secret = httpBackendSigningSecret();
    expect(verifyBackendSignature(request.headers['x-streamgate-signature'], signed, secret)).toMatchObject({
      valid: true,
    });
    expect(verifyBackendSignature(request.headers['x-streamgate-signature'], signed, 'guess')).toEqual({
      valid: false,
      reason: 'mismatch',
    });
  });

  it('sends nothing back when the backend’s reply is empty', async () => {
    const client = await join(unique('room'));
    client.ws.send('quiet');
    expect(await client.quietFor(500)).toEqual([]);
    expect(lastRequest().body).toBe('quiet');
  });

  it('routes SANDBOX keys to the sandbox endpoint', async () => {
    const room = unique('room');
    const client = await join(room, sandbox);
    client.ws.send('in the sandbox');
    expect(await client.waitFor(() => true)).toBe('echo: in the sandbox');
    expect(lastRequest()).toMatchObject({
      url: `/sandbox/rooms?room=${room}`,
      headers: { 'x-streamgate-key-type': 'SANDBOX' },
    });
  });

  it('posts to the endpoint as it is when the channel has no mapping; a slow backend times out with 504', async () => {
    const client = await connect(wsUrl('/httprooms/1.0.0/slow'), { token: production });
    open.push(client);
    client.ws.send('take your time');
    const error = json(await client.waitFor(() => true, 5_000));
    expect(error).toEqual({
      type: 'error',
      status: 504,
      error: 'gateway_timeout',
      message: 'the backend did not answer within 300 ms',
    });
    expect(lastRequest()).toMatchObject({ url: '/prod', headers: { 'x-streamgate-topic': '/slow' } });
    // The connection is still good.
    client.ws.send('again');
    await client.waitFor(() => client.received.length === 2, 5_000);
    expect(json(client.received[1] as string)).toMatchObject({ status: 504 });
  });

  it('answers a backend error with 502 and the backend’s status, and an unreachable backend with 502', async () => {
    const events = await connect(wsUrl('/httprooms/1.0.0/events'), { token: production });
    open.push(events);
    events.ws.send('{"n":1}');
    expect(json(await events.waitFor(() => true))).toEqual({
      type: 'error',
      status: 502,
      error: 'bad_gateway',
      message: 'the backend answered 500',
      backendStatus: 500,
    });
    expect(lastRequest().headers['content-type']).toBe('application/json');

    const broken = await join('broken');
    broken.ws.send('anyone?');
    // Whether the socket broke before or during the reply, the client learns nothing of the network.
    const answer = json(await broken.waitFor(() => true));
    expect(answer).toMatchObject({ type: 'error', status: 502, error: 'bad_gateway' });
    expect(answer.message).toMatch(/^(the backend could not be reached|the backend's reply broke off)$/);
    broken.ws.send('still here');
    await broken.waitFor(() => broken.received.length === 2);
  });

  it('lets the backend push to a topic through the management API (SigV4-signed)', async () => {
    const room = unique('room');
    const [alice, bob] = [await join(room), await join(room)];
    alice.ws.send('tell-room:the backend says hi');
    expect(await bob.waitFor(() => true)).toBe('the backend says hi');
    expect(await alice.waitFor(() => true)).toBe('the backend says hi');

    const direct = await admin.admin('POST', '/tenants/carbon.super/apis/HttpRooms/1.0.0/publish', {
      topic: `/rooms/${room}`,
      data: { kind: 'json frames are sent as JSON' },
    });
    expect(direct).toEqual({
      topic: `/rooms/${room}`,
      recipients: 2,
      delivered: 2,
      throttled: 0,
      gone: 0,
      failed: 0,
    });
    expect(json(await bob.waitFor((m) => m.startsWith('{')))).toEqual({
      kind: 'json frames are sent as JSON',
    });
  });

  it('refuses bad publications precisely', async () => {
    const publish = (api: string, body: unknown) =>
      admin.admin('POST', `/tenants/carbon.super/apis/${api}/publish`, body).then(
        () => 'accepted',
        (e: unknown) => (e instanceof CliError ? e.message : String(e)),
      );
    expect(await publish('HttpRooms/1.0.0', { topic: '/nowhere', data: 'x' })).toMatch(/^404/);
    expect(await publish('HttpRooms/1.0.0', { topic: '/rooms/a' })).toMatch(/^400.*"data" is required/);
    expect(await publish('HttpRooms/1.0.0', { topic: '/slow', data: 'x' })).toMatch(/^400.*publish only/);
    expect(await publish('HttpRooms/1.0.0', { topic: '/rooms/a', data: 'x'.repeat(132_000) })).toMatch(
      /^413/,
    );
    expect(await publish('NoSuchApi/1.0.0', { topic: '/rooms/a', data: 'x' })).toMatch(/^404/);
    const unsigned = await fetch(
      `${stack.urls.http}/admin/tenants/carbon.super/apis/HttpRooms/1.0.0/publish`,
      {
        method: 'POST',
        body: JSON.stringify({ topic: '/rooms/a', data: 'x' }),
      },
    );
    expect(unsigned.status).toBe(403);
  });
});
