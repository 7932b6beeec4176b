import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { ClientKey, Subscription } from '../../../lambdas/core/applications.ts';
import { hashSecret } from '../../../lambdas/core/credentials.ts';
import type { SigningKeySet } from '../../../lambdas/core/signing-keys.ts';
import { createTokenEndpoint } from '../../../lambdas/token/endpoint.ts';
import { api, channel } from '../../helpers/catalog.ts';
import { httpEvent } from '../../helpers/http-events.ts';

const ISSUER = 'https://abc123.execute-api.eu-west-1.amazonaws.com';
const chats = api({
  name: 'Chats',
  context: '/chats',
  channels: [channel('/rooms/{roomID}', { pubScopes: ['chat:write'], subScopes: ['chat:read'] })],
});
const other = api({
  name: 'Other',
  context: '/other',
  channels: [channel('/x', { subScopes: ['other:read'] })],
});
// The fixture's Basic credentials are client-id:client-secret.
const client: ClientKey = {
  clientId: 'client-id',
  appId: 'app-1',
  appName: 'App One',
  tenant: 'carbon.super',
  keyType: 'PRODUCTION',
  secretHash: hashSecret('client-secret'),
};
const subscription: Subscription = {
  appId: client.appId,
  appName: client.appName,
  tenant: client.tenant,
  apiId: chats.id,
  plan: 'AsyncUnlimited',
  status: 'ACTIVE',
  createdAt: '2026-11-30T06:00:00.000Z',
  updatedAt: '2026-11-30T06:00:00.000Z',
};

let keySet: SigningKeySet;
beforeAll(async () => {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  // Created an hour ago: past its activation delay, so it signs.
  keySet = {
    keys: [
      {
        kid: 'k1',
        alg: 'ES256',
        createdAt: Date.now() / 1000 - 3600,
        privateJwk: await exportJWK(privateKey),
      },
    ],
  };
});

function tokenEndpoint(keys: () => SigningKeySet = () => keySet) {
  const registry = {
    getClient: vi.fn(async (id: string) => (id === client.clientId ? client : undefined)),
    listSubscriptions: vi.fn(async () => [subscription]),
  };
  const endpoint = createTokenEndpoint({
    registry,
    keys: { current: async () => keys() },
    catalog: { apis: [chats, other] },
    issuer: ISSUER,
    audience: 'streamgate',
    tokenLifetimeSeconds: 900,
    activationSeconds: 360,
  });
  return { endpoint, registry };
}

const bodyOf = (result: { body?: string }) => JSON.parse(result.body ?? 'null') as Record<string, unknown>;

describe('token endpoint handler (HTTP API v2 events)', () => {
  it('issues an access token with the scopes of the APIs the application is subscribed to', async () => {
    const { endpoint } = tokenEndpoint();
    const result = await endpoint(httpEvent('http-token-request.json'));
    expect(result.statusCode).toBe(200);
    expect(result.headers).toMatchObject({ 'cache-control': 'no-store', pragma: 'no-cache' });
    const body = bodyOf(result);
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 900, scope: 'chat:read chat:write' });
    const jwks = createLocalJWKSet(
      bodyOf(
        await endpoint(
          httpEvent('http-token-request.json', {
            method: 'GET',
            path: '/.well-known/jwks.json',
          }),
        ),
      ) as never,
    );
    const { payload, protectedHeader } = await jwtVerify(body.access_token as string, jwks, {
      issuer: ISSUER,
      audience: 'streamgate',
    });
    expect(protectedHeader).toMatchObject({ kid: 'k1', typ: 'at+jwt' });
    expect(payload).toMatchObject({
      client_id: 'client-id',
      key_type: 'PRODUCTION',
      tenant: 'carbon.super',
      application: 'App One',
      app_id: 'app-1',
    });
  });

  it('refuses a wrong secret with 401 invalid_client and a Basic challenge', async () => {
    const { endpoint } = tokenEndpoint();
    const event = httpEvent('http-token-request.json', {
      headers: { authorization: `Basic ${Buffer.from('client-id:wrong').toString('base64')}` },
    });
    const result = await endpoint(event);
    expect(result.statusCode).toBe(401);
    expect(result.headers?.['www-authenticate']).toBe('Basic realm="streamgate"');
    expect(bodyOf(result)).toEqual({
      error: 'invalid_client',
      error_description: 'unknown client or wrong secret',
    });
  });

  it('answers 503 temporarily_unavailable before the first signing key exists', async () => {
    const { endpoint } = tokenEndpoint(() => ({ keys: [] }));
    const result = await endpoint(httpEvent('http-token-request.json'));
    expect(result.statusCode).toBe(503);
    expect(bodyOf(result).error).toBe('temporarily_unavailable');
  });

  it('publishes RFC 8414 metadata and answers other routes with 404', async () => {
    const { endpoint } = tokenEndpoint();
    const metadata = await endpoint(
      httpEvent('http-token-request.json', {
        method: 'GET',
        path: '/.well-known/oauth-authorization-server',
      }),
    );
    expect(bodyOf(metadata)).toMatchObject({
      issuer: ISSUER,
      token_endpoint: `${ISSUER}/oauth2/token`,
      jwks_uri: `${ISSUER}/.well-known/jwks.json`,
    });
    const missing = await endpoint(
      httpEvent('http-token-request.json', { method: 'GET', path: '/oauth2/token' }),
    );
    expect(missing.statusCode).toBe(404);
    expect(bodyOf(missing)).toEqual({ error: 'not_found', message: 'no route GET /oauth2/token' });
  });
});

