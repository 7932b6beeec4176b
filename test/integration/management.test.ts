import { beforeAll, describe, expect, it } from 'vitest';
import { CliError, ManagementClient } from '../../cli/management-client.ts';
import { stack, unique } from './helpers.ts';

const admin = () => new ManagementClient(stack.urls.http);
type Keys = Record<'PRODUCTION' | 'SANDBOX', { clientId: string; clientSecret: string }>;

async function failure(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CliError);
  return (error as Error).message;
}

let app: string;
let keys: Keys;

beforeAll(async () => {
  app = unique('mgmt-app');
  ({ keys } = await admin().admin<{ keys: Keys }>('POST', '/tenants/carbon.super/applications', {
    name: app,
    owner: 'alice',
  }));
});

describe('applications', () => {
  it('are created with PRODUCTION and SANDBOX keys whose secrets are shown once and stored hashed', async () => {
    expect(keys.PRODUCTION.clientId).not.toBe(keys.SANDBOX.clientId);
    const shown = await admin().admin<Record<string, unknown>>(
      'GET',
      `/tenants/carbon.super/applications/${app}`,
    );
    expect(shown).toMatchObject({ name: app, owner: 'alice', tenant: 'carbon.super' });
    expect(JSON.stringify(shown)).not.toContain(keys.PRODUCTION.clientSecret);
    const list = await admin().admin<{ applications: { name: string }[] }>(
      'GET',
      '/tenants/carbon.super/applications',
    );
    expect(list.applications.map((a) => a.name)).toContain(app);
  });

  it('refuse a duplicate name (409), a bad name (400) and unknown ones (404)', async () => {
    expect(await failure(admin().admin('POST', '/tenants/carbon.super/applications', { name: app }))).toMatch(
      /^409 conflict: an application named/,
    );
    expect(
      await failure(admin().admin('POST', '/tenants/carbon.super/applications', { name: '../x' })),
    ).toMatch(/^400 bad_request/);
    expect(await failure(admin().admin('POST', '/tenants/carbon.super/applications', {}))).toMatch(
      /^400 bad_request: "name" is required/,
    );
    expect(await failure(admin().admin('GET', '/tenants/carbon.super/applications/nope'))).toMatch(
      /^404 not_found: no application nope/,
    );
  });

  it('rotate a secret: the old one stops working at once', async () => {
    const name = unique('rotating');
    const created = await admin().admin<{ keys: Keys }>('POST', '/tenants/carbon.super/applications', {
      name,
    });
    const rotated = await admin().admin<{ clientId: string; clientSecret: string }>(
      'POST',
      `/tenants/carbon.super/applications/${name}/keys/PRODUCTION/secret`,
    );
    expect(rotated.clientId).toBe(created.keys.PRODUCTION.clientId);
    expect(await failure(admin().token(rotated.clientId, created.keys.PRODUCTION.clientSecret, ''))).toMatch(
      /invalid_client/,
    );
    expect((await admin().token(rotated.clientId, rotated.clientSecret, '')).access_token).toBeTruthy();
    expect(
      await failure(admin().admin('POST', `/tenants/carbon.super/applications/${name}/keys/STAGING/secret`)),
    ).toMatch(/^400/);
  });

  it('delete an application with its keys', async () => {
    const name = unique('doomed');
    const created = await admin().admin<{ keys: Keys }>('POST', '/tenants/carbon.super/applications', {
      name,
    });
    await admin().admin('DELETE', `/tenants/carbon.super/applications/${name}`);
    expect(await failure(admin().admin('GET', `/tenants/carbon.super/applications/${name}`))).toMatch(/^404/);
    expect(
      await failure(
        admin().token(created.keys.PRODUCTION.clientId, created.keys.PRODUCTION.clientSecret, ''),
      ),
    ).toMatch(/invalid_client/);
    expect(await failure(admin().admin('DELETE', `/tenants/carbon.super/applications/${name}`))).toMatch(
      /^404/,
    );
  });
});

