/**
 * The management API (HTTP API, payload 2.0); its reference is docs/management-api.yaml.
 *   /admin/…          administrators: IAM (SigV4) authorization on the route; every tenant
 *   /applications/self… an application with its own client credentials (HTTP Basic): its own data only
 * Errors are JSON: {"error": code, "message": what is wrong}.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { Subscription, SubscriptionStatus } from '../adapters/registry.ts';
import type { Application } from '../core/applications.ts';
import { KEY_TYPES, validApplicationName } from '../core/applications.ts';
import { exportAsyncApi, type PublicUrls } from '../core/asyncapi-export.ts';
import type { KeyType } from '../core/auth.ts';
import { type ApiDef, apiPath, LIFECYCLE_STATES, type LifecycleState } from '../core/catalog.ts';
import { verifySecret } from '../core/credentials.ts';
import { badRequest, GatewayError, isGatewayError, notFound } from '../core/errors.ts';
import { MAX_MESSAGE_BYTES } from '../core/fanout-plan.ts';
import { type Plan, subscriptionKey, validatePlan } from '../core/plans.ts';
import { createTargetResolver } from '../core/target.ts';
import { catalog } from '../shared/catalog.ts';
import { ENV } from '../shared/env.ts';
import { bodyText, header, json } from '../shared/http.ts';
import { flushMetrics, logger, MetricUnit, metrics } from '../shared/observability.ts';
import {
  accessDirectory,
  connectionStore,
  connectionsApi,
  registry as createRegistry,
  deliverer,
  throttleStore,
} from '../shared/services.ts';

const registry = createRegistry();

const throttle = throttleStore();
const delivery = deliverer(connectionStore(), connectionsApi(), throttle, accessDirectory());
const resolver = createTargetResolver(catalog);
const edgeUrl = ENV.webSocketEdgeUrl.read();
const publicUrls: PublicUrls = {
  stage: ENV.webSocketStageUrl.read(),
  token: ENV.tokenUrl.read(),
  ...(edgeUrl ? { edge: edgeUrl } : {}),
};
const TENANT = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;

type Handler = (request: Request) => Promise<APIGatewayProxyStructuredResultV2>;
interface Request {
  event: APIGatewayProxyEventV2;
  params: Record<string, string>;
  body: () => Record<string, unknown>;
}

const routes: [string, RegExp, Handler][] = [];
function route(method: string, pattern: string, handler: Handler): void {
  const regex = new RegExp(`^${pattern.replace(/\{(\w+)\}/g, '(?<$1>[^/]+)')}$`);
  routes.push([method, regex, handler]);
}

export const handler = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  const method = event.requestContext.http.method;
  const path = event.rawPath.replace(/\/+$/, '') || '/';
  try {
    for (const [m, regex, fn] of routes) {
      const match = regex.exec(path);
      if (!match || m !== method) continue;
      const params = Object.fromEntries(
        Object.entries(match.groups ?? {}).map(([k, v]) => [k, decodeURIComponent(v)]),
      );
      if (params.tenant !== undefined && !TENANT.test(params.tenant))
        throw badRequest(`"${params.tenant}" is not a tenant domain`);
      return await fn({ event, params, body: () => parseBody(event) });
    }
    const known = routes.some(([, regex]) => regex.test(path));
    return json(known ? 405 : 404, {
      error: known ? 'method_not_allowed' : 'not_found',
      message: known ? `${method} is not allowed on ${path}` : `no resource ${path}`,
    });
  } catch (error) {
    if (!isGatewayError(error)) throw error;
    logger.warn('management request refused', { method, path, status: error.status, reason: error.message });
    return json(
      error.status,
      { error: error.code, message: error.message },
      error.status === 401 ? { 'www-authenticate': 'Basic realm="streamgate"' } : {},
    );
  } finally {
    metrics.addMetric('managementRequests', MetricUnit.Count, 1);
    flushMetrics();
  }
};

function parseBody(event: APIGatewayProxyEventV2): Record<string, unknown> {
  const text = bodyText(event);
  if (!text) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw badRequest('the request body must be JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw badRequest('the request body must be a JSON object');
  return parsed as Record<string, unknown>;
}

function requireString(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value.trim() === '') throw badRequest(`"${field}" is required`);
  return value.trim();
}

// --- lookups ---------------------------------------------------------------------------------------

async function applicationOr404(tenant: string, name: string): Promise<Application> {
  const application = await registry.getApplication(tenant, name);
  if (!application) throw notFound(`no application ${name} in tenant ${tenant}`);
  return application;
}

function apiOr404(tenant: string, name: string, version: string): ApiDef {
  const api = catalog.apis.find((a) => a.tenant === tenant && a.name === name && a.version === version);
  if (!api) throw notFound(`no API ${name} ${version} in tenant ${tenant}`);
  return api;
}

/** An API named in a request body: its path (`/chats/1.0.0`) or `{"name","version"}`. */
function apiFromBody(tenant: string, body: Record<string, unknown>): ApiDef {
  if (typeof body.api === 'string') {
    const path =
      body.api.startsWith('/t/') || tenant === 'carbon.super' ? body.api : `/t/${tenant}${body.api}`;
    let api: ApiDef;
    try {
      api = resolver.resolveApi(path);
    } catch {
      throw notFound(`no API at ${body.api} in tenant ${tenant}`);
    }
    if (api.tenant !== tenant) throw notFound(`no API at ${body.api} in tenant ${tenant}`);
    return api;
  }
  return apiOr404(tenant, requireString(body, 'name'), requireString(body, 'version'));
}

