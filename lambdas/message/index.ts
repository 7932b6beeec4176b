/**
 * `$default` and the control routes (`subscribe`, `unsubscribe`, `publish`, selected by
 * `$request.body.action`). A raw frame publishes to the connection's own topic; control messages
 * manage subscriptions or publish to a named topic of the same API. Anything refused is answered
 * with one JSON error frame to the sender; nothing here can throw the connection away.
 */
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2, Context } from 'aws-lambda';
import { MAX_TOPICS_PER_CONNECTION } from '../adapters/connection-store.ts';
import { type BackendReply, HttpBackend } from '../adapters/http-backend.ts';
import { requireScopes } from '../core/auth.ts';
import { backendUrl, endpointFor } from '../core/backend-url.ts';
import { type ApiDef, findApiByKey, type MessageFormat } from '../core/catalog.ts';
import type { ConnectionRecord } from '../core/connection.ts';
import {
  ackFrame,
  type ControlMessage,
  errorFrame,
  isControlAction,
  parseControlMessage,
} from '../core/control.ts';
import {
  asError,
  forbidden,
  GatewayError,
  gatewayErrorForStatus,
  isGatewayError,
  notFound,
  unauthorized,
} from '../core/errors.ts';
import { MAX_MESSAGE_BYTES } from '../core/fanout-plan.ts';
import { recordForFrame } from '../core/kafka-publish.ts';
import { createTargetResolver, type Target } from '../core/target.ts';
import { catalog } from '../shared/catalog.ts';
import { flushMetrics, logger, MetricUnit, metrics } from '../shared/observability.ts';
import {
  accessDirectory,
  channelHandlers,
  connectionStore,
  connectionsApi,
  deliverer,
  kafkaProducer,
  throttleStore,
} from '../shared/services.ts';

const store = connectionStore();
const connections = connectionsApi();
const throttle = throttleStore();
const access = accessDirectory();
const delivery = deliverer(store, connections, throttle, access);
const resolver = createTargetResolver(catalog);
const handlers = channelHandlers();
const httpBackend = new HttpBackend();
const producer = kafkaProducer(catalog);

const CONTENT_TYPES: Record<MessageFormat, string> = {
  json: 'application/json',
  xml: 'application/xml',
  text: 'text/plain; charset=utf-8',
};

/** A throttled connection is told once in this long, not once per refused frame. */
const THROTTLE_NOTICE_MS = 30_000;
const lastThrottleNotice = new Map<string, number>();

/**
 * What a connection is bound to never changes after `$connect`, so an execution environment keeps
 * it for a while instead of reading DynamoDB on every frame. Subscriptions are always read fresh.
 */
const bindingCache = new Map<string, { record: ConnectionRecord; until: number }>();
const BINDING_CACHE_MS = 60_000;
const BINDING_CACHE_MAX = 10_000;

async function connectionOf(connectionId: string): Promise<ConnectionRecord> {
  const cached = bindingCache.get(connectionId);
  if (cached && cached.until > Date.now()) return cached.record;
  const record = await store.get(connectionId);
  if (!record) throw new GatewayError('unauthorized', 'this connection is not registered; connect again');
  if (bindingCache.size >= BINDING_CACHE_MAX) bindingCache.clear();
  bindingCache.set(connectionId, { record, until: Date.now() + BINDING_CACHE_MS });
  return record;
}

