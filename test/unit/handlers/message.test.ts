import { describe, expect, it, vi } from 'vitest';
import type { LifecycleState } from '../../../lambdas/core/catalog.ts';
import type { HandlerResult } from '../../../lambdas/core/channel-handler-api.ts';
import type { ConnectionRecord } from '../../../lambdas/core/connection.ts';
import { GatewayError } from '../../../lambdas/core/errors.ts';
import { AccessDecision } from '../../../lambdas/usecases/access.ts';
import { createChannelBackends, HandlerActions } from '../../../lambdas/usecases/backends.ts';
import {
  ConnectionBindings,
  createMessageRoutes,
  RefusalAnswers,
  ThrottleNotices,
} from '../../../lambdas/usecases/messaging.ts';
import { lambdaContext } from '../../fixtures/events/lambda-context.ts';
import {
  app,
  CONNECTION_ID,
  catalog,
  chats,
  connectionOn,
  entitlement,
  events,
  fakeCounters,
  fakeDelivery,
  fakeHandlers,
  fakeHttp,
  fakeProducer,
  fakeReads,
  fakeStore,
  principal,
  resolver,
} from './world.ts';

// The module builds its default dependencies at import (as at a cold start): give it a configuration.
await vi.hoisted(() => import('./cold-start-env.ts'));
vi.mock('../../../lambdas/shared/catalog.ts', () => ({ catalog: { apis: [] } }));

const { createHandler } = await import('../../../lambdas/message/index.ts');

interface Options {
  topic?: string;
  record?: Partial<ConnectionRecord>;
  eventsLeft?: number;
  http?: Parameters<typeof fakeHttp>[0];
  handler?: HandlerResult;
  withoutProducer?: boolean;
  lifecycle?: LifecycleState;
}

function world(options: Options = {}) {
  const store = fakeStore([connectionOn(options.topic ?? '/rooms/room1', options.record)]);
  const counters = fakeCounters({ events: options.eventsLeft ?? 100, slots: 10 });
  const delivery = fakeDelivery();
  const http = fakeHttp(options.http);
  const handlers = fakeHandlers(options.handler);
  const producer = fakeProducer();
  const claims = { claimNotice: vi.fn(async () => true) };
  const replies: string[] = [];
  const reply = vi.fn(async (_connectionId: string, frame: string) => {
    replies.push(frame);
  });
  const backends = createChannelBackends({
    delivery,
    http,
    handlers,
    handlerActions: new HandlerActions(delivery, resolver, async () => true),
    producer: options.withoutProducer ? undefined : producer,
    removeConnection: (id) => store.remove(id),
  });
  const access = new AccessDecision(
    fakeReads({ entitlement: entitlement(), ...(options.lifecycle ? { lifecycle: options.lifecycle } : {}) }),
    counters,
    undefined,
    backends,
  );
  const closed: string[] = [];
  const handler = createHandler({
    catalog,
    bindings: new ConnectionBindings(store),
    access,
    routes: createMessageRoutes({
      access,
      backends,
      subscriptions: store,
      resolver,
      reply,
    }),
    refusals: new RefusalAnswers(new ThrottleNotices(claims), reply, async (id) => {
      closed.push(id);
    }),
  });
  const send = (body: string, routeKey = '$default', base64 = false) => {
    const event = routeKey === '$default' ? events.frame() : events.subscribe();
    event.requestContext.routeKey = routeKey;
    event.body = base64 ? Buffer.from(body).toString('base64') : body;
    event.isBase64Encoded = base64;
    return handler(event, lambdaContext());
  };
  const frames = () => replies.map((r) => JSON.parse(r) as Record<string, unknown>);
  return { send, frames, store, counters, delivery, http, handlers, producer, claims, closed };
}

const control = (message: Record<string, unknown>) => JSON.stringify(message);

