/**
 * Issue 11, classes 1, 3 and 5: every frame and control message is decided as a handshake to its
 * topic would be (open vs secured channel, scopes, key type, lifecycle, the handler's veto), every
 * frame counts against the plan, the topic cap has its own answer, and lost races are ordinary.
 */
import { describe, expect, it, vi } from 'vitest';
import { ConnectionStore } from '../../lambdas/adapters/connection-store.ts';
import { lifecycleServesConnections, requireKeyTypeServed } from '../../lambdas/core/auth.ts';
import type { ConnectionRecord } from '../../lambdas/core/connection.ts';
import { ClosingRefusal, topicLimit } from '../../lambdas/core/errors.ts';
import { AccessDecision, type TopicVeto } from '../../lambdas/usecases/access.ts';
import { ChannelBackends, handlerDriver } from '../../lambdas/usecases/backends.ts';
import { createMessageRoutes, RefusalAnswers } from '../../lambdas/usecases/messaging.ts';
import { api, channel } from '../helpers/catalog.ts';
import { refusal } from '../helpers/refusal.ts';
import {
  chats,
  connectionOn,
  entitlement,
  fakeCounters,
  fakeHandlers,
  fakeReads,
  fakeStore,
  fakeVerifier,
  principal,
  resolver,
} from './handlers/world.ts';

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

function decision(options: { events?: number; veto?: TopicVeto } = {}) {
  const reads = fakeReads({ entitlement: entitlement() });
  const counters = fakeCounters({ events: options.events ?? 100, slots: 5 });
  return {
    access: new AccessDecision(reads, counters, fakeVerifier, options.veto),
    reads,
    counters,
  };
}

const secured = (scopes: string[]) => ({
  ...resolver.resolveTopic(chats, '/rooms/room2'),
  channel: { ...channel('/rooms/{roomID}'), pubScopes: scopes, subScopes: scopes },
});

describe('key types (WSO2: a key type needs an endpoint of its environment)', () => {
  const sandboxOnly = { name: 'S', version: '1', endpoints: { sandbox: 'http://s.test' } };
  const productionOnly = { name: 'P', version: '1', endpoints: { production: 'http://p.test' } };
  const none = { name: 'N', version: '1', endpoints: {} };

  it('refuses SANDBOX keys where there is no sandbox endpoint, and PRODUCTION keys on a sandbox-only API', () => {
    expect(() => requireKeyTypeServed('SANDBOX', productionOnly)).toThrow(/no sandbox endpoint/);
    expect(() => requireKeyTypeServed('PRODUCTION', sandboxOnly)).toThrow(/no production endpoint/);
    expect(() => requireKeyTypeServed('SANDBOX', sandboxOnly)).not.toThrow();
    expect(() => requireKeyTypeServed('PRODUCTION', productionOnly)).not.toThrow();
  });

  it('an API that names no server (fanout, kafka) serves PRODUCTION keys only', () => {
    expect(() => requireKeyTypeServed('PRODUCTION', none)).not.toThrow();
    expect(() => requireKeyTypeServed('SANDBOX', none)).toThrow(/403|sandbox/);
  });

  it('the handshake refuses a SANDBOX token to a production-only API with 403', async () => {
    const { access } = decision();
    fakeVerifier.verify.mockResolvedValueOnce({ ...principal, keyType: 'SANDBOX' });
    const error = await refusal(
      access.admit(resolver.resolveTopic(chats, '/rooms/room1'), bearer('token-1')),
    );
    expect(error.status).toBe(403);
    expect(error.message).toMatch(/no sandbox endpoint: SANDBOX keys are refused/);
  });
});

