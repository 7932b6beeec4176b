/**
 * `$disconnect`: remove the connection and its subscriptions, give back its plan's connection slot,
 * and tell the channel's backend. AWS delivers this event only best-effort; the records' TTL and
 * the fan-outs' 410 handling clean up what it misses.
 */
import type { APIGatewayProxyStructuredResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { forgetConnection } from '../adapters/delivery.ts';
import { type Catalog, findApiByQualifiedContext, findChannel } from '../core/catalog.ts';
import type { ConnectionRecord } from '../core/connection.ts';
import { catalog } from '../shared/catalog.ts';
import { observed } from '../shared/middleware.ts';
import { logger, MetricUnit, metrics } from '../shared/observability.ts';
import { channelHandlers, connectionStore, throttleStore } from '../shared/services.ts';
import { ChannelBackends, handlerDriver, subjectOf } from '../usecases/backends.ts';

export type DisconnectEvent = APIGatewayProxyWebsocketEventV2 & {
  requestContext: { disconnectStatusCode?: number; disconnectReason?: string };
};

export interface DisconnectDependencies {
  catalog: Catalog;
  /** Remove the connection and give back its slot; the removed record, if it was registered. */
  forget(connectionId: string): Promise<ConnectionRecord | undefined>;
  backends: Pick<ChannelBackends, 'onDisconnect'>;
}

export function createHandler({ catalog, forget, backends }: DisconnectDependencies) {
  return async (event: DisconnectEvent): Promise<APIGatewayProxyStructuredResultV2> => {
    const { connectionId, disconnectStatusCode, disconnectReason, connectedAt } = event.requestContext;
    const removed = await forget(connectionId);
    logger.info('connection closed', {
      connectionId,
      code: disconnectStatusCode,
      reason: disconnectReason,
      durationMs: connectedAt ? Date.now() - connectedAt : undefined,
      wasRegistered: removed !== undefined,
    });
    // The channel's backend hears of it (asynchronously: nobody waits on a closing connection).
    const api = removed ? findApiByQualifiedContext(catalog, removed.qualifiedContext) : undefined;
    const channel = api && removed ? findChannel(api, removed.channel) : undefined;
    if (removed && api && channel) await backends.onDisconnect(channel.backend, subjectOf(removed, api));
    metrics.addMetric('connectionsClosed', MetricUnit.Count, 1);
    return { statusCode: 200 };
  };
}

/** The adapters of this execution environment, from its configuration (fails the cold start when missing). */
export function defaultDependencies(): DisconnectDependencies {
  const store = connectionStore();
  const throttle = throttleStore();
  return {
    catalog,
    forget: (connectionId) => forgetConnection(store, throttle, connectionId),
    // Of the backends, only channel handlers hear of a disconnect.
    backends: new ChannelBackends({ handler: handlerDriver(channelHandlers(), (id) => store.remove(id)) }),
  };
}

export const handler = observed(createHandler(defaultDependencies()));
