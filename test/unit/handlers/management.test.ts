import { describe, expect, it, vi } from 'vitest';
import type { Application, ClientKey, Subscription } from '../../../lambdas/core/applications.ts';
import { hashSecret } from '../../../lambdas/core/credentials.ts';
import { GatewayError } from '../../../lambdas/core/errors.ts';
import { subscriptionKey } from '../../../lambdas/core/plans.ts';
import { createManagementApi, type ManagementDependencies } from '../../../lambdas/management/api.ts';
import { api, channel } from '../../helpers/catalog.ts';
import { httpEvent, lambdaContext } from '../../helpers/http-events.ts';

const chats = api({
  name: 'Chats',
  context: '/chats',
  plans: ['AsyncGold'],
  channels: [channel('/notifications', { subScopes: ['chat:read'] }), channel('/rooms/{roomID}')],
});

const alpha: Application = {
  appId: 'app-alpha',
  tenant: 'carbon.super',
  name: 'Alpha App',
  owner: 'alice',
  createdAt: '2026-11-30T06:00:00.000Z',
  keys: { PRODUCTION: { clientId: 'alpha-prod' }, SANDBOX: { clientId: 'alpha-sbx' } },
};
const alphaProduction: ClientKey = {
  clientId: 'alpha-prod',
  appId: alpha.appId,
  appName: alpha.name,
  tenant: alpha.tenant,
  keyType: 'PRODUCTION',
  secretHash: hashSecret('alpha-secret'),
};
const subscription: Subscription = {
  appId: alpha.appId,
  appName: alpha.name,
  tenant: alpha.tenant,
  apiId: chats.id,
  plan: 'AsyncGold',
  status: 'ACTIVE',
  createdAt: alpha.createdAt,
  updatedAt: alpha.createdAt,
};

/** The management API over in-memory adapters holding one application, Alpha App, and its key. */
function managementApi(overrides: Partial<ManagementDependencies['registry']> = {}) {
  const registry = {
    listApplications: vi.fn(async () => [alpha]),
    getApplication: vi.fn(async (tenant: string, name: string) =>
      tenant === alpha.tenant && name === alpha.name ? alpha : undefined,
    ),
    deleteApplication: vi.fn(async (_tenant: string, name: string) => name === alpha.name),
    getClient: vi.fn(async (clientId: string) =>
      clientId === alphaProduction.clientId ? alphaProduction : undefined,
    ),
    listSubscriptions: vi.fn(async () => [subscription]),
    getPlan: vi.fn(async (_tenant: string, name: string) => ({ name, events: 100, per: 'day' as const })),
    subscribe: vi.fn(),
    ...overrides,
  };
  const throttle = {
    usage: vi.fn(async () => ({
      window: '2026-11-30',
      used: 40,
      throttled: 2,
      limit: 100,
      resetsAt: '2026-12-01T00:00:00.000Z',
    })),
  };
  const delivery = { toSubscribers: vi.fn() };
  const management = createManagementApi({
    registry: registry as unknown as ManagementDependencies['registry'],
    throttle,
    delivery,
    catalog: { apis: [chats] },
    publicUrls: {
      stage: 'wss://abc.execute-api.eu-west-1.amazonaws.com/prod',
      token: 'https://t/oauth2/token',
    },
  });
  return { management, registry, throttle, delivery };
}

const admin = (method: string, path: string, body?: unknown) =>
  httpEvent('http-admin-request.json', { method, path, body });
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const bodyOf = (result: { body?: string }) => JSON.parse(result.body ?? 'null') as Record<string, unknown>;

