import { describe, expect, it } from 'vitest';
import { newClusterId } from '../../local/kafka-broker.ts';

describe('the local broker’s cluster id', () => {
  it('is 22 base64url characters that never start with "-" (kafka-storage would read an option)', () => {
    const ids = Array.from({ length: 5_000 }, newClusterId);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