describe('open and secured channels of one API', () => {
  const lobby = resolver.resolveTopic(chats, '/lobby');

  it('an open channel takes a connection without a token; with a token it is that application’s', async () => {
    const { access } = decision();
    expect(await access.admit(lobby, {})).toEqual({});
    expect((await access.admit(lobby, bearer('token-1'))).principal).toEqual(principal);
    expect((await refusal(access.admit(lobby, bearer('forged')))).status).toBe(401);
  });

  it('an anonymous connection of the open channel may not subscribe or publish to a secured one (401)', async () => {
    const { access } = decision();
    const anonymous = { ...connectionOn('/lobby'), principal: undefined, app: undefined };
    for (const operation of ['subscribe', 'publish'] as const) {
      const error = await refusal(access.authorize(anonymous, secured(['vault:read']), operation));
      expect([error.status, error.code]).toEqual([401, 'unauthorized']);
    }
    await expect(access.authorize(anonymous, lobby, 'publish')).resolves.toBeUndefined();
  });

  it('a token lacking the target channel’s scopes is 403, one holding them passes', async () => {
    const { access } = decision();
    const record = { ...connectionOn('/lobby'), principal: { ...principal, scopes: ['vault:read'] } };
    expect((await refusal(access.authorize(record, secured(['vault:write']), 'publish'))).status).toBe(403);
    await expect(access.authorize(record, secured(['vault:read']), 'subscribe')).resolves.toBeUndefined();
  });

  it('a SANDBOX principal is refused on every frame of a production-only API', async () => {
    const { access } = decision();
    const record = {
      ...connectionOn('/rooms/room1'),
      principal: { ...principal, keyType: 'SANDBOX' as const },
    };
    expect((await refusal(access.authorize(record, secured([]), 'publish'))).status).toBe(403);
  });
});

describe('the channel’s veto on other topic instances', () => {
  it('is asked for a topic instance other than the connection’s own, never for its own', async () => {
    const veto = { authorizeTopic: vi.fn(async () => undefined) };
    const { access } = decision({ veto });
    const record = connectionOn('/rooms/room1');
    await access.authorize(record, resolver.resolveTopic(chats, '/rooms/room1'), 'publish');
    expect(veto.authorizeTopic).not.toHaveBeenCalled();
    await access.authorize(record, resolver.resolveTopic(chats, '/rooms/room9'), 'subscribe');
    expect(veto.authorizeTopic).toHaveBeenCalledTimes(1);
  });

  it('a handler channel puts the question to its handler as phase "subscribe" and honours a refusal', async () => {
    const handlers = fakeHandlers({
      rejected: { status: 404, message: 'there is no room private' },
      actions: [],
    });
    const backends = new ChannelBackends({ handler: handlerDriver(handlers, async () => undefined) });
    const { access } = decision({ veto: backends as never });
    const record = connectionOn('/bot');
    const bots = api({
      name: 'Chats',
      context: '/chats',
      channels: [channel('/bot/{id}', { backend: { type: 'handler', handler: 'examples/chat-backend' } })],
    });
    const target = {
      ...resolver.resolveTopic(chats, '/bot'),
      api: { ...chats, channels: bots.channels },
      channel: bots.channels[0] as (typeof bots.channels)[number],
      topic: '/bot/private',
      topicKey: 'carbon.super/chats/1.0.0/bot/private',
      params: { id: 'private' },
    };
    const error = await refusal(access.authorize(record, target, 'subscribe'));
    expect([error.status, error.message]).toEqual([404, 'there is no room private']);
    expect(handlers.call.mock.calls[0]?.[1]).toMatchObject({ phase: 'subscribe', topic: '/bot/private' });
  });
});

describe('every frame counts; lifecycle reaches open connections', () => {
  it('charges one event per frame, and refuses with 429 once the plan is used up', async () => {
    const { access, counters } = decision({ events: 1 });
    const record = connectionOn('/rooms/room1');
    await access.admitFrame(record, chats);
    expect(counters.reserve).toHaveBeenCalledWith(`app-1|${chats.id}`, entitlement().plan, 1);
    expect((await refusal(access.admitFrame(record, chats))).code).toBe('too_many_requests');
  });

  it('BLOCKED and RETIRED close the connection; PUBLISHED and DEPRECATED serve it', async () => {
    expect(
      ['PUBLISHED', 'DEPRECATED', 'BLOCKED', 'RETIRED', 'CREATED'].map((s) =>
        lifecycleServesConnections(s as never),
      ),
    ).toEqual([true, true, false, false, false]);
    const { access, reads, counters } = decision();
    reads.lifecycleOf.mockResolvedValueOnce('BLOCKED');
    const error = await refusal(access.admitFrame(connectionOn('/rooms/room1'), chats));
    expect(error).toBeInstanceOf(ClosingRefusal);
    expect([error.status, error.details]).toEqual([403, { lifecycle: 'BLOCKED', closing: true }]);
    expect(counters.reserve).not.toHaveBeenCalled();
  });

  it('a closing refusal is always sent, then the connection is closed', async () => {
    const sent: string[] = [];
    const closed: string[] = [];
    const answers = new RefusalAnswers(
      { due: async () => false },
      async (_id, frame) => {
        sent.push(frame);
      },
      async (id) => {
        closed.push(id);
      },
    );
    await answers.answer(
      'c1',
      new ClosingRefusal('API Vault 1.0.0 is BLOCKED'),
      undefined,
      Date.now() + 1_000,
    );
    expect(JSON.parse(sent[0] ?? '{}')).toMatchObject({ status: 403, error: 'forbidden', closing: true });
    expect(closed).toEqual(['c1']);
  });
});

