import { describe, expect, it, vi } from 'vitest';
import type { HandlerResult } from '../../../lambdas/core/channel-handler-api.ts';
import { AccessDecision } from '../../../lambdas/usecases/access.ts';
import { ChannelBackends, handlerDriver } from '../../../lambdas/usecases/backends.ts';
import {
  CONNECTION_ID,
  chats,
  entitlement,
  events,
  fakeCounters,
  fakeHandlers,
  fakeReads,
  fakeStore,
  fakeVerifier,
  resolver,
} from './world.ts';

// The module builds its default dependencies at import (as at a cold start): give it a configuration.
await vi.hoisted(() => import('./cold-start-env.ts'));
vi.mock('../../../lambdas/shared/catalog.ts', () => ({ catalog: { apis: [] } }));

const { createHandler } = await import('../../../lambdas/connect/index.ts');

function world(options: { entitlement?: ReturnType<typeof entitlement>; handler?: HandlerResult } = {}) {
  const reads = fakeReads({ entitlement: options.entitlement ?? entitlement() });
  const counters = fakeCounters({ events: 100, slots: 1 });
  const store = fakeStore();
  const handlers = fakeHandlers(options.handler);
  const handler = createHandler({
    resolver,
    access: new AccessDecision(reads, counters, fakeVerifier),
    store,
    backends: new ChannelBackends({ handler: handlerDriver(handlers, (id) => store.remove(id)) }),
  });
  return { handler, reads, counters, store, handlers };
}

/** The fixture event, connecting to `target` (and with the fixture's token unless `token` says otherwise). */
function connectTo(target: string, token: string | null = 'token-1') {
  const event = events.connect();
  event.queryStringParameters.target = target;
  event.headers.Authorization = token === null ? undefined : `Bearer ${token}`;
  return event;
}

describe('the $connect handler', () => {
  it('registers an authorized connection with its application and answers 200', async () => {
    const { handler, store } = world();
    expect(await handler(connectTo('/chats/1.0.0/rooms/room1'))).toEqual({ statusCode: 200 });
    const record = store.byId.get(CONNECTION_ID);
    expect(record).toMatchObject({
      apiId: chats.id,
      topic: '/rooms/room1',
      app: { appId: 'app-1', appName: 'Shop' },
      principal: { clientId: 'client-1' },
      topicKeys: ['carbon.super/chats/1.0.0/rooms/room1'],
    });
    expect(record?.holdsConnectionSlot).toBeUndefined();
  });

  it('answers a refusal as the handshake response: status and a JSON body', async () => {
    const { handler, store } = world();
    const response = await handler(connectTo('/chats/1.0.0/rooms/room1', null));
    expect(response).toEqual({
      statusCode: 401,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        error: 'unauthorized',
        message: 'an access token is required: send "Authorization: Bearer <token>" or ?access_token=<token>',
      }),
    });
    expect(store.put).not.toHaveBeenCalled();
  });

  it('lets a client onto an open channel without a token', async () => {
    const { handler, store, reads } = world();
    expect(await handler(connectTo('/chats/1.0.0/lobby', null))).toEqual({ statusCode: 200 });
    expect(store.byId.get(CONNECTION_ID)?.principal).toBeUndefined();
    expect(reads.applicationOf).not.toHaveBeenCalled();
  });

  it('takes a connection slot when the plan caps connections, and refuses when none is left', async () => {
    const { handler, store, counters } = world({ entitlement: entitlement({ maxConnections: 1 }) });
    expect(await handler(connectTo('/chats/1.0.0/rooms/room1'))).toEqual({ statusCode: 200 });
    expect(store.byId.get(CONNECTION_ID)?.holdsConnectionSlot).toBe(true);
    const second = await handler(connectTo('/chats/1.0.0/rooms/room1'));
    expect(second.statusCode).toBe(429);
    expect(JSON.parse(second.body as string).message).toBe(
      'application Shop already holds the 1 connections plan Gold allows',
    );
    expect(counters.releaseConnection).not.toHaveBeenCalled();
  });

  it('gives back the connection slot and removes the record when the channel handler rejects', async () => {
    const { handler, store, counters, handlers } = world({
      entitlement: entitlement({ maxConnections: 1 }),
      handler: { rejected: { status: 403, message: 'no bots today' }, actions: [] },
    });
    const response = await handler(connectTo('/chats/1.0.0/bot'));
    expect(response.statusCode).toBe(403);
    expect(JSON.parse(response.body as string)).toEqual({ error: 'forbidden', message: 'no bots today' });
    expect(handlers.call).toHaveBeenCalledWith('examples/echo', {
      phase: 'connect',
      connectionId: CONNECTION_ID,
      apiId: chats.id,
      topic: '/bot',
      params: {},
      principal: { clientId: 'client-1', keyType: 'PRODUCTION' },
      app: { appId: 'app-1', appName: 'Shop' },
    });
    expect(store.remove).toHaveBeenCalledWith(CONNECTION_ID);
    expect(store.byId.has(CONNECTION_ID)).toBe(false);
    expect(counters.releaseConnection).toHaveBeenCalledWith(`app-1|${chats.id}`, CONNECTION_ID);
    expect(handlers.followUp).not.toHaveBeenCalled();
  });

  it("sends what the handler's onConnect asked for once the socket is open", async () => {
    const actions = [{ type: 'reply' as const, data: 'welcome' }];
    const { handler, handlers } = world({ handler: { actions } });
    expect(await handler(connectTo('/chats/1.0.0/bot'))).toEqual({ statusCode: 200 });
    expect(handlers.followUp).toHaveBeenCalledWith({
      kind: 'opened',
      handler: 'examples/echo',
      subject: expect.objectContaining({ connectionId: CONNECTION_ID, topic: '/bot' }),
      actions,
    });
  });

  it('refuses an application whose subscription is blocked', async () => {
    const { handler } = world({ entitlement: entitlement({}, 'BLOCKED') });
    const response = await handler(connectTo('/chats/1.0.0/rooms/room1'));
    expect(response.statusCode).toBe(403);
    expect(JSON.parse(response.body as string).message).toBe(
      'the subscription of Shop to API Chats 1.0.0 is BLOCKED',
    );
  });

  it('answers 404 for a target that names no API', async () => {
    const { handler } = world();
    expect((await handler(connectTo('/nothing/1.0.0'))).statusCode).toBe(404);
  });
});
