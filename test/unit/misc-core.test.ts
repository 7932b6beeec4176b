import { describe, expect, it } from 'vitest';
import { backoffDelay, mapWithConcurrency } from '../../lambdas/core/concurrency.ts';
import { connectionExpiry, shardOf, subscriberKey } from '../../lambdas/core/connection.ts';
import { ConfigError, DEFAULT_CONFIG, parseConfig } from '../../lib/config.ts';

describe('topic shards', () => {
  it('spread connection ids evenly and stably', () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) {
      const shard = shardOf(`conn-${i}-${i * 7919}`, 4);
      counts[shard] = (counts[shard] ?? 0) + 1;
    }
    for (const count of counts) expect(count).toBeGreaterThan(850);
    expect(shardOf('abc=', 4)).toBe(shardOf('abc=', 4));
    expect(subscriberKey('t/chats/1.0.0/rooms/r', 'abc=', 4).pk).toMatch(
      /^T#t\/chats\/1\.0\.0\/rooms\/r#[0-3]$/,
    );
  });

  it('expire records 2 h and 15 min after connecting', () => {
    expect(connectionExpiry(1_000_000_000_000)).toBe(1_000_000_000 + 7200 + 900);
  });
});

describe('bounded concurrency', () => {
  it('never runs more than the limit at once and keeps result order', async () => {
    let inFlight = 0;
    let peak = 0;
    const results = await mapWithConcurrency([5, 1, 4, 2, 3, 0, 6], 3, async (n) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, n));
      inFlight--;
      return n * 10;
    });
    expect(peak).toBe(3);
    expect(results).toEqual([50, 10, 40, 20, 30, 0, 60]);
  });

  it('back off with jitter, capped', () => {
    expect(backoffDelay(0, 50, 2000, () => 0.999)).toBe(49);
    expect(backoffDelay(10, 50, 2000, () => 0.5)).toBe(1000);
  });
});

describe('streamgate.config.json', () => {
  it('fills defaults', () => {
    expect(parseConfig({})).toEqual(DEFAULT_CONFIG);
    expect(parseConfig({ topicShards: 8, token: { audience: 'x' } })).toMatchObject({
      topicShards: 8,
      token: { audience: 'x', lifetimeSeconds: 3600 },
    });
  });

  it.each([
    [{ colour: 'blue' }, /unknown setting "colour"/],
    [{ topicShards: 0 }, /topicShards must be an integer/],
    [{ stageName: 'a/b' }, /stageName/],
    [{ issuers: [{ issuer: 'x', jwksUri: 'https://k', audience: 'a' }] }, /issuers\[0\]\.issuer/],
    [{ edge: 'yes' }, /edge must be true or false/],
  ])('refuses %j', (raw, message) => {
    expect(() => parseConfig(raw)).toThrow(ConfigError);
    expect(() => parseConfig(raw)).toThrow(message);
  });
});
