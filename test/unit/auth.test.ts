import { describe, expect, it } from 'vitest';
import {
  audienceClaim,
  connectScopes,
  extractToken,
  type IssuerConfig,
  type Principal,
  requireAccessTokenUse,
  requireClientIdAudience,
  requireIssuedInPast,
  requireLifecycleAllowsConnect,
  requireScopes,
  requireTenant,
} from '../../lambdas/core/auth.ts';
import type { GatewayError } from '../../lambdas/core/errors.ts';
import { api, channel } from '../helpers/catalog.ts';

const principal: Principal = {
  issuer: 'https://issuer',
  subject: 'c1',
  clientId: 'c1',
  scopes: ['chat:read'],
  tenant: 'carbon.super',
  keyType: 'PRODUCTION',
  expiresAt: 2_000_000_000,
};

function statusOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (error) {
    return (error as GatewayError).status;
  }
  return undefined;
}

describe('token extraction', () => {
  it('takes the bearer token from the Authorization header, whatever its case', () => {
    expect(extractToken({ authorization: 'Bearer abc' }, undefined)).toBe('abc');
    expect(extractToken({ Authorization: 'bearer   abc ' }, undefined)).toBe('abc');
  });

  it('falls back to ?access_token= (browsers)', () => {
    expect(extractToken({}, { access_token: 'q' })).toBe('q');
  });

  it('lets the header win when both are sent', () => {
    expect(extractToken({ Authorization: 'Bearer header' }, { access_token: 'query' })).toBe('header');
  });

  it('refuses a malformed header or an empty query token with 401, and finds nothing when none is sent', () => {
    expect(statusOf(() => extractToken({ Authorization: 'Basic dXNlcjpwdw==' }, undefined))).toBe(401);
    expect(statusOf(() => extractToken({}, { access_token: ' ' }))).toBe(401);
    expect(extractToken(undefined, undefined)).toBeUndefined();
  });
});

describe('connect-time checks', () => {
  it('need the receive scopes of a sub channel, else the publish scopes', () => {
    expect(connectScopes(channel('/a', { subScopes: ['r'], pubScopes: ['w'] }))).toEqual(['r']);
    expect(connectScopes(channel('/a', { sub: false, subScopes: ['r'], pubScopes: ['w'] }))).toEqual(['w']);
  });

  it('refuse missing scopes with 403 naming them', () => {
    expect(() => requireScopes(principal, ['chat:read'], 'connect')).not.toThrow();
    expect(statusOf(() => requireScopes(principal, ['chat:write'], 'publish'))).toBe(403);
    try {
      requireScopes(principal, ['chat:write', 'x'], 'publish');
    } catch (error) {
      expect((error as GatewayError).message).toBe(
        'the access token lacks the scopes chat:write x to publish',
      );
    }
  });

  it('keep tenants apart', () => {
    expect(() => requireTenant(principal, api({ name: 'A', context: '/a' }))).not.toThrow();
    expect(
      statusOf(() => requireTenant(principal, api({ name: 'A', context: '/a', tenant: 'quantis.com' }))),
    ).toBe(403);
  });

  it('take connections on PUBLISHED and DEPRECATED APIs only', () => {
    for (const lifecycle of ['PUBLISHED', 'DEPRECATED'] as const) {
      expect(() => requireLifecycleAllowsConnect(api({ name: 'A', context: '/a', lifecycle }))).not.toThrow();
    }
    for (const lifecycle of ['CREATED', 'BLOCKED', 'RETIRED'] as const) {
      expect(
        statusOf(() => requireLifecycleAllowsConnect(api({ name: 'A', context: '/a', lifecycle }))),
      ).toBe(403);
    }
  });
});

describe('token rules of an issuer', () => {
  const cognito: IssuerConfig = {
    issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example',
    jwksUri: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example/.well-known/jwks.json',
    audience: ['app-client-1', 'app-client-2'],
    clientIdAsAudience: true,
  };
  const messageOf = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      expect((error as GatewayError).status).toBe(401);
      return (error as GatewayError).message;
    }
    return undefined;
  };

  it('take client_id as the audience only when the issuer says so and the token has no aud', () => {
    expect(audienceClaim(cognito, {})).toBe('client_id');
    expect(audienceClaim(cognito, { aud: 'x' })).toBe('aud');
    expect(audienceClaim({ ...cognito, clientIdAsAudience: false }, {})).toBe('aud');
    expect(audienceClaim({ issuer: 'i', jwksUri: 'j', audience: 'a' }, {})).toBe('aud');
  });

  it('accept a client_id among the audiences (one or several) and refuse any other', () => {
    expect(messageOf(() => requireClientIdAudience(cognito, 'app-client-2'))).toBeUndefined();
    expect(
      messageOf(() => requireClientIdAudience({ ...cognito, audience: 'solo' }, 'solo')),
    ).toBeUndefined();
    for (const clientId of ['app-client-3', '', 7, ['app-client-1'], null]) {
      expect(messageOf(() => requireClientIdAudience(cognito, clientId))).toBe(
        'the access token is not meant for this gateway (client_id)',
      );
    }
    expect(messageOf(() => requireClientIdAudience(cognito, undefined))).toBe(
      'the access token names no audience (aud or client_id)',
    );
  });

  it('refuse a token that says it is no access token (Cognito token_use), and let others through', () => {
    expect(messageOf(() => requireAccessTokenUse('access'))).toBeUndefined();
    expect(messageOf(() => requireAccessTokenUse(undefined))).toBeUndefined();
    for (const use of ['id', 'refresh', 1]) {
      expect(messageOf(() => requireAccessTokenUse(use))).toBe(
        'the access token is not an access token (token_use)',
      );
    }
  });

  it('refuse an iat later than now plus the clock skew, and only that', () => {
    const now = 1_800_000_000;
    expect(messageOf(() => requireIssuedInPast(now + 5, now, 5))).toBeUndefined();
    expect(messageOf(() => requireIssuedInPast(now - 3600, now, 5))).toBeUndefined();
    expect(messageOf(() => requireIssuedInPast(undefined, now, 5))).toBeUndefined();
    expect(messageOf(() => requireIssuedInPast(now + 6, now, 5))).toBe(
      'the access token is issued in the future (iat), beyond the 5 s clock skew allowed',
    );
    expect(messageOf(() => requireIssuedInPast(now + 1, now, 0))).toMatch(/beyond the 0 s clock skew/);
  });
});