export const handler = async (
  event: APIGatewayProxyWebsocketEventV2,
  context: Context,
): Promise<APIGatewayProxyResultV2> => {
  const { connectionId, routeKey } = event.requestContext;
  const deadline = Date.now() + Math.max(1_000, context.getRemainingTimeInMillis() - 1_000);
  logger.appendKeys({ connectionId, routeKey });
  let control: ControlMessage | undefined;
  try {
    const record = await connectionOf(connectionId);
    const api = findApiByKey(catalog, record.apiKey);
    if (!api) throw notFound(`API ${record.apiId} is no longer deployed`);
    const body = event.body ?? '';
    const frame = event.isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body;

    if (!isControlAction(routeKey)) {
      await publish(record, resolver.resolveTopic(api, record.topic), frame, deadline);
      return { statusCode: 200 };
    }
    control = parseControlMessage(frame);
    requireValidToken(record);
    const target = resolver.resolveTopic(api, control.topic);
    switch (control.action) {
      case 'subscribe':
        await subscribe(record, api, target, control.id, deadline);
        break;
      case 'unsubscribe':
        await unsubscribe(record, target, control.id, deadline);
        break;
      case 'publish':
        await publish(record, target, control.data, deadline);
        if (control.id !== undefined)
          await reply(connectionId, ackFrame('published', target.topic, control.id), deadline);
        break;
    }
    return { statusCode: 200 };
  } catch (error) {
    const refusal = isGatewayError(error)
      ? error
      : new GatewayError('internal_error', 'the gateway failed to handle this message');
    if (isGatewayError(error))
      logger.warn('message refused', { status: refusal.status, reason: refusal.message });
    else logger.error('message failed', asError(error));
    metrics.addMetric('messagesRefused', MetricUnit.Count, 1);
    const echo = control
      ? { action: control.action, topic: control.topic, ...(control.id ? { id: control.id } : {}) }
      : {};
    // Throttled senders are told once in a while, not once per refused frame.
    if (refusal.code !== 'too_many_requests' || (await noticeDue(connectionId))) {
      await reply(connectionId, errorFrame(refusal, echo), deadline);
    }
    return { statusCode: refusal.status };
  } finally {
    flushMetrics();
    logger.removeKeys(['connectionId', 'routeKey']);
  }
};

/** A token that expired while connected still receives, but may not act. */
function requireValidToken(record: ConnectionRecord): void {
  if (record.principal && record.principal.expiresAt * 1000 < Date.now()) {
    throw unauthorized('the access token of this connection has expired; connect again with a new token');
  }
}

async function publish(record: ConnectionRecord, target: Target, data: string, deadline: number) {
  if (!target.channel.pub) {
    throw forbidden(`topic ${target.topic} does not take messages from clients (it is subscribe only)`, {
      topic: target.topic,
    });
  }
  requireValidToken(record);
  if (record.principal)
    requireScopes(record.principal, target.channel.pubScopes, `publish to ${target.channel.name}`);
  await chargeSender(record, target.api);

  switch (target.channel.backend.type) {
    case 'fanout': {
      const report = await delivery.toSubscribers(
        target.api,
        target.topicKey,
        data,
        deadline,
        record.connectionId,
      );
      metrics.addMetric('fanoutDelivered', MetricUnit.Count, report.sent);
      if (report.gone.length)
        metrics.addMetric('staleConnectionsRemoved', MetricUnit.Count, report.gone.length);
      if (report.throttledEvents)
        metrics.addMetric('eventsThrottled', MetricUnit.Count, report.throttledEvents);
      if (report.failed.length) {
        metrics.addMetric('fanoutFailed', MetricUnit.Count, report.failed.length);
        logger.warn('some deliveries failed', { topic: target.topicKey, failed: report.failed.length });
      }
      logger.debug('published', { topic: target.topicKey, recipients: report.recipients, sent: report.sent });
      return;
    }
    case 'http': {
      const backend = target.channel.backend;
      const url = backendUrl(
        endpointFor(target.api, record.principal?.keyType),
        target.channel,
        target.params,
      );
      let answer: BackendReply;
      try {
        answer = await httpBackend.post(
          url,
          data,
          {
            api: target.api.id,
            topic: target.topic,
            connectionId: record.connectionId,
            ...(record.app ? { application: record.app } : {}),
            ...(record.principal
              ? { clientId: record.principal.clientId, keyType: record.principal.keyType }
              : {}),
            contentType: CONTENT_TYPES[target.channel.format],
          },
          Math.max(1, Math.min(backend.timeoutMs, deadline - Date.now())),
        );
      } catch (error) {
        metrics.addMetric(
          isGatewayError(error) && error.code === 'gateway_timeout' ? 'backendTimeouts' : 'backendErrors',
          MetricUnit.Count,
          1,
        );
        throw error;
      }
      metrics.addMetric('backendLatency', MetricUnit.Milliseconds, answer.elapsedMs);
      logger.debug('posted to the backend', { status: answer.status, ms: Math.round(answer.elapsedMs) });
      if (answer.body === '') return;
      if (Buffer.byteLength(answer.body) > MAX_MESSAGE_BYTES) {
        metrics.addMetric('backendErrors', MetricUnit.Count, 1);
        throw new GatewayError('bad_gateway', "the backend's reply is larger than a frame may be (128 KB)");
      }
      // The reply is a frame to the sender like any other: it counts against the sender's plan.
      await delivery.deliver(
        [
          {
            connectionId: record.connectionId,
            api: target.api,
            ...(record.app ? { app: record.app } : {}),
            frames: [{ data: answer.body, events: 1 }],
          },
        ],
        deadline,
      );
      return;
    }
    case 'handler': {
      const result = await handlers.call(target.channel.backend.handler, {
        phase: 'message',
        connectionId: record.connectionId,
        apiId: target.api.id,
        topic: target.topic,
        params: target.params,
        ...(record.principal
          ? { principal: { clientId: record.principal.clientId, keyType: record.principal.keyType } }
          : {}),
        ...(record.app ? { app: record.app } : {}),
        message: data,
      });
      if (result.rejected) throw gatewayErrorForStatus(result.rejected.status, result.rejected.message);
      return;
    }
    case 'kafka': {
      if (!producer) throw new GatewayError('internal_error', 'no Kafka producer is deployed');
      const started = performance.now();
      const [produced] = await producer.produce([recordForFrame(target, data)]);
      metrics.addMetric('produceLatency', MetricUnit.Milliseconds, performance.now() - started);
      logger.debug('produced to Kafka', { ...produced });
      return;
    }
    default:
      throw forbidden(`topic ${target.topic} does not take messages from clients`);
  }
}