async function planOr400(tenant: string, name: string, api: ApiDef): Promise<Plan> {
  if (!api.plans.includes(name)) {
    throw badRequest(
      `API ${api.name} ${api.version} does not offer plan ${name}; it offers ${api.plans.join(', ')}`,
    );
  }
  const plan = await registry.getPlan(tenant, name);
  if (!plan) throw badRequest(`no plan ${name} in tenant ${tenant}`);
  return plan;
}

function describeApi(api: ApiDef, lifecycle: LifecycleState) {
  return {
    id: api.id,
    name: api.name,
    version: api.version,
    tenant: api.tenant,
    context: api.context,
    path: apiPath(api),
    lifecycle,
    defaultVersion: api.defaultVersion,
    plans: api.plans,
    channels: api.channels.map((c) => ({
      name: c.name,
      pub: c.pub,
      sub: c.sub,
      scopes: [...new Set([...c.pubScopes, ...c.subScopes])],
      backend: c.backend.type,
    })),
  };
}

async function usageOf(application: Application) {
  const subscriptions = await registry.listSubscriptions(application.appId);
  return Promise.all(
    subscriptions.map(async (subscription) => {
      const plan = (await registry.getPlan(application.tenant, subscription.plan)) ?? {
        name: subscription.plan,
      };
      const usage = await throttle.usage(subscriptionKey(application.appId, subscription.apiId), plan);
      return {
        api: subscription.apiId,
        plan: subscription.plan,
        status: subscription.status,
        ...usage,
        ...(usage.limit !== undefined ? { remaining: Math.max(0, usage.limit - usage.used) } : {}),
      };
    }),
  );
}

const created = (body: unknown) => json(201, body);
const noContent = (): APIGatewayProxyStructuredResultV2 => ({ statusCode: 204 });

// --- administrators (IAM-authorized routes) ----------------------------------------------------------

const T = '/admin/tenants/{tenant}';

route('GET', `${T}/applications`, async ({ params }) =>
  json(200, { applications: await registry.listApplications(params.tenant as string) }),
);

route('POST', `${T}/applications`, async ({ params, body }) => {
  const input = body();
  const name = requireString(input, 'name');
  if (!validApplicationName(name))
    throw badRequest(
      'an application name starts with a letter or digit and holds letters, digits, spaces, ".", "_" and "-" (at most 100)',
    );
  const owner = typeof input.owner === 'string' ? input.owner : 'admin';
  const { application, secrets } = await registry.createApplication({
    tenant: params.tenant as string,
    name,
    owner,
  });
  logger.info('application created', { tenant: application.tenant, application: name });
  return created({ application, keys: secrets });
});

route('GET', `${T}/applications/{app}`, async ({ params }) =>
  json(200, await applicationOr404(params.tenant as string, params.app as string)),
);

