/**
 * `$connect`: resolve what the URL points at, authorize the token, register the connection.
 * Answers 200, or 400/401/403/404 with the reason (also logged). API Gateway completes the
 * WebSocket upgrade only on 2xx.
 */
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { ConnectionStore } from '../adapters/connection-store.ts';
import { createDocumentClient } from '../adapters/dynamo.ts';
import { TokenVerifier } from '../adapters/token-verifier.ts';
import {
  connectScopes,
  extractToken,
  type IssuerConfig,
  type Principal,
  requireLifecycleAllowsConnect,
  requireScopes,
  requireTenant,
} from '../core/auth.ts';
import { apiKey } from '../core/catalog.ts';
import { newConnectionRecord } from '../core/connection.ts';
import { isGatewayError, unauthorized } from '../core/errors.ts';
import { createTargetResolver } from '../core/target.ts';
import { catalog } from '../shared/catalog.ts';
import { intEnv, jsonEnv, requireEnv } from '../shared/env.ts';
import { flushMetrics, logger, MetricUnit, metrics } from '../shared/observability.ts';

const store = new ConnectionStore(
  createDocumentClient(),
  requireEnv('CONNECTIONS_TABLE'),
  intEnv('TOPIC_SHARDS', 4),
);
const verifier = new TokenVerifier(jsonEnv<IssuerConfig[]>('TOKEN_ISSUERS'));
const resolver = createTargetResolver(catalog);

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
  try {
    const target = resolver.resolve(targetPath);
    requireLifecycleAllowsConnect(target.api);

    let principal: Principal | undefined;
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
    }

    await store.put(newConnectionRecord(connectionId, target, principal, connectedAt, apiKey(target.api)));
    logger.info('connection accepted', {
      api: target.api.id,
      topic: target.topic,
      clientId: principal?.clientId,
      viaDefaultVersion: target.viaDefaultVersion,
    });
    metrics.addMetric('connectionsAccepted', MetricUnit.Count, 1);
    return { statusCode: 200 };
  } catch (error) {
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
