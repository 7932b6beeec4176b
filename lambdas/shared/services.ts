/**
 * The adapters a handler needs, built from the environment once per execution environment
 * (handlers call these at module scope, so missing configuration fails the cold start).
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { AccessDirectory } from '../adapters/access.ts';
import { ChannelHandlers } from '../adapters/channel-handlers.ts';
import { ConnectionStore } from '../adapters/connection-store.ts';
import { ConnectionsApi, createConnectionsClient } from '../adapters/connections-api.ts';
import { Deliverer } from '../adapters/delivery.ts';
import { createDocumentClient } from '../adapters/dynamo.ts';
import { cachedSecret, HttpBackend } from '../adapters/http-backend.ts';
import { KafkaProducer } from '../adapters/kafka-producer.ts';
import { Registry } from '../adapters/registry.ts';
import { ThrottleStore } from '../adapters/throttle-store.ts';
import { type Catalog, kafkaTopics } from '../core/catalog.ts';
import { ENV } from './env.ts';
import { recordConsumedCapacity } from './observability.ts';

let db: DynamoDBDocumentClient | undefined;
export function documentClient(): DynamoDBDocumentClient {
  db ??= createDocumentClient({ onConsumedCapacity: recordConsumedCapacity });
  return db;
}

export function connectionStore(): ConnectionStore {
  return new ConnectionStore(documentClient(), ENV.connectionsTable.read(), ENV.topicShards.read());
}

export function registry(): Registry {
  return new Registry(documentClient(), ENV.registryTable.read());
}

export function throttleStore(): ThrottleStore {
  return new ThrottleStore(documentClient(), ENV.throttleTable.read());
}

/** Registry reads for hot paths; BUILTIN_ISSUER names the issuer whose tokens carry the application. */
export function accessDirectory(): AccessDirectory {
  return new AccessDirectory(registry(), ENV.builtinIssuer.read(), ENV.registryCacheSeconds.read() * 1000);
}

export function connectionsApi(): ConnectionsApi {
  const endpoint = ENV.callbackUrl.read();
  return new ConnectionsApi(createConnectionsClient(endpoint), {
    endpoint,
    concurrency: ENV.deliveryConcurrency.read(),
    maxAttempts: 5,
  });
}

/**
 * Channel handler functions by handler module (HANDLER_FUNCTIONS, JSON; none when absent) and the
 * follow-up function (HANDLER_FOLLOW_UP_FUNCTION, where handlers exist).
 */
export function channelHandlers(): ChannelHandlers {
  return new ChannelHandlers(
    new LambdaClient({}),
    ENV.handlerFunctions.read(),
    ENV.handlerFollowUpFunction.read(),
  );
}

/**
 * The http backend poster. Where some channel has an http backend, its requests are signed with the
 * secret HTTP_BACKEND_SECRET names (required then: a missing one fails the cold start).
 */
export function httpBackend(catalog: Catalog): HttpBackend {
  const hasHttp = catalog.apis.some((api) => api.channels.some((c) => c.backend.type === 'http'));
  if (!hasHttp) return new HttpBackend();
  return new HttpBackend(fetch, cachedSecret(new SecretsManagerClient({}), ENV.httpBackendSecret.read()));
}

/**
 * The Kafka producer, when some channel takes client frames to Kafka (PRODUCER_FUNCTION, which
 * CDK sets then).
 */
export function kafkaProducer(catalog: Catalog): KafkaProducer | undefined {
  if (kafkaTopics(catalog, 'pub').length === 0) return undefined;
  return new KafkaProducer(new LambdaClient({}), ENV.producerFunction.read());
}

export function deliverer(
  store: ConnectionStore,
  connections: ConnectionsApi,
  throttle: ThrottleStore,
  access: AccessDirectory,
): Deliverer {
  return new Deliverer(store, connections, throttle, access);
}
