import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManagementClient } from '../../cli/management-client.ts';
import { CONNECTION_SLOT_MS, ThrottleStore } from '../../lambdas/adapters/throttle-store.ts';
import { DEFAULT_PLANS, subscriptionKey } from '../../lambdas/core/plans.ts';
import {
  type Client,
  connect,
  documentClient,
  json,
  kafkaProducer,
  refusal,
  stack,
  tokenFor,
  unique,
  wsUrl,
} from './helpers.ts';

type Keys = Record<'PRODUCTION' | 'SANDBOX', { clientId: string; clientSecret: string }>;
const admin = () => new ManagementClient(stack.urls.http);
const open: Client[] = [];
const track = async (client: Promise<Client>) => {
  const c = await client;
  open.push(c);
  return c;
};
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});

/** A new application of carbon.super with a subscription to Chats on `plan`, and a token for it. */
async function subscribedApp(plan: string, scope = 'chat:read chat:write') {
  const name = unique('plan-app');
  const { keys } = await admin().admin<{ keys: Keys }>('POST', '/tenants/carbon.super/applications', {
    name,
  });
  await admin().admin('POST', `/tenants/carbon.super/applications/${name}/subscriptions`, {
    api: '/testchats/1.0.0',
    plan,
  });
  const { access_token } = await admin().token(keys.PRODUCTION.clientId, keys.PRODUCTION.clientSecret, scope);
  return { name, keys, token: access_token };
}

async function usage(app: string) {
  const { usage } = await admin().admin<{
    usage: { api: string; used: number; throttled: number; limit?: number }[];
  }>('GET', `/tenants/carbon.super/applications/${app}/usage`);
  return usage.find((u) => u.api === 'carbon.super/TestChats/1.0.0');
}

const room = () => wsUrl(`/testchats/1.0.0/rooms/${unique('room')}`);

/** 'open' when a connection with the token is accepted (and closed again), else 'refused'. */
async function opens(url: string, token: string): Promise<'open' | 'refused'> {
  try {
    (await connect(url, { token })).close();
    return 'open';
  } catch {
    return 'refused';
  }
}

/** Plans are data: tests redefine two of carbon.super's plans for themselves. */
beforeAll(async () => {
  await admin().admin('PUT', '/tenants/carbon.super/plans/AsyncSilver', { events: 100, per: 'day' });
  await admin().admin('PUT', '/tenants/carbon.super/plans/AsyncBronze', {
    events: 1000,
    per: 'day',
    maxConnections: 2,
  });
});
/** Put the shipped definitions back: other test files' subscriptions use these plans too. */
afterAll(async () => {
  for (const { name, ...plan } of DEFAULT_PLANS.filter((p) =>
    ['AsyncSilver', 'AsyncBronze'].includes(p.name),
  )) {
    await admin().admin('PUT', `/tenants/carbon.super/plans/${name}`, plan);
  }
});