describe('the topic cap', () => {
  it('answers topic_limit (409) every time, not behind the throttle notice', async () => {
    const sent: string[] = [];
    const answers = new RefusalAnswers({ due: async () => false }, async (_id, frame) => {
      sent.push(frame);
    });
    for (let n = 0; n < 3; n++) await answers.answer('c1', topicLimit(20), undefined, Date.now() + 1_000);
    expect(sent.map((f) => JSON.parse(f).error)).toEqual(['topic_limit', 'topic_limit', 'topic_limit']);
    expect(topicLimit(20).status).toBe(409);
  });

  it('the subscribe route refuses past the cap with topic_limit', async () => {
    const record = connectionOn('/rooms/room1');
    const store = fakeStore([record]);
    store.subscribe.mockResolvedValueOnce('limit');
    const routes = createMessageRoutes({
      access: decision().access,
      backends: { publish: vi.fn() },
      subscriptions: store,
      resolver,
      reply: vi.fn(),
    });
    const error = await refusal(
      routes.subscribe({
        record,
        api: chats,
        frame: '',
        control: { action: 'subscribe', topic: '/rooms/room3' },
        deadline: Date.now() + 1_000,
      }),
    );
    expect([error.status, error.code]).toEqual([409, 'topic_limit']);
  });
});

describe('races on one connection (the connection store)', () => {
  const lostRace = Object.assign(new Error('Transaction cancelled'), {
    name: 'TransactionCanceledException',
  });

  function storeWith(records: ConnectionRecord[], failures: number) {
    let reads = 0;
    let fails = failures;
    const send = vi.fn(async (command: { constructor: { name: string } }) => {
      if (command.constructor.name === 'GetCommand') {
        const record = records[Math.min(reads++, records.length - 1)];
        return { Item: record };
      }
      if (fails-- > 0) throw lostRace;
      return {};
    });
    return { store: new ConnectionStore({ send } as never, 'connections', 4), send };
  }

  it('a subscribe that loses to an identical one reads again and answers "already"', async () => {
    const record = connectionOn('/rooms/room1');
    const after = { ...record, topicKeys: [...record.topicKeys, 'k2'] };
    const { store } = storeWith([record, after], 1);
    expect(await store.subscribe(record, 'k2')).toBe('already');
  });

  it('an unsubscribe that loses answers "not subscribed" (false), a subscribe at the cap "limit"', async () => {
    const record = { ...connectionOn('/rooms/room1'), topicKeys: ['own', 'k2'] };
    const { store } = storeWith([record, { ...record, topicKeys: ['own'] }], 1);
    expect(await store.unsubscribe(record.connectionId, 'k2')).toBe(false);
    const full = { ...record, topicKeys: Array.from({ length: 19 }, (_, i) => `k${i}`) };
    const capped = storeWith([full, { ...full, topicKeys: [...full.topicKeys, 'x'] }], 1);
    expect(await capped.store.subscribe(full, 'new')).toBe('limit');
  });

  it('other errors are not swallowed', async () => {
    const record = connectionOn('/rooms/room1');
    const send = vi.fn(async (command: { constructor: { name: string } }) => {
      if (command.constructor.name === 'GetCommand') return { Item: record };
      throw new Error('ProvisionedThroughputExceeded');
    });
    const store = new ConnectionStore({ send } as never, 'connections', 4);
    await expect(store.subscribe(record, 'k2')).rejects.toThrow('ProvisionedThroughputExceeded');
  });
});
