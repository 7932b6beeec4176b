import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { stack } from './helpers.ts';

const run = promisify(execFile);
const keys = () =>
  stack.defaultApp.tenants['carbon.super']?.keys.PRODUCTION as { clientId: string; clientSecret: string };
const tokenUrl = () => `${stack.urls.http}/oauth2/token`;

describe('the OAuth2 token endpoint', () => {
  it('issues a JWT access token to client_secret_basic with curl, scopes narrowed to what the application may have', async () => {
    const { clientId, clientSecret } = keys();
    const { stdout } = await run('curl', [
      '-s',
      '-u',
      `${clientId}:${clientSecret}`,
      '-d',
      'grant_type=client_credentials',
      '-d',
      'scope=chat:read admin:everything',
      tokenUrl(),
    ]);
    const body = JSON.parse(stdout) as Record<string, unknown>;
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'chat:read' });
    const jwks = createRemoteJWKSet(new URL(`${stack.urls.http}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(body.access_token as string, jwks, {
      issuer: stack.urls.http,
      audience: 'streamgate',
    });
    expect(payload).toMatchObject({
      sub: clientId,
      client_id: clientId,
      scope: 'chat:read',
      key_type: 'PRODUCTION',
      tenant: 'carbon.super',
      application: 'DefaultApplication',
    });
    expect(decodeProtectedHeader(body.access_token as string)).toMatchObject({ alg: 'RS256', typ: 'at+jwt' });
  });

  it('accepts client_secret_post and issues SANDBOX tokens for the sandbox key', async () => {
    const sandbox = stack.defaultApp.tenants['carbon.super']?.keys.SANDBOX as {
      clientId: string;
      clientSecret: string;
    };
    const response = await fetch(tokenUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: sandbox.clientId,
        client_secret: sandbox.clientSecret,
      }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const { access_token } = (await response.json()) as { access_token: string };
    const payload = JSON.parse(Buffer.from(access_token.split('.')[1] as string, 'base64url').toString());
    expect(payload).toMatchObject({ key_type: 'SANDBOX', scope: '' });
  });

  it('answers invalid_client (401 with a Basic challenge) for a wrong secret', async () => {
    const response = await fetch(tokenUrl(), {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${keys().clientId}:wrong`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials',
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Basic realm="streamgate"');
    expect(await response.json()).toEqual({
      error: 'invalid_client',
      error_description: 'unknown client or wrong secret',
    });
  });

  it('answers unsupported_grant_type and invalid_request with 400', async () => {
    const basic = `Basic ${Buffer.from(`${keys().clientId}:${keys().clientSecret}`).toString('base64')}`;
    const post = (body: string) =>
      fetch(tokenUrl(), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
        body,
      });
    const password = await post('grant_type=password&username=a&password=b');
    expect(password.status).toBe(400);
    expect(((await password.json()) as { error: string }).error).toBe('unsupported_grant_type');
    const missing = await post('scope=chat:read');
    expect(((await missing.json()) as { error: string }).error).toBe('invalid_request');
  });

  it('publishes its JWKS (public keys only) and its metadata', async () => {
    const jwks = (await (await fetch(`${stack.urls.http}/.well-known/jwks.json`)).json()) as {
      keys: Record<string, string>[];
    };
    expect(jwks.keys.length).toBeGreaterThan(0);
    for (const key of jwks.keys) {
      expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
      expect(key.d).toBeUndefined();
    }
    const metadata = (await (
      await fetch(`${stack.urls.http}/.well-known/oauth-authorization-server`)
    ).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({
      issuer: stack.urls.http,
      token_endpoint: tokenUrl(),
      grant_types_supported: ['client_credentials'],
    });
  });

  it('answers /health once the stack is up', async () => {
    const response = await fetch(`${stack.urls.http}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok' });
  });
});

describe('signing key rotation', () => {
  it('signs new tokens with the new key while tokens of the old one still connect until they expire', async () => {
    const { SecretsManagerClient, RotateSecretCommand } = await import('@aws-sdk/client-secrets-manager');
    const { connect, tokenFor, unique, wsUrl } = await import('./helpers.ts');
    const kid = (token: string) =>
      JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString()).kid as string;
    const before = await tokenFor();
    const secrets = JSON.parse(readFileSync(path.join(stack.stateDir, 'secrets.json'), 'utf8')) as {
      secrets: { arn: string; rotationFunctionId?: string }[];
    };
    const signingSecret = secrets.secrets.find((s) => s.rotationFunctionId)?.arn as string;
    const sm = new SecretsManagerClient({
      endpoint: stack.urls.aws,
      region: 'us-east-1',
      credentials: stack.credentials,
    });
    await sm.send(new RotateSecretCommand({ SecretId: signingSecret }));
    sm.destroy();

    await expect
      .poll(
        async () =>
          ((await (await fetch(`${stack.urls.http}/.well-known/jwks.json`)).json()) as { keys: unknown[] })
            .keys.length,
        {
          timeout: 10_000,
        },
      )
      .toBeGreaterThanOrEqual(2);
    // Published before it signs: right after the rotation, tokens still come from the old key.
    expect(kid(await tokenFor())).toBe(kid(before));
    let after = await tokenFor();
    await expect
      .poll(
        async () => {
          after = await tokenFor();
          return kid(after);
        },
        { timeout: 10_000 },
      )
      .not.toBe(kid(before));

    for (const token of [before, after]) {
      const client = await connect(wsUrl(`/testchats/1.0.0/rooms/${unique('rotation')}`), { token });
      client.close();
    }
  });
});
