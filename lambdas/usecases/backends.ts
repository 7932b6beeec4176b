/**
 * Channel backends behind one interface: where a client's frame goes (`publish`), and what a backend
 * hears of a connection's life (`onConnect`, `onDisconnect`). The message, connect and disconnect
 * functions pick the driver by the channel's backend type from a registry and know nothing else of
 * it. A new backend (the websocket backend to come) is one more driver in `createBackendDrivers`
 * and one more entry in the registry's type.
 */
import type { KeyType } from '../core/auth.ts';
import { backendUrl, endpointFor } from '../core/backend-url.ts';
import type {
  ChannelBackend,
  FanoutBackend,
  HandlerBackend,
  HttpBackend as HttpBackendDef,
  KafkaBackend,
  MessageFormat,
} from '../core/catalog.ts';
import {
  type HandlerInvocation,
  type HandlerResult,
  handlerInvocation,
  type InvocationSubject,
} from '../core/channel-handler-api.ts';
import type { ConnectionRecord } from '../core/connection.ts';
import { forbidden, GatewayError, gatewayErrorForStatus, isGatewayError } from '../core/errors.ts';
import { MAX_MESSAGE_BYTES } from '../core/fanout-plan.ts';
import { type OutgoingRecord, recordForFrame } from '../core/kafka-publish.ts';
import type { Target } from '../core/target.ts';
import { logger, MetricUnit, metrics } from '../shared/observability.ts';

/** A client frame on its way to a backend: who sent it, to which topic, by when it must be done. */
export interface PublishContext {
  sender: ConnectionRecord;
  target: Target;
  /** Epoch ms: the invocation's time budget. */
  deadline: number;
}

/**
 * One channel backend type. `publish` may throw a GatewayError, which the sender receives as an
 * error frame; `onConnect` may throw one to refuse the handshake.
 */
export interface BackendDriver<B extends ChannelBackend = ChannelBackend> {
  publish(context: PublishContext, frame: string, backend: B): Promise<void>;
  /** A connection was registered on a channel of this backend (`$connect`, synchronous). */
  onConnect?(subject: InvocationSubject, backend: B): Promise<void>;
  /** A connection of such a channel went away (`$disconnect`; nobody waits on it). */
  onDisconnect?(subject: InvocationSubject, backend: B): Promise<void>;
  /**
   * A connection asks, by control message, for a topic instance other than its own (`subject.topic`):
   * throw a GatewayError to refuse, as `onConnect` would refuse a handshake to it.
   */
  authorizeTopic?(subject: InvocationSubject, backend: B): Promise<void>;
}

/** One driver per backend type of the catalog. */
export type BackendDriverRegistry = {
  [T in ChannelBackend['type']]: BackendDriver<Extract<ChannelBackend, { type: T }>>;
};

/**
 * A registered connection as a channel handler sees it: on its own topic, or on `target` (the topic
 * a frame was published to); `api` is the API as this deployment knows it.
 */
export function subjectOf(
  record: ConnectionRecord,
  api: Pick<Target['api'], 'id'>,
  target: Pick<Target, 'topic' | 'params'> = record,
): InvocationSubject {
  return {
    connectionId: record.connectionId,
    apiId: api.id,
    topic: target.topic,
    params: target.params,
    principal: record.principal,
    app: record.app,
  };
}

/**
 * The registry as the functions use it: dispatch on `channel.backend.type`. A function may hold only
 * the drivers it needs (`$connect` and `$disconnect`: the lifecycle hooks); a frame for a backend
 * without a driver is refused.
 */
export class ChannelBackends {
  constructor(private readonly drivers: Partial<BackendDriverRegistry>) {}

  private driverOf(backend: ChannelBackend): BackendDriver | undefined {
    return this.drivers[backend.type] as BackendDriver | undefined;
  }

  /** Hand a client frame to the target channel's backend. */
  async publish(context: PublishContext, frame: string): Promise<void> {
    const backend = context.target.channel.backend;
    const driver = this.driverOf(backend);
    if (!driver) throw forbidden(`topic ${context.target.topic} does not take messages from clients`);
    await driver.publish(context, frame, backend);
  }

  async onConnect(backend: ChannelBackend, subject: InvocationSubject): Promise<void> {
    await this.driverOf(backend)?.onConnect?.(subject, backend);
  }

  async onDisconnect(backend: ChannelBackend, subject: InvocationSubject): Promise<void> {
    await this.driverOf(backend)?.onDisconnect?.(subject, backend);
  }

  /** The target channel's veto on a topic instance a connection names by control message (TopicVeto). */
  async authorizeTopic(record: ConnectionRecord, target: Target): Promise<void> {
    const backend = target.channel.backend;
    await this.driverOf(backend)?.authorizeTopic?.(subjectOf(record, target.api, target), backend);
  }
}

// --- the drivers ------------------------------------------------------------------------------------

/** The delivery the drivers use (`adapters/delivery.ts` Deliverer). */
export interface FrameDelivery {
  toSubscribers(
    api: Target['api'],
    topicKey: string,
    data: string,
    deadline: number,
    exceptConnectionId?: string,
  ): Promise<{
    sent: number;
    gone: string[];
    failed: string[];
    throttledEvents: number;
    recipients: number;
  }>;
  deliver(
    recipients: {
      connectionId: string;
      api: Target['api'];
      app?: { appId: string; appName: string };
      frames: { data: string; events: number }[];
    }[],
    deadline: number,
  ): Promise<unknown>;
}

