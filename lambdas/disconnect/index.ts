/**
 * `$disconnect`: remove the connection and its subscriptions. AWS delivers this event only
 * best-effort; the records' TTL and the fan-out's 410 handling clean up what it misses.
 */
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { ConnectionStore } from '../adapters/connection-store.ts';
import { createDocumentClient } from '../adapters/dynamo.ts';
import { intEnv, requireEnv } from '../shared/env.ts';
import { flushMetrics, logger, MetricUnit, metrics } from '../shared/observability.ts';

const store = new ConnectionStore(
  createDocumentClient(),
  requireEnv('CONNECTIONS_TABLE'),
  intEnv('TOPIC_SHARDS', 4),
);

export type DisconnectEvent = APIGatewayProxyWebsocketEventV2 & {
  requestContext: { disconnectStatusCode?: number; disconnectReason?: string };
};

export const handler = async (event: DisconnectEvent): Promise<APIGatewayProxyResultV2> => {
  const { connectionId, disconnectStatusCode, disconnectReason, connectedAt } = event.requestContext;
  const removed = await store.remove(connectionId);
  logger.info('connection closed', {
    connectionId,
    code: disconnectStatusCode,
    reason: disconnectReason,
    durationMs: connectedAt ? Date.now() - connectedAt : undefined,
    wasRegistered: removed !== undefined,
  });
  metrics.addMetric('connectionsClosed', MetricUnit.Count, 1);
  flushMetrics();
  return { statusCode: 200 };
};
