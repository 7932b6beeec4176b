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