/** `fanout`: every subscriber of the topic instance but the sender. */
export function fanoutDriver(delivery: FrameDelivery): BackendDriver<FanoutBackend> {
  return {
    async publish({ sender, target, deadline }, frame) {
      const report = await delivery.toSubscribers(
        target.api,
        target.topicKey,
        frame,
        deadline,
        sender.connectionId,
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
    },
  };
}

const CONTENT_TYPES: Record<MessageFormat, string> = {
  json: 'application/json',
  xml: 'application/xml',
  text: 'text/plain; charset=utf-8',
};

/** Posts a frame to an http backend (`adapters/http-backend.ts` HttpBackend). */
export interface HttpPoster {
  post(
    url: string,
    frame: string,
    context: {
      api: string;
      topic: string;
      connectionId: string;
      application?: { appId: string; appName: string };
      clientId?: string;
      keyType?: KeyType;
      contentType: string;
    },
    timeoutMs: number,
  ): Promise<{ status: number; body: string; elapsedMs: number }>;
}

/**
 * `http`: POST to the endpoint of the sender's key type plus the channel's URL mapping, within the
 * channel's timeout; a non-empty reply is a frame to the sender (charged to its plan).
 */
export function httpDriver(http: HttpPoster, delivery: FrameDelivery): BackendDriver<HttpBackendDef> {
  return {
    async publish({ sender, target, deadline }, frame, backend) {
      const url = backendUrl(
        endpointFor(target.api, sender.principal?.keyType),
        target.channel,
        target.params,
      );
      let answer: Awaited<ReturnType<HttpPoster['post']>>;
      try {
        answer = await http.post(
          url,
          frame,
          {
            api: target.api.id,
            topic: target.topic,
            connectionId: sender.connectionId,
            ...(sender.app ? { application: sender.app } : {}),
            ...(sender.principal
              ? { clientId: sender.principal.clientId, keyType: sender.principal.keyType }
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
            connectionId: sender.connectionId,
            api: target.api,
            ...(sender.app ? { app: sender.app } : {}),
            frames: [{ data: answer.body, events: 1 }],
          },
        ],
        deadline,
      );
    },
  };
}

/** Invokes channel handler functions (`adapters/channel-handlers.ts` ChannelHandlers). */
export interface HandlerInvoker {
  call(handler: string, invocation: HandlerInvocation): Promise<HandlerResult>;
  send(handler: string, invocation: HandlerInvocation): Promise<void>;
}

/**
 * `handler`: the channel's handler function decides. onConnect may refuse the connection (its
 * record is then removed; the caller gives back the connection slot); what it wants sent goes out
 * asynchronously once the socket is open. onMessage may refuse a frame. onDisconnect is queued.
 * A control message naming another topic instance is put to the handler as phase `subscribe`
 * (its onSubscribe, else onConnect for that instance, with replies and publications dropped): a
 * rejection refuses the message with the handler's status.
 */
export function handlerDriver(
  handlers: HandlerInvoker,
  removeConnection: (connectionId: string) => Promise<unknown>,
): BackendDriver<HandlerBackend> {
  return {
    async publish({ sender, target }, frame, backend) {
      const result = await handlers.call(
        backend.handler,
        handlerInvocation('message', subjectOf(sender, target.api, target), { message: frame }),
      );
      if (result.rejected) throw gatewayErrorForStatus(result.rejected.status, result.rejected.message);
    },
    async onConnect(subject, backend) {
      let result: HandlerResult;
      try {
        result = await handlers.call(backend.handler, handlerInvocation('connect', subject));
      } catch (error) {
        await removeConnection(subject.connectionId);
        throw error;
      }
      if (result.rejected) {
        await removeConnection(subject.connectionId);
        throw gatewayErrorForStatus(result.rejected.status, result.rejected.message);
      }
      if (result.actions.length)
        await handlers.send(
          backend.handler,
          handlerInvocation('opened', subject, { actions: result.actions }),
        );
    },
    async onDisconnect(subject, backend) {
      await handlers.send(backend.handler, handlerInvocation('disconnect', subject));
    },
    async authorizeTopic(subject, backend) {
      const result = await handlers.call(backend.handler, handlerInvocation('subscribe', subject));
      if (result.rejected) throw gatewayErrorForStatus(result.rejected.status, result.rejected.message);
    },
  };
}

/** Produces records through the producer function (`adapters/kafka-producer.ts` KafkaProducer). */
export interface RecordProducer {
  produce(records: OutgoingRecord[]): Promise<{ topic: string; partition: number; offset: string }[]>;
}

/** `kafka`: the frame becomes a record that routes back to the very topic instance it was sent on. */
export function kafkaDriver(producer: RecordProducer | undefined): BackendDriver<KafkaBackend> {
  return {
    async publish({ target }, frame) {
      if (!producer) throw new GatewayError('internal_error', 'no Kafka producer is deployed');
      const started = performance.now();
      const [produced] = await producer.produce([recordForFrame(target, frame)]);
      metrics.addMetric('produceLatency', MetricUnit.Milliseconds, performance.now() - started);
      logger.debug('produced to Kafka', { ...produced });
    },
  };
}

/** What the four drivers are built from. */
export interface BackendDependencies {
  delivery: FrameDelivery;
  http: HttpPoster;
  handlers: HandlerInvoker;
  /** Absent when no channel takes client frames to Kafka. */
  producer: RecordProducer | undefined;
  removeConnection(connectionId: string): Promise<unknown>;
}

/** The registry of every backend type streamgate knows. */
export function createChannelBackends(deps: BackendDependencies): ChannelBackends {
  return new ChannelBackends({
    fanout: fanoutDriver(deps.delivery),
    http: httpDriver(deps.http, deps.delivery),
    handler: handlerDriver(deps.handlers, deps.removeConnection),
    kafka: kafkaDriver(deps.producer),
  });
}
