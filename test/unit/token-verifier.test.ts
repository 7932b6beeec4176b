import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenVerifier } from '../../lambdas/adapters/token-verifier.ts';
import { GatewayError } from '../../lambdas/core/errors.ts';

let server: Server;
let issuer: string;
let rsa: Awaited<ReturnType<typeof generateKeyPair>>;
let ec: Awaited<ReturnType<typeof generateKeyPair>>;
let rsaPublic: JWK;
let jwksRequests = 0;

beforeAll(async () => {
  rsa = await generateKeyPair('RS256', { extractable: true });
  ec = await generateKeyPair('ES256', { extractable: true });
  rsaPublic = { ...(await exportJWK(rsa.publicKey)), kid: 'rsa', alg: 'RS256' };
  const ecPublic = { ...(await exportJWK(ec.publicKey)), kid: 'ec', alg: 'ES256' };
  server = createServer((_req, res) => {
    jwksRequests++;
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ keys: [rsaPublic, ecPublic] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const verifier = () =>
  new TokenVerifier([
    { issuer, jwksUri: `${issuer}/jwks`, audience: 'streamgate' },
    {
      issuer: 'https://idp.example.com',
      jwksUri: `${issuer}/jwks`,
      audience: 'other-api',
      clientIdClaim: 'cid',
      tenant: 'quantis.com',
    },
  ]);

function token(
  claims: Record<string, unknown> = {},
  header: { alg: string; kid: string } = { alg: 'RS256', kid: 'rsa' },
) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ client_id: 'app1', scope: 'chat:read chat:write', tenant: 'carbon.super', ...claims })
    .setProtectedHeader(header)
    .setIssuer((claims.iss as string) ?? issuer)
    .setAudience((claims.aud as string) ?? 'streamgate')
    .setSubject('app1')
    .setIssuedAt(now)
    .setExpirationTime((claims.exp as number) ?? now + 600)
    .sign(header.alg === 'ES256' ? ec.privateKey : rsa.privateKey);
}

async function reason(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GatewayError);
  expect((error as GatewayError).status).toBe(401);
  return (error as GatewayError).message;
}

describe('access token verification', () => {
  it('accepts RS256 and ES256 tokens of a trusted issuer and reads the principal', async () => {
    const v = verifier();
    const principal = await v.verify(await token());
    expect(principal).toMatchObject({
      issuer,
      clientId: 'app1',
      scopes: ['chat:read', 'chat:write'],
      tenant: 'carbon.super',
      keyType: 'PRODUCTION',
    });
    expect((await v.verify(await token({ key_type: 'SANDBOX' }, { alg: 'ES256', kid: 'ec' }))).keyType).toBe(
      'SANDBOX',
    );
  });

  it('caches the JWKS across verifications', async () => {
    const v = verifier();
    const before = jwksRequests;
    for (let i = 0; i < 5; i++) await v.verify(await token());
    expect(jwksRequests - before).toBe(1);
  });

  it('maps an external issuer: its client id claim and a fixed tenant', async () => {
    const principal = await verifier().verify(
      await token({ iss: 'https://idp.example.com', aud: 'other-api', cid: 'ext-client', tenant: undefined }),
    );
    expect(principal).toMatchObject({ clientId: 'ext-client', tenant: 'quantis.com' });
  });

  it('refuses expired, not-yet-valid, wrong-audience and untrusted tokens with a precise 401', async () => {
    const v = verifier();
    const past = Math.floor(Date.now() / 1000) - 60;
    expect(await reason(v.verify(await token({ exp: past })))).toBe('the access token has expired');
    const future = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 'rsa' })
      .setIssuer(issuer)
      .setAudience('streamgate')
      .setNotBefore(Math.floor(Date.now() / 1000) + 600)
      .setExpirationTime('1h')
      .sign(rsa.privateKey);
    expect(await reason(v.verify(future))).toMatch(/not valid yet/);
    expect(await reason(v.verify(await token({ aud: 'someone-else' })))).toMatch(
      /not meant for this gateway/,
    );
    expect(await reason(v.verify(await token({ iss: 'https://evil.example.com' })))).toMatch(
      /is not trusted/,
    );
    expect(await reason(v.verify('not-a-jwt'))).toBe('the access token is not a JWT');
  });

  it('refuses alg "none", HMAC signed with the public key (algorithm confusion), a foreign key and a tampered token', async () => {
    const v = verifier();
    const none = new UnsecuredJWT({ client_id: 'x' })
      .setIssuer(issuer)
      .setAudience('streamgate')
      .setExpirationTime('1h')
      .encode();
    expect(await reason(v.verify(none))).toMatch(/algorithm that is not accepted/);

    const hmacKey = new TextEncoder().encode(JSON.stringify(rsaPublic));
    const confused = await new SignJWT({ client_id: 'x' })
      .setProtectedHeader({ alg: 'HS256', kid: 'rsa' })
      .setIssuer(issuer)
      .setAudience('streamgate')
      .setExpirationTime('1h')
      .sign(hmacKey);
    expect(await reason(v.verify(confused))).toMatch(/algorithm that is not accepted/);

    const stranger = await generateKeyPair('RS256');
    const foreign = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 'rsa' })
      .setIssuer(issuer)
      .setAudience('streamgate')
      .setExpirationTime('1h')
      .sign(stranger.privateKey);
    expect(await reason(v.verify(foreign))).toMatch(/signature does not verify/);

    const [h, p, s] = (await token()).split('.');
    const payload = JSON.parse(Buffer.from(p as string, 'base64url').toString());
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...payload, scope: 'admin' })).toString('base64url')}.${s}`;
    expect(await reason(v.verify(forged))).toMatch(/signature does not verify/);

    expect(await reason(v.verify(await token({}, { alg: 'RS256', kid: 'unknown-kid' })))).toMatch(
      /unknown key/,
    );
  });
});
