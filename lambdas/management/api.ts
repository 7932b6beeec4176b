/**
 * The management API's routes (HTTP API, payload 2.0) on Powertools' HTTP router; the reference
 * is docs/management-api.yaml, checked against `routes` by test/unit/management-api-doc.test.ts.
 *   /admin/…             administrators: IAM (SigV4) authorization on the API Gateway route; every tenant
 *   /applications/self…  an application with its own client credentials (HTTP Basic): its own data only
 * Refusals are JSON, `{"error": code, "message": what is wrong}` (shared/http.ts `httpRefusal`).
 */
import { type HttpVerbs, ParameterValidationError, Router } from '@aws-lambda-powertools/event-handler/http';
import type { HandlerResponse } from '@aws-lambda-powertools/event-handler/types';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { z } from 'zod';
import type { Deliverer } from '../adapters/delivery.ts';
import type { Registry } from '../adapters/registry.ts';
import type { ThrottleStore } from '../adapters/throttle-store.ts';
import {
  type Application,
  KEY_TYPES,
  type SubscriptionStatus,
  validApplicationName,
} from '../core/applications.ts';
import { exportAsyncApi, type PublicUrls } from '../core/asyncapi-export.ts';
import type { KeyType } from '../core/auth.ts';
import { type ApiDef, apiPath, type Catalog, type LifecycleState } from '../core/catalog.ts';
import { plausibleClientCredentials, verifySecret } from '../core/credentials.ts';
import { badRequest, GatewayError, notFound } from '../core/errors.ts';
import { MAX_MESSAGE_BYTES } from '../core/fanout-plan.ts';
import {
  ChangeLifecycle,
  ChangeSubscription,
  CreateApplication,
  LIMITS,
  MapExternalClient,
  NoInput,
  PlanInput,
  Publish,
  parseInput,
  planFromInput,
  Subscribe,
} from '../core/management-schemas.ts';
import { PLAN_NAME, type Plan, subscriptionKey } from '../core/plans.ts';
import { createTargetResolver } from '../core/target.ts';
import { decodablePath, type HttpResult, header, httpRefusal, json, jsonBody } from '../shared/http.ts';
import { logger, MetricUnit, metrics } from '../shared/observability.ts';

/** What the routes read and write; each is an adapter built once per execution environment. */
export interface ManagementDependencies {
  registry: Pick<
    Registry,
    | 'listApplications'
    | 'createApplication'
    | 'getApplication'
    | 'deleteApplication'
    | 'rotateSecret'
    | 'mapExternalClient'
    | 'getClient'
    | 'listSubscriptions'
    | 'subscribe'
    | 'updateSubscription'
    | 'deleteSubscription'
    | 'listPlans'
    | 'getPlan'
    | 'putPlan'
    | 'listLifecycles'
    | 'getLifecycle'
    | 'setLifecycle'
  >;
  throttle: Pick<ThrottleStore, 'usage'>;
  delivery: Pick<Deliverer, 'toSubscribers'>;
  catalog: Catalog;
  /** The URLs the exported AsyncAPI documents name as servers and token endpoint. */
  publicUrls: PublicUrls;
}

type HttpMethod = keyof typeof HttpVerbs;

/** One served route: method and path in the router's syntax (`:name` parameters), and its body. */
export interface ManagementRoute {
  method: HttpMethod;
  path: `/${string}`;
  /** The schema of the JSON body (core/management-schemas.ts); routes without one take none. */
  body?: z.ZodType;
}

