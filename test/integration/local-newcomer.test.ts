/**
 * Issue 12, what a newcomer trips on locally: the failure queue is discoverable (ListQueues over the
 * SDK and the AWS CLI), and odd paths get the answer AWS gives (CloudFront hands the viewer-request
 * function the URI as sent; the Connect function ignores empty segments and refuses `.`, `..` and
 * encoded slashes), on the ws and the wss port alike.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { promisify } from 'node:util';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Client, connect, connectionIdsOn, stack, tokenFor, unique } from './helpers.ts';

const run = promisify(execFile);
const open: Client[] = [];
afterEach(() => {
  for (const client of open.splice(0)) client.close();
});

describe('the failure queue is discoverable', () => {
  const sqs = () =>
    new SQSClient({ endpoint: stack.urls.aws, region: 'us-east-1', credentials: stack.credentials });

  it('ListQueues (SDK) lists it, with and without a name prefix, and pages with MaxResults', async () => {
    const failureQueue = stack.queues.FailureQueue as string;
    expect(failureQueue).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/000000000000\/.+/);
    const name = failureQueue.split('/').pop() as string;
    const client = sqs();
    try {
      expect((await client.send(new ListQueuesCommand({}))).QueueUrls).toContain(failureQueue);
      expect(
        (await client.send(new ListQueuesCommand({ QueueNamePrefix: name.slice(0, 12) }))).QueueUrls,
      ).toContain(failureQueue);
      expect(
        (await client.send(new ListQueuesCommand({ QueueNamePrefix: 'no-such-queue-' }))).QueueUrls ?? [],
      ).toEqual([]);
      const first = await client.send(new ListQueuesCommand({ MaxResults: 1 }));
      expect(first.QueueUrls).toHaveLength(1);
      await expect(client.send(new ListQueuesCommand({ MaxResults: 0 }))).rejects.toThrow(/MaxResults/);
    } finally {
      client.destroy();
    }
  });

  it('the health answer names it (what tools read)', async () => {
    const health = (await (await fetch(`${stack.urls.http}/health`)).json()) as {
      queues: Record<string, string>;
    };
    expect(health.queues.FailureQueue).toBe(stack.queues.FailureQueue);
  });

  it('`aws sqs list-queues --endpoint-url …` lists it', async (context) => {
    const which = await run('which', ['aws']).catch(() => undefined);
    if (!which) return context.skip('the AWS CLI is not installed');
    const { stdout } = await run(
      'aws',
      ['sqs', 'list-queues', '--endpoint-url', stack.urls.aws, '--output', 'json'],
      {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '',
          ...stack.awsEnvironment,
          AWS_CONFIG_FILE: '/dev/null',
          AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
        },
      },
    );
    expect((JSON.parse(stdout) as { QueueUrls: string[] }).QueueUrls).toContain(stack.queues.FailureQueue);
  });
});

/** A raw WebSocket handshake to `path` exactly as given (WHATWG clients would normalize it first). */
function handshake(
  port: number,
  path: string,
  token: string,
  tls = false,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = (tls ? httpsRequest : httpRequest)({
      host: '127.0.0.1',
      port,
      path,
      rejectUnauthorized: false,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        authorization: `Bearer ${token}`,
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, body: '' });
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('odd paths get the answer AWS gives', () => {
  let token: string;
  beforeAll(async () => {
    token = await tokenFor();
  });
  const ports = () => [
    { name: 'ws', port: Number(new URL(stack.urls.ws).port), tls: false },
    { name: 'wss', port: Number(new URL(stack.urls.wss).port), tls: true },
  ];

  it.each([
    ['a double slash in front', (room: string) => `//testchats/1.0.0/rooms/${room}`],
    ['repeated slashes in the middle', (room: string) => `/testchats//1.0.0///rooms/${room}`],
    ['a trailing slash', (room: string) => `/testchats/1.0.0/rooms/${room}/`],
  ])('%s: connects to the topic the path names, as through CloudFront', async (_what, pathOf) => {
    for (const { port, tls } of ports()) {
      expect(await handshake(port, pathOf(unique('room')), token, tls)).toMatchObject({ status: 101 });
    }
    const room = unique('room');
    open.push(await connect(`${stack.urls.ws}${pathOf(room)}`, { token }));
    expect(await connectionIdsOn(`carbon.super/testchats/1.0.0/rooms/${room}`)).toHaveLength(1);
  });

  it.each([
    ['a dot segment', '/testchats/./1.0.0/rooms/room1', /path segment "\." is not allowed/],
    ['an encoded dot segment', '/testchats/%2e/1.0.0/rooms/room1', /path segment "%2e" is not allowed/],
    ['a dot-dot segment', '/testchats/x/../1.0.0/rooms/room1', /path segment "\.\." is not allowed/],
    ['an encoded slash', '/testchats/1.0.0/rooms%2Froom1', /path segment "rooms%2Froom1" is not allowed/],
  ])('%s: 400 naming the segment (the edge passes it on unnormalized)', async (_what, path, message) => {
    for (const { port, tls } of ports()) {
      const answer = await handshake(port, path, token, tls);
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body).message).toMatch(message);
    }
  });
});