describe('the message handler: backends', () => {
  it('fanout: a raw frame goes to the subscribers of the own topic but the sender, charged one event', async () => {
    const w = world();
    expect(await w.send('hello room')).toEqual({ statusCode: 200 });
    expect(w.delivery.toSubscribers).toHaveBeenCalledWith(
      chats,
      'carbon.super/chats/1.0.0/rooms/room1',
      'hello room',
      expect.any(Number),
      CONNECTION_ID,
    );
    expect(w.counters.reserve).toHaveBeenCalledWith(`app-1|${chats.id}`, entitlement().plan, 1);
    expect(w.frames()).toEqual([]);
  });

  it('decodes a binary (base64) frame before publishing it', async () => {
    const w = world();
    await w.send('bytes as text', '$default', true);
    expect(w.delivery.toSubscribers.mock.calls[0]?.[2]).toBe('bytes as text');
  });

  it("http: posts the frame with the sender's context and delivers the reply to the sender", async () => {
    const w = world({ topic: '/echo', http: { body: 'pong' } });
    expect(await w.send('ping')).toEqual({ statusCode: 200 });
    const [url, frame, context, timeoutMs] = w.http.post.mock.calls[0] ?? [];
    expect([url, frame]).toEqual(['http://backend.test/base', 'ping']);
    expect(context).toEqual({
      api: chats.id,
      topic: '/echo',
      connectionId: CONNECTION_ID,
      application: app,
      clientId: 'client-1',
      keyType: 'PRODUCTION',
      contentType: 'text/plain; charset=utf-8',
    });
    expect(timeoutMs).toBeLessThanOrEqual(2_000);
    expect(w.delivery.deliver).toHaveBeenCalledWith(
      [{ connectionId: CONNECTION_ID, api: chats, app, frames: [{ data: 'pong', events: 1 }] }],
      expect.any(Number),
    );
  });

  it('http: a backend that does not answer in time is a 504 error frame', async () => {
    const w = world({ topic: '/echo' });
    w.http.post.mockRejectedValueOnce(
      new GatewayError('gateway_timeout', 'the backend did not answer within 2000 ms'),
    );
    expect(await w.send('ping')).toEqual({ statusCode: 504 });
    expect(w.frames()).toEqual([
      {
        type: 'error',
        status: 504,
        error: 'gateway_timeout',
        message: 'the backend did not answer within 2000 ms',
      },
    ]);
    expect(w.delivery.deliver).not.toHaveBeenCalled();
  });

  it("handler: invokes the channel's handler with the message, and relays its refusal", async () => {
    const w = world({
      topic: '/bot',
      handler: { rejected: { status: 400, message: 'say please' }, actions: [] },
    });
    expect(await w.send('hi bot')).toEqual({ statusCode: 400 });
    expect(w.handlers.call).toHaveBeenCalledWith('examples/echo', {
      phase: 'message',
      connectionId: CONNECTION_ID,
      apiId: chats.id,
      topic: '/bot',
      params: {},
      principal: { clientId: 'client-1', keyType: 'PRODUCTION' },
      app,
      message: 'hi bot',
    });
    expect(w.frames()[0]).toMatchObject({ status: 400, error: 'bad_request', message: 'say please' });
  });

  it('handler: the message function itself sends what the handler answered, within its API', async () => {
    const w = world({
      topic: '/bot',
      handler: {
        actions: [
          { type: 'reply', data: 'hello you' },
          { type: 'publish', topic: '/rooms/room1', data: 'bot spoke', exceptSender: false },
        ],
      },
    });
    expect(await w.send('hi bot')).toEqual({ statusCode: 200 });
    expect(w.delivery.deliver).toHaveBeenCalledWith(
      [expect.objectContaining({ connectionId: CONNECTION_ID, frames: [{ data: 'hello you', events: 1 }] })],
      expect.any(Number),
    );
    expect(w.delivery.toSubscribers).toHaveBeenCalledWith(
      expect.objectContaining({ id: chats.id }),
      expect.stringMatching(/\/chats\/1\.0\.0\/rooms\/room1$/),
      'bot spoke',
      expect.any(Number),
      undefined,
    );
  });

  it('kafka: the frame becomes a record keyed by the topic parameter', async () => {
    const w = world({ topic: '/orders/o-17' });
    expect(await w.send('{"qty":2}')).toEqual({ statusCode: 200 });
    expect(w.producer.produce).toHaveBeenCalledWith([
      { topic: 'orders', key: 'o-17', value: '{"qty":2}', headers: {} },
    ]);
  });

  it('kafka: without a producer the sender is told the gateway failed', async () => {
    const w = world({ topic: '/orders/o-17', withoutProducer: true });
    expect(await w.send('{}')).toEqual({ statusCode: 500 });
    expect(w.frames()[0]).toMatchObject({
      error: 'internal_error',
      message: 'no Kafka producer is deployed',
    });
  });
});

