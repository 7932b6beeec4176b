import { LRUCache } from 'lru-cache';

/**
 * A bounded cache whose entries expire: lets an execution environment reuse registry lookups for a
 * few seconds (plan and subscription changes take effect within `ttlMs`, with no redeploy).
 *
 * Built on lru-cache: when `maxEntries` is reached the least recently used entry goes, not the
 * whole cache. A loaded `undefined` is cached like any other value (callers delete it when a miss
 * must not be remembered). `ttlMs <= 0` caches nothing: every `get` loads.
 */
export class TtlCache<V> {
  // Values are boxed: lru-cache treats a stored `undefined` as a delete.
  private readonly entries: LRUCache<string, { value: V }> | undefined;

  /**
   * @param ttlMs how long a loaded value is served, in milliseconds
   * @param maxEntries how many keys are kept; the least recently used is evicted beyond it
   * @param now the clock (milliseconds), injectable for tests
   */
  constructor(ttlMs: number, maxEntries = 10_000, now: () => number = Date.now) {
    if (ttlMs > 0) {
      this.entries = new LRUCache({
        max: maxEntries,
        ttl: Math.ceil(ttlMs),
        // Check the clock on every read: an entry is never served past its TTL.
        ttlResolution: 0,
        perf: { now },
      });
    }
  }

  /** The cached value for `key`, or the result of `load()` (cached for `ttlMs`); load errors are not cached. */
  async get(key: string, load: () => Promise<V>): Promise<V> {
    const entry = this.entries?.get(key);
    if (entry) return entry.value;
    const value = await load();
    this.entries?.set(key, { value });
    return value;
  }

  /** True while `key` holds a value younger than `ttlMs` (e.g. "told this connection recently"). */
  has(key: string): boolean {
    return this.entries?.has(key) ?? false;
  }

  /** Stores `value` for `key` for `ttlMs`, without a loader. */
  set(key: string, value: V): void {
    this.entries?.set(key, { value });
  }

  /** Forgets `key`, so the next `get` loads it. */
  delete(key: string): void {
    this.entries?.delete(key);
  }
}
