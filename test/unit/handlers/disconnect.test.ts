import { describe, expect, it, vi } from 'vitest';
import { ChannelBackends, handlerDriver } from '../../../lambdas/usecases/backends.ts';
import {
  app,
  CONNECTION_ID,
  catalog,
  chats,
  connectionOn,
  events,
  fakeHandlers,
  fakeStore,
} from './world.ts';

// The module builds its default dependencies at import (as at a cold start): give it a configuration.
await vi.hoisted(() => import('./cold-start-env.ts'));
vi.mock('../../../lambdas/shared/catalog.ts', () => ({ catalog: { apis: [] } }));

const { createHandler } = await import('../../../lambdas/disconnect/index.ts');

function world(topic: string | undefined) {
  const store = fakeStore(topic ? [connectionOn(topic)] : []);
  const handlers = fakeHandlers();
  const handler = createHandler({
    catalog,
    forget: (id) => store.remove(id),
    backends: new ChannelBackends({ handler: handlerDriver(handlers, (id) => store.remove(id)) }),
  });
  return { handler, store, handlers };
}

describe('the $disconnect handler', () => {
  it("removes the connection and queues the channel handler's onDisconnect", async () => {
    const { handler, store, handlers } = world('/bot');
    expect(await handler(events.disconnect())).toEqual({ statusCode: 200 });
    expect(store.remove).toHaveBeenCalledWith(CONNECTION_ID);
    expect(handlers.followUp).toHaveBeenCalledWith({
      kind: 'disconnect',
      handler: 'examples/echo',
      subject: {
        connectionId: CONNECTION_ID,
        apiId: chats.id,
        topic: '/bot',
        params: {},
        principal: { clientId: 'client-1', keyType: 'PRODUCTION' },
        app,
        connectedAt: expect.any(Number),
      },
    });
    expect(handlers.call).not.toHaveBeenCalled();
  });

  it('tells no one of a fanout connection', async () => {
    const { handler, handlers } = world('/rooms/room1');
    await handler(events.disconnect());
    expect(handlers.followUp).not.toHaveBeenCalled();
  });

  it('answers 200 for a connection it never registered (AWS retries nothing)', async () => {
    const { handler, handlers } = world(undefined);
    expect(await handler(events.disconnect())).toEqual({ statusCode: 200 });
    expect(handlers.followUp).not.toHaveBeenCalled();
  });
});
