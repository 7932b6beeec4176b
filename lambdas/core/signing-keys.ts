import type { JWK } from 'jose';

/**
 * The token issuer's signing keys, as kept in one Secrets Manager secret. The first key that is
 * not retired signs; every key still listed verifies, so tokens signed before a rotation stay
 * valid until they expire.
 */
export interface SigningKey {
  kid: string;
  alg: 'RS256' | 'ES256';
  /** Epoch seconds. */
  createdAt: number;
  /** Epoch seconds; set when a newer key took over. */
  retiredAt?: number;
  privateJwk: JWK;
}

export interface SigningKeySet {
  keys: SigningKey[];
}

export function parseKeySet(secretString: string | undefined): SigningKeySet {
  if (!secretString) return { keys: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString);
  } catch {
    throw new Error('the signing key secret is not JSON');
  }
  const keys = (parsed as { keys?: unknown }).keys;
  if (!Array.isArray(keys)) return { keys: [] };
  return {
    keys: keys.filter(
      (k): k is SigningKey =>
        typeof k === 'object' && k !== null && typeof k.kid === 'string' && typeof k.privateJwk === 'object',
    ),
  };
}

export function activeKey(set: SigningKeySet): SigningKey | undefined {
  return set.keys.find((key) => key.retiredAt === undefined);
}

/**
 * The key set after a rotation: the new key first, the others retired now (if not already),
 * and keys retired long enough ago that no token they signed can still be valid dropped.
 */
export function rotateKeySet(
  current: SigningKeySet,
  newKey: SigningKey,
  nowSeconds: number,
  maxTokenLifetimeSeconds: number,
): SigningKeySet {
  const kept = current.keys
    .map((key) => (key.retiredAt === undefined ? { ...key, retiredAt: nowSeconds } : key))
    .filter((key) => (key.retiredAt as number) + maxTokenLifetimeSeconds + 300 > nowSeconds);
  return { keys: [newKey, ...kept] };
}

/** The public half of every listed key, as a JWKS document. */
export function publicJwks(set: SigningKeySet): { keys: JWK[] } {
  return {
    keys: set.keys.map(({ kid, alg, privateJwk }) => {
      const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, oth: _oth, ...publicPart } = privateJwk;
      return { ...publicPart, kid, alg, use: 'sig' };
    }),
  };
}
