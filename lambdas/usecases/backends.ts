/**
 * Channel backends behind one interface: where a client's frame goes (`publish`), and what a backend
 * hears of a connection's life (`onConnect`, `onDisconnect`). The message, connect and disconnect
 * functions pick the driver by the channel's backend type from a registry and know nothing else of
 * it. A new backend (the websocket backend to come) is one more driver in `createChannelBackends`
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
  checkHandlerResult,
  type HandlerAction,
  type HandlerFollowUp,
  type HandlerInvocation,
  type HandlerResult,
  handlerInvocation,
  type InvocationSubject,
} from '../core/channel-handler-api.ts';
import { sleep } from '../core/concurrency.ts';
import { type ConnectionRecord, goneVerdict } from '../core/connection.ts';
import { forbidden, GatewayError, gatewayErrorForStatus, isGatewayError } from '../core/errors.ts';
import { MAX_MESSAGE_BYTES } from '../core/fanout-plan.ts';
import { type OutgoingRecord, recordForFrame } from '../core/kafka-publish.ts';
import type { Target, TargetResolver } from '../core/target.ts';
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
    connectedAt: record.connectedAt,
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
    /** Answered 410 within their handshake window (`goneVerdict`): kept, this frame dropped for them. */
    opening?: string[];
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
      if (report.opening?.length)
        metrics.addMetric('connectionsStillOpening', MetricUnit.Count, report.opening.length);
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
        // The sender hears a generic 502/504; the address and the network reason go to the log only.
        logger.warn('the http backend failed', {
          url,
          reason: networkReason(isGatewayError(error) ? (error.cause ?? error) : error),
        });
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

/** undici hides the network reason in `cause` (ECONNREFUSED, ENOTFOUND…). */
function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  return cause?.code ?? cause?.message ?? (error as Error | undefined)?.message ?? String(error);
}

/** Invokes channel handler functions (`adapters/channel-handlers.ts` ChannelHandlers). */
export interface HandlerInvoker {
  /** Run a hook and return its checked answer. */
  call(handler: string, invocation: HandlerInvocation): Promise<HandlerResult>;
  /** Queue work for the follow-up function (after the gateway answered API Gateway). */
  followUp(event: HandlerFollowUp): Promise<void>;
}

/** Whether a connection's socket is open yet (`adapters/connections-api.ts` ConnectionsApi). */
export type OpenCheck = (connectionId: string) => Promise<boolean>;

/**
 * Carries out what a channel handler answered, with the gateway's rights and within the
 * invocation's scope: a reply goes to the invocation's own connection only, a publication to a topic
 * of the invocation's API only (resolved here, so a handler cannot name another API's or tenant's
 * topic key). Every frame is charged to the recipient's plan like any other.
 */
export class HandlerActions {
  constructor(
    private readonly delivery: FrameDelivery,
    private readonly resolver: Pick<TargetResolver, 'resolveTopic'>,
    private readonly isOpen: OpenCheck,
  ) {}

  async carryOut(
    api: Target['api'],
    subject: InvocationSubject,
    actions: readonly HandlerAction[],
    options: { deadline: number; waitForOpen: boolean },
  ): Promise<void> {
    for (const action of actions) {
      if (action.type === 'reply') {
        if (options.waitForOpen && !(await this.opened(subject, options.deadline))) {
          logger.warn('reply not delivered: the connection did not open');
          continue;
        }
        await this.delivery.deliver(
          [
            {
              connectionId: subject.connectionId,
              api,
              ...(subject.app ? { app: subject.app } : {}),
              frames: [{ data: action.data, events: 1 }],
            },
          ],
          options.deadline,
        );
        continue;
      }
      const target = this.resolver.resolveTopic(api, action.topic);
      const report = await this.delivery.toSubscribers(
        api,
        target.topicKey,
        action.data,
        options.deadline,
        action.exceptSender ? subject.connectionId : undefined,
      );
      metrics.addMetric('handlerPublished', MetricUnit.Count, report.sent);
    }
  }

  /**
   * Right after $connect the socket is still opening (and answers 410): wait for it while
   * `goneVerdict` says it may still be opening (its handshake window, from `connectedAt`; from now
   * when the subject has none), and never past `deadline`.
   */
  private async opened(subject: InvocationSubject, deadline: number): Promise<boolean> {
    const connectedAt = subject.connectedAt ?? Date.now();
    for (let attempt = 0; ; attempt++) {
      if (await this.isOpen(subject.connectionId)) return true;
      const wait = Math.min(250, 10 * 2 ** attempt);
      if (goneVerdict(connectedAt, Date.now() + wait) === 'gone' || Date.now() + wait >= deadline)
        return false;
      await sleep(wait);
    }
  }
}

