/**
 * `$connect`: resolve what the URL points at, take the access decision (lifecycle, token, tenant,
 * scopes, subscription, plan), register the connection, tell the channel's backend. Answers 200, or
 * 400/401/403/404/429 with the reason (also logged). API Gateway completes the WebSocket upgrade
 * only on 2xx.
 */

import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyStructuredResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { PublishedJwks } from '../adapters/signing-key-store.ts';
import { TokenVerifier } from '../adapters/token-verifier.ts';
import { qualifiedContext } from '../core/catalog.ts';
import { type ConnectionRecord, newConnectionRecord } from '../core/connection.ts';
import { isGatewayError } from '../core/errors.ts';
import { createTargetResolver, type TargetResolver } from '../core/target.ts';
import { catalog } from '../shared/catalog.ts';
import { ENV } from '../shared/env.ts';
import { observed } from '../shared/middleware.ts';
import { logger, MetricUnit, metrics } from '../shared/observability.ts';
import { toHandshakeResponse } from '../shared/refusals.ts';
import { accessDirectory, channelHandlers, connectionStore, throttleStore } from '../shared/services.ts';
import { AccessDecision, type Admission } from '../usecases/access.ts';
import { ChannelBackends, handlerDriver, subjectOf } from '../usecases/backends.ts';

/** API Gateway's CONNECT event carries headers and query strings (the V2 type lacks them). */
export type ConnectEvent = APIGatewayProxyWebsocketEventV2 & {
  headers?: Record<string, string | undefined>;
  queryStringParameters?: Record<string, string | undefined>;
};

export interface ConnectDependencies {
  resolver: Pick<TargetResolver, 'resolve'>;
  access: Pick<AccessDecision, 'admit' | 'release'>;
  store: { put(record: ConnectionRecord): Promise<void> };
  backends: Pick<ChannelBackends, 'onConnect'>;
}

export function createHandler({ resolver, access, store, backends }: ConnectDependencies) {
  return async (event: ConnectEvent): Promise<APIGatewayProxyStructuredResultV2> => {
    const { connectionId, connectedAt } = event.requestContext;
    const query = event.queryStringParameters ?? {};
    let admission: Admission | undefined;
    try {
      const target = resolver.resolve(query.target ?? '');
      admission = await access.admit(target, { headers: event.headers, query, connectionId });
      const { principal, entitlement } = admission;
      const app = entitlement ? { appId: entitlement.appId, appName: entitlement.appName } : undefined;
      const record = newConnectionRecord(
        connectionId,
        target,
        principal,
        connectedAt,
        qualifiedContext(target.api),
        {
          ...(app ? { app } : {}),
          holdsConnectionSlot: admission.slot !== undefined,
        },
      );
      await store.put(record);
      await backends.onConnect(target.channel.backend, subjectOf(record, target.api));
      logger.info('connection accepted', {
        api: target.api.id,
        topic: target.topic,
        clientId: principal?.clientId,
        application: app?.appName,
        plan: entitlement?.plan.name,
        keyType: principal?.keyType,
        viaDefaultVersion: target.viaDefaultVersion,
      });
      metrics.addMetric('connectionsAccepted', MetricUnit.Count, 1);
      return { statusCode: 200 };
    } catch (error) {
      await access.release(admission);
      if (!isGatewayError(error)) throw error;
      logger.warn('connection refused', { status: error.status, reason: error.message });
      metrics.addMetric('connectionsRefused', MetricUnit.Count, 1);
      return toHandshakeResponse(error);
    }
  };
}

/** The adapters of this execution environment, from its configuration (fails the cold start when missing). */
export function defaultDependencies(): ConnectDependencies {
  const store = connectionStore();
  const throttle = throttleStore();
  const cooldownMs = ENV.jwksCooldownSeconds.read() * 1000;
  // The built-in issuer's keys from where its rotation publishes them: no HTTP round trip.
  const publishedSecret = ENV.publicJwksSecret.read();
  const published = publishedSecret
    ? {
        issuer: ENV.builtinIssuer.read(),
        source: new PublishedJwks(new SecretsManagerClient({}), publishedSecret, cooldownMs),
      }
    : undefined;
  const verifier = new TokenVerifier(ENV.tokenIssuers.read(), 5, cooldownMs, published);
  return {
    resolver: createTargetResolver(catalog),
    access: new AccessDecision(accessDirectory(), throttle, verifier),
    store,
    // Of the backends, only channel handlers act on $connect.
    backends: new ChannelBackends({ handler: handlerDriver(channelHandlers(), (id) => store.remove(id)) }),
  };
}

export const handler = observed(createHandler(defaultDependencies()), {
  logKeys: (event: ConnectEvent) => ({
    connectionId: event.requestContext.connectionId,
    target: event.queryStringParameters?.target ?? '',
  }),
});