export interface ManagementApi {
  /** Every route the router serves, in registration order. */
  readonly routes: readonly ManagementRoute[];
  /**
   * Answer one HTTP API request. Refusals (GatewayError) are answered with their status; an
   * unexpected error is rethrown so the invocation fails as before (API Gateway answers 500).
   */
  handle(event: APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyStructuredResultV2>;
}

/** The parameters a path declares: `/a/:x/b/:y` → `{ x: string; y: string }`. */
type ParamsOf<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? { [K in Name]: string } & ParamsOf<`/${Rest}`>
  : P extends `${string}:${infer Name}`
    ? { [K in Name]: string }
    : unknown;

interface ApiRequest<P extends string, B> {
  event: APIGatewayProxyEventV2;
  /** The path's parameters, URL-decoded by the router and checked (see `checkParameters`). */
  params: ParamsOf<P>;
  /** The JSON body as the route's schema reads it; bad_request naming the field when it does not fit. */
  body: () => B;
}

/** A tenant domain as WSO2 names tenants (`carbon.super`, `quantis.com`), at most 253 characters (DNS). */
const TENANT = /^(?=.{1,253}$)[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;
/** The tenant every WSO2 deployment has, whether or not an API belongs to it. */
const SUPER_TENANT = 'carbon.super';
/** Where a backend's publish must be delivered by (ms from now). */
const PUBLISH_DEADLINE_MS = 10_000;

/** The router, and the one question it cannot answer itself: is the path served with another method? */
class ManagementRouter extends Router {
  servesPathWithAnotherMethod(path: `/${string}`): boolean {
    return (['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const).some((method) => {
      try {
        return this.routeRegistry.resolve(method, path) !== null;
      } catch {
        return true; // the path matched, its parameters did not validate
      }
    });
  }
}

/** The path as the router matches it: the URL's path without trailing slashes. */
function routerPath(request: Request): `/${string}` {
  const path = new URL(request.url).pathname;
  return (path === '/' ? path : path.replace(/\/+$/, '')) as `/${string}`;
}

/** The path as the caller sent it, for messages and logs. */
function requestPath(event: APIGatewayProxyEventV2): string {
  return event.rawPath.replace(/\/+$/, '') || '/';
}

/** A value from the request, quoted for a message (long values cut: messages are not an echo channel). */
const quote = (value: string) => `"${value.length > 100 ? `${value.slice(0, 100)}…` : value}"`;

/**
 * A result as the router takes it: its type wants a body, a 204 has none (the router then answers
 * with a null body, as a 204 must).
 */
const answer = (result: HttpResult) => result as HandlerResponse;
const created = (body: unknown) => json(201, body);
const noContent = (): HttpResult => ({ statusCode: 204 });

/** The management API over its dependencies (no I/O until a request arrives). */
export function createManagementApi(deps: ManagementDependencies): ManagementApi {
  const { registry, throttle, delivery, catalog, publicUrls } = deps;
  const resolver = createTargetResolver(catalog);
  const router = new ManagementRouter({ logger });
  /**
   * The tenants administrators may manage: those the deployed APIs belong to, and carbon.super
   * (WSO2's super tenant, always present). Tenants are defined by deploying APIs for them; a name
   * nobody deployed for is refused rather than filled with applications and plans no API can use.
   */
  const tenants = new Set([SUPER_TENANT, ...catalog.apis.map((api) => api.tenant)]);
  const routes: ManagementRoute[] = [];
  /** Unexpected errors by event, rethrown after the router answered (it would answer 500 itself). */
  const failures = new WeakMap<object, unknown>();

  /** Serve a route; its body is read with `schema` (routes without one take no body). */
  function on<P extends `/${string}`, S extends z.ZodType = typeof NoInput>(
    method: HttpMethod,
    path: P,
    handler: (request: ApiRequest<P, z.output<S>>) => Promise<HttpResult>,
    schema?: S,
  ): void {
    routes.push({ method, path, ...(schema ? { body: schema } : {}) });
    router.route(
      async ({ event: raw, params }) => {
        const event = raw as APIGatewayProxyEventV2;
        checkParameters(params);
        const query = Object.keys(event.queryStringParameters ?? {});
        if (query.length) throw badRequest(`unknown query parameter ${quote(query[0] as string)}`);
        // An unread body is refused all the same when it holds anything (unknown fields).
        const body = parseInput(schema ?? NoInput, jsonBody(event, LIMITS.body)) as z.output<S>;
        return answer(await handler({ event, params: params as ParamsOf<P>, body: () => body }));
      },
      { method, path },
    );
  }

  /**
   * The path's parameters must name something that can exist: a tenant the catalog knows, names
   * within the lengths of the stored items' keys. A malformed one is refused before any lookup.
   */
  function checkParameters(params: Record<string, string>): void {
    const { tenant, app, plan, api, version } = params;
    if (tenant !== undefined) {
      if (!TENANT.test(tenant)) throw badRequest(`${quote(tenant)} is not a tenant domain`);
      if (!tenants.has(tenant))
        throw notFound(`no tenant ${tenant}; the tenants are ${[...tenants].sort().join(', ')}`);
    }
    if (app !== undefined && !validApplicationName(app))
      throw badRequest(`${quote(app)} is not an application name`);
    if (plan !== undefined && !PLAN_NAME.test(plan))
      throw badRequest('a plan name holds letters, digits, "_" and "-" (at most 64)');
    if (api !== undefined && api.length > LIMITS.name) throw notFound(`no API ${quote(api)}`);
    if (version !== undefined && version.length > LIMITS.version)
      throw notFound(`no API version ${quote(version)}`);
  }

  router.errorHandler(GatewayError, async (error, { event }) => {
    const { requestContext } = event as APIGatewayProxyEventV2;
    logger.warn('management request refused', {
      method: requestContext.http.method,
      path: requestPath(event as APIGatewayProxyEventV2),
      status: error.status,
      reason: error.message,
    });
    return answer(httpRefusal(error));
  });

  router.notFound(async (_error, { event, req }) => {
    const path = requestPath(event as APIGatewayProxyEventV2);
    return answer(
      router.servesPathWithAnotherMethod(routerPath(req))
        ? json(405, { error: 'method_not_allowed', message: `${req.method} is not allowed on ${path}` })
        : json(404, { error: 'not_found', message: `no resource ${path}` }),
    );
  });

  // The router's own refusal (a path parameter that is only blanks), as one of ours.
  router.errorHandler(ParameterValidationError, async (error) =>
    answer(httpRefusal(badRequest(error.issues.join(', ')))),
  );

  router.errorHandler(Error, async (error, { event }) => {
    failures.set(event, error);
    return answer(json(500, { error: 'internal_error', message: 'internal error' }));
  });

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
  function apiFromBody(tenant: string, body: z.output<typeof Subscribe>): ApiDef {
    if (body.api !== undefined) {
      const path =
        body.api.startsWith('/t/') || tenant === 'carbon.super' ? body.api : `/t/${tenant}${body.api}`;
      let api: ApiDef;
      try {
        api = resolver.resolveApi(path);
      } catch (error) {
        throw new GatewayError('not_found', `no API at ${body.api} in tenant ${tenant}`, undefined, {
          cause: error,
        });
      }
      if (api.tenant !== tenant) throw notFound(`no API at ${body.api} in tenant ${tenant}`);
      return api;
    }
    if (!body.name?.trim()) throw badRequest('"name" is required');
    if (!body.version?.trim()) throw badRequest('"version" is required');
    return apiOr404(tenant, body.name.trim(), body.version.trim());
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

  /** The application whose PRODUCTION or SANDBOX credentials the request carries (HTTP Basic). */
  async function callingApplication(event: APIGatewayProxyEventV2): Promise<Application> {
    const authorization = header(event, 'authorization');
    const match = authorization ? /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(authorization.trim()) : null;
    if (!match)
      throw new GatewayError('unauthorized', "send the application's client credentials as HTTP Basic");
    const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const [clientId, secret] = [decoded.slice(0, colon), decoded.slice(colon + 1)];
    // Only what could be a client id reaches the registry (a key longer than DynamoDB's is a 500).
    const client =
      colon > 0 && plausibleClientCredentials(clientId, secret)
        ? await registry.getClient(clientId)
        : undefined;
    if (!client || !verifySecret(secret, client.secretHash)) {
      throw new GatewayError('unauthorized', 'unknown client or wrong secret');
    }
    return applicationOr404(client.tenant, client.appName);
  }

  // --- administrators (IAM-authorized routes) ----------------------------------------------------------

  const T = '/admin/tenants/:tenant';

  on('GET', `${T}/applications`, async ({ params }) =>
    json(200, { applications: await registry.listApplications(params.tenant) }),
  );

  on(
    'POST',
    `${T}/applications`,
    async ({ params, body }) => {
      const { name, owner = 'admin' } = body();
      const { application, secrets } = await registry.createApplication({
        tenant: params.tenant,
        name,
        owner,
      });
      logger.info('application created', { tenant: application.tenant, application: name });
      return created({ application, keys: secrets });
    },
    CreateApplication,
  );

  on('GET', `${T}/applications/:app`, async ({ params }) =>
    json(200, await applicationOr404(params.tenant, params.app)),
  );

  on('DELETE', `${T}/applications/:app`, async ({ params }) => {
    if (!(await registry.deleteApplication(params.tenant, params.app))) {
      throw notFound(`no application ${params.app} in tenant ${params.tenant}`);
    }
    return noContent();
  });

  on('POST', `${T}/applications/:app/keys/:keyType/secret`, async ({ params }) => {
    const keyType = params.keyType.toUpperCase() as KeyType;
    if (!KEY_TYPES.includes(keyType)) throw badRequest('the key type is PRODUCTION or SANDBOX');
    return json(200, await registry.rotateSecret(params.tenant, params.app, keyType));
  });

  on(
    'POST',
    `${T}/applications/:app/external-clients`,
    async ({ params, body }) => {
      const { issuer, clientId } = body();
      const application = await applicationOr404(params.tenant, params.app);
      await registry.mapExternalClient(issuer, clientId, application);
      return created({ issuer, clientId, application: application.name });
    },
    MapExternalClient,
  );

  on('GET', `${T}/applications/:app/subscriptions`, async ({ params }) => {
    const application = await applicationOr404(params.tenant, params.app);
    return json(200, { subscriptions: await registry.listSubscriptions(application.appId) });
  });

  on(
    'POST',
    `${T}/applications/:app/subscriptions`,
    async ({ params, body }) => {
      const input = body();
      const application = await applicationOr404(params.tenant, params.app);
      const api = apiFromBody(params.tenant, input);
      const plan = await planOr400(params.tenant, input.plan, api);
      const subscription = await registry.subscribe(application, api.id, plan.name);
      logger.info('subscribed', { application: application.name, api: api.id, plan: plan.name });
      return created(subscription);
    },
    Subscribe,
  );

  on(
    'PATCH',
    `${T}/applications/:app/subscriptions/:api/:version`,
    async ({ params, body }) => {
      const input = body();
      const application = await applicationOr404(params.tenant, params.app);
      const api = apiOr404(params.tenant, params.api, params.version);
      const change: { plan?: string; status?: SubscriptionStatus } = {};
      if (input.plan !== undefined) change.plan = (await planOr400(params.tenant, input.plan, api)).name;
      if (input.status !== undefined) change.status = input.status as SubscriptionStatus;
      if (!change.plan && !change.status) throw badRequest('nothing to change: send "plan" and/or "status"');
      return json(200, await registry.updateSubscription(application.appId, api.id, change));
    },
    ChangeSubscription,
  );

  on('DELETE', `${T}/applications/:app/subscriptions/:api/:version`, async ({ params }) => {
    const application = await applicationOr404(params.tenant, params.app);
    const api = apiOr404(params.tenant, params.api, params.version);
    if (!(await registry.deleteSubscription(application.appId, api.id))) {
      throw notFound(`${application.name} is not subscribed to ${api.name} ${api.version}`);
    }
    return noContent();
  });

  on('GET', `${T}/applications/:app/usage`, async ({ params }) =>
    json(200, { usage: await usageOf(await applicationOr404(params.tenant, params.app)) }),
  );

  on('GET', `${T}/plans`, async ({ params }) =>
    json(200, { plans: await registry.listPlans(params.tenant) }),
  );

  on(
    'PUT',
    `${T}/plans/:plan`,
    async ({ params, body }) => {
      const plan = planFromInput(params.plan, body());
      await registry.putPlan(params.tenant, plan);
      logger.info('plan saved', { tenant: params.tenant, plan: plan.name });
      return json(200, plan);
    },
    PlanInput,
  );

  on('GET', `${T}/apis`, async ({ params }) => {
    const states = await registry.listLifecycles(params.tenant);
    return json(200, {
      apis: catalog.apis
        .filter((a) => a.tenant === params.tenant)
        .map((a) => describeApi(a, states.get(a.id) ?? a.lifecycle)),
    });
  });

  on('GET', `${T}/apis/:api/:version`, async ({ params }) => {
    const api = apiOr404(params.tenant, params.api, params.version);
    return json(200, describeApi(api, (await registry.getLifecycle(api.tenant, api.id)) ?? api.lifecycle));
  });

  /** The API's AsyncAPI document for its consumers (service catalogs, AsyncAPI tools). */
  on('GET', `${T}/apis/:api/:version/asyncapi`, async ({ params }) => {
    const api = apiOr404(params.tenant, params.api, params.version);
    const document = catalog.documents?.[api.id];
    if (!document) throw new GatewayError('internal_error', `the definition of ${api.id} was not deployed`);
    return json(200, exportAsyncApi(document, api, publicUrls));
  });

  on(
    'PUT',
    `${T}/apis/:api/:version/lifecycle`,
    async ({ params, body }) => {
      const api = apiOr404(params.tenant, params.api, params.version);
      const state = body().state as LifecycleState;
      await registry.setLifecycle(api.tenant, api.id, state);
      logger.info('lifecycle changed', { api: api.id, state });
      return json(200, describeApi(api, state));
    },
    ChangeLifecycle,
  );

  /**
   * A backend (an http backend's server, a producer of events) pushes a frame to every subscriber of
   * a topic instance, charged to their plans like any delivery.
   */
  on(
    'POST',
    `${T}/apis/:api/:version/publish`,
    async ({ params, body }) => {
      const api = apiOr404(params.tenant, params.api, params.version);
      const request = body();
      const target = resolver.resolveTopic(api, request.topic);
      if (!target.channel.sub)
        throw badRequest(`topic ${target.topic} has no subscribers (it is publish only)`);
      const data = typeof request.data === 'string' ? request.data : JSON.stringify(request.data);
      if (Buffer.byteLength(data) > MAX_MESSAGE_BYTES)
        throw new GatewayError('payload_too_large', 'a frame is at most 128 KB');
      const outcome = await delivery.toSubscribers(
        api,
        target.topicKey,
        data,
        Date.now() + PUBLISH_DEADLINE_MS,
      );
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
    },
    Publish,
  );

  // --- an application's own view (client credentials) --------------------------------------------------

  on('GET', '/applications/self', async ({ event }) => json(200, await callingApplication(event)));

  on('GET', '/applications/self/subscriptions', async ({ event }) => {
    const application = await callingApplication(event);
    return json(200, { subscriptions: await registry.listSubscriptions(application.appId) });
  });

  on('GET', '/applications/self/usage', async ({ event }) =>
    json(200, { usage: await usageOf(await callingApplication(event)) }),
  );

  return {
    routes,
    async handle(event, context) {
      // A percent-escape that does not decode is the caller's mistake, whatever the route or auth.
      if (!decodablePath(event.rawPath))
        return httpRefusal(badRequest('the path is not percent-encoded correctly'));
      const response = await router.resolve(event, context);
      if (failures.has(event)) {
        const failure = failures.get(event);
        failures.delete(event);
        throw failure;
      }
      return response;
    },
  };
}