describe('connect-time checks', () => {
  it('refuse an application that is not subscribed (403)', async () => {
    const name = unique('unsubscribed');
    const { keys } = await admin().admin<{ keys: Keys }>('POST', '/tenants/carbon.super/applications', {
      name,
    });
    const { access_token, scope } = await admin().token(
      keys.PRODUCTION.clientId,
      keys.PRODUCTION.clientSecret,
      'chat:read',
    );
    expect(scope).toBe(''); // scopes are narrowed to the APIs the application is subscribed to
    const withScopes = await tokenFor(); // the DefaultApplication's, to reach the subscription check
    expect(withScopes).toBeTruthy();
    const refused = await refusal(connect(wsUrl('/echowebsocket/1.0.0'), { token: access_token }));
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body).message).toBe(
      `application ${name} is not subscribed to API EchoWebSocket 1.0.0`,
    );
  });

  it('refuse a blocked subscription (403) and let it in again when unblocked', async () => {
    const app = await subscribedApp('AsyncGold');
    await admin().admin(
      'PATCH',
      `/tenants/carbon.super/applications/${app.name}/subscriptions/TestChats/1.0.0`,
      {
        status: 'BLOCKED',
      },
    );
    await expect
      .poll(async () => (await refusal(connect(room(), { token: app.token }))).body, { timeout: 10_000 })
      .toMatch(/subscription of .* to API TestChats 1\.0\.0 is BLOCKED/);
    await admin().admin(
      'PATCH',
      `/tenants/carbon.super/applications/${app.name}/subscriptions/TestChats/1.0.0`,
      {
        status: 'ACTIVE',
      },
    );
    await expect.poll(() => opens(room(), app.token), { timeout: 10_000 }).toBe('open');
  });

  it('refuse an API that is not published (403), until it is published again', async () => {
    const token = await tokenFor();
    await admin().admin('PUT', '/tenants/carbon.super/apis/TestChats/1.0.0/lifecycle', { state: 'CREATED' });
    try {
      await expect
        .poll(async () => (await refusal(connect(room(), { token }))).body, { timeout: 10_000 })
        .toMatch(/API TestChats 1\.0\.0 is CREATED, not published/);
    } finally {
      await admin().admin('PUT', '/tenants/carbon.super/apis/TestChats/1.0.0/lifecycle', {
        state: 'PUBLISHED',
      });
    }
    await expect.poll(() => opens(room(), token), { timeout: 10_000 }).toBe('open');
  });

  it('refuse the connection beyond the plan’s concurrent connections (429), and free the slot on close', async () => {
    const app = await subscribedApp('AsyncBronze');
    const first = await track(connect(room(), { token: app.token }));
    await track(connect(room(), { token: app.token }));
    const third = await refusal(connect(room(), { token: app.token }));
    expect(third.status).toBe(429);
    expect(JSON.parse(third.body).message).toMatch(/already holds the 2 connections plan AsyncBronze allows/);
    first.close();
    await first.closed;
    await expect.poll(() => opens(room(), app.token), { timeout: 5_000 }).toBe('open');
  });

  it('free a slot whose $disconnect never came once it expires (API Gateway’s 2 h + 15 min)', async () => {
    const app = await subscribedApp('AsyncBronze');
    const { appId } = await admin().admin<{ appId: string }>(
      'GET',
      `/tenants/carbon.super/applications/${app.name}`,
    );
    // Two connections taken 2 h 16 min ago whose $disconnect AWS never delivered hold both slots.
    const slots = new ThrottleStore(documentClient(), stack.tables.ThrottleTable as string);
    const key = subscriptionKey(appId, 'carbon.super/TestChats/1.0.0');
    const then = Date.now() - CONNECTION_SLOT_MS - 60_000;
    expect(await slots.acquireConnection(key, 2, 'lost-connection-1', then)).toBe(true);
    expect(await slots.acquireConnection(key, 2, 'lost-connection-2', then)).toBe(true);
    expect(await slots.acquireConnection(key, 2, 'third', then)).toBe(false);
    // Today: the leaked slots are taken back, and the cap still holds.
    await track(connect(room(), { token: app.token }));
    await track(connect(room(), { token: app.token }));
    expect((await refusal(connect(room(), { token: app.token }))).status).toBe(429);
  });

  it('take connection slots exactly: 20 racing for 5 get 5, expired ones are pruned in the race', async () => {
    const slots = new ThrottleStore(documentClient(), stack.tables.ThrottleTable as string);
    const key = unique('slot-race');
    const now = Date.now();
    const race = (prefix: string, at: number) =>
      Promise.all(
        Array.from({ length: 20 }, (_, i) => slots.acquireConnection(key, 5, `${prefix}-${i}`, at)),
      );
    const first = await race('a', now);
    expect(first.filter(Boolean)).toHaveLength(5);
    // A held slot is renewed, not counted twice; a released one is free again (releasing twice is harmless).
    const holder = `a-${first.indexOf(true)}`;
    expect(await slots.acquireConnection(key, 5, holder, now + 1_000)).toBe(true);
    await slots.releaseConnection(key, holder);
    await slots.releaseConnection(key, holder);
    expect(await slots.acquireConnection(key, 5, 'b-0', now + 2_000)).toBe(true);
    expect(await slots.acquireConnection(key, 5, 'b-1', now + 2_000)).toBe(false);
    // Past every slot's expiry, 20 new connections race again: exactly 5 get in.
    const later = await race('c', now + CONNECTION_SLOT_MS + 5_000);
    expect(later.filter(Boolean)).toHaveLength(5);
  });

  it('refuse a token of an external issuer whose client is not mapped to an application (403)', async () => {
    // The built-in issuer's tokens name their application; a token of a client unknown to the registry does not.
    const { mintToken } = await import('./helpers.ts');
    const token = await mintToken({ client_id: 'nobody-knows-me', scope: 'chat:read chat:write' });
    const refused = await refusal(connect(room(), { token }));
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body).message).toMatch(
      /client nobody-knows-me of .* is not mapped to an application/,
    );
  });
});

