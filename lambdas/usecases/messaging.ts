/**
 * What an open connection may send: a raw frame (route `$default`, published to the connection's
 * own topic) or a control message (routes `subscribe`, `unsubscribe`, `publish`, which API Gateway
 * selects by `$request.body.action`). One route table, keyed by the route key; each route asks the
 * access decision first, then acts.
 */
import { LRUCache } from 'lru-cache';
import type { ApiDef } from '../core/catalog.ts';
import { type ConnectionRecord, MAX_TOPICS_PER_CONNECTION } from '../core/connection.ts';
import { ackFrame, type ControlAction, type ControlMessage } from '../core/control.ts';
import { asError, ClosingRefusal, GatewayError, notFound, topicLimit } from '../core/errors.ts';
import type { Target, TargetResolver } from '../core/target.ts';
import { TtlCache } from '../core/ttl-cache.ts';
import { logger, MetricUnit, metrics } from '../shared/observability.ts';
import { refusalOf, toErrorFrame } from '../shared/refusals.ts';
import type { AccessDecision } from './access.ts';
import type { ChannelBackends } from './backends.ts';
import { type ConnectionRate, rateLimited } from './connection-rate.ts';

/** API Gateway's route keys of the Message function. */
export type RouteKey = '$default' | ControlAction;

/** One message of an open connection, with what the route needs to act on it. */
export interface RouteRequest {
  record: ConnectionRecord;
  api: ApiDef;
  /** The frame as text (base64 frames decoded). */
  frame: string;
  /** The parsed control message (control routes only). */
  control?: ControlMessage;
  /** Epoch ms: the invocation's time budget. */
  deadline: number;
  /** Epoch ms API Gateway received the frame (`requestTimeEpoch`): the rate limit's clock. */
  receivedAt?: number;
}

export type Route = (request: RouteRequest) => Promise<void>;

/** The subscription registry the routes change (`adapters/connection-store.ts` ConnectionStore). */
export interface Subscriptions {
  subscribe(record: ConnectionRecord, topicKey: string): Promise<'added' | 'already' | 'limit'>;
  unsubscribe(connectionId: string, topicKey: string): Promise<boolean>;
}

/** Sends one frame to one connection (an acknowledgement, an error frame); never throws on a gone peer. */
export type Reply = (connectionId: string, frame: string, deadline: number) => Promise<void>;

export interface RouteDependencies {
  access: Pick<AccessDecision, 'authorize' | 'requireLiveToken'>;
  backends: Pick<ChannelBackends, 'publish'>;
  subscriptions: Subscriptions;
  resolver: Pick<TargetResolver, 'resolveTopic'>;
  reply: Reply;
  /** Every frame's rate limit (`connection-rate.ts`); none: unlimited. */
  rate?: Pick<ConnectionRate, 'admit'>;
}

/** The route table of the Message function. */
export function createMessageRoutes(deps: RouteDependencies): Record<RouteKey, Route> {
  const { access, backends, subscriptions, resolver, reply } = deps;

  const publish = async (record: ConnectionRecord, target: Target, frame: string, deadline: number) => {
    await access.authorize(record, target, 'publish');
    await backends.publish({ sender: record, target, deadline }, frame);
  };

  /** A control message acts only with a live token, on a topic of the connection's own API. */
  const controlTarget = ({ record, api, control }: RouteRequest): [ControlMessage, Target] => {
    if (!control) throw new GatewayError('internal_error', 'a control route got no control message');
    access.requireLiveToken(record);
    return [control, resolver.resolveTopic(api, control.topic)];
  };

  return rateLimited<RouteKey, RouteRequest>(deps.rate, {
    async $default({ record, api, frame, deadline }) {
      await publish(record, resolver.resolveTopic(api, record.topic), frame, deadline);
    },

    async subscribe(request) {
      const [control, target] = controlTarget(request);
      const { record, deadline } = request;
      await access.authorize(record, target, 'subscribe');
      const outcome = await subscriptions.subscribe(record, target.topicKey);
      // Its own code, answered every time (not a throttle notice): the client must unsubscribe first.
      if (outcome === 'limit') throw topicLimit(MAX_TOPICS_PER_CONNECTION, { topic: target.topic });
      logger.info('subscribed', { api: request.api.id, topic: target.topic, already: outcome === 'already' });
      await reply(record.connectionId, ackFrame('subscribed', target.topic, control.id), deadline);
    },

    async unsubscribe(request) {
      const [control, target] = controlTarget(request);
      const { record, deadline } = request;
      const removed = await subscriptions.unsubscribe(record.connectionId, target.topicKey);
      if (!removed) throw notFound(`this connection is not subscribed to ${target.topic}`);
      await reply(record.connectionId, ackFrame('unsubscribed', target.topic, control.id), deadline);
    },

    async publish(request) {
      const [control, target] = controlTarget(request);
      const { record, deadline } = request;
      await publish(record, target, control.action === 'publish' ? control.data : request.frame, deadline);
      if (control.id !== undefined)
        await reply(record.connectionId, ackFrame('published', target.topic, control.id), deadline);
    },
  });
}

