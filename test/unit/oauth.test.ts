import { describe, expect, it } from 'vitest';
import { hashSecret, newClientId, newClientSecret, verifySecret } from '../../lambdas/core/credentials.ts';
import { grantScopes, OAuthError, parseTokenRequest } from '../../lambdas/core/oauth.ts';

const form = 'application/x-www-form-urlencoded';
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

function oauthError(fn: () => unknown): OAuthError {
  try {
    fn();
  } catch (error) {
    if (error instanceof OAuthError) return error;
    throw error;
  }
  throw new Error('expected an OAuthError');
}

describe('token requests', () => {
  it('read client_secret_basic', () => {
    expect(
      parseTokenRequest('grant_type=client_credentials&scope=a%20b%20a', form, basic('id', 's:e')),
    ).toEqual({
      grantType: 'client_credentials',
      clientId: 'id',
      clientSecret: 's:e',
      authMethod: 'client_secret_basic',
      scopes: ['a', 'b'],
    });
  });

  it('read client_secret_post', () => {
    expect(
      parseTokenRequest('grant_type=client_credentials&client_id=i&client_secret=s', form, undefined),
    ).toMatchObject({ clientId: 'i', clientSecret: 's', authMethod: 'client_secret_post', scopes: [] });
  });

  it('answer RFC 6749 errors', () => {
    expect(oauthError(() => parseTokenRequest('client_id=i&client_secret=s', form, undefined)).error).toBe(
      'invalid_request',
    );
    const noClient = oauthError(() => parseTokenRequest('grant_type=client_credentials', form, undefined));
    expect([noClient.error, noClient.status, noClient.basicChallenge]).toEqual(['invalid_client', 401, true]);
    expect(
      oauthError(() => parseTokenRequest('grant_type=password&client_id=i&client_secret=s', form, undefined))
        .error,
    ).toBe('unsupported_grant_type');
    expect(
      oauthError(() =>
        parseTokenRequest('grant_type=client_credentials&client_secret=s', form, basic('i', 's')),
      ).error,
    ).toBe('invalid_request');
    expect(oauthError(() => parseTokenRequest('{}', 'application/json', basic('i', 's'))).error).toBe(
      'invalid_request',
    );
    expect(
      oauthError(() =>
        parseTokenRequest('grant_type=client_credentials&scope=a&scope=b', form, basic('i', 's')),
      ).error,
    ).toBe('invalid_request');
  });

  it('narrow requested scopes to the allowed ones', () => {
    expect(grantScopes(['a', 'b', 'c'], new Set(['b', 'c', 'd']))).toEqual(['b', 'c']);
  });
});

describe('client credentials', () => {
  it('are random and stored as salted hashes that verify only the right secret', () => {
    const secret = newClientSecret();
    expect(newClientId()).not.toBe(newClientId());
    const stored = hashSecret(secret);
    expect(stored).not.toContain(secret);
    expect(hashSecret(secret)).not.toBe(stored);
    expect(verifySecret(secret, stored)).toBe(true);
    expect(verifySecret(`${secret}x`, stored)).toBe(false);
    expect(verifySecret(secret, 'garbage')).toBe(false);
  });
});