describe('the message handler: control routes', () => {
  it('subscribe adds the topic and acknowledges with the id', async () => {
    const w = world();
    expect(await w.send(events.subscribe().body ?? '', 'subscribe')).toEqual({ statusCode: 200 });
    expect(w.frames()).toEqual([{ type: 'subscribed', topic: '/rooms/room2', id: '1' }]);
    expect(w.store.byId.get(CONNECTION_ID)?.topicKeys).toContain('carbon.super/chats/1.0.0/rooms/room2');
  });

  it('refuses to subscribe to a publish-only topic, echoing the control message', async () => {
    const w = world();
    const response = await w.send(control({ action: 'subscribe', topic: '/echo', id: '7' }), 'subscribe');
    expect(response).toEqual({ statusCode: 403 });
    expect(w.frames()).toEqual([
      {
        type: 'error',
        status: 403,
        error: 'forbidden',
        message: 'topic /echo cannot be subscribed to (it is publish only)',
        action: 'subscribe',
        topic: '/echo',
        id: '7',
      },
    ]);
  });

  it('unsubscribe from a topic not subscribed to is 404', async () => {
    const w = world();
    expect(await w.send(control({ action: 'unsubscribe', topic: '/news' }), 'unsubscribe')).toEqual({
      statusCode: 404,
    });
  });

  it('publish to a subscribe-only topic is refused with the topic in the details', async () => {
    const w = world();
    await w.send(control({ action: 'publish', topic: '/news', data: 'x' }), 'publish');
    expect(w.frames()[0]).toMatchObject({ status: 403, topic: '/news', action: 'publish' });
    // Refused or not, a frame is one event of the sender's plan (issue 11: every frame counts).
    expect(w.counters.reserve).toHaveBeenCalledTimes(1);
  });

  it('publish to another topic of the API fans out there and acknowledges with the id', async () => {
    const w = world();
    await w.send(control({ action: 'publish', topic: '/rooms/room9', data: { n: 1 }, id: 'p1' }), 'publish');
    expect(w.delivery.toSubscribers.mock.calls[0]?.slice(1, 3)).toEqual([
      'carbon.super/chats/1.0.0/rooms/room9',
      '{"n":1}',
    ]);
    expect(w.frames()).toEqual([{ type: 'published', topic: '/rooms/room9', id: 'p1' }]);
  });

  it('a connection whose token expired may not act (401), but raw frames are checked on publish too', async () => {
    const w = world({ record: { principal: { ...principal, expiresAt: 1 } } });
    await w.send(control({ action: 'subscribe', topic: '/rooms/room2' }), 'subscribe');
    await w.send('hello');
    expect(w.frames().map((f) => f.status)).toEqual([401, 401]);
  });
});

describe('the message handler: what it remembers', () => {
  it('tells a throttled sender once per period, not once per refused frame', async () => {
    const w = world({ eventsLeft: 0 });
    expect(await w.send('one')).toEqual({ statusCode: 429 });
    expect(await w.send('two')).toEqual({ statusCode: 429 });
    expect(w.frames()).toEqual([
      {
        type: 'error',
        status: 429,
        error: 'too_many_requests',
        message: 'plan Gold allows 100 events per minute; this one was refused',
        plan: 'Gold',
      },
    ]);
    expect(w.claims.claimNotice).toHaveBeenCalledTimes(1);
    expect(w.delivery.toSubscribers).not.toHaveBeenCalled();
  });

  it("keeps a connection's binding: the record is read once for many frames", async () => {
    const w = world();
    await w.send('one');
    await w.send('two');
    expect(w.store.get).toHaveBeenCalledTimes(1);
  });

  it('an unregistered connection is told to connect again, and is not remembered', async () => {
    const w = world();
    w.store.byId.clear();
    expect(await w.send('one')).toEqual({ statusCode: 401 });
    expect(await w.send('two')).toEqual({ statusCode: 401 });
    expect(w.store.get).toHaveBeenCalledTimes(2);
    expect(w.frames()[0]?.message).toBe('this connection is not registered; connect again');
  });

  it('an unexpected failure is a 500 error frame that does not leak the cause', async () => {
    const w = world();
    w.delivery.toSubscribers.mockRejectedValueOnce(new Error('socket hang up'));
    expect(await w.send('one')).toEqual({ statusCode: 500 });
    expect(w.frames()).toEqual([
      {
        type: 'error',
        status: 500,
        error: 'internal_error',
        message: 'the gateway failed to handle this message',
      },
    ]);
  });
});

describe('the message binding cache', () => {
  it('reads the record again once its time is up', async () => {
    // A real clock never reads 0 (lru-cache takes a start time of 0 for "no TTL").
    let now = 1_000_000;
    const store = fakeStore([connectionOn('/rooms/room1')]);
    const bindings = new ConnectionBindings(store, 60_000, 10_000, () => now);
    await bindings.get(CONNECTION_ID);
    now = 1_059_999;
    await bindings.get(CONNECTION_ID);
    now = 1_060_001;
    await bindings.get(CONNECTION_ID);
    expect(store.get).toHaveBeenCalledTimes(2);
  });
});

describe('the throttle notices', () => {
  it('claim a notice once per period per connection', async () => {
    let now = 1_000;
    const claims = { claimNotice: vi.fn(async () => true) };
    const notices = new ThrottleNotices(claims, 30_000, () => now);
    expect(await notices.due('c1')).toBe(true);
    now += 29_000;
    expect(await notices.due('c1')).toBe(false);
    expect(await notices.due('c2')).toBe(true);
    now += 2_000;
    expect(await notices.due('c1')).toBe(true);
    expect(claims.claimNotice).toHaveBeenCalledTimes(3);
  });
});
