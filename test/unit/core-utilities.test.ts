import { describe, expect, it } from 'vitest';
import { isJsonObject, parseJsonObject } from '../../lambdas/core/json.ts';
import { TtlCache } from '../../lambdas/core/ttl-cache.ts';

describe('TtlCache', () => {
  const clock = () => {
    let t = 1_000_000;
    return { now: () => t, advance: (ms: number) => (t += ms) };
  };

  it('serves a loaded value until its TTL has passed, then loads again', async () => {
    const time = clock();
    const cache = new TtlCache<number>(1_000, 100, time.now);
    let loads = 0;
    const load = async () => ++loads;
    expect(await cache.get('k', load)).toBe(1);
    time.advance(999);
    expect(await cache.get('k', load)).toBe(1);
    time.advance(2);
    expect(await cache.get('k', load)).toBe(2);
  });

  it('caches undefined until deleted', async () => {
    const cache = new TtlCache<string | undefined>(60_000);
    let loads = 0;
    const load = async () => {
      loads++;
      return undefined;
    };
    expect(await cache.get('missing', load)).toBeUndefined();
    expect(await cache.get('missing', load)).toBeUndefined();
    expect(loads).toBe(1);
    cache.delete('missing');
    await cache.get('missing', load);
    expect(loads).toBe(2);
  });

  it('evicts the least recently used entry when full, not every entry', async () => {
    const cache = new TtlCache<string>(60_000, 2);
    const loaded: string[] = [];
    const load = (key: string) => async () => {
      loaded.push(key);
      return key;
    };
    await cache.get('a', load('a'));
    await cache.get('b', load('b'));
    await cache.get('a', load('a')); // a is now the most recently used
    await cache.get('c', load('c')); // evicts b
    await cache.get('a', load('a'));
    await cache.get('b', load('b'));
    expect(loaded).toEqual(['a', 'b', 'c', 'b']);
  });

  it('does not cache a failed load', async () => {
    const cache = new TtlCache<number>(60_000);
    await expect(cache.get('k', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await cache.get('k', async () => 7)).toBe(7);
  });

  it('remembers a key set without a loader for its TTL', async () => {
    const time = clock();
    const noticed = new TtlCache<true>(30_000, 100, time.now);
    expect(noticed.has('conn')).toBe(false);
    noticed.set('conn', true);
    time.advance(29_999);
    expect(noticed.has('conn')).toBe(true);
    time.advance(2);
    expect(noticed.has('conn')).toBe(false);
  });

  it('caches nothing with a TTL of 0', async () => {
    const cache = new TtlCache<number>(0);
    let loads = 0;
    await cache.get('k', async () => ++loads);
    await cache.get('k', async () => ++loads);
    expect(loads).toBe(2);
    cache.set('k', 1);
    expect(cache.has('k')).toBe(false);
  });
});

describe('parseJsonObject', () => {
  it('accepts a JSON object', () => {
    expect(parseJsonObject('{"action":"subscribe","n":1}')).toEqual({
      ok: true,
      value: { action: 'subscribe', n: 1 },
    });
  });

  it('tells text that is not JSON from JSON that is not an object', () => {
    const syntax = parseJsonObject('{nope');
    expect(syntax).toMatchObject({ ok: false, error: 'syntax' });
    expect(syntax.ok === false && syntax.error === 'syntax' && syntax.cause).toBeInstanceOf(SyntaxError);
    for (const text of ['[]', '[{"a":1}]', 'null', '"text"', '42', 'true']) {
      expect(parseJsonObject(text)).toEqual({ ok: false, error: 'not-object' });
    }
  });

  it('isJsonObject accepts only plain objects', () => {
    expect(isJsonObject({})).toBe(true);
    expect(isJsonObject([])).toBe(false);
    expect(isJsonObject(null)).toBe(false);
    expect(isJsonObject('x')).toBe(false);
  });
});