/**
 * `handler`: the channel's handler function decides, the gateway acts. onConnect may refuse the
 * connection (its record is then removed; the caller gives back the connection slot); what it wants
 * sent goes to the follow-up function, which sends it once the socket is open. onMessage may refuse
 * a frame; what it wants sent is sent by the message function (`actions`). onDisconnect runs in the
 * follow-up function. Connect and disconnect need no `actions`: they never send.
 */
export function handlerDriver(
  handlers: HandlerInvoker,
  removeConnection: (connectionId: string) => Promise<unknown>,
  actions?: HandlerActions,
): BackendDriver<HandlerBackend> {
  return {
    async publish({ sender, target, deadline }, frame, backend) {
      if (!actions)
        throw new GatewayError('internal_error', 'this function does not carry out handler actions');
      const subject = subjectOf(sender, target.api, target);
      const result = await logged(
        handlers.call(backend.handler, handlerInvocation('message', subject, { message: frame })),
      );
      if (result.rejected) throw gatewayErrorForStatus(result.rejected.status, result.rejected.message);
      await actions.carryOut(target.api, subject, result.actions, { deadline, waitForOpen: false });
    },
    async onConnect(subject, backend) {
      let result: HandlerResult;
      try {
        result = await logged(handlers.call(backend.handler, handlerInvocation('connect', subject)));
      } catch (error) {
        await removeConnection(subject.connectionId);
        throw error;
      }
      if (result.rejected) {
        await removeConnection(subject.connectionId);
        throw gatewayErrorForStatus(result.rejected.status, result.rejected.message);
      }
      if (result.actions.length)
        await handlers.followUp({
          kind: 'opened',
          handler: backend.handler,
          subject: narrowed(subject),
          actions: result.actions,
        });
    },
    async onDisconnect(subject, backend) {
      await handlers.followUp({ kind: 'disconnect', handler: backend.handler, subject: narrowed(subject) });
    },
    async authorizeTopic(subject, backend) {
      const result = await handlers.call(backend.handler, handlerInvocation('subscribe', subject));
      if (result.rejected) throw gatewayErrorForStatus(result.rejected.status, result.rejected.message);
    },
  };
}

/** A subject with only what a handler may learn of the principal (its client id and key type). */
function narrowed(subject: InvocationSubject): InvocationSubject {
  const { principal, ...rest } = subject;
  return {
    ...rest,
    ...(principal ? { principal: { clientId: principal.clientId, keyType: principal.keyType } } : {}),
  };
}

/** A failed handler answers the client with a plain 502; what failed goes to the log. */
async function logged<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (isGatewayError(error) && error.cause)
      logger.warn('the channel handler failed', {
        reason: String((error.cause as Error).message ?? error.cause),
      });
    throw error;
  }
}

/**
 * The follow-up function's work: onConnect's actions once the socket is open, or onDisconnect and
 * its publications. `api` is the subject's API as this deployment knows it.
 */
export async function runFollowUp(
  event: HandlerFollowUp,
  api: Target['api'],
  handlers: Pick<HandlerInvoker, 'call'>,
  actions: HandlerActions,
  deadline: number,
): Promise<void> {
  if (event.kind === 'opened') {
    const checked = checkHandlerResult({ actions: event.actions });
    await actions.carryOut(api, event.subject, checked.actions, { deadline, waitForOpen: true });
    return;
  }
  const result = await logged(handlers.call(event.handler, handlerInvocation('disconnect', event.subject)));
  const publications = result.actions.filter((a) => a.type === 'publish');
  await actions.carryOut(api, event.subject, publications, { deadline, waitForOpen: false });
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
  /** Carries out what handlers answer (the message function's). */
  handlerActions: HandlerActions;
  /** Absent when no channel takes client frames to Kafka. */
  producer: RecordProducer | undefined;
  removeConnection(connectionId: string): Promise<unknown>;
}

/** The registry of every backend type streamgate knows. */
export function createChannelBackends(deps: BackendDependencies): ChannelBackends {
  return new ChannelBackends({
    fanout: fanoutDriver(deps.delivery),
    http: httpDriver(deps.http, deps.delivery),
    handler: handlerDriver(deps.handlers, deps.removeConnection, deps.handlerActions),
    kafka: kafkaDriver(deps.producer),
  });
}