describe('management API handler (HTTP API v2 events)', () => {
  it("lists a tenant's applications as JSON", async () => {
    const { management, registry } = managementApi();
    const result = await management.handle(
      admin('GET', '/admin/tenants/carbon.super/applications'),
      lambdaContext(),
    );
    expect(result.statusCode).toBe(200);
    expect(result.headers?.['content-type']).toBe('application/json');
    expect(bodyOf(result)).toEqual({ applications: [alpha] });
    expect(registry.listApplications).toHaveBeenCalledWith('carbon.super');
  });

  it('decodes path parameters and ignores a trailing slash', async () => {
    const { management, registry } = managementApi();
    const result = await management.handle(
      admin('GET', '/admin/tenants/carbon.super/applications/Alpha%20App/'),
      lambdaContext(),
    );
    expect(result.statusCode).toBe(200);
    expect(registry.getApplication).toHaveBeenCalledWith('carbon.super', 'Alpha App');
  });

  it("reports an application's usage against its plans", async () => {
    const { management, throttle } = managementApi();
    const result = await management.handle(
      admin('GET', '/admin/tenants/carbon.super/applications/Alpha%20App/usage'),
      lambdaContext(),
    );
    expect(bodyOf(result).usage).toEqual([
      expect.objectContaining({ api: chats.id, plan: 'AsyncGold', used: 40, limit: 100, remaining: 60 }),
    ]);
    expect(throttle.usage).toHaveBeenCalledWith(subscriptionKey(alpha.appId, chats.id), expect.anything());
  });

  it('answers a deletion with 204 and no body', async () => {
    const { management } = managementApi();
    const result = await management.handle(
      admin('DELETE', '/admin/tenants/carbon.super/applications/Alpha%20App'),
      lambdaContext(),
    );
    expect(result.statusCode).toBe(204);
    expect(result.body ?? '').toBe('');
  });

  it('refuses a plan the API does not offer, before subscribing', async () => {
    const { management, registry } = managementApi();
    const result = await management.handle(
      admin('POST', '/admin/tenants/carbon.super/applications/Alpha%20App/subscriptions', {
        api: '/chats/1.0.0',
        plan: 'AsyncBronze',
      }),
      lambdaContext(),
    );
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toEqual({
      error: 'bad_request',
      message: 'API Chats 1.0.0 does not offer plan AsyncBronze; it offers AsyncGold',
    });
    expect(registry.subscribe).not.toHaveBeenCalled();
  });

  it('refuses a body that is not a JSON object, and a tenant that is not a domain', async () => {
    const { management } = managementApi();
    const notJson = httpEvent('http-admin-request.json', {
      method: 'POST',
      path: '/admin/tenants/carbon.super/applications',
      raw: '{name:',
    });
    expect(bodyOf(await management.handle(notJson, lambdaContext()))).toEqual({
      error: 'bad_request',
      message: 'the request body must be JSON',
    });
    const result = await management.handle(
      admin('GET', '/admin/tenants/Not_A_Domain/plans'),
      lambdaContext(),
    );
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result).message).toBe('"Not_A_Domain" is not a tenant domain');
  });

  it('answers unknown resources with 404 and wrong methods with 405', async () => {
    const { management } = managementApi();
    const unknown = await management.handle(
      admin('GET', '/admin/tenants/carbon.super/nothing'),
      lambdaContext(),
    );
    expect(unknown.statusCode).toBe(404);
    expect(bodyOf(unknown)).toEqual({
      error: 'not_found',
      message: 'no resource /admin/tenants/carbon.super/nothing',
    });
    const wrong = await management.handle(
      admin('PUT', '/admin/tenants/carbon.super/applications'),
      lambdaContext(),
    );
    expect(wrong.statusCode).toBe(405);
    expect(bodyOf(wrong).error).toBe('method_not_allowed');
  });

  it('lets an unexpected error fail the invocation (API Gateway answers 500)', async () => {
    const { management } = managementApi({
      listApplications: vi.fn(async () => {
        throw new Error('DynamoDB is down');
      }),
    });
    await expect(
      management.handle(admin('GET', '/admin/tenants/carbon.super/applications'), lambdaContext()),
    ).rejects.toThrow('DynamoDB is down');
  });

  it('answers a refusal from an adapter with its status', async () => {
    const { management } = managementApi({
      deleteApplication: vi.fn(async () => {
        throw new GatewayError('conflict', 'busy');
      }),
    });
    const result = await management.handle(
      admin('DELETE', '/admin/tenants/carbon.super/applications/Alpha%20App'),
      lambdaContext(),
    );
    expect(result.statusCode).toBe(409);
    expect(bodyOf(result)).toEqual({ error: 'conflict', message: 'busy' });
  });
});

