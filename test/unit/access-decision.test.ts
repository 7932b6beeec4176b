import { describe, expect, it } from 'vitest';
import { handlerInvocation } from '../../lambdas/core/channel-handler-api.ts';
import { AccessDecision } from '../../lambdas/usecases/access.ts';
import { refusal } from '../helpers/refusal.ts';
import {
  app,
  chats,
  connectionOn,
  entitlement,
  fakeCounters,
  fakeReads,
  fakeVerifier,
  principal,
  resolver,
} from './handlers/world.ts';

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

function decision(options: { entitlement?: ReturnType<typeof entitlement> | null; events?: number } = {}) {
  const reads = fakeReads({
    entitlement: options.entitlement === null ? undefined : (options.entitlement ?? entitlement()),
  });
  const counters = fakeCounters({ events: options.events ?? 100, slots: 5 });
  return { access: new AccessDecision(reads, counters, fakeVerifier), reads, counters };
}

describe('the access decision at the handshake', () => {
  const room = resolver.resolveTopic(chats, '/rooms/room1');

  it('checks the lifecycle before the token', async () => {
    const { access, reads } = decision();
    reads.lifecycleOf.mockResolvedValueOnce('BLOCKED');
    const error = await refusal(access.admit(room, {}));
    expect([error.status, error.message]).toEqual([403, 'API Chats 1.0.0 is blocked']);
  });

  it('refuses a token of another tenant, and a client mapped to no application', async () => {
    const { access, reads } = decision();
    fakeVerifier.verify.mockResolvedValueOnce({ ...principal, tenant: 'quantis.com' });
    expect((await refusal(access.admit(room, bearer('token-1')))).message).toBe(
      'the access token belongs to tenant quantis.com, not to carbon.super',
    );
    reads.applicationOf.mockResolvedValueOnce(undefined);
    expect((await refusal(access.admit(room, bearer('token-1')))).message).toBe(
      'client client-1 of https://issuer.test is not mapped to an application',
    );
  });

  it('refuses an application that is not subscribed, or whose plan is used up', async () => {
    expect(
      (await refusal(decision({ entitlement: null }).access.admit(room, bearer('token-1')))).message,
    ).toBe('application Shop is not subscribed to API Chats 1.0.0');
    const exhausted = await refusal(decision({ events: 0 }).access.admit(room, bearer('token-1')));
    expect([exhausted.status, exhausted.message]).toEqual([
      429,
      'application Shop has used all 100 events of plan Gold this minute',
    ]);
  });

  it('admits with the principal, the entitlement and no slot when the plan does not cap connections', async () => {
    const { access } = decision();
    expect(await access.admit(room, bearer('token-1'))).toEqual({ principal, entitlement: entitlement() });
  });
});

describe('the same decision on the frames of an open connection', () => {
  const record = connectionOn('/rooms/room1');
  const room = resolver.resolveTopic(chats, '/rooms/room1');

  it('says "no longer subscribed" once the subscription is gone, and charges nothing', async () => {
    const { access, counters } = decision({ entitlement: null });
    expect((await refusal(access.admitFrame(record, chats))).message).toBe(
      'application Shop is no longer subscribed to API Chats 1.0.0',
    );
    expect(counters.reserve).not.toHaveBeenCalled();
  });

  it('refuses a blocked subscription with the words of the handshake', async () => {
    const { access } = decision({ entitlement: entitlement({}, 'BLOCKED') });
    expect((await refusal(access.admitFrame(record, chats))).message).toBe(
      'the subscription of Shop to API Chats 1.0.0 is BLOCKED',
    );
  });

  it('checks scopes for what is asked: publish scopes to publish, subscribe scopes to subscribe', async () => {
    const { access } = decision();
    const scoped = {
      ...room,
      channel: { ...room.channel, pubScopes: ['chat:write'], subScopes: ['chat:read'] },
    };
    expect((await refusal(access.authorize(record, scoped, 'subscribe'))).message).toBe(
      'the access token lacks the scope chat:read to subscribe to /rooms/{roomID}',
    );
    expect((await refusal(access.authorize(record, scoped, 'publish'))).message).toBe(
      'the access token lacks the scope chat:write to publish to /rooms/{roomID}',
    );
  });

  it('charges nothing for a connection on an open channel (no application)', async () => {
    const { access, counters } = decision();
    await access.admitFrame({ ...record, app: undefined }, chats);
    expect(counters.reserve).not.toHaveBeenCalled();
  });
});

describe('the handler invocation', () => {
  it("carries only the principal's client id and key type", () => {
    const subject = { connectionId: 'c1', apiId: chats.id, topic: '/bot', params: {}, principal, app };
    expect(handlerInvocation('message', subject, { message: 'hi' })).toEqual({
      phase: 'message',
      connectionId: 'c1',
      apiId: chats.id,
      topic: '/bot',
      params: {},
      principal: { clientId: 'client-1', keyType: 'PRODUCTION' },
      app,
      message: 'hi',
    });
    expect(handlerInvocation('connect', { ...subject, principal: undefined, app: undefined })).toEqual({
      phase: 'connect',
      connectionId: 'c1',
      apiId: chats.id,
      topic: '/bot',
      params: {},
    });
  });
});
