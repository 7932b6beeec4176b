import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { PublishedJwks, parsePublicJwks } from '../../lambdas/adapters/signing-key-store.ts';
import { TokenVerifier } from '../../lambdas/adapters/token-verifier.ts';

/** The built-in issuer whose JWKS URL nobody answers: the HTTP API throttled or down. */
const ISSUER = 'http://127.0.0.1:9';

async function keyPair(kid: string) {
  const pair = await generateKeyPair('RS256', { extractable: true });
  const publicJwk: JWK = { ...(await exportJWK(pair.publicKey)), kid, alg: 'RS256', use: 'sig' };
  const sign = (claims: Record<string, unknown> = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ client_id: 'c', scope: 'a', ...claims })
      .setProtectedHeader({ alg: 'RS256', kid, typ: 'at+jwt' })
      .setIssuer(ISSUER)
      .setAudience('streamgate')
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .sign(pair.privateKey);
  };
  return { publicJwk, sign };
}

/** A fake Secrets Manager holding one secret's string; counts the reads. */
function fakeSecrets(initial?: string) {
  const state = { value: initial, reads: 0, writes: [] as string[] };
  const client = {
    send: async (command: { constructor: { name: string }; input: { SecretString?: string } }) => {
      if (command.constructor.name === 'PutSecretValueCommand') {
        state.value = command.input.SecretString;
        state.writes.push(String(state.value));
        return {};
      }
      state.reads++;
      return { SecretString: state.value };
    },
  };
  return { state, client: client as never };
}

describe('the published public keys (signing-key-store PublishedJwks)', () => {
  it('the rotation publishes the public half only', async () => {
    const { state, client } = fakeSecrets();
    const pair = await generateKeyPair('RS256', { extractable: true });
    const privateJwk = await exportJWK(pair.privateKey);
    await new PublishedJwks(client, 'arn:public').publish({
      keys: [{ kid: 'k1', alg: 'RS256', createdAt: 0, privateJwk }],
    });
    const written = JSON.parse(state.writes[0] ?? '{}') as { keys: JWK[] };
    expect(written.keys).toHaveLength(1);
    expect(written.keys[0]).toMatchObject({ kid: 'k1', alg: 'RS256', kty: 'RSA' });
    expect(written.keys[0]).not.toHaveProperty('d');
  });

  it('refuses a document with a private part, an empty one and garbage', () => {
    expect(parsePublicJwks('{"keys":[{"kty":"RSA","kid":"a","d":"secret"}]}')).toBeUndefined();
    expect(parsePublicJwks('{"keys":[],"unused":"x"}')).toBeUndefined();
    expect(parsePublicJwks('not json')).toBeUndefined();
    expect(parsePublicJwks(undefined)).toBeUndefined();
  });

  it('is read once per execution environment, again on an unknown kid after the cooldown', async () => {
    const { publicJwk } = await keyPair('k1');
    const { state, client } = fakeSecrets(JSON.stringify({ keys: [publicJwk] }));
    let now = 0;
    const published = new PublishedJwks(client, 'arn:public', 30_000, () => now);
    await published.keys('k1');
    await published.keys('k1');
    expect(state.reads).toBe(1);
    await published.keys('k2'); // within the cooldown: no read
    expect(state.reads).toBe(1);
    now = 31_000;
    await published.keys('k2');
    expect(state.reads).toBe(2);
  });
});

describe('$connect verifies built-in tokens without its own JWKS URL', () => {
  it('accepts a valid token while the JWKS URL does not answer', async () => {
    const { publicJwk, sign } = await keyPair('k1');
    const { client } = fakeSecrets(JSON.stringify({ keys: [publicJwk] }));
    const verifier = new TokenVerifier(
      [{ issuer: ISSUER, jwksUri: `${ISSUER}/.well-known/jwks.json`, audience: 'streamgate', typ: 'at+jwt' }],
      5,
      30_000,
      { issuer: ISSUER, source: new PublishedJwks(client, 'arn:public') },
    );
    expect(await verifier.verify(await sign())).toMatchObject({ issuer: ISSUER, clientId: 'c' });
  });

  it('learns a key published after its cold start (unknown kid), and still refuses a stranger', async () => {
    const first = await keyPair('k1');
    const second = await keyPair('k2');
    const stranger = await keyPair('k3');
    const { state, client } = fakeSecrets(JSON.stringify({ keys: [first.publicJwk] }));
    const verifier = new TokenVerifier(
      [{ issuer: ISSUER, jwksUri: `${ISSUER}/.well-known/jwks.json`, audience: 'streamgate', typ: 'at+jwt' }],
      5,
      0,
      { issuer: ISSUER, source: new PublishedJwks(client, 'arn:public', 0) },
    );
    await verifier.verify(await first.sign());
    state.value = JSON.stringify({ keys: [second.publicJwk, first.publicJwk] });
    expect(await verifier.verify(await second.sign())).toMatchObject({ clientId: 'c' });
    // k3 is published nowhere: the JWKS URL is the fallback, and it does not answer.
    await expect(verifier.verify(await stranger.sign())).rejects.toMatchObject({ status: 401 });
  });
});