describe("an application's own view (client credentials)", () => {
  const self = (headers: Record<string, string> = {}, path = '/applications/self') =>
    httpEvent('http-application-request.json', { path, headers });

  it('refuses a request without credentials with 401 and a Basic challenge', async () => {
    const { management, registry } = managementApi();
    const result = await management.handle(self(), lambdaContext());
    expect(result.statusCode).toBe(401);
    expect(result.headers?.['www-authenticate']).toBe('Basic realm="streamgate"');
    expect(bodyOf(result)).toEqual({
      error: 'unauthorized',
      message: "send the application's client credentials as HTTP Basic",
    });
    expect(registry.getApplication).not.toHaveBeenCalled();
  });

  it('refuses a wrong secret with 401', async () => {
    const { management } = managementApi();
    const result = await management.handle(
      self({ authorization: basic('alpha-prod', 'not-the-secret') }),
      lambdaContext(),
    );
    expect(result.statusCode).toBe(401);
    expect(bodyOf(result).message).toBe('unknown client or wrong secret');
  });

  it('shows the calling application and only its own subscriptions', async () => {
    const { management, registry } = managementApi();
    const authorization = basic('alpha-prod', 'alpha-secret');
    const shown = await management.handle(self({ authorization }), lambdaContext());
    expect(shown.statusCode).toBe(200);
    expect(bodyOf(shown)).toEqual(alpha);
    const subscriptions = await management.handle(
      self({ authorization }, '/applications/self/subscriptions'),
      lambdaContext(),
    );
    expect(bodyOf(subscriptions)).toEqual({ subscriptions: [subscription] });
    expect(registry.listSubscriptions).toHaveBeenCalledWith(alpha.appId);
  });
});