route('DELETE', `${T}/applications/{app}`, async ({ params }) => {
  if (!(await registry.deleteApplication(params.tenant as string, params.app as string))) {
    throw notFound(`no application ${params.app} in tenant ${params.tenant}`);
  }
  return noContent();
});

route('POST', `${T}/applications/{app}/keys/{keyType}/secret`, async ({ params }) => {
  const keyType = String(params.keyType).toUpperCase();
  if (!KEY_TYPES.includes(keyType as KeyType)) throw badRequest('the key type is PRODUCTION or SANDBOX');
  return json(
    200,
    await registry.rotateSecret(params.tenant as string, params.app as string, keyType as KeyType),
  );
});

route('POST', `${T}/applications/{app}/external-clients`, async ({ params, body }) => {
  const input = body();
  const application = await applicationOr404(params.tenant as string, params.app as string);
  const issuer = requireString(input, 'issuer');
  const clientId = requireString(input, 'clientId');
  await registry.mapExternalClient(issuer, clientId, application);
  return created({ issuer, clientId, application: application.name });
});

route('GET', `${T}/applications/{app}/subscriptions`, async ({ params }) => {
  const application = await applicationOr404(params.tenant as string, params.app as string);
  return json(200, { subscriptions: await registry.listSubscriptions(application.appId) });
});

route('POST', `${T}/applications/{app}/subscriptions`, async ({ params, body }) => {
  const tenant = params.tenant as string;
  const input = body();
  const application = await applicationOr404(tenant, params.app as string);
  const api = apiFromBody(tenant, input);
  const plan = await planOr400(tenant, requireString(input, 'plan'), api);
  const subscription = await registry.subscribe(application, api.id, plan.name);
  logger.info('subscribed', { application: application.name, api: api.id, plan: plan.name });
  return created(subscription);
});

async function changeSubscription(
  params: Record<string, string>,
  input: Record<string, unknown>,
): Promise<Subscription> {
  const tenant = params.tenant as string;
  const application = await applicationOr404(tenant, params.app as string);
  const api = apiOr404(tenant, params.api as string, params.version as string);
  const change: { plan?: string; status?: SubscriptionStatus } = {};
  if (input.plan !== undefined)
    change.plan = (await planOr400(tenant, requireString(input, 'plan'), api)).name;
  if (input.status !== undefined) {
    if (input.status !== 'ACTIVE' && input.status !== 'BLOCKED')
      throw badRequest('status is ACTIVE or BLOCKED');
    change.status = input.status;
  }
  if (!change.plan && !change.status) throw badRequest('nothing to change: send "plan" and/or "status"');
  return registry.updateSubscription(application.appId, api.id, change);
}

route('PATCH', `${T}/applications/{app}/subscriptions/{api}/{version}`, async ({ params, body }) =>
  json(200, await changeSubscription(params, body())),
);

route('DELETE', `${T}/applications/{app}/subscriptions/{api}/{version}`, async ({ params }) => {
  const tenant = params.tenant as string;
  const application = await applicationOr404(tenant, params.app as string);
  const api = apiOr404(tenant, params.api as string, params.version as string);
  if (!(await registry.deleteSubscription(application.appId, api.id))) {
    throw notFound(`${application.name} is not subscribed to ${api.name} ${api.version}`);
  }
  return noContent();
});

route('GET', `${T}/applications/{app}/usage`, async ({ params }) =>
  json(200, { usage: await usageOf(await applicationOr404(params.tenant as string, params.app as string)) }),
);

route('GET', `${T}/plans`, async ({ params }) =>
  json(200, { plans: await registry.listPlans(params.tenant as string) }),
);

route('PUT', `${T}/plans/{plan}`, async ({ params, body }) => {
  const plan = validatePlan(params.plan as string, body());
  if (typeof plan === 'string') throw badRequest(plan);
  await registry.putPlan(params.tenant as string, plan);
  logger.info('plan saved', { tenant: params.tenant, plan: plan.name });
  return json(200, plan);
});

