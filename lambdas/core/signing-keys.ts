import type { JWK } from 'jose';

/**
 * The token issuer's signing keys, as kept in one Secrets Manager secret, newest first. A new key is
 * published (in the JWKS) at once but signs only after an activation delay, so every verifier can
 * learn it first; the key it replaces keeps signing until then, and stays published until every
 * token it signed has expired.
 */
export interface SigningKey {
  kid: string;
  alg: 'RS256' | 'ES256';
  /** Epoch seconds. */
  createdAt: number;
  /** Epoch seconds: when a newer key took over signing. */
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

/**
 * The key that signs now: the newest one whose activation delay has passed; while the only keys
 * are newer than that (the very first key), the newest.
 */
export function activeKey(
  set: SigningKeySet,
  nowSeconds = Date.now() / 1000,
  activationSeconds = 0,
): SigningKey | undefined {
  return set.keys.find((key) => key.createdAt + activationSeconds <= nowSeconds) ?? set.keys[0];
}

/**
 * The key set after a rotation: the new key first; the key signing until now retires when the new
 * one activates; keys retired long enough ago that no token they signed can still be valid go.
 */
export function rotateKeySet(
  current: SigningKeySet,
  newKey: SigningKey,
  nowSeconds: number,
  maxTokenLifetimeSeconds: number,
  activationSeconds = 0,
): SigningKeySet {
  const takeover = nowSeconds + activationSeconds;
  const kept = current.keys
    .map((key) => (key.retiredAt === undefined ? { ...key, retiredAt: takeover } : key))
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
