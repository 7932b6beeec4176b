import { describe, expect, it } from 'vitest';
import {
  activeKey,
  parseKeySet,
  publicJwks,
  rotateKeySet,
  type SigningKey,
} from '../../lambdas/core/signing-keys.ts';

const key = (kid: string, createdAt: number, retiredAt?: number): SigningKey => ({
  kid,
  alg: 'RS256',
  createdAt,
  ...(retiredAt === undefined ? {} : { retiredAt }),
  privateJwk: { kty: 'RSA', n: 'n', e: 'AQAB', d: 'secret', p: 'p', q: 'q', dp: 'dp', dq: 'dq', qi: 'qi' },
});

describe('signing key sets', () => {
  it('parse an empty or placeholder secret as no keys', () => {
    expect(parseKeySet(undefined).keys).toEqual([]);
    expect(parseKeySet('{"keys":[],"unused":"x"}').keys).toEqual([]);
    expect(() => parseKeySet('not json')).toThrow(/not JSON/);
  });

  it('put the new key first, retire the old one, and drop keys whose tokens have all expired', () => {
    const now = 100_000;
    const current = { keys: [key('b', 90_000), key('a', 10_000, 20_000)] };
    const next = rotateKeySet(current, key('c', now), now, 3600);
    expect(next.keys.map((k) => [k.kid, k.retiredAt])).toEqual([
      ['c', undefined],
      ['b', now],
    ]);
    expect(activeKey(next)?.kid).toBe('c');
  });

  it('publish a new key at once but sign with it only after the activation delay', () => {
    const rotated = rotateKeySet({ keys: [key('old', 0)] }, key('new', 1_000), 1_000, 3600, 360);
    expect(rotated.keys.map((k) => k.kid)).toEqual(['new', 'old']);
    expect(rotated.keys[1]?.retiredAt).toBe(1_360);
    expect(activeKey(rotated, 1_100, 360)?.kid).toBe('old');
    expect(activeKey(rotated, 1_360, 360)?.kid).toBe('new');
    expect(activeKey({ keys: [key('first', 1_000)] }, 1_001, 360)?.kid).toBe('first');
  });

  it('keep a retired key while tokens it signed may still be valid', () => {
    const next = rotateKeySet({ keys: [key('a', 0, 1_000)] }, key('b', 2_000), 2_000, 3600);
    expect(next.keys.map((k) => k.kid)).toEqual(['b', 'a']);
  });

  it('publish only public key material', () => {
    const [jwk] = publicJwks({ keys: [key('a', 0)] }).keys;
    expect(jwk).toEqual({ kty: 'RSA', n: 'n', e: 'AQAB', kid: 'a', alg: 'RS256', use: 'sig' });
  });
});
