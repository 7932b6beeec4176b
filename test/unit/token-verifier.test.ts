import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  exportJWK,
  type GenerateKeyPairResult,
  generateKeyPair,
  type JWK,
  SignJWT,
  UnsecuredJWT,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenVerifier } from '../../lambdas/adapters/token-verifier.ts';
import { GatewayError } from '../../lambdas/core/errors.ts';

let server: Server;
let issuer: string;
let rsa: GenerateKeyPairResult;
let ec: GenerateKeyPairResult;
let rsaPublic: JWK;
let jwksRequests = 0;
/** What Cognito, Auth0, Okta, Keycloak and Entra ID sign access tokens with. */
const REAL_IDP_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA'];
/** One key per algorithm, published with `kid` = `alg` (as Keycloak or Auth0 publish theirs); ES512 too. */
const keyPerAlg = new Map<string, GenerateKeyPairResult>();

const COGNITO = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example';

beforeAll(async () => {
  rsa = await generateKeyPair('RS256', { extractable: true });
  ec = await generateKeyPair('ES256', { extractable: true });
  rsaPublic = { ...(await exportJWK(rsa.publicKey)), kid: 'rsa', alg: 'RS256' };
  const ecPublic = { ...(await exportJWK(ec.publicKey)), kid: 'ec', alg: 'ES256' };
  const published: JWK[] = [rsaPublic, ecPublic];
  for (const alg of [...REAL_IDP_ALGORITHMS, 'ES512']) {
    const pair = await generateKeyPair(alg, { extractable: true });
    keyPerAlg.set(alg, pair);
    published.push({ ...(await exportJWK(pair.publicKey)), kid: alg, alg, use: 'sig' });
  }
  server = createServer((_req, res) => {
    jwksRequests++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: published }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** The built-in issuer (typ at+jwt required, as the stack configures it), a mapped IdP, and Cognito. */
const verifier = () =>
  new TokenVerifier([
    { issuer, jwksUri: `${issuer}/jwks`, audience: 'streamgate', typ: 'at+jwt' },
    {
      issuer: 'https://idp.example.com',
      jwksUri: `${issuer}/jwks`,
      audience: 'other-api',
      clientIdClaim: 'cid',
      tenant: 'quantis.com',
    },
    {
      issuer: COGNITO,
      jwksUri: `${issuer}/jwks`,
      audience: ['cognito-app-client', 'second-app-client'],
      clientIdAsAudience: true,
      tenant: 'carbon.super',
    },
  ]);

type Header = { alg: string; kid?: string; typ?: string | undefined };

/**
 * A signed token: the claims given over defaults for the built-in issuer (a claim set to undefined is
 * left out), with the header given (default RS256, kid rsa, typ at+jwt), signed with the key of its kid.
 */
function token(claims: Record<string, unknown> = {}, header: Header = { alg: 'RS256', kid: 'rsa' }) {
  const now = Math.floor(Date.now() / 1000);
  const payload = Object.fromEntries(
    Object.entries({
      iss: issuer,
      aud: 'streamgate',
      sub: 'app1',
      iat: now,
      exp: now + 600,
      client_id: 'app1',
      scope: 'chat:read chat:write',
      tenant: 'carbon.super',
      ...claims,
    }).filter(([, value]) => value !== undefined),
  );
  const key =
    header.kid === 'ec' ? ec.privateKey : (keyPerAlg.get(header.kid ?? '')?.privateKey ?? rsa.privateKey);
  return new SignJWT(payload).setProtectedHeader({ typ: 'at+jwt', ...header }).sign(key);
}

/** A Cognito client-credentials access token: `client_id`, `scope`, `token_use`, no `aud`, no `typ`. */
function cognitoToken(claims: Record<string, unknown> = {}) {
  return token(
    {
      iss: COGNITO,
      aud: undefined,
      client_id: 'cognito-app-client',
      token_use: 'access',
      tenant: undefined,
      ...claims,
    },
    { alg: 'RS256', kid: 'RS256', typ: undefined },
  );
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
      .setProtectedHeader({ alg: 'RS256', kid: 'rsa', typ: 'at+jwt' })
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

describe('the algorithms real issuers sign with', () => {
  it.each(REAL_IDP_ALGORITHMS)('accepts a token signed with %s by a key of the issuer', async (alg) => {
    const principal = await verifier().verify(await token({}, { alg, kid: alg }));
    expect(principal).toMatchObject({ issuer, clientId: 'app1', scopes: ['chat:read', 'chat:write'] });
  });

  it("lets the issuer's key decide: an alg the named key is not for finds no key", async () => {
    const v = verifier();
    // Signed with a PS256 key but naming the RS256 key; an ES384 signature naming the P-256 key.
    const pssUnderRsaKid = await new SignJWT({ aud: 'streamgate', iss: issuer })
      .setProtectedHeader({ alg: 'PS256', kid: 'RS256', typ: 'at+jwt' })
      .setExpirationTime('1h')
      .sign((keyPerAlg.get('PS256') as GenerateKeyPairResult).privateKey);
    expect(await reason(v.verify(pssUnderRsaKid))).toMatch(/unknown key/);
    const es384UnderP256 = await new SignJWT({ aud: 'streamgate', iss: issuer })
      .setProtectedHeader({ alg: 'ES384', kid: 'ES256', typ: 'at+jwt' })
      .setExpirationTime('1h')
      .sign((keyPerAlg.get('ES384') as GenerateKeyPairResult).privateKey);
    expect(await reason(v.verify(es384UnderP256))).toMatch(/unknown key/);
  });

  it('refuses none, HMAC (HS256 and HS512 keyed with the public JWK) and algorithms outside the list, each saying which', async () => {
    const v = verifier();
    const none = new UnsecuredJWT({ aud: 'streamgate' }).setIssuer(issuer).setExpirationTime('1h').encode();
    expect(await reason(v.verify(none))).toBe(
      'the access token is signed with an algorithm that is not accepted (none: the token is unsigned)',
    );
    for (const alg of ['HS256', 'HS512']) {
      const confused = await new SignJWT({ aud: 'streamgate', iss: issuer })
        .setProtectedHeader({ alg, kid: 'rsa', typ: 'at+jwt' })
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode(JSON.stringify(rsaPublic)));
      expect(await reason(v.verify(confused))).toBe(
        `the access token is signed with an algorithm that is not accepted (${alg}: HMAC, where the issuer signs with a private key)`,
      );
    }
    // The same HMAC confusion against Cognito, whose tokens name no typ and no aud.
    const cognitoConfused = await new SignJWT({ iss: COGNITO, client_id: 'cognito-app-client' })
      .setProtectedHeader({ alg: 'HS256', kid: 'RS256' })
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(JSON.stringify(rsaPublic)));
    expect(await reason(v.verify(cognitoConfused))).toMatch(/HS256: HMAC/);
    expect(await reason(v.verify(await token({}, { alg: 'ES512', kid: 'ES512' })))).toBe(
      'the access token is signed with an algorithm that is not accepted (ES512)',
    );
  });
});

describe('Cognito client-credentials access tokens (client_id as the audience)', () => {
  it('accepts a token with no aud and no typ whose client_id is one of the audiences', async () => {
    const v = verifier();
    expect(await v.verify(await cognitoToken())).toMatchObject({
      issuer: COGNITO,
      clientId: 'cognito-app-client',
      scopes: ['chat:read', 'chat:write'],
      tenant: 'carbon.super',
    });
    expect((await v.verify(await cognitoToken({ client_id: 'second-app-client' }))).clientId).toBe(
      'second-app-client',
    );
  });

  it('refuses a client_id that is not among the audiences, or that is no string', async () => {
    const v = verifier();
    for (const client_id of ['another-app-client', 42, ['cognito-app-client']]) {
      expect(await reason(v.verify(await cognitoToken({ client_id })))).toBe(
        'the access token is not meant for this gateway (client_id)',
      );
    }
  });

  it('refuses a token with neither aud nor client_id', async () => {
    expect(await reason(verifier().verify(await cognitoToken({ client_id: undefined })))).toBe(
      'the access token names no audience (aud or client_id)',
    );
  });

  it('lets aud decide when the token has one (as API Gateway does), whatever its client_id', async () => {
    const v = verifier();
    expect(
      await reason(v.verify(await cognitoToken({ aud: 'someone-else', client_id: 'cognito-app-client' }))),
    ).toBe('the access token is not meant for this gateway (aud)');
    expect(
      (await v.verify(await cognitoToken({ aud: 'second-app-client', client_id: 'not-listed' }))).clientId,
    ).toBe('not-listed');
  });

  it('refuses a Cognito ID token, whose aud is the app client too (token_use id)', async () => {
    const idToken = await cognitoToken({ aud: 'cognito-app-client', client_id: undefined, token_use: 'id' });
    expect(await reason(verifier().verify(idToken))).toBe(
      'the access token is not an access token (token_use)',
    );
  });

  it('takes client_id as the audience only where the issuer is configured so', async () => {
    expect(await reason(verifier().verify(await token({ aud: undefined, client_id: 'streamgate' })))).toBe(
      'the access token names no audience (aud)',
    );
  });
});

describe('typ: at+jwt (RFC 9068)', () => {
  it('is required on built-in tokens, compared case-insensitively with or without application/', async () => {
    const v = verifier();
    expect(await reason(v.verify(await token({}, { alg: 'RS256', kid: 'rsa', typ: undefined })))).toBe(
      "the access token has no typ header (this issuer's access tokens are at+jwt)",
    );
    for (const typ of ['JWT', 'id_token+jwt', 'application/jwt']) {
      expect(await reason(v.verify(await token({}, { alg: 'RS256', kid: 'rsa', typ })))).toBe(
        "the access token's typ header is not at+jwt (another kind of JWT)",
      );
    }
    for (const typ of ['at+jwt', 'AT+JWT', 'application/at+jwt']) {
      await expect(v.verify(await token({}, { alg: 'RS256', kid: 'rsa', typ }))).resolves.toBeDefined();
    }
  });

  it('is not required of an external issuer unless it is configured to require it', async () => {
    const external = { iss: 'https://idp.example.com', aud: 'other-api', cid: 'c' };
    for (const typ of [undefined, 'JWT']) {
      await expect(
        verifier().verify(await token(external, { alg: 'ES256', kid: 'ec', typ })),
      ).resolves.toMatchObject({ clientId: 'c' });
    }
    const strict = new TokenVerifier([
      { issuer: 'https://idp.example.com', jwksUri: `${issuer}/jwks`, audience: 'other-api', typ: 'at+jwt' },
    ]);
    expect(
      await reason(strict.verify(await token(external, { alg: 'ES256', kid: 'ec', typ: 'JWT' }))),
    ).toMatch(/typ header is not at\+jwt/);
  });
});

describe('iat', () => {
  it('refuses a token issued in the future beyond the 5 s clock skew, for every issuer', async () => {
    const v = verifier();
    const now = Math.floor(Date.now() / 1000);
    const message = 'the access token is issued in the future (iat), beyond the 5 s clock skew allowed';
    expect(await reason(v.verify(await token({ iat: now + 60 })))).toBe(message);
    expect(await reason(v.verify(await cognitoToken({ iat: now + 3600 })))).toBe(message);
    await expect(v.verify(await token({ iat: now + 3 }))).resolves.toBeDefined();
    await expect(v.verify(await token({ iat: undefined }))).resolves.toBeDefined();
  });

  it('refuses an iat that is not a number', async () => {
    expect(await reason(verifier().verify(await token({ iat: 'yesterday' })))).toBe(
      "the access token's iat claim is not a number of seconds",
    );
  });
});

describe('refusals', () => {
  it('each kind has its own exact 401 message, with no token, key or stack in it', async () => {
    const v = verifier();
    const now = Math.floor(Date.now() / 1000);
    const tokens: [string, string][] = [
      ['not-a-jwt', 'the access token is not a JWT'],
      [await token({ iss: undefined }), 'the access token names no issuer (iss)'],
      [
        await token({ iss: 'x'.repeat(5000) }),
        `the access token's issuer "${'x'.repeat(78)}… is not trusted`,
      ],
      [await token({ exp: undefined }), 'the access token has no exp claim'],
      [await token({ exp: now - 60 }), 'the access token has expired'],
      [await token({ nbf: now + 600 }), 'the access token is not valid yet (nbf)'],
      [
        await token({ iat: now + 600 }),
        'the access token is issued in the future (iat), beyond the 5 s clock skew allowed',
      ],
      [await token({ aud: 'someone-else' }), 'the access token is not meant for this gateway (aud)'],
      [await token({ aud: undefined }), 'the access token names no audience (aud)'],
      [await cognitoToken({ client_id: 'x' }), 'the access token is not meant for this gateway (client_id)'],
      [await cognitoToken({ client_id: undefined }), 'the access token names no audience (aud or client_id)'],
      [await cognitoToken({ token_use: 'id' }), 'the access token is not an access token (token_use)'],
      [
        await token({}, { alg: 'RS256', kid: 'rsa', typ: undefined }),
        "the access token has no typ header (this issuer's access tokens are at+jwt)",
      ],
      [
        await token({}, { alg: 'RS256', kid: 'rsa', typ: 'JWT' }),
        "the access token's typ header is not at+jwt (another kind of JWT)",
      ],
      [
        await token({}, { alg: 'RS256', kid: 'nobody' }),
        'the access token is signed with an unknown key (none of its issuer matches its kid and alg)',
      ],
      [`${(await token()).slice(0, -4)}AAAA`, 'the access token signature does not verify'],
    ];
    const messages: string[] = [];
    for (const [jwt, expected] of tokens) {
      const message = await reason(v.verify(jwt));
      expect(message).toBe(expected);
      expect(message).not.toMatch(/\n\s+at |eyJ/);
      expect(message).not.toContain(String(rsaPublic.n).slice(0, 16));
      messages.push(message);
    }
    expect(new Set(messages).size).toBe(tokens.length);
  });

  it("says when an issuer's keys cannot be fetched", async () => {
    const broken = createServer((_req, res) => res.writeHead(500).end());
    await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(broken.address() as AddressInfo).port}`;
      const v = new TokenVerifier([{ issuer, jwksUri: `${url}/jwks`, audience: 'streamgate' }]);
      expect(await reason(v.verify(await token()))).toBe('the issuer keys could not be fetched');
    } finally {
      await new Promise<void>((resolve) => broken.close(() => resolve()));
    }
  });
});