describe('subscriptions', () => {
  it('are made with a plan the API offers, changed, blocked and deleted', async () => {
    const base = `/tenants/carbon.super/applications/${app}/subscriptions`;
    const made = await admin().admin('POST', base, { api: '/testchats/1.0.0', plan: 'AsyncBronze' });
    expect(made).toMatchObject({
      apiId: 'carbon.super/TestChats/1.0.0',
      plan: 'AsyncBronze',
      status: 'ACTIVE',
    });
    expect(
      await failure(admin().admin('POST', base, { api: '/testchats/1.0.0', plan: 'AsyncBronze' })),
    ).toMatch(/^409/);
    const changed = await admin().admin('PATCH', `${base}/TestChats/1.0.0`, { plan: 'AsyncGold' });
    expect(changed).toMatchObject({ plan: 'AsyncGold', status: 'ACTIVE' });
    expect(await admin().admin('PATCH', `${base}/TestChats/1.0.0`, { status: 'BLOCKED' })).toMatchObject({
      status: 'BLOCKED',
    });
    const listed = await admin().admin<{ subscriptions: { apiId: string; status: string }[] }>('GET', base);
    expect(listed.subscriptions).toEqual([
      expect.objectContaining({ apiId: 'carbon.super/TestChats/1.0.0', status: 'BLOCKED' }),
    ]);
    await admin().admin('DELETE', `${base}/TestChats/1.0.0`);
    expect(await failure(admin().admin('DELETE', `${base}/TestChats/1.0.0`))).toMatch(
      /^404 not_found: .* is not subscribed/,
    );
  });

  it('refuse a plan the API does not offer, an unknown API, an unknown status and an empty change', async () => {
    const base = `/tenants/carbon.super/applications/${app}/subscriptions`;
    expect(
      await failure(admin().admin('POST', base, { api: '/echowebsocket/1.0.0', plan: 'AsyncBronze' })),
    ).toBe(
      '400 bad_request: API EchoWebSocket 1.0.0 does not offer plan AsyncBronze; it offers AsyncGold, AsyncUnlimited',
    );
    expect(await failure(admin().admin('POST', base, { api: '/nochats/1.0.0', plan: 'AsyncGold' }))).toMatch(
      /^404 not_found: no API at \/nochats/,
    );
    await admin().admin('POST', base, { name: 'EchoWebSocket', version: '1.0.0', plan: 'AsyncGold' });
    expect(
      await failure(admin().admin('PATCH', `${base}/EchoWebSocket/1.0.0`, { status: 'PAUSED' })),
    ).toMatch(/ACTIVE or BLOCKED/);
    expect(await failure(admin().admin('PATCH', `${base}/EchoWebSocket/1.0.0`, {}))).toMatch(
      /nothing to change/,
    );
  });
});

describe('plans', () => {
  it('list the shipped WSO2 defaults as data', async () => {
    const { plans } = await admin().admin<{ plans: { name: string; events?: number; source: string }[] }>(
      'GET',
      '/tenants/quantis.com/plans',
    );
    expect(Object.fromEntries(plans.map((p) => [p.name, p.events ?? 'unlimited']))).toEqual({
      AsyncBronze: 5000,
      AsyncDefaultSubscriptionless: 10000,
      AsyncGold: 50000,
      AsyncSilver: 25000,
      AsyncUnlimited: 'unlimited',
    });
  });

  it('are created and changed per tenant, without touching other tenants', async () => {
    const name = unique('Plan');
    const saved = await admin().admin('PUT', `/tenants/quantis.com/plans/${name}`, {
      events: 10,
      per: 'minute',
      maxConnections: 3,
    });
    expect(saved).toEqual({ name, events: 10, per: 'minute', maxConnections: 3 });
    const { plans } = await admin().admin<{ plans: { name: string }[] }>(
      'GET',
      '/tenants/carbon.super/plans',
    );
    expect(plans.map((p) => p.name)).not.toContain(name);
    expect(
      await failure(admin().admin('PUT', `/tenants/quantis.com/plans/${name}`, { events: -1, per: 'day' })),
    ).toMatch(/^400/);
    expect(
      await failure(
        admin().admin('PUT', `/tenants/quantis.com/plans/${name}`, { events: 5, per: 'fortnight' }),
      ),
    ).toMatch(/per must be/);
  });
});

