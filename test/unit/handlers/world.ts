/**
 * A small world for the WebSocket handler tests: one API with a channel per backend type, a token,
 * an application with a plan, and in-memory fakes of every adapter the use cases call.
 */
import type { APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { vi } from 'vitest';
import type { ConnectEvent } from '../../../lambdas/connect/index.ts';
import type { Principal } from '../../../lambdas/core/auth.ts';
import { type Catalog, type LifecycleState, qualifiedContext } from '../../../lambdas/core/catalog.ts';
import type {
  HandlerFollowUp,
  HandlerInvocation,
  HandlerResult,
} from '../../../lambdas/core/channel-handler-api.ts';
import { type ConnectionRecord, newConnectionRecord } from '../../../lambdas/core/connection.ts';
import type { Entitlement } from '../../../lambdas/core/entitlement.ts';
import { unauthorized } from '../../../lambdas/core/errors.ts';
import type { OutgoingRecord } from '../../../lambdas/core/kafka-publish.ts';
import type { Plan } from '../../../lambdas/core/plans.ts';
import { createTargetResolver } from '../../../lambdas/core/target.ts';
import type { DisconnectEvent } from '../../../lambdas/disconnect/index.ts';
import type { AccessReads, PlanCounters } from '../../../lambdas/usecases/access.ts';
import type { FrameDelivery, HttpPoster } from '../../../lambdas/usecases/backends.ts';
import connectJson from '../../fixtures/events/connect.json' with { type: 'json' };
import disconnectJson from '../../fixtures/events/disconnect.json' with { type: 'json' };
import frameJson from '../../fixtures/events/frame.json' with { type: 'json' };
import subscribeJson from '../../fixtures/events/subscribe.json' with { type: 'json' };
import { api, channel } from '../../helpers/catalog.ts';

/**
 * Fresh copies of the AWS-shaped event fixtures, typed as the handlers take them (@types/aws-lambda
 * wants a `messageId` on every WebSocket event; AWS sends one only with MESSAGE events).
 */
export const events = {
  connect: () =>
    structuredClone(connectJson) as unknown as ConnectEvent & {
      headers: Record<string, string | undefined>;
      queryStringParameters: Record<string, string | undefined>;
    },
  frame: () => structuredClone(frameJson) as APIGatewayProxyWebsocketEventV2,
  subscribe: () => structuredClone(subscribeJson) as APIGatewayProxyWebsocketEventV2,
  disconnect: () => structuredClone(disconnectJson) as unknown as DisconnectEvent,
};

export const chats = api({
  name: 'Chats',
  context: '/chats',
  plans: ['Gold'],
  endpoints: { production: 'http://backend.test/base' },
  channels: [
    channel('/rooms/{roomID}'),
    channel('/news', { pub: false }),
    channel('/echo', { backend: { type: 'http', timeoutMs: 2_000 }, sub: false }),
    channel('/bot', { backend: { type: 'handler', handler: 'examples/echo' } }),
    channel('/orders/{orderID}', {
      backend: { type: 'kafka', topic: 'orders', parameters: { orderID: { from: 'key' } }, coalesce: false },
    }),
    channel('/lobby', { open: true }),
  ],
});
export const catalog: Catalog = { apis: [chats] };
export const resolver = createTargetResolver(catalog);

export const CONNECTION_ID = 'CbXXXdIXjoECIUw=';
export const app = { appId: 'app-1', appName: 'Shop' };

export const principal: Principal = {
  issuer: 'https://issuer.test',
  subject: 'client-1',
  clientId: 'client-1',
  scopes: [],
  tenant: 'carbon.super',
  keyType: 'PRODUCTION',
  expiresAt: 4_102_444_800, // 2100-01-01
  ...app,
};

export function entitlement(plan: Partial<Plan> = {}, status: Entitlement['status'] = 'ACTIVE'): Entitlement {
  return {
    key: `${app.appId}|${chats.id}`,
    ...app,
    apiId: chats.id,
    plan: { name: 'Gold', events: 100, per: 'minute', ...plan },
    status,
    subscriptionless: false,
  };
}

/** A connection registered on `topic` of the Chats API, as `$connect` writes it. */
export function connectionOn(topic: string, overrides: Partial<ConnectionRecord> = {}): ConnectionRecord {
  const target = resolver.resolveTopic(chats, topic);
  return {
    ...newConnectionRecord(CONNECTION_ID, target, principal, 1796018400000, qualifiedContext(chats), { app }),
    ...overrides,
  };
}

/** The registry reads: one application, one subscription (change `current` to vary it). */
export function fakeReads(
  current: { entitlement: Entitlement | undefined; lifecycle?: LifecycleState } = {
    entitlement: entitlement(),
  },
) {
  return {
    lifecycleOf: vi.fn<AccessReads['lifecycleOf']>(async (a) => current.lifecycle ?? a.lifecycle),
    applicationOf: vi.fn<AccessReads['applicationOf']>(async () => app),
    entitlement: vi.fn<AccessReads['entitlement']>(async () => current.entitlement),
  };
}

/** Plan counters with `events` left this period and `slots` free connection slots. */
export function fakeCounters(left: { events: number; slots: number } = { events: 100, slots: 10 }) {
  return {
    remaining: vi.fn<PlanCounters['remaining']>(async () => left.events),
    reserve: vi.fn<PlanCounters['reserve']>(async (_key, _plan, events) => {
      const granted = Math.min(events, left.events);
      left.events -= granted;
      return { granted };
    }),
    acquireConnection: vi.fn<PlanCounters['acquireConnection']>(async () => {
      if (left.slots <= 0) return false;
      left.slots--;
      return true;
    }),
    releaseConnection: vi.fn<PlanCounters['releaseConnection']>(async () => {
      left.slots++;
    }),
  };
}

/** `token-1` is the principal above; anything else is refused as the verifier would. */
export const fakeVerifier = {
  verify: vi.fn(async (token: string) => {
    if (token !== 'token-1') throw unauthorized('the access token is not valid');
    return principal;
  }),
};

export function fakeDelivery() {
  return {
    toSubscribers: vi.fn<FrameDelivery['toSubscribers']>(async () => ({
      sent: 2,
      gone: [],
      failed: [],
      throttledEvents: 0,
      recipients: 2,
    })),
    deliver: vi.fn<FrameDelivery['deliver']>(async () => ({})),
  };
}

export function fakeHttp(answer: Partial<Awaited<ReturnType<HttpPoster['post']>>> = {}) {
  return {
    post: vi.fn<HttpPoster['post']>(async () => ({ status: 200, body: '', elapsedMs: 3, ...answer })),
  };
}

export function fakeHandlers(result: HandlerResult = { actions: [] }) {
  return {
    call: vi.fn(async (_handler: string, _invocation: HandlerInvocation) => result),
    followUp: vi.fn(async (_event: HandlerFollowUp) => undefined),
  };
}

export function fakeProducer() {
  return {
    produce: vi.fn(async (records: OutgoingRecord[]) =>
      records.map((r, i) => ({ topic: r.topic, partition: 0, offset: String(i) })),
    ),
  };
}

/** The connections table: records by id, with the subscription calls the routes make. */
export function fakeStore(records: ConnectionRecord[] = []) {
  const byId = new Map(records.map((r) => [r.connectionId, r]));
  return {
    byId,
    get: vi.fn(async (id: string) => byId.get(id)),
    put: vi.fn(async (record: ConnectionRecord) => {
      byId.set(record.connectionId, record);
    }),
    remove: vi.fn(async (id: string) => {
      const record = byId.get(id);
      byId.delete(id);
      return record;
    }),
    subscribe: vi.fn(async (record: ConnectionRecord, topicKey: string) => {
      const current = byId.get(record.connectionId);
      if (!current) throw new Error('not registered');
      if (current.topicKeys.includes(topicKey)) return 'already' as const;
      if (current.topicKeys.length >= 20) return 'limit' as const;
      current.topicKeys.push(topicKey);
      return 'added' as const;
    }),
    unsubscribe: vi.fn(async (id: string, topicKey: string) => {
      const current = byId.get(id);
      const index = current?.topicKeys.indexOf(topicKey) ?? -1;
      if (!current || index < 0) return false;
      current.topicKeys.splice(index, 1);
      return true;
    }),
  };
}