describe('business plans', () => {
  it('hold exactly: a plan of 100 events with 20 publishers and a Kafka stream racing counts exactly 100', async () => {
    const app = await subscribedApp('AsyncSilver');
    const observerToken = await tokenFor(); // the DefaultApplication (unlimited) watches the room
    const target = room();
    const observer = await track(connect(target, { token: observerToken }));
    const publishers = await Promise.all(
      Array.from({ length: 20 }, () => track(connect(target, { token: app.token }))),
    );
    const listeners = await Promise.all(
      Array.from({ length: 3 }, () =>
        track(connect(wsUrl('/testchats/1.0.0/announcements'), { token: app.token })),
      ),
    );
    const producer = await kafkaProducer();
    const race = [
      ...publishers.map(async (p, i) => {
        for (let n = 0; n < 20; n++) p.ws.send(`publisher ${i} frame ${n}`);
      }),
      (async () => {
        for (let n = 0; n < 50; n++)
          await producer.send({ topic: 'test-announcements', messages: [{ value: `announcement ${n}` }] });
      })(),
    ];
    await Promise.all(race);
    await producer.disconnect();
    // The budget is spent; wait until every invocation has finished (the throttled count stops growing).
    await expect.poll(async () => (await usage(app.name))?.used, { timeout: 30_000 }).toBe(100);
    let previous = -1;
    await expect
      .poll(
        async () => {
          const now = (await usage(app.name))?.throttled ?? 0;
          const stable = now === previous;
          previous = now;
          return stable;
        },
        { timeout: 60_000, interval: 2_000 },
      )
      .toBe(true);

    const counted = await usage(app.name);
    const acceptedPublishes = () => observer.received.filter((m) => m.startsWith('publisher')).length;
    const deliveredToApp = () =>
      publishers.reduce((n, p) => n + p.received.filter((m) => m.startsWith('publisher')).length, 0) +
      listeners.reduce((n, l) => n + l.received.filter((m) => m.startsWith('announcement')).length, 0);
    expect(counted).toMatchObject({ used: 100, limit: 100 });
    // What clients saw of the application's events is exactly what was counted.
    await expect.poll(() => acceptedPublishes() + deliveredToApp(), { timeout: 10_000 }).toBe(100);
    // Every attempt is either counted or throttled: 400 publishes + 150 announcement deliveries, plus
    // the deliveries of whichever publishes got in (none, when the announcements won the race).
    expect((counted?.used ?? 0) + (counted?.throttled ?? 0)).toBeGreaterThanOrEqual(400 + 150);
    // The connections stay open, and a refused publisher was told once, not once per frame.
    for (const publisher of publishers) {
      expect(publisher.ws.readyState).toBe(publisher.ws.OPEN);
      expect(publisher.received.filter((m) => m.includes('"too_many_requests"')).length).toBeLessThanOrEqual(
        1,
      );
    }
    expect(
      publishers.some((p) =>
        p.received.some((m) => json(m.startsWith('{') ? m : '{}').error === 'too_many_requests'),
      ),
    ).toBe(true);

    // Spent: a new connection of the application gets 429.
    const refused = await refusal(connect(room(), { token: app.token }));
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body).message).toMatch(/has used all 100 events of plan AsyncSilver this day/);
  }, 90_000);

  it('a plan change takes effect without a redeploy', async () => {
    const app = await subscribedApp('AsyncSilver');
    const shared = room();
    const peer = await track(connect(shared, { token: await tokenFor() }));
    const sender = await track(connect(shared, { token: app.token }));
    for (let n = 0; n < 110; n++) sender.ws.send(`frame ${n}`);
    await expect.poll(async () => (await usage(app.name))?.used, { timeout: 15_000 }).toBe(100);
    expect((await refusal(connect(room(), { token: app.token }))).status).toBe(429);

    await admin().admin(
      'PATCH',
      `/tenants/carbon.super/applications/${app.name}/subscriptions/TestChats/1.0.0`,
      {
        plan: 'AsyncUnlimited',
      },
    );
    await expect.poll(() => opens(room(), app.token), { timeout: 10_000 }).toBe('open');
    expect(peer.received.length).toBeGreaterThan(0);
  }, 60_000);
});

describe('external issuers', () => {
  it('act for the application their client id is mapped to', async () => {
    const { readFileSync } = await import('node:fs');
    const path = await import('node:path');
    const { importJWK, SignJWT } = await import('jose');
    const { privateJwk, kid } = JSON.parse(
      readFileSync(path.join(stack.stateDir, 'external-idp.json'), 'utf8'),
    );
    const token = await new SignJWT({ azp: 'keycloak-client-7', scope: 'chat:read chat:write' })
      .setProtectedHeader({ alg: 'ES256', kid })
      .setIssuer('https://idp.example.test')
      .setAudience('external-api')
      .setSubject('user-42')
      .setExpirationTime('10m')
      .sign(await importJWK(privateJwk, 'ES256'));

    const unmapped = await refusal(connect(room(), { token }));
    expect(JSON.parse(unmapped.body).message).toMatch(
      /client keycloak-client-7 of https:\/\/idp\.example\.test is not mapped/,
    );

    const app = await subscribedApp('AsyncGold');
    await admin().admin('POST', `/tenants/carbon.super/applications/${app.name}/external-clients`, {
      issuer: 'https://idp.example.test',
      clientId: 'keycloak-client-7',
    });
    const client = await track(connect(room(), { token }));
    expect(client.ws.readyState).toBe(client.ws.OPEN);
  });
});