/** A published frame is one event of the sender's plan; a blocked or exhausted subscription may not publish. */
async function chargeSender(record: ConnectionRecord, api: ApiDef): Promise<void> {
  if (!record.app) return;
  const entitlement = await access.entitlement(record.app, api);
  if (!entitlement)
    throw forbidden(
      `application ${record.app.appName} is no longer subscribed to API ${api.name} ${api.version}`,
    );
  if (entitlement.status !== 'ACTIVE') {
    throw forbidden(
      `the subscription of ${record.app.appName} to API ${api.name} ${api.version} is ${entitlement.status}`,
    );
  }
  const { granted } = await throttle.reserve(entitlement.key, entitlement.plan, 1);
  if (granted === 0) {
    throw new GatewayError(
      'too_many_requests',
      `plan ${entitlement.plan.name} allows ${entitlement.plan.events} events per ${entitlement.plan.per}; this one was refused`,
      { plan: entitlement.plan.name },
    );
  }
}

/** Once per period across all execution environments; this one's memory spares most of the writes. */
async function noticeDue(connectionId: string): Promise<boolean> {
  const last = lastThrottleNotice.get(connectionId) ?? 0;
  if (Date.now() - last < THROTTLE_NOTICE_MS) return false;
  if (lastThrottleNotice.size > 10_000) lastThrottleNotice.clear();
  lastThrottleNotice.set(connectionId, Date.now());
  return throttle.claimNotice(connectionId, THROTTLE_NOTICE_MS);
}

async function subscribe(
  record: ConnectionRecord,
  api: ApiDef,
  target: Target,
  id: string | undefined,
  deadline: number,
) {
  if (!target.channel.sub) {
    throw forbidden(`topic ${target.topic} cannot be subscribed to (it is publish only)`);
  }
  if (record.principal) {
    requireScopes(record.principal, target.channel.subScopes, `subscribe to ${target.channel.name}`);
  }
  const outcome = await store.subscribe(record, target.topicKey);
  if (outcome === 'limit') {
    throw new GatewayError(
      'too_many_requests',
      `a connection receives at most ${MAX_TOPICS_PER_CONNECTION} topics; unsubscribe from one first`,
    );
  }
  logger.info('subscribed', { api: api.id, topic: target.topic, already: outcome === 'already' });
  await reply(record.connectionId, ackFrame('subscribed', target.topic, id), deadline);
}

async function unsubscribe(
  record: ConnectionRecord,
  target: Target,
  id: string | undefined,
  deadline: number,
) {
  const removed = await store.unsubscribe(record.connectionId, target.topicKey);
  if (!removed) throw notFound(`this connection is not subscribed to ${target.topic}`);
  await reply(record.connectionId, ackFrame('unsubscribed', target.topic, id), deadline);
}

async function reply(connectionId: string, frame: string, deadline: number): Promise<void> {
  const outcome = await connections.post(connectionId, frame, deadline);
  if (outcome !== 'sent') logger.warn('could not answer the sender', { outcome });
}
