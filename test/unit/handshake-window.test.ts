/**
 * Issue 12, finding 5: a 410 from `@connections` for a connection whose `$connect` may still be
 * running is not "gone". The rule (`goneVerdict`), and the two places that act on it: the deliverer
 * (fan-out, publish, management publish) and the channel-handler actions (onConnect's replies).
 */
import { describe, expect, it, vi } from 'vitest';
import { Deliverer } from '../../lambdas/adapters/delivery.ts';
import {
  type ConnectionRecord,
  goneVerdict,
  HANDSHAKE_WINDOW_MS,
  handshakeWindowEnd,
} from '../../lambdas/core/connection.ts';
import { createTargetResolver } from '../../lambdas/core/target.ts';
import { HandlerActions } from '../../lambdas/usecases/backends.ts';
import { sweets } from '../fixtures/msk/catalog.ts';

const NOW = 1_800_000_000_000;

describe('goneVerdict: what a 410 means', () => {
  it('covers the longest $connect API Gateway allows (29 s integration timeout) and a second more', () => {
    expect(HANDSHAKE_WINDOW_MS).toBe(30_000);
    expect(handshakeWindowEnd(NOW)).toBe(NOW + 30_000);
  });

  it.each([
    [0, 'opening'],
    [1, 'opening'],
    [29_999, 'opening'],
    [30_000, 'gone'],
    [60_000, 'gone'],
    [2 * 60 * 60_000, 'gone'],
  ] as const)('a connection accepted %i ms ago is %s', (age, verdict) => {
    expect(goneVerdict(NOW - age, NOW)).toBe(verdict);
  });

  it('a connection accepted "later" than now (another host\'s clock) is still opening', () => {
    expect(goneVerdict(NOW + 500, NOW)).toBe('opening');
  });

  it('an unregistered connection (no record, no connectedAt) is gone', () => {
    expect(goneVerdict(undefined, NOW)).toBe('gone');
    expect(goneVerdict(Number.NaN, NOW)).toBe('gone');
  });
});

function record(connectionId: string, connectedAt: number): ConnectionRecord {
  return {
    connectionId,
    qualifiedContext: 'carbon.super/sweets/1.0.0',
    apiId: sweets.id,
    channel: '/sweets',
    topic: '/sweets',
    topicKey: 'carbon.super/sweets/1.0.0/sweets',
    params: {},
    connectedAt,
    expiresAt: Math.floor(connectedAt / 1000) + 8_100,
    topicKeys: ['carbon.super/sweets/1.0.0/sweets'],
    app: { appId: 'app-1', appName: 'Shop' },
    holdsConnectionSlot: true,
  };
}

describe('the deliverer keeps a subscriber whose handshake is still running', () => {
  it('removes a 410 past the window, keeps one within it, and reports them apart', async () => {
    const now = Date.now();
    const records = new Map([
      ['fresh', record('fresh', now - 200)],
      ['stale', record('stale', now - 45_000)],
    ]);
    const store = {
      get: vi.fn(async (id: string) => records.get(id)),
      remove: vi.fn(async (id: string, known?: ConnectionRecord) => known ?? records.get(id)),
    };
    const releaseConnection = vi.fn(async () => undefined);
    const deliverer = new Deliverer(
      store as never,
      {
        postQueues: async (queues: (readonly [string, readonly string[]])[]) => ({
          sent: queues.length - 3,
          gone: ['fresh', 'stale', 'unregistered'],
          failed: [],
        }),
      } as never,
      { releaseConnection } as never,
      { lifecycleOf: async () => 'PUBLISHED' } as never,
    );
    const outcome = await deliverer.deliver(
      ['fresh', 'stale', 'unregistered', 'open'].map((connectionId) => ({
        connectionId,
        api: sweets,
        frames: [{ data: 'x', events: 1 }],
      })),
      now + 1_000,
    );
    expect(outcome.opening).toEqual(['fresh']);
    expect(outcome.gone.sort()).toEqual(['stale', 'unregistered']);
    expect(store.remove).toHaveBeenCalledTimes(1);
    expect(store.remove).toHaveBeenCalledWith('stale', records.get('stale'));
    expect(releaseConnection).toHaveBeenCalledTimes(1);
    expect(releaseConnection).toHaveBeenCalledWith(expect.any(String), 'stale');
  });
});

describe("a channel handler's onConnect reply waits for the socket within the handshake window", () => {
  const resolver = createTargetResolver({ apis: [sweets] });
  const reply = [{ type: 'reply' as const, data: 'welcome' }];
  const subject = (connectedAt: number) => ({
    connectionId: 'c1',
    apiId: sweets.id,
    topic: '/sweets',
    params: {},
    connectedAt,
  });

  it('delivers once the socket answers, however long $connect took within the window', async () => {
    const deliver = vi.fn(async () => undefined);
    let checks = 0;
    const actions = new HandlerActions({ deliver } as never, resolver, async () => ++checks > 3);
    // Accepted 10 s ago: a fixed 5 s wait from now would not have covered a slow $connect either way.
    await actions.carryOut(sweets, subject(Date.now() - 10_000), reply, {
      deadline: Date.now() + 5_000,
      waitForOpen: true,
    });
    expect(checks).toBe(4);
    expect(deliver).toHaveBeenCalledTimes(1);
  });

  it('gives up at once for a connection past its window (it is gone, not opening)', async () => {
    const deliver = vi.fn(async () => undefined);
    const isOpen = vi.fn(async () => false);
    const actions = new HandlerActions({ deliver } as never, resolver, isOpen);
    const started = Date.now();
    await actions.carryOut(sweets, subject(Date.now() - HANDSHAKE_WINDOW_MS - 1), reply, {
      deadline: Date.now() + 10_000,
      waitForOpen: true,
    });
    expect(isOpen).toHaveBeenCalledTimes(1);
    expect(deliver).not.toHaveBeenCalled();
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('never waits past the invocation deadline', async () => {
    const deliver = vi.fn(async () => undefined);
    const actions = new HandlerActions({ deliver } as never, resolver, async () => false);
    const started = Date.now();
    await actions.carryOut(sweets, subject(Date.now()), reply, {
      deadline: Date.now() + 300,
      waitForOpen: true,
    });
    expect(deliver).not.toHaveBeenCalled();
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