describe('APIs', () => {
  it('list the tenant’s APIs with their lifecycle state, which can be changed', async () => {
    const { apis } = await admin().admin<{ apis: { name: string; lifecycle: string; path: string }[] }>(
      'GET',
      '/tenants/quantis.com/apis',
    );
    expect(apis).toEqual([
      expect.objectContaining({
        name: 'TrainRealLocationAPI',
        lifecycle: 'PUBLISHED',
        path: '/t/quantis.com/train/location/1.0.0',
      }),
    ]);
    expect(
      await admin().admin('PUT', '/tenants/carbon.super/apis/EchoWebSocket/1.0.0/lifecycle', {
        state: 'deprecated',
      }),
    ).toMatchObject({
      lifecycle: 'DEPRECATED',
    });
    expect(await admin().admin('GET', '/tenants/carbon.super/apis/EchoWebSocket/1.0.0')).toMatchObject({
      lifecycle: 'DEPRECATED',
    });
    await admin().admin('PUT', '/tenants/carbon.super/apis/EchoWebSocket/1.0.0/lifecycle', {
      state: 'PUBLISHED',
    });
    expect(
      await failure(
        admin().admin('PUT', '/tenants/carbon.super/apis/EchoWebSocket/1.0.0/lifecycle', { state: 'GONE' }),
      ),
    ).toMatch(/^400/);
    expect(await failure(admin().admin('GET', '/tenants/quantis.com/apis/TestChats/1.0.0'))).toMatch(
      /^404 not_found: no API TestChats 1\.0\.0 in tenant quantis\.com/,
    );
  });
});

describe('access control', () => {
  it('administration needs IAM (SigV4): unsigned and badly signed calls are refused', async () => {
    const unsigned = await fetch(`${stack.urls.http}/admin/tenants/carbon.super/applications`);
    expect(unsigned.status).toBe(403);
    const forged = await fetch(`${stack.urls.http}/admin/tenants/carbon.super/applications`, {
      headers: {
        authorization:
          'AWS4-HMAC-SHA256 Credential=streamgatelocal/20260101/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000',
        'x-amz-date': '20260101T000000Z',
      },
    });
    expect(forged.status).toBe(403);
  });

  it('an application sees its own data with its client credentials, and nothing of another’s', async () => {
    const mine = await admin().asApplication<{ name: string }>(
      '/self',
      keys.PRODUCTION.clientId,
      keys.PRODUCTION.clientSecret,
    );
    expect(mine.name).toBe(app);
    const other = unique('other-app');
    const otherKeys = (
      await admin().admin<{ keys: Keys }>('POST', '/tenants/carbon.super/applications', { name: other })
    ).keys;
    await admin().admin('POST', `/tenants/carbon.super/applications/${other}/subscriptions`, {
      api: '/testchats/1.0.0',
      plan: 'AsyncGold',
    });
    const theirs = await admin().asApplication<{ subscriptions: { appName: string }[] }>(
      '/self/subscriptions',
      otherKeys.SANDBOX.clientId,
      otherKeys.SANDBOX.clientSecret,
    );
    expect(theirs.subscriptions.map((s) => s.appName)).toEqual([other]);
    const mineSubs = await admin().asApplication<{ subscriptions: { appName: string }[] }>(
      '/self/subscriptions',
      keys.PRODUCTION.clientId,
      keys.PRODUCTION.clientSecret,
    );
    expect(mineSubs.subscriptions.map((s) => s.appName)).not.toContain(other);
    expect(await failure(admin().asApplication('/self', keys.PRODUCTION.clientId, 'wrong'))).toMatch(/^401/);
    const adminAsApp = await fetch(`${stack.urls.http}/admin/tenants/carbon.super/applications/${other}`, {
      headers: {
        authorization: `Basic ${Buffer.from(`${keys.PRODUCTION.clientId}:${keys.PRODUCTION.clientSecret}`).toString('base64')}`,
      },
    });
    expect(adminAsApp.status).toBe(403);
  });

  it('keeps tenants apart: one tenant’s application is invisible under another', async () => {
    expect(await failure(admin().admin('GET', `/tenants/quantis.com/applications/${app}`))).toMatch(/^404/);
    const { applications } = await admin().admin<{ applications: { name: string }[] }>(
      'GET',
      '/tenants/quantis.com/applications',
    );
    expect(applications.map((a) => a.name)).not.toContain(app);
    expect(
      await failure(
        admin().admin('POST', `/tenants/quantis.com/applications/${app}/subscriptions`, {
          api: '/t/quantis.com/train/location/1.0.0',
          plan: 'AsyncGold',
        }),
      ),
    ).toMatch(/^404 not_found: no application/);
    expect(
      await failure(
        admin().admin('POST', '/tenants/quantis.com/applications/DefaultApplication/subscriptions', {
          api: '/testchats/1.0.0',
          plan: 'AsyncGold',
        }),
      ),
    ).toMatch(/^404 not_found: no API at \/testchats\/1\.0\.0 in tenant quantis\.com/);
  });

  it('answers unknown resources with 404 and wrong methods with 405', async () => {
    expect(await failure(admin().admin('GET', '/tenants/carbon.super/nothing'))).toMatch(/^404/);
    expect(await failure(admin().admin('PUT', '/tenants/carbon.super/applications'))).toMatch(/^405/);
    expect(await failure(admin().admin('GET', '/tenants/Bad_Tenant!/applications'))).toMatch(/^400/);
  });
});

