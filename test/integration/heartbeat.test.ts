import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LambdaRuntime } from '../../local/lambda/runtime.ts';
import { type Client, connect, json, stack, tokenFor, unique } from './helpers.ts';
import { startSecondGateway } from './second-gateway.ts';

/**
 * The heartbeat and the idle timeouts as AWS counts them, scaled down: a second gateway on the
 * synthesized template (its `ping` route is the MOCK integration that deploys), with both idle
 * timeouts at 1.5 s — API Gateway's (no message either way) and CloudFront's for edge paths (no
 * byte from the origin).
 */
const port = 19198;
const IDLE_MS = 1_500;
let lambda: LambdaRuntime;
let stop: () => Promise<void>;
let token: string;

beforeAll(async () => {
  ({ lambda, stop } = await startSecondGateway(port, 'heartbeat', {
    idleTimeoutMs: IDLE_MS,
    edgeIdleTimeoutMs: IDLE_MS,
  }));
  token = await tokenFor();
});

afterAll(() => stop());

const stageUrl = (room: string) =>
  `ws://localhost:${port}/${stack.stageName}?target=${encodeURIComponent(`/testchats/1.0.0/rooms/${room}`)}`;
const edgeUrl = (room: string) => `ws://localhost:${port}/testchats/1.0.0/rooms/${room}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const isOpen = (client: Client) => client.ws.readyState === client.ws.OPEN;

/** Send `frame` every 400 ms for `ms`. */
async function keepSending(client: Client, frame: string, ms: number): Promise<void> {
  for (let waited = 0; waited < ms && isOpen(client); waited += 400) {
    client.ws.send(frame);
    await sleep(400);
  }
}

describe('the heartbeat', () => {
  it('{"action":"ping"} gets {"type":"pong"} from the gateway itself: no Lambda runs, nothing is published', async () => {
    const room = unique('room');
    const sender = await connect(stageUrl(room), { token });
    const listener = await connect(stageUrl(room), { token });
    const message = lambda.findFunction('message');
    if (!message) throw new Error('no message function in the template');
    const before = lambda.stats.get(message.logicalId)?.invocations ?? 0;
    sender.ws.send('{"action":"ping"}');
    expect(json(await sender.waitFor((m) => m.includes('pong')))).toEqual({ type: 'pong' });
    expect(await listener.quietFor(500)).toEqual([]);
    expect(lambda.stats.get(message.logicalId)?.invocations ?? 0).toBe(before);
    sender.close();
    listener.close();
  });

  it('keeps a quiet connection open past the idle timeout, on the stage URL and through the edge', async () => {
    for (const url of [stageUrl(unique('room')), edgeUrl(unique('room'))]) {
      const client = await connect(url, { token });
      await keepSending(client, '{"action":"ping"}', IDLE_MS * 2);
      expect(isOpen(client), url).toBe(true);
      client.close();
    }
  });
});

describe('idle, as AWS counts it', () => {
  it('through the edge, frames the origin never answers do not count: CloudFront drops the connection (1006)', async () => {
    // Rooms of their own: neither receives the other's frames.
    const viaEdge = await connect(edgeUrl(unique('room')), { token });
    const direct = await connect(stageUrl(unique('room')), { token });
    const started = Date.now();
    // A raw frame publishes to the room; the sender gets nothing back.
    await Promise.all([
      keepSending(viaEdge, 'hello', IDLE_MS * 2),
      keepSending(direct, 'hello', IDLE_MS * 2),
    ]);
    const { code } = await viaEdge.closed;
    expect(code).toBe(1006);
    expect(Date.now() - started).toBeGreaterThanOrEqual(IDLE_MS - 100);
    // API Gateway counts the client's frames: the stage-URL connection stays.
    expect(isOpen(direct)).toBe(true);
    direct.close();
  });

  it('API Gateway counts a message to the client as activity too (an @connections post)', async () => {
    const room = unique('room');
    const quiet = await connect(stageUrl(room), { token });
    const talker = await connect(stageUrl(room), { token });
    // The talker's frames reach the quiet client through @connections: neither goes idle.
    await keepSending(talker, 'hello', IDLE_MS * 2);
    expect(quiet.received.length).toBeGreaterThan(0);
    expect(isOpen(quiet)).toBe(true);
    quiet.close();
    talker.close();
  });
});
