import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketGateway } from '../../local/gateway/server.ts';
import { LambdaRuntime } from '../../local/lambda/runtime.ts';
import { LogSink } from '../../local/log.ts';
import { LocalTemplate } from '../../local/template.ts';
import { connect, connectionIdsOn, stack, tokenFor, unique } from './helpers.ts';

/**
 * The 10-minute idle timeout and the 2-hour cap, scaled down: a second gateway on the same
 * template, functions and DynamoDB Local, with timeouts of 1 s and 3 s.
 */
const port = 19199;
let gateway: WebSocketGateway;
let lambda: LambdaRuntime;
let token: string;

beforeAll(async () => {
  const log = new LogSink({ out: createWriteStream(path.join(stack.stateDir, 'timeouts.log')) });
  const template = LocalTemplate.load(stack.assemblyDir, 'Streamgate', {
    webSocketBase: `http://localhost:${port}`,
    httpBase: stack.urls.http,
  });
  lambda = new LambdaRuntime(template.functions(), {
    baseEnvironment: stack.awsEnvironment,
    maxConcurrency: 2,
    log,
  });
  gateway = new WebSocketGateway({
    api: template.webSocketApis()[0] as NonNullable<ReturnType<typeof template.webSocketApis>[0]>,
    lambda,
    log,
    host: '127.0.0.1',
    port,
    credentials: stack.credentials,
    edgeFunctions: template.viewerRequestFunctions(),
    idleTimeoutMs: 1_000,
    maxConnectionMs: 3_000,
  });
  await gateway.start();
  token = await tokenFor();
});

afterAll(async () => {
  await gateway.stop();
  await lambda.close();
});

describe('connection time limits', () => {
  it('an idle connection is closed with 1001 and $disconnect runs', async () => {
    const room = unique('room');
    const client = await connect(`ws://localhost:${port}/testchats/1.0.0/rooms/${room}`, { token });
    const started = Date.now();
    const { code } = await client.closed;
    expect(code).toBe(1001);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    await expect
      .poll(() => connectionIdsOn(`carbon.super/testchats/1.0.0/rooms/${room}`), { timeout: 5_000 })
      .toEqual([]);
  });

  it('an active connection is still closed at the maximum duration', async () => {
    const room = unique('room');
    const client = await connect(`ws://localhost:${port}/testchats/1.0.0/rooms/${room}`, { token });
    const started = Date.now();
    const keepAlive = setInterval(() => client.ws.send('still typing'), 300);
    const { code } = await client.closed;
    clearInterval(keepAlive);
    expect(code).toBe(1001);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_900);
    await expect
      .poll(() => connectionIdsOn(`carbon.super/testchats/1.0.0/rooms/${room}`), { timeout: 5_000 })
      .toEqual([]);
  });
});
