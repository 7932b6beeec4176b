import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, connectionIdsOn, tokenFor, unique } from './helpers.ts';
import { startSecondGateway } from './second-gateway.ts';

/**
 * The 10-minute idle timeout and the 2-hour cap, scaled down: a second gateway on the same
 * template, functions and DynamoDB Local, with timeouts of 1 s and 3 s.
 */
const port = 19199;
let stop: () => Promise<void>;
let token: string;

beforeAll(async () => {
  ({ stop } = await startSecondGateway(port, 'timeouts', { idleTimeoutMs: 1_000, maxConnectionMs: 3_000 }));
  token = await tokenFor();
});

afterAll(() => stop());

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