describe('hostile input (issue 11, class 6): a 4xx with a JSON error, never a 5xx', () => {
  it.each([
    ['/.well-known/%E0%A4%A'],
    ['/applications/%E0%A4%A'],
    ['/admin/tenants/%E0%A4%A/applications'],
    ['/admin/tenants/carbon.super/applications/%E0%A4%A'],
  ])('an unauthenticated GET %s whose escapes do not decode is a 400', async (path) => {
    const response = await fetch(`${stack.urls.http}${path}`);
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    await response.json();
  });

  it('refuses plans beyond their ranges and lengths, and unknown fields, storing nothing', async () => {
    const plan = unique('Hostile');
    const put = (body: unknown) => failure(admin().admin('PUT', `/tenants/carbon.super/plans/${plan}`, body));
    expect(await put({ events: 1e20, per: 'day' })).toBe(
      '400 bad_request: events is at most 1000000000000 per period',
    );
    expect(await put({ maxConnections: 1e300 })).toBe('400 bad_request: maxConnections is at most 1000');
    expect(await put({ events: 10, per: 'day', description: 'd'.repeat(390_000) })).toBe(
      '400 bad_request: "description" is at most 1000 characters',
    );
    expect(await put({ events: 10, per: 'day', description: 'd'.repeat(500_000) })).toBe(
      '400 bad_request: "description" is at most 1000 characters',
    );
    expect(await put({ events: 10, per: 'day', burst: 5 })).toBe('400 bad_request: unknown field "burst"');
    const { plans } = await admin().admin<{ plans: { name: string }[] }>(
      'GET',
      '/tenants/carbon.super/plans',
    );
    expect(plans.map((p) => p.name)).not.toContain(plan);
  });

  it('refuses a 390 KB owner and an application of a tenant nobody defined', async () => {
    const name = unique('hostile-app');
    expect(
      await failure(
        admin().admin('POST', '/tenants/carbon.super/applications', { name, owner: 'o'.repeat(390_000) }),
      ),
    ).toBe('400 bad_request: "owner" is at most 100 characters');
    expect(await failure(admin().admin('POST', '/tenants/evil.com/applications', { name }))).toMatch(
      /^404 not_found: no tenant evil\.com; the tenants are (.+, )?carbon\.super(, .+)?$/,
    );
    expect(await failure(admin().admin('GET', `/tenants/carbon.super/applications/${name}`))).toMatch(/^404/);
  });

  it('answers malformed token requests with RFC 6749 errors', async () => {
    const token = async (body: string) => {
      const response = await fetch(`${stack.urls.http}/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      return [response.status, ((await response.json()) as { error: string }).error];
    };
    expect(await token('grant_type=password&username=a&password=b')).toEqual([400, 'unsupported_grant_type']);
    // A client id longer than a DynamoDB key never reaches the registry.
    expect(
      await token(`grant_type=client_credentials&client_id=${'c'.repeat(4_000)}&client_secret=s`),
    ).toEqual([400, 'invalid_request']);
    expect(await token(`grant_type=client_credentials&padding=${'p'.repeat(10_000)}`)).toEqual([
      400,
      'invalid_request',
    ]);
    expect(await token('grant_type=client_credentials&client_id=a&client_secret=b&scope=%22x%22')).toEqual([
      400,
      'invalid_scope',
    ]);
  });

  it('never lets an application credential longer than a key reach the registry', async () => {
    expect(await failure(admin().asApplication('/self', 'c'.repeat(4_000), 'secret'))).toMatch(/^401/);
  });
});