route('GET', `${T}/apis`, async ({ params }) => {
  const tenant = params.tenant as string;
  const states = await registry.listLifecycles(tenant);
  return json(200, {
    apis: catalog.apis
      .filter((a) => a.tenant === tenant)
      .map((a) => describeApi(a, states.get(a.id) ?? a.lifecycle)),
  });
});

route('GET', `${T}/apis/{api}/{version}`, async ({ params }) => {
  const api = apiOr404(params.tenant as string, params.api as string, params.version as string);
  return json(200, describeApi(api, (await registry.getLifecycle(api.tenant, api.id)) ?? api.lifecycle));
});

/** The API's AsyncAPI document for its consumers (service catalogs, AsyncAPI tools). */
route('GET', `${T}/apis/{api}/{version}/asyncapi`, async ({ params }) => {
  const api = apiOr404(params.tenant as string, params.api as string, params.version as string);
  const document = catalog.documents?.[api.id];
  if (!document) throw new GatewayError('internal_error', `the definition of ${api.id} was not deployed`);
  return json(200, exportAsyncApi(document, api, publicUrls));
});

route('PUT', `${T}/apis/{api}/{version}/lifecycle`, async ({ params, body }) => {
  const api = apiOr404(params.tenant as string, params.api as string, params.version as string);
  const state = requireString(body(), 'state').toUpperCase() as LifecycleState;
  if (!LIFECYCLE_STATES.includes(state)) throw badRequest(`state is one of ${LIFECYCLE_STATES.join(', ')}`);
  await registry.setLifecycle(api.tenant, api.id, state);
  logger.info('lifecycle changed', { api: api.id, state });
  return json(200, describeApi(api, state));
});

/**
 * A backend (an http backend's server, a producer of events) pushes a frame to every subscriber of
 * a topic instance, charged to their plans like any delivery.
 */
route('POST', `${T}/apis/{api}/{version}/publish`, async ({ params, body }) => {
  const api = apiOr404(params.tenant as string, params.api as string, params.version as string);
  const request = body();
  const target = resolver.resolveTopic(api, requireString(request, 'topic'));
  if (!target.channel.sub) throw badRequest(`topic ${target.topic} has no subscribers (it is publish only)`);
  const data =
    typeof request.data === 'string'
      ? request.data
      : request.data !== undefined && request.data !== null
        ? JSON.stringify(request.data)
        : undefined;
  if (data === undefined) throw badRequest('"data" is required: the frame, as a string or JSON');
  if (Buffer.byteLength(data) > MAX_MESSAGE_BYTES)
    throw new GatewayError('payload_too_large', 'a frame is at most 128 KB');
  const outcome = await delivery.toSubscribers(api, target.topicKey, data, Date.now() + 10_000);
  metrics.addMetric('backendPublished', MetricUnit.Count, outcome.sent);
  logger.info('published for a backend', { api: api.id, topic: target.topic, sent: outcome.sent });
  return json(200, {
    topic: target.topic,
    recipients: outcome.recipients,
    delivered: outcome.sent,
    throttled: outcome.throttledEvents,
    gone: outcome.gone.length,
    failed: outcome.failed.length,
  });
});

// --- an application's own view (client credentials) --------------------------------------------------

/** The application whose PRODUCTION or SANDBOX credentials the request carries (HTTP Basic). */
async function callingApplication(request: Request): Promise<Application> {
  const authorization = header(request.event, 'authorization');
  const match = authorization ? /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(authorization.trim()) : null;
  if (!match)
    throw new GatewayError('unauthorized', "send the application's client credentials as HTTP Basic");
  const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const client = colon > 0 ? await registry.getClient(decoded.slice(0, colon)) : undefined;
  if (!client || !verifySecret(decoded.slice(colon + 1), client.secretHash)) {
    throw new GatewayError('unauthorized', 'unknown client or wrong secret');
  }
  return applicationOr404(client.tenant, client.appName);
}

route('GET', '/applications/self', async (request) => json(200, await callingApplication(request)));

route('GET', '/applications/self/subscriptions', async (request) => {
  const application = await callingApplication(request);
  return json(200, { subscriptions: await registry.listSubscriptions(application.appId) });
});

route('GET', '/applications/self/usage', async (request) =>
  json(200, { usage: await usageOf(await callingApplication(request)) }),
);