describe('hostile input (issue 11, class 6): every malformed request is a 4xx naming the problem', () => {
  const A = '/admin/tenants/carbon.super';
  /** A body sent as this text (JSON.stringify cannot write what it stands for). */
  class Raw {
    constructor(readonly text: string) {}
  }
  const deep = new Raw(`{"topic":"/notifications","data":${'['.repeat(500_000)}${']'.repeat(500_000)}}`);
  /** [what, method, path, body or raw text, status, error, message] */
  const cases: [string, string, string, unknown, number, string, string | RegExp][] = [
    // Percent-decoding comes after the checks: never a URIError and a 500.
    [
      'undecodable tenant',
      'GET',
      '/admin/tenants/%E0%A4%A/applications',
      undefined,
      400,
      'bad_request',
      'the path is not percent-encoded correctly',
    ],
    [
      'undecodable application',
      'GET',
      `${A}/applications/%E0%A4%A`,
      undefined,
      400,
      'bad_request',
      'the path is not percent-encoded correctly',
    ],
    [
      'undecodable self path',
      'GET',
      '/applications/%E0%A4%A',
      undefined,
      400,
      'bad_request',
      'the path is not percent-encoded correctly',
    ],
    [
      'bare percent',
      'DELETE',
      `${A}/applications/100%`,
      undefined,
      400,
      'bad_request',
      'the path is not percent-encoded correctly',
    ],
    // Plans: a type, a range and a length for every field.
    [
      'events 1e20',
      'PUT',
      `${A}/plans/AsyncGold`,
      { events: 1e20, per: 'day' },
      400,
      'bad_request',
      'events is at most 1000000000000 per period',
    ],
    [
      'maxConnections 1e300',
      'PUT',
      `${A}/plans/AsyncGold`,
      { maxConnections: 1e300 },
      400,
      'bad_request',
      'maxConnections is at most 1000',
    ],
    [
      'fractional events',
      'PUT',
      `${A}/plans/AsyncGold`,
      { events: 1.5, per: 'day' },
      400,
      'bad_request',
      'events must be a whole number of events per period',
    ],
    [
      'events as text',
      'PUT',
      `${A}/plans/AsyncGold`,
      { events: '100', per: 'day' },
      400,
      'bad_request',
      'events must be a whole number of events per period',
    ],
    [
      'negative events',
      'PUT',
      `${A}/plans/AsyncGold`,
      { events: -1, per: 'day' },
      400,
      'bad_request',
      'events must be a whole number of events per period (0 or more)',
    ],
    [
      'events without per',
      'PUT',
      `${A}/plans/AsyncGold`,
      { events: 5 },
      400,
      'bad_request',
      'per must be one of minute, hour, day, month',
    ],
    [
      'zero maxConnections',
      'PUT',
      `${A}/plans/AsyncGold`,
      { maxConnections: 0 },
      400,
      'bad_request',
      'maxConnections must be a whole number of at least 1',
    ],
    [
      '390 KB description',
      'PUT',
      `${A}/plans/AsyncGold`,
      { description: 'x'.repeat(390_000) },
      400,
      'bad_request',
      '"description" is at most 1000 characters',
    ],
    [
      'description as object',
      'PUT',
      `${A}/plans/AsyncGold`,
      { description: { a: 1 } },
      400,
      'bad_request',
      '"description" must be text',
    ],
    [
      'unknown plan field',
      'PUT',
      `${A}/plans/AsyncGold`,
      { events: 5, per: 'day', burst: 9 },
      400,
      'bad_request',
      'unknown field "burst"',
    ],
    [
      'plan name in path',
      'PUT',
      `${A}/plans/${'P'.repeat(65)}`,
      { events: 5, per: 'day' },
      400,
      'bad_request',
      'a plan name holds letters, digits, "_" and "-" (at most 64)',
    ],
    // Applications.
    [
      '390 KB owner',
      'POST',
      `${A}/applications`,
      { name: 'big', owner: 'o'.repeat(390_000) },
      400,
      'bad_request',
      '"owner" is at most 100 characters',
    ],
    [
      'owner with a newline',
      'POST',
      `${A}/applications`,
      { name: 'nl', owner: 'a\nb' },
      400,
      'bad_request',
      '"owner" holds no control characters',
    ],
    [
      'name as a number',
      'POST',
      `${A}/applications`,
      { name: 42 },
      400,
      'bad_request',
      '"name" must be text',
    ],
    [
      'name too long',
      'POST',
      `${A}/applications`,
      { name: 'n'.repeat(101) },
      400,
      'bad_request',
      '"name" is at most 100 characters',
    ],
    [
      'unknown application field',
      'POST',
      `${A}/applications`,
      { name: 'x', appId: 'mine' },
      400,
      'bad_request',
      'unknown field "appId"',
    ],
    [
      'tenant nobody defined',
      'POST',
      '/admin/tenants/evil.com/applications',
      { name: 'x' },
      404,
      'not_found',
      'no tenant evil.com; the tenants are carbon.super',
    ],
    [
      'plans of a tenant nobody defined',
      'PUT',
      '/admin/tenants/evil.com/plans/AsyncGold',
      { events: 5, per: 'day' },
      404,
      'not_found',
      /^no tenant evil\.com/,
    ],
    [
      'tenant longer than a domain',
      'GET',
      `/admin/tenants/${'a'.repeat(260)}.com/plans`,
      undefined,
      400,
      'bad_request',
      /is not a tenant domain$/,
    ],
    [
      'application name longer than a key',
      'GET',
      `${A}/applications/${'a'.repeat(2_000)}`,
      undefined,
      400,
      'bad_request',
      /…" is not an application name$/,
    ],
    [
      'unknown key type',
      'POST',
      `${A}/applications/Alpha%20App/keys/STAGING/secret`,
      undefined,
      400,
      'bad_request',
      'the key type is PRODUCTION or SANDBOX',
    ],
    [
      'blank issuer',
      'POST',
      `${A}/applications/Alpha%20App/external-clients`,
      { issuer: ' ', clientId: 'c' },
      400,
      'bad_request',
      '"issuer" is required',
    ],
    [
      'issuer too long',
      'POST',
      `${A}/applications/Alpha%20App/external-clients`,
      { issuer: `https://${'i'.repeat(600)}`, clientId: 'c' },
      400,
      'bad_request',
      '"issuer" is at most 512 characters',
    ],
    [
      'client id with blanks',
      'POST',
      `${A}/applications/Alpha%20App/external-clients`,
      { issuer: 'https://idp', clientId: 'a b' },
      400,
      'bad_request',
      '"clientId" holds no blanks or control characters',
    ],
    // Subscriptions.
    [
      'plan as a number',
      'POST',
      `${A}/applications/Alpha%20App/subscriptions`,
      { api: '/chats/1.0.0', plan: 7 },
      400,
      'bad_request',
      '"plan" must be text',
    ],
    [
      'plan name too long',
      'POST',
      `${A}/applications/Alpha%20App/subscriptions`,
      { api: '/chats/1.0.0', plan: 'p'.repeat(65) },
      400,
      'bad_request',
      '"plan" is at most 64 characters',
    ],
    [
      'API path too long',
      'POST',
      `${A}/applications/Alpha%20App/subscriptions`,
      { api: `/${'c'.repeat(2_000)}`, plan: 'AsyncGold' },
      400,
      'bad_request',
      '"api" is at most 1024 characters',
    ],
    [
      'unknown status',
      'PATCH',
      `${A}/applications/Alpha%20App/subscriptions/Chats/1.0.0`,
      { status: 'PAUSED' },
      400,
      'bad_request',
      'status is ACTIVE or BLOCKED',
    ],
    [
      'status as an array',
      'PATCH',
      `${A}/applications/Alpha%20App/subscriptions/Chats/1.0.0`,
      { status: ['ACTIVE'] },
      400,
      'bad_request',
      'status is ACTIVE or BLOCKED',
    ],
    [
      'API name longer than any',
      'DELETE',
      `${A}/applications/Alpha%20App/subscriptions/${'C'.repeat(500)}/1.0.0`,
      undefined,
      404,
      'not_found',
      /^no API "C+…"$/,
    ],
    // APIs.
    [
      'lifecycle state of 100 KB',
      'PUT',
      `${A}/apis/Chats/1.0.0/lifecycle`,
      { state: 's'.repeat(100_000) },
      400,
      'bad_request',
      '"state" is at most 20 characters',
    ],
    [
      'unknown lifecycle state',
      'PUT',
      `${A}/apis/Chats/1.0.0/lifecycle`,
      { state: 'gone' },
      400,
      'bad_request',
      'state is one of CREATED, PUBLISHED, DEPRECATED, BLOCKED, RETIRED',
    ],
    [
      'publish without data',
      'POST',
      `${A}/apis/Chats/1.0.0/publish`,
      { topic: '/notifications' },
      400,
      'bad_request',
      '"data" is required: the frame, as a string or JSON',
    ],
    [
      'publish a number',
      'POST',
      `${A}/apis/Chats/1.0.0/publish`,
      { topic: '/notifications', data: 5 },
      400,
      'bad_request',
      '"data" is the frame: a string, a JSON object or an array',
    ],
    [
      'publish data nested 500,000 deep',
      'POST',
      `${A}/apis/Chats/1.0.0/publish`,
      deep,
      400,
      'bad_request',
      '"data" is nested more than 64 deep',
    ],
    [
      'publish to an unknown field',
      'POST',
      `${A}/apis/Chats/1.0.0/publish`,
      { topic: '/notifications', data: 'x', to: 'all' },
      400,
      'bad_request',
      'unknown field "to"',
    ],
    // Bodies.
    [
      'a body of 2 MB',
      'POST',
      `${A}/applications`,
      { name: 'x', pad: 'p'.repeat(2_000_000) },
      413,
      'payload_too_large',
      'the request body is larger than 1048576 bytes',
    ],
    [
      'a JSON array body',
      'POST',
      `${A}/applications`,
      [{ name: 'x' }],
      400,
      'bad_request',
      'the request body must be a JSON object',
    ],
    [
      'a body where none is taken',
      'DELETE',
      `${A}/applications/Alpha%20App`,
      { cascade: false },
      400,
      'bad_request',
      'unknown field "cascade"',
    ],
  ];

  it.each(cases)('%s', async (_what, method, path, body, status, error, message) => {
    const writes = {
      createApplication: vi.fn(),
      putPlan: vi.fn(),
      mapExternalClient: vi.fn(),
      updateSubscription: vi.fn(),
      setLifecycle: vi.fn(),
      rotateSecret: vi.fn(),
      deleteApplication: vi.fn(),
      deleteSubscription: vi.fn(),
    };
    const { management, registry, delivery } = managementApi(writes);
    const fixture = path.startsWith('/applications')
      ? 'http-application-request.json'
      : 'http-admin-request.json';
    const request = body instanceof Raw ? { raw: body.text } : { body };
    const result = await management.handle(httpEvent(fixture, { method, path, ...request }), lambdaContext());
    expect([result.statusCode, result.headers?.['content-type']]).toEqual([status, 'application/json']);
    const answer = bodyOf(result);
    expect(answer.error).toBe(error);
    if (typeof message === 'string') expect(answer.message).toBe(message);
    else expect(answer.message).toMatch(message);
    for (const write of [...Object.values(writes), registry.subscribe, delivery.toSubscribers])
      expect(write).not.toHaveBeenCalled();
  });

  it('refuses a query string no route takes, naming the parameter', async () => {
    const { management, registry } = managementApi();
    const event = admin('GET', '/admin/tenants/carbon.super/applications');
    event.rawQueryString = 'limit=1e300';
    event.queryStringParameters = { limit: '1e300' };
    const result = await management.handle(event, lambdaContext());
    expect([result.statusCode, bodyOf(result)]).toEqual([
      400,
      { error: 'bad_request', message: 'unknown query parameter "limit"' },
    ]);
    expect(registry.listApplications).not.toHaveBeenCalled();
  });

  it('never looks up credentials that cannot be client credentials (a 10 KB client id)', async () => {
    const { management, registry } = managementApi();
    const result = await management.handle(
      httpEvent('http-application-request.json', {
        headers: { authorization: basic('c'.repeat(10_000), 'secret') },
      }),
      lambdaContext(),
    );
    expect([result.statusCode, bodyOf(result).message]).toEqual([401, 'unknown client or wrong secret']);
    expect(registry.getClient).not.toHaveBeenCalled();
  });

  it('takes the largest fields allowed, and a tenant of the catalog', async () => {
    const putPlan = vi.fn();
    const createApplication = vi.fn(async (input: { tenant: string; name: string; owner: string }) => ({
      application: { ...alpha, ...input },
      secrets: {
        PRODUCTION: { clientId: 'p', clientSecret: 'ps' },
        SANDBOX: { clientId: 's', clientSecret: 'ss' },
      },
    }));
    const { management } = managementApi({ putPlan, createApplication });
    const plan = { events: 1e12, per: 'month', maxConnections: 1_000, description: 'd'.repeat(1_000) };
    const saved = await management.handle(
      admin('PUT', '/admin/tenants/carbon.super/plans/Big', plan),
      lambdaContext(),
    );
    expect([saved.statusCode, bodyOf(saved)]).toEqual([200, { name: 'Big', ...plan }]);
    const made = await management.handle(
      admin('POST', '/admin/tenants/carbon.super/applications', {
        name: 'n'.repeat(100),
        owner: 'o'.repeat(100),
      }),
      lambdaContext(),
    );
    expect(made.statusCode).toBe(201);
    expect(createApplication).toHaveBeenCalledWith({
      tenant: 'carbon.super',
      name: 'n'.repeat(100),
      owner: 'o'.repeat(100),
    });
  });
});