/**
 * What a connection is bound to never changes after `$connect`, so an execution environment keeps
 * it for a while instead of reading DynamoDB on every frame. Subscriptions are always read fresh.
 */
export class ConnectionBindings {
  private readonly cache: TtlCache<ConnectionRecord>;

  /** `ttlMs` 60 s and at most 10,000 bindings per execution environment, as documented. */
  constructor(
    private readonly store: { get(connectionId: string): Promise<ConnectionRecord | undefined> },
    ttlMs = 60_000,
    maxEntries = 10_000,
    now: () => number = Date.now,
  ) {
    this.cache = new TtlCache(ttlMs, maxEntries, now);
  }

  /** The connection's record; 401 when it is not registered (never cached). */
  async get(connectionId: string): Promise<ConnectionRecord> {
    return this.cache.get(connectionId, async () => {
      const record = await this.store.get(connectionId);
      if (!record) throw new GatewayError('unauthorized', 'this connection is not registered; connect again');
      return record;
    });
  }
}

/**
 * How a refused message is answered: logged, counted, and sent back to the sender as one error
 * frame that echoes the control message — except that a throttled sender is told once a period.
 * A ClosingRefusal (the API was blocked or retired) is always sent, then the connection is closed.
 * Returns the refusal's status (the route's result, which API Gateway does not forward).
 */
export class RefusalAnswers {
  constructor(
    private readonly notices: Pick<ThrottleNotices, 'due'>,
    private readonly reply: Reply,
    /** Closes a connection (`@connections` DELETE); a gone one is no error. */
    private readonly close: (connectionId: string) => Promise<void> = async () => {},
  ) {}

  async answer(
    connectionId: string,
    error: unknown,
    control: ControlMessage | undefined,
    deadline: number,
  ): Promise<number> {
    const refusal = refusalOf(error, 'the gateway failed to handle this message');
    if (refusal === error)
      logger.warn('message refused', { status: refusal.status, reason: refusal.message });
    else logger.error('message failed', asError(error));
    metrics.addMetric('messagesRefused', MetricUnit.Count, 1);
    const echo = control
      ? { action: control.action, topic: control.topic, ...(control.id ? { id: control.id } : {}) }
      : {};
    if (refusal.code !== 'too_many_requests' || (await this.notices.due(connectionId))) {
      await this.reply(connectionId, toErrorFrame(refusal, echo), deadline);
    }
    if (refusal instanceof ClosingRefusal) {
      await this.close(connectionId);
      metrics.addMetric('connectionsClosed', MetricUnit.Count, 1);
    }
    return refusal.status;
  }
}

/**
 * A throttled connection is told once a period, not once per refused frame: once per period across
 * all execution environments (a conditional write); this one's memory (LRU, at most 10,000
 * connections) spares most of the writes.
 */
export class ThrottleNotices {
  private readonly told: LRUCache<string, true>;

  constructor(
    private readonly claims: { claimNotice(connectionId: string, periodMs: number): Promise<boolean> },
    private readonly periodMs = 30_000,
    now: () => number = Date.now,
  ) {
    this.told = new LRUCache({ max: 10_000, ttl: periodMs, ttlResolution: 0, perf: { now } });
  }

  async due(connectionId: string): Promise<boolean> {
    if (this.told.has(connectionId)) return false;
    this.told.set(connectionId, true);
    return this.claims.claimNotice(connectionId, this.periodMs);
  }
}
