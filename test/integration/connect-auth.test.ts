import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { connect, mintToken, refusal, stack, tokenFor, unique, wsUrl } from './helpers.ts';

let token: string;
const room = () => wsUrl(`/testchats/1.0.0/rooms/${unique('room')}`);

beforeAll(async () => {
  token = await tokenFor();
});

async function expectRefused(promise: Promise<unknown>, status: number, message: RegExp) {
  const refused = await refusal(promise);
  expect(refused.status).toBe(status);
  expect(JSON.parse(refused.body).message).toMatch(message);
}

describe('$connect answers 401 when the token is missing or bad', () => {
  it('no token at all', async () => {
    await expectRefused(connect(room()), 401, /an access token is required/);
  });

  it('a malformed Authorization header', async () => {
    await expectRefused(connect(room(), { headers: { Authorization: 'Token abc' } }), 401, /must be "Bearer/);
  });

  it('not a JWT', async () => {
    await expectRefused(connect(room(), { token: 'garbage' }), 401, /not a JWT/);
  });

  it('an expired token', async () => {
    await expectRefused(connect(room(), { token: await mintToken({}, { expiresIn: -60 }) }), 401, /expired/);
  });

  it('a token for another audience', async () => {
    await expectRefused(connect(room(), { token: await mintToken({ aud: 'someone-else' }) }), 401, /\(aud\)/);
  });

  it('a token of an untrusted issuer', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const foreign = await new SignJWT({ scope: 'chat:read' })
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer('https://evil.example.com')
      .setAudience('streamgate')
      .setExpirationTime('1h')
      .sign(privateKey);
    await expectRefused(connect(room(), { token: foreign }), 401, /issuer .* is not trusted/);
  });

  it('alg none, and HMAC signed with the issuer public key', async () => {
    const none = new UnsecuredJWT({ scope: 'chat:read' })
      .setIssuer(stack.urls.http)
      .setAudience('streamgate')
      .setExpirationTime('1h')
      .encode();
    await expectRefused(connect(room(), { token: none }), 401, /algorithm that is not accepted/);
    const jwks = (await (await fetch(`${stack.urls.http}/.well-known/jwks.json`)).json()) as {
      keys: object[];
    };
    const confused = await new SignJWT({ scope: 'chat:read' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(stack.urls.http)
      .setAudience('streamgate')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(JSON.stringify(jwks.keys[0])));
    await expectRefused(connect(room(), { token: confused }), 401, /algorithm that is not accepted/);
  });

  it('a token signed by a key the issuer never published', async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const kid = (await exportJWK(publicKey)).n?.slice(0, 8) ?? 'k';
    const forged = await new SignJWT({ scope: 'chat:read', tenant: 'carbon.super' })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuer(stack.urls.http)
      .setAudience('streamgate')
      .setExpirationTime('1h')
      .sign(privateKey);
    await expectRefused(connect(room(), { token: forged }), 401, /unknown key|does not verify/);
  });

  it('checks the header first: a bad header is refused even with a good query token', async () => {
    const bad = await mintToken({}, { expiresIn: -60 });
    await expectRefused(connect(`${room()}?access_token=${token}`, { token: bad }), 401, /expired/);
    const client = await connect(`${room()}?access_token=${bad}`, { token });
    client.close();
  });
});

describe('$connect answers 403 for the wrong tenant or missing scopes', () => {
  it('a quantis.com token on a carbon.super API', async () => {
    await expectRefused(
      connect(room(), { token: await tokenFor('quantis.com', '') }),
      403,
      /belongs to tenant quantis\.com, not to carbon\.super/,
    );
  });

  it('a carbon.super token on a quantis.com API', async () => {
    await expectRefused(
      connect(wsUrl('/t/quantis.com/train/location/1.0.0/loc-train-qnt-1'), { token }),
      403,
      /belongs to tenant carbon\.super, not to quantis\.com/,
    );
  });

  it('a token without the channel scope', async () => {
    await expectRefused(
      connect(room(), { token: await tokenFor('carbon.super', 'chat:write') }),
      403,
      /lacks the scope chat:read to connect to \/rooms\/\{roomID\}/,
    );
  });
});

describe('$connect answers 404 for what does not exist', () => {
  it('an unknown API', async () => {
    await expectRefused(
      connect(wsUrl('/nochats/1.0.0/rooms/x'), { token }),
      404,
      /no API at \/nochats\/1\.0\.0\/rooms\/x/,
    );
  });

  it('an unknown version', async () => {
    await expectRefused(
      connect(wsUrl('/chats/9.9.9/rooms/x'), { token }),
      404,
      /TestChats 1\.0\.0 has no topic|no API/,
    );
  });

  it('an unknown topic', async () => {
    await expectRefused(connect(wsUrl('/testchats/1.0.0/lobby'), { token }), 404, /has no topic \/lobby/);
  });

  it('the stage URL without a target', async () => {
    await expectRefused(connect(`${stack.urls.ws}/${stack.stageName}`, { token }), 404, /no API at \//);
  });

  it('and a path after the stage is refused as API Gateway does', async () => {
    const refused = await refusal(connect(`${stack.urls.ws}/${stack.stageName}/extra`, { token }));
    expect(refused.status).toBe(404);
  });
});