describe('hostile token requests (issue 11, class 6): RFC 6749 errors, never a 5xx', () => {
  /** A POST /oauth2/token with this form body; without the fixture's Basic credentials unless given. */
  function tokenRequest(body: string, headers: Record<string, string> = {}) {
    const event = httpEvent('http-token-request.json', { raw: body, headers });
    if (!headers.authorization) delete event.headers.authorization;
    return event;
  }
  const post = (rest: string) =>
    `grant_type=client_credentials&client_id=client-id&client_secret=client-secret${rest}`;
  const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

  /** [what, form body, headers, status, error] */
  const cases: [string, string, Record<string, string>, number, string][] = [
    ['password grant', 'grant_type=password&username=a&password=b', {}, 400, 'unsupported_grant_type'],
    [
      'JWT bearer grant',
      'grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=x',
      {},
      400,
      'unsupported_grant_type',
    ],
    ['grant type of 10 KB', `grant_type=${'g'.repeat(10_000)}`, {}, 400, 'invalid_request'],
    [
      'undecodable grant type',
      'grant_type=%E0%A4%A&client_id=a&client_secret=b',
      {},
      400,
      'unsupported_grant_type',
    ],
    ['no grant type', 'client_id=client-id&client_secret=client-secret', {}, 400, 'invalid_request'],
    ['repeated grant type', `${post('')}&grant_type=client_credentials`, {}, 400, 'invalid_request'],
    ['body over 8 KB', post(`&padding=${'p'.repeat(9_000)}`), {}, 400, 'invalid_request'],
    [
      'client id of 10 KB',
      `grant_type=client_credentials&client_id=${'c'.repeat(10_000)}&client_secret=s`,
      {},
      400,
      'invalid_request',
    ],
    [
      'client secret of 1,000 characters',
      `grant_type=client_credentials&client_id=client-id&client_secret=${'s'.repeat(1_000)}`,
      {},
      400,
      'invalid_request',
    ],
    [
      'client id with a NUL',
      'grant_type=client_credentials&client_id=client%00id&client_secret=s',
      {},
      400,
      'invalid_request',
    ],
    [
      'client id not ASCII',
      'grant_type=client_credentials&client_id=%C3%A9t%C3%A9&client_secret=s',
      {},
      400,
      'invalid_request',
    ],
    [
      'Basic client id of 10 KB',
      'grant_type=client_credentials',
      { authorization: basic('c'.repeat(10_000), 's') },
      400,
      'invalid_request',
    ],
    [
      'Basic without a colon',
      'grant_type=client_credentials',
      { authorization: `Basic ${Buffer.from('nocolon').toString('base64')}` },
      401,
      'invalid_client',
    ],
    [
      'Bearer instead of Basic',
      'grant_type=client_credentials',
      { authorization: 'Bearer abc' },
      401,
      'invalid_client',
    ],
    ['scope of 2,000 characters', post(`&scope=${'s'.repeat(2_000)}`), {}, 400, 'invalid_scope'],
    ['scope with a quote', post('&scope=chat%3Aread%20%22x%22'), {}, 400, 'invalid_scope'],
    ['scope with a control character', post('&scope=chat%3Aread%0A'), {}, 400, 'invalid_scope'],
    [
      'JSON body',
      '{"grant_type":"client_credentials"}',
      { 'content-type': 'application/json' },
      400,
      'invalid_request',
    ],
    ['binary garbage', '\u0000\u00ff\u0001=\u0002&&&=', {}, 400, 'invalid_request'],
  ];

  it.each(cases)('%s', async (_what, body, headers, status, error) => {
    const { endpoint, registry } = tokenEndpoint();
    const result = await endpoint(tokenRequest(body, headers));
    expect([result.statusCode, bodyOf(result).error]).toEqual([status, error]);
    expect(result.headers?.['cache-control']).toBe('no-store');
    expect(registry.getClient).not.toHaveBeenCalled();
  });

  it('answers a path whose percent-escapes do not decode with 404 JSON', async () => {
    const { endpoint } = tokenEndpoint();
    const result = await endpoint(
      httpEvent('http-token-request.json', { method: 'GET', path: '/.well-known/%E0%A4%A' }),
    );
    expect([result.statusCode, bodyOf(result).error]).toEqual([404, 'not_found']);
  });

  it('still ignores parameters it does not know (RFC 6749 §3.2) and takes the longest allowed fields', async () => {
    const { endpoint } = tokenEndpoint();
    const result = await endpoint(tokenRequest(post(`&audience=x&scope=${'a'.repeat(1_024)}`)));
    expect(result.statusCode).toBe(200);
  });
});
