/**
 * `$connect`: resolve what the URL points at, authorize the token, check the application's
 * subscription and plan, register the connection. Answers 200, or 400/401/403/404/429 with the
 * reason (also logged). API Gateway completes the WebSocket upgrade only on 2xx.
 */
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import type { Entitlement } from '../adapters/access.ts';
import { TokenVerifier } from '../adapters/token-verifier.ts';
import type { HandlerInvocation } from '../channel-handler/api.ts';
import {
  connectScopes,
  extractToken,
  type IssuerConfig,
  type Principal,
  requireLifecycleAllowsConnect,
  requireScopes,
  requireTenant,
} from '../core/auth.ts';
import { type ApiDef, apiKey } from '../core/catalog.ts';
import { newConnectionRecord } from '../core/connection.ts';
import {
  forbidden,
  GatewayError,
  gatewayErrorForStatus,
  isGatewayError,
  unauthorized,
} from '../core/errors.ts';
import { isLimited } from '../core/plans.ts';
import { createTargetResolver } from '../core/target.ts';
import { catalog } from '../shared/catalog.ts';
import { intEnv, jsonEnv } from '../shared/env.ts';
import { flushMetrics, logger, MetricUnit, metrics } from '../shared/observability.ts';
import { accessDirectory, channelHandlers, connectionStore, throttleStore } from '../shared/services.ts';

const store = connectionStore();
const throttle = throttleStore();
const access = accessDirectory();
const verifier = new TokenVerifier(
  jsonEnv<IssuerConfig[]>('TOKEN_ISSUERS'),
  5,
  intEnv('JWKS_COOLDOWN_SECONDS', 30) * 1000,
);
const resolver = createTargetResolver(catalog);
const handlers = channelHandlers();

/** API Gateway's CONNECT event carries headers and query strings (the V2 type lacks them). */
export type ConnectEvent = APIGatewayProxyWebsocketEventV2 & {
  headers?: Record<string, string | undefined>;
  queryStringParameters?: Record<string, string | undefined>;
};

export const handler = async (event: ConnectEvent): Promise<APIGatewayProxyResultV2> => {
  const { connectionId, connectedAt } = event.requestContext;
  const query = event.queryStringParameters ?? {};
  const targetPath = query.target ?? '';
  logger.appendKeys({ connectionId, target: targetPath });
  let slot: string | undefined;
  try {
    const target = resolver.resolve(targetPath);
    // The management API may have moved the API to another lifecycle state since it was deployed.
    requireLifecycleAllowsConnect(target.api, await access.lifecycleOf(target.api));

    let principal: Principal | undefined;
    let entitlement: Entitlement | undefined;
    if (target.api.secured && !target.channel.open) {
      const token = extractToken(event.headers, query);
      if (!token) {
        throw unauthorized(
          'an access token is required: send "Authorization: Bearer <token>" or ?access_token=<token>',
        );
      }
      principal = await verifier.verify(token);
      requireTenant(principal, target.api);
      requireScopes(principal, connectScopes(target.channel), `connect to ${target.channel.name}`);
      entitlement = await entitlementOf(principal, target.api);
      slot = await takeConnectionSlot(entitlement, connectionId);
    }

    await store.put(
      newConnectionRecord(connectionId, target, principal, connectedAt, apiKey(target.api), {
        ...(entitlement ? { app: { appId: entitlement.appId, appName: entitlement.appName } } : {}),
        holdsConnectionSlot: slot !== undefined,
      }),
    );
    if (target.channel.backend.type === 'handler') {
      await runConnectHandler(target.channel.backend.handler, {
        phase: 'connect',
        connectionId,
        apiId: target.api.id,
        topic: target.topic,
        params: target.params,
        ...(principal ? { principal: { clientId: principal.clientId, keyType: principal.keyType } } : {}),
        ...(entitlement ? { app: { appId: entitlement.appId, appName: entitlement.appName } } : {}),
      });
    }
    logger.info('connection accepted', {
      api: target.api.id,
      topic: target.topic,
      clientId: principal?.clientId,
      application: entitlement?.appName,
      plan: entitlement?.plan.name,
      keyType: principal?.keyType,
      viaDefaultVersion: target.viaDefaultVersion,
    });
    metrics.addMetric('connectionsAccepted', MetricUnit.Count, 1);
    return { statusCode: 200 };
  } catch (error) {
    if (slot) await throttle.releaseConnection(slot, connectionId);
    if (!isGatewayError(error)) throw error;
    logger.warn('connection refused', { status: error.status, reason: error.message });
    metrics.addMetric('connectionsRefused', MetricUnit.Count, 1);
    return {
      statusCode: error.status,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ error: error.code, message: error.message }),
    };
  } finally {
    flushMetrics();
    logger.removeKeys(['connectionId', 'target']);
  }
};

/** The application must be subscribed (or the API allow subscriptionless access), active, within its plan. */
async function entitlementOf(principal: Principal, api: ApiDef): Promise<Entitlement> {
  const app = await access.applicationOf(principal);
  if (!app) {
    throw forbidden(`client ${principal.clientId} of ${principal.issuer} is not mapped to an application`);
  }
  const entitlement = await access.entitlement(app, api);
  if (!entitlement) {
    throw forbidden(`application ${app.appName} is not subscribed to API ${api.name} ${api.version}`);
  }
  if (entitlement.status !== 'ACTIVE') {
    throw forbidden(
      `the subscription of ${app.appName} to API ${api.name} ${api.version} is ${entitlement.status}`,
    );
  }
  if (isLimited(entitlement.plan) && (await throttle.remaining(entitlement.key, entitlement.plan)) <= 0) {
    throw new GatewayError(
      'too_many_requests',
      `application ${app.appName} has used all ${entitlement.plan.events} events of plan ${entitlement.plan.name} this ${entitlement.plan.per}`,
    );
  }
  return entitlement;
}

/**
 * A channel handler's onConnect may refuse the connection; what it wants sent (a welcome, news to
 * other topics) goes out asynchronously, once the socket is open.
 */
async function runConnectHandler(handler: string, invocation: HandlerInvocation): Promise<void> {
  let result: Awaited<ReturnType<typeof handlers.call>>;
  try {
    result = await handlers.call(handler, invocation);
  } catch (error) {
    await store.remove(invocation.connectionId); // the caller gives back the connection slot
    throw error;
  }
  if (result.rejected) {
    await store.remove(invocation.connectionId);
    throw gatewayErrorForStatus(result.rejected.status, result.rejected.message);
  }
  if (result.actions.length)
    await handlers.send(handler, { ...invocation, phase: 'opened', actions: result.actions });
}

/** A plan that caps concurrent connections: take a slot, or refuse with 429. */
async function takeConnectionSlot(
  entitlement: Entitlement,
  connectionId: string,
): Promise<string | undefined> {
  const max = entitlement.plan.maxConnections;
  if (max === undefined) return undefined;
  if (!(await throttle.acquireConnection(entitlement.key, max, connectionId))) {
    throw new GatewayError(
      'too_many_requests',
      `application ${entitlement.appName} already holds the ${max} connections plan ${entitlement.plan.name} allows`,
    );
  }
  return entitlement.key;
}
