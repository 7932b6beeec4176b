/**
 * `$disconnect`: remove the connection and its subscriptions, and give back its plan's connection
 * slot. AWS delivers this event only best-effort; the records' TTL and the fan-outs' 410 handling
 * clean up what it misses.
 */
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { forgetConnection } from '../adapters/delivery.ts';
import { findApiByKey, findChannel } from '../core/catalog.ts';
import { catalog } from '../shared/catalog.ts';
import { flushMetrics, logger, MetricUnit, metrics } from '../shared/observability.ts';
import { channelHandlers, connectionStore, throttleStore } from '../shared/services.ts';

const store = connectionStore();
const throttle = throttleStore();
const handlers = channelHandlers();

export type DisconnectEvent = APIGatewayProxyWebsocketEventV2 & {
  requestContext: { disconnectStatusCode?: number; disconnectReason?: string };
};

export const handler = async (event: DisconnectEvent): Promise<APIGatewayProxyResultV2> => {
  const { connectionId, disconnectStatusCode, disconnectReason, connectedAt } = event.requestContext;
  const removed = await forgetConnection(store, throttle, connectionId);
  logger.info('connection closed', {
    connectionId,
    code: disconnectStatusCode,
    reason: disconnectReason,
    durationMs: connectedAt ? Date.now() - connectedAt : undefined,
    wasRegistered: removed !== undefined,
  });
  // A channel handler hears of it (asynchronously: nobody waits on a closing connection).
  const api = removed ? findApiByKey(catalog, removed.apiKey) : undefined;
  const channel = api && removed ? findChannel(api, removed.channel) : undefined;
  if (removed && api && channel?.backend.type === 'handler') {
    await handlers.send(channel.backend.handler, {
      phase: 'disconnect',
      connectionId,
      apiId: api.id,
      topic: removed.topic,
      params: removed.params,
      ...(removed.principal
        ? { principal: { clientId: removed.principal.clientId, keyType: removed.principal.keyType } }
        : {}),
      ...(removed.app ? { app: removed.app } : {}),
    });
  }
  metrics.addMetric('connectionsClosed', MetricUnit.Count, 1);
  flushMetrics();
  return { statusCode: 200 };
};
