/**
 * The hostile-input suite (issue 11): a corpus of bad tokens, frames, control messages, Kafka
 * records and HTTP requests (test/fixtures/hostile/), each sent to the real local stack by a real
 * client and held to its exact expected answer. One `describe` per class, one `it` per input, so
 * the figure of each class is read off the output. At the end: a normal chat still works, and the
 * stack log has no ERROR line or stack trace from any of it.
 */
import { createPublicKey } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import path from 'node:path';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import {
  CompactSign,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
} from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManagementClient } from '../../cli/management-client.ts';
import { DEFAULT_PLANS } from '../../lambdas/core/plans.ts';
import { activeKey, parseKeySet } from '../../lambdas/core/signing-keys.ts';
import {
  type ControlCase,
  type Credential,
  controlCases,
  keyTypeCases,
  lifecycleCases,
} from '../fixtures/hostile/access.ts';
import { type ConnectionsCase, connectionsCases } from '../fixtures/hostile/connections.ts';
import { capCases, exhaustedFloodCases, raceCases } from '../fixtures/hostile/frames.ts';
import { type HttpCase, httpCases } from '../fixtures/hostile/http.ts';
import { GOOD, type RecordCase, recordCases, type Stream, streams } from '../fixtures/hostile/kafka.ts';
import { type StarvationCase, starvationCases } from '../fixtures/hostile/starvation.ts';
import { type TokenCase, type TokenExpectation, tokenCases } from '../fixtures/hostile/tokens.ts';
import {
  type Client,
  connect,
  connectionIdsOn,
  drainQueue,
  HandshakeRefused,
  json,
  kafkaProducer,
  stack,
  tokenFor,
  unique,
  wsUrl,
} from './helpers.ts';

const admin = () => new ManagementClient(stack.urls.http);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const logFile = path.join(stack.stateDir, 'stack.log');
let logStart = 0;

const open: Client[] = [];
async function track(client: Promise<Client>): Promise<Client> {
  const c = await client;
  open.push(c);
  return c;
}
const send = (c: Client, message: unknown) =>
  c.ws.send(typeof message === 'string' ? message : JSON.stringify(message));

afterEach(() => {
  for (const c of open.splice(0)) c.close();
});

beforeAll(async () => {
  logStart = (await stat(logFile).catch(() => undefined))?.size ?? 0;
});

// ---------------------------------------------------------------------------------------------
// What a handshake, a control message or an HTTP request was answered, in one comparable shape.

type Handshake = { open: true } | { status: number; message: string };

async function handshake(url: string, options: Parameters<typeof connect>[1] = {}): Promise<Handshake> {
  try {
    (await connect(url, options)).close();
    return { open: true };
  } catch (error) {
    if (!(error instanceof HandshakeRefused)) return { status: 0, message: String(error) };
    let message = error.body.slice(0, 200);
    try {
      message = String(JSON.parse(error.body).message);
    } catch {}
    return { status: error.status, message };
  }
}

function expectHandshake(
  actual: Handshake,
  expected: TokenExpectation | { open: true } | { statusClass: 4 },
) {
  const shown = JSON.stringify(actual);
  if ('open' in expected) {
    expect(actual, shown).toEqual({ open: true });
    return;
  }
  expect('status' in actual, shown).toBe(true);
  const status = (actual as { status: number }).status;
  if ('statusClass' in expected) expect(Math.floor(status / 100), shown).toBe(4);
  else expect(status, shown).toBe(expected.status);
  if ('message' in expected && expected.message) {
    expect((actual as { message: string }).message).toMatch(expected.message);
  }
}

/** The JSON answers (acks and error frames) among a client's frames. */
const answers = (frames: string[]) =>
  frames
    .filter((m) => m.startsWith('{"type":'))
    .map(json)
    .filter((m) => ['subscribed', 'unsubscribed', 'published', 'error'].includes(String(m.type)));
const describeAnswer = (a: Record<string, unknown>) =>
  a.type === 'error' ? `error ${a.status} ${a.error}` : String(a.type);

// ---------------------------------------------------------------------------------------------
// Tokens built from the corpus' recipes.

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const dropUndefined = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

interface Keys {
  issuer: { alg: string; kid: string; privateJwk: JWK; publicJwk: JWK };
  external: { kid: string; privateJwk: JWK; publicJwk: JWK };
  stranger: { privateJwk: JWK; publicJwk: JWK };
  endpointToken: string;
  otherEndpointToken: string;
}
let keys: Keys;
const EXTERNAL_CLIENT = unique('hostile-external');

async function loadKeys(): Promise<Keys> {
  const state = JSON.parse(readFileSync(path.join(stack.stateDir, 'secrets.json'), 'utf8')) as {
    secrets: { versions: { secretString?: string; stages: string[] }[] }[];
  };
  const current = state.secrets
    .flatMap((s) => s.versions)
    .find((v) => v.stages.includes('AWSCURRENT') && v.secretString?.includes('privateJwk'));
  const key = activeKey(parseKeySet(current?.secretString));
  if (!key) throw new Error('no signing key in the local Secrets Manager state');
  const jwks = (await (await fetch(`${stack.urls.http}/.well-known/jwks.json`)).json()) as { keys: JWK[] };
  const publicJwk = jwks.keys.find((k) => k.kid === key.kid) as JWK;
  const external = JSON.parse(readFileSync(path.join(stack.stateDir, 'external-idp.json'), 'utf8')) as {
    privateJwk: JWK;
    kid: string;
  };
  const { d: _d, ...externalPublic } = external.privateJwk;
  const pair = await generateKeyPair(key.alg, { extractable: true });
  return {
    issuer: { alg: key.alg, kid: key.kid, privateJwk: key.privateJwk as JWK, publicJwk },
    external: { kid: external.kid, privateJwk: external.privateJwk, publicJwk: externalPublic },
    stranger: { privateJwk: await exportJWK(pair.privateKey), publicJwk: await exportJWK(pair.publicKey) },
    endpointToken: await tokenFor('carbon.super', 'chat:read chat:write'),
    otherEndpointToken: await tokenFor('carbon.super', 'chat:read'),
  };
}

async function sign(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  key: JWK | Uint8Array,
) {
  const alg = String(header.alg);
  const secret = key instanceof Uint8Array ? key : await importJWK(key, alg);
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader(dropUndefined(header) as never)
    .sign(secret);
}

async function buildToken(recipe: TokenCase['token']): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const endpointHeader = decodeProtectedHeader(keys.endpointToken) as Record<string, unknown>;
  const endpointClaims = { ...decodeJwt(keys.endpointToken), iat: now, exp: now + 600 } as Record<
    string,
    unknown
  >;
  const placeholder = (v: unknown) =>
    v === 'ISSUER'
      ? stack.urls.http
      : v === 'ISSUER/'
        ? `${stack.urls.http}/`
        : v === 'ISSUER_KID'
          ? keys.issuer.kid
          : v === 'STRANGER'
            ? keys.stranger.publicJwk
            : v;
  const [h, p, s] = keys.endpointToken.split('.') as [string, string, string];
  switch (recipe.kind) {
    case 'raw':
      return recipe.value === 'FROM_ENDPOINT' ? keys.endpointToken : recipe.value;
    case 'signed': {
      const external = recipe.by === 'external';
      let claims: Record<string, unknown> = external
        ? {
            iss: 'https://idp.example.test',
            aud: 'external-api',
            azp: EXTERNAL_CLIENT,
            sub: 'user-1',
            scope: 'chat:read chat:write',
            iat: now,
            exp: now + 600,
          }
        : endpointClaims;
      for (const [name, value] of Object.entries(recipe.claims ?? {})) {
        claims[name] = recipe.relative?.includes(name as 'iat') ? now + Number(value) : placeholder(value);
      }
      claims = Object.fromEntries(Object.entries(claims).filter(([name]) => !recipe.omit?.includes(name)));
      const header: Record<string, unknown> = external
        ? { alg: 'ES256', kid: keys.external.kid, typ: 'at+jwt' }
        : { ...endpointHeader };
      for (const [name, value] of Object.entries(recipe.header ?? {})) header[name] = placeholder(value);
      if (recipe.by === 'stranger') header.alg = keys.issuer.alg;
      const key = { issuer: keys.issuer, external: keys.external, stranger: keys.stranger }[recipe.by]
        .privateJwk;
      return sign(header, claims, key);
    }
    case 'hmac': {
      const jwk = recipe.secret === 'external-public-jwk' ? keys.external.publicJwk : keys.issuer.publicJwk;
      const secret =
        recipe.secret === 'issuer-public-pem'
          ? Buffer.from(
              String(
                createPublicKey({ key: jwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }),
              ),
            )
          : recipe.secret === 'issuer-modulus'
            ? Buffer.from(String(jwk.n ?? jwk.x), 'base64url')
            : Buffer.from(JSON.stringify(jwk));
      const claims =
        recipe.iss === 'external'
          ? { ...endpointClaims, iss: 'https://idp.example.test', aud: 'external-api', azp: EXTERNAL_CLIENT }
          : endpointClaims;
      const kid = recipe.iss === 'external' ? keys.external.kid : keys.issuer.kid;
      return sign({ alg: recipe.alg, kid, typ: 'at+jwt' }, claims, new Uint8Array(secret));
    }
    case 'unsecured': {
      const claims =
        recipe.iss === 'external'
          ? { ...endpointClaims, iss: 'https://idp.example.test', aud: 'external-api', azp: EXTERNAL_CLIENT }
          : endpointClaims;
      return `${b64({ alg: recipe.alg, typ: 'at+jwt', ...(recipe.kid ? { kid: keys.issuer.kid } : {}) })}.${b64(claims)}.`;
    }
    case 'tamper': {
      const claims = decodeJwt(keys.endpointToken);
      switch (recipe.what) {
        case 'scope-widened':
          return `${h}.${b64({ ...claims, scope: 'chat:read chat:write vault:read vault:write' })}.${s}`;
        case 'tenant-changed':
          return `${h}.${b64({ ...claims, tenant: 'quantis.com' })}.${s}`;
        case 'signature-stripped':
          return `${h}.${p}.`;
        case 'signature-swapped':
          return `${h}.${p}.${keys.otherEndpointToken.split('.')[2]}`;
        case 'alg-none':
          return `${b64({ ...endpointHeader, alg: 'none' })}.${p}.`;
      }
    }
  }
}

describe('tokens at the handshake', () => {
  beforeAll(async () => {
    keys = await loadKeys();
    // The external IdP's client used by the recipes acts for the DefaultApplication.
    await admin().admin('POST', '/tenants/carbon.super/applications/DefaultApplication/external-clients', {
      issuer: 'https://idp.example.test',
      clientId: EXTERNAL_CLIENT,
    });
  });

  it('control: the external IdP’s ordinary token opens', async () => {
    const token = await buildToken({ kind: 'signed', by: 'external' });
    expectHandshake(await handshake(wsUrl(`/testchats/1.0.0/rooms/${unique('room')}`), { token }), {
      open: true,
    });
  });

  it.each(tokenCases)('$name', async (c) => {
    const token = await buildToken(c.token);
    const target = wsUrl(`/testchats/1.0.0/rooms/${unique('room')}`);
    const answer =
      c.via === 'query'
        ? await handshake(`${target}?access_token=${encodeURIComponent(token)}`)
        : await handshake(target, { headers: { Authorization: `Bearer ${token}` } });
    expectHandshake(answer, c.expect);
  });
});

// ---------------------------------------------------------------------------------------------
// Authorization after $connect.

const credentialOptions = async (credential: Credential) =>
  credential === 'none'
    ? {}
    : { token: await tokenFor('carbon.super', credential.scope, credential.keyType) };

describe('authorization of control messages', () => {
  it.each(controlCases)('$name', async (c: ControlCase) => {
    const attacker = await track(
      connect(wsUrl(c.connectTo.replace('{room}', unique('room'))), await credentialOptions(c.credential)),
    );
    const guarded = 'ack' in c.expect ? undefined : c.expect.guarded;
    const guard = guarded
      ? await track(
          connect(wsUrl(`/vault/1.0.0${guarded}`), {
            token: await tokenFor('carbon.super', 'vault:read vault:write'),
          }),
        )
      : undefined;
    const before = attacker.received.length;
    send(attacker, c.message);
    const answer = await attacker
      .waitFor((m) => answers([m]).length > 0 && attacker.received.indexOf(m) >= before, 5_000)
      .then(
        (m) => describeAnswer(json(m)),
        () => 'no answer',
      );
    if ('ack' in c.expect) {
      expect(answer).toBe(c.expect.ack);
      return;
    }
    const expectedAnswer =
      'ordinaryMessage' in c.expect
        ? 'no answer'
        : expect.stringMatching(new RegExp(`^error (${c.expect.errorStatus.join('|')}) `));
    const secret = unique('vault-secret');
    guard?.ws.send(secret);
    await sleep(600);
    const observed = {
      answer,
      attackerHeardTheVault: attacker.received.includes(secret),
      theVaultHeardTheAttacker: (guard?.received ?? []).some((m) => !m.startsWith('{"type":')),
    };
    expect(observed).toEqual({
      answer: expectedAnswer,
      attackerHeardTheVault: false,
      theVaultHeardTheAttacker: false,
    });
  });
});

describe('key types at the handshake', () => {
  it.each(keyTypeCases)('$name', async (c) => {
    const token = await tokenFor('carbon.super', c.scope, c.keyType);
    expectHandshake(await handshake(wsUrl(c.path.replace('{room}', unique('room'))), { token }), c.expect);
  });
});

describe('lifecycle changes reach live connections', () => {
  const setLifecycle = (state: string) =>
    admin().admin('PUT', '/tenants/carbon.super/apis/Vault/1.0.0/lifecycle', { state });

  it.each(lifecycleCases)(
    '$name',
    async (c) => {
      const url = wsUrl(`/vault/1.0.0${c.channel}`);
      const options =
        c.channel === '/vault' ? { token: await tokenFor('carbon.super', 'vault:read vault:write') } : {};
      const speaker = await track(connect(url, options));
      const listener = await track(connect(url, options));
      let observed: Record<string, unknown>;
      try {
        await setLifecycle(c.state);
        await sleep(2_500); // the registry cache is 1 s in the tests
        const said = unique('after-the-change');
        send(speaker, said);
        const closed = await Promise.race([speaker.closed, sleep(7_500).then(() => undefined)]);
        const lastError = answers(speaker.received)
          .filter((a) => a.type === 'error')
          .at(-1);
        observed = {
          speaker: closed ? { code: closed.code, reason: closed.reason } : 'open',
          errorFrame: lastError ? { status: lastError.status, closing: lastError.closing } : undefined,
          delivered: listener.received.includes(said),
          newConnection: await handshake(url, options).then((h) => ('open' in h ? 'open' : h.status)),
        };
      } finally {
        await setLifecycle('PUBLISHED');
        await sleep(1_500);
      }
      if ('liveClosed' in c.expect) {
        expect(observed).toEqual({
          speaker: { code: c.expect.closeCode, reason: expect.stringMatching(/\S/) },
          errorFrame: c.expect.errorFrame,
          delivered: false,
          newConnection: c.expect.newConnection,
        });
      } else {
        expect(observed).toMatchObject({ speaker: 'open', delivered: true, newConnection: 'open' });
      }
    },
    30_000,
  );
});

// ---------------------------------------------------------------------------------------------
// Frames that are not counted, the topic cap, and races.

type AppKeys = Record<'PRODUCTION' | 'SANDBOX', { clientId: string; clientSecret: string }>;

/** `{room}` a room new to the entry, `{n}` the index of the message. */
const render = (frame: Record<string, unknown> | string, room: string, n: number) =>
  (typeof frame === 'string' ? frame : JSON.stringify(frame))
    .replaceAll('{room}', room)
    .replaceAll('{n}', String(n));

describe('uncounted frames from an exhausted application', () => {
  const flooders: Client[] = [];

  beforeAll(async () => {
    await admin().admin('PUT', '/tenants/carbon.super/plans/AsyncSilver', { events: 10, per: 'day' });
    const name = unique('hostile-exhausted');
    const { keys: appKeys } = await admin().admin<{ keys: AppKeys }>(
      'POST',
      '/tenants/carbon.super/applications',
      { name },
    );
    await admin().admin('POST', `/tenants/carbon.super/applications/${name}/subscriptions`, {
      api: '/testchats/1.0.0',
      plan: 'AsyncSilver',
    });
    const { access_token } = await admin().token(
      appKeys.PRODUCTION.clientId,
      appKeys.PRODUCTION.clientSecret,
      'chat:read chat:write',
    );
    for (const _ of exhaustedFloodCases) {
      flooders.push(
        await connect(wsUrl(`/testchats/1.0.0/rooms/${unique('room')}`), { token: access_token }),
      );
    }
    const spender = await connect(wsUrl(`/testchats/1.0.0/rooms/${unique('room')}`), { token: access_token });
    for (let n = 0; n < 20; n++) spender.ws.send(`spend ${n}`);
    const used = async () => {
      const { usage } = await admin().admin<{ usage: { api: string; used: number }[] }>(
        'GET',
        `/tenants/carbon.super/applications/${name}/usage`,
      );
      return usage.find((u) => u.api === 'carbon.super/TestChats/1.0.0')?.used;
    };
    for (let waited = 0; (await used()) !== 10; waited += 500) {
      if (waited > 15_000) throw new Error(`the application did not use up its 10 events: ${await used()}`);
      await sleep(500);
    }
    await spender.quietFor(1_000);
    spender.close();
  });

  afterAll(async () => {
    for (const c of flooders) c.close();
    const { name, ...silver } = DEFAULT_PLANS.find((p) => p.name === 'AsyncSilver') as { name: string };
    await admin().admin('PUT', `/tenants/carbon.super/plans/${name}`, silver);
  });

  it.each(exhaustedFloodCases.map((c, index) => ({ ...c, index })))('$name', async (c) => {
    const client = flooders[c.index] as Client;
    const room = unique('room');
    for (let n = 0; n < c.count; n++) client.ws.send(render(c.frame, room, n));
    const frames = await client.quietFor(3_000);
    const acks = answers(frames).filter((a) => a.type !== 'error').length;
    const observed = { acks, framesOverTheLimit: frames.length > c.expect.maxFrames ? frames.length : 0 };
    expect(observed, JSON.stringify(frames.slice(0, 3))).toEqual({
      acks: c.expect.acks,
      framesOverTheLimit: 0,
    });
  });
});

describe('the topic cap', () => {
  it.each(capCases)('$name', async (c) => {
    const client = await track(
      connect(wsUrl(`/testchats/1.0.0/rooms/${unique('room')}`), { token: await tokenFor() }),
    );
    const room = unique('cap');
    for (let n = 0; n < c.subscribes; n++)
      send(client, { action: 'subscribe', topic: `/rooms/${room}-${n}` });
    await expect
      .poll(() => answers(client.received).length, { timeout: 15_000 })
      .toBeGreaterThanOrEqual(c.subscribes)
      .catch(() => undefined);
    const all = answers(client.received);
    const errors = [...new Set(all.filter((a) => a.type === 'error').map(describeAnswer))];
    expect({ answered: all.length, errors }).toEqual({
      answered: c.subscribes,
      errors: [expect.stringMatching(/^error 4\d\d (?!too_many_requests)\S+$/)],
    });
    expect(errors).toEqual([`error ${c.expect.overCap.status} ${c.expect.overCap.error}`]);
  });
});

describe('races on one connection', () => {
  it.each(raceCases)('$name', async (c) => {
    const client = await track(
      connect(wsUrl(`/testchats/1.0.0/rooms/${unique('room')}`), { token: await tokenFor() }),
    );
    const room = unique('race');
    for (const topic of c.before) {
      const before = answers(client.received).length;
      send(client, { action: 'subscribe', topic: topic.replaceAll('{room}', room) });
      await expect.poll(() => answers(client.received).length).toBe(before + 1);
    }
    const start = client.received.length;
    for (const [n, message] of c.burst.entries()) client.ws.send(render(message, room, n));
    const burstAnswers = () => answers(client.received.slice(start));
    await expect
      .poll(() => burstAnswers().length, { timeout: 10_000 })
      .toBeGreaterThanOrEqual(c.burst.length)
      .catch(() => undefined);
    const got = burstAnswers();
    const observed = {
      answered: got.length,
      serverErrors: got.filter((a) => Number(a.status) >= 500).map(describeAnswer),
    };
    expect(observed).toEqual({ answered: c.burst.length, serverErrors: [] });
    if (c.expect.atLeast) {
      expect(got.filter((a) => a.type === c.expect.atLeast?.type).length).toBeGreaterThanOrEqual(
        c.expect.atLeast.count,
      );
    }
    if (c.expect.maxSubscriptions) {
      const held = 1 + c.before.length + got.filter((a) => a.type === 'subscribed').length;
      expect(held).toBeLessThanOrEqual(c.expect.maxSubscriptions);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Kafka records.

describe('Kafka records', () => {
  let producer: Awaited<ReturnType<typeof kafkaProducer>>;
  const failureQueue = () => stack.queues.FailureQueue as string;
  /** The stream and key of the entry that ran last: its partition is the one to watch. */
  let last: { stream: Stream; key: string } | undefined;

  beforeAll(async () => {
    producer = await kafkaProducer();
  });
  afterAll(async () => {
    await producer?.disconnect();
  });

  async function subscriber(stream: Stream, key: string): Promise<Client> {
    const { path: topicPath, scope } = streams[stream];
    return track(
      connect(wsUrl(topicPath.replace('{key}', key)), { token: await tokenFor('carbon.super', scope) }),
    );
  }
  const isGood = (stream: Stream, marker: string) => (m: string) =>
    stream === 'sweet' ? m.includes('<totalCount>') : m.includes(marker);

  /** A failed entry may leave its partition retrying: wait until it delivers again before the next. */
  afterEach(async ({ task }) => {
    if (task.result?.state !== 'fail' || !last) return;
    const { stream, key } = last;
    const probe = await subscriber(stream, key);
    const marker = unique('probe');
    const started = Date.now();
    await producer.send({ topic: streams[stream].topic, messages: [{ key, value: GOOD[stream](marker) }] });
    const recovered = await probe.waitFor(isGood(stream, marker), 170_000).then(
      () => `${Math.round((Date.now() - started) / 1000)} s`,
      () => 'not within 170 s',
    );
    process.stderr.write(`[hostile] ${streams[stream].topic} delivered again after ${recovered}\n`);
    await drainQueue(failureQueue());
  }, 200_000);

  it.each(recordCases)('$name', async (c: RecordCase) => {
    await drainQueue(failureQueue());
    const key = unique('k');
    last = { stream: c.stream, key };
    const client = await subscriber(c.stream, key);
    await sleep(300);
    const marker = unique('good');
    const good = isGood(c.stream, marker);
    await producer.send({
      topic: streams[c.stream].topic,
      messages: [...c.values.map((value) => ({ key, value })), { key, value: GOOD[c.stream](marker) }],
    });
    const arrived = await client.waitFor(good, c.expect.goodWithinMs).then(
      () => 'promptly',
      () => `not within ${c.expect.goodWithinMs / 1000} s`,
    );
    const failures: Record<string, unknown>[] = [];
    const wanted = c.expect.failureRecords?.count ?? 0;
    const ours = (f: Record<string, unknown>) =>
      f.topic === streams[c.stream].topic &&
      (f.key === undefined || Buffer.from(String(f.key), 'base64').toString() === key);
    for (let waited = 0; waited < 10_000 && failures.length < wanted; waited += 1_000) {
      failures.push(...(await drainQueue(failureQueue())).filter(ours));
      if (failures.length < wanted) await sleep(1_000);
    }
    await client.quietFor(500);
    const observed = {
      goodRecord: arrived,
      failureRecords: failures.map((f) => ({
        topic: f.topic,
        partition: typeof f.partition,
        offset: f.offset === undefined ? 'missing' : 'present',
        reason: Boolean((f.reasons as { reason?: string }[] | undefined)?.[0]?.reason ?? f.reason),
      })),
      emptyFrames: client.received.filter((m) => m === '').length,
      otherFrames: c.expect.onlyGood
        ? client.received.filter((m) => !good(m)).map((m) => `${m.slice(0, 40)}… (${m.length} chars)`)
        : [],
    };
    const record = { topic: streams[c.stream].topic, partition: 'number', offset: 'present', reason: true };
    expect(observed).toEqual({
      goodRecord: 'promptly',
      failureRecords: Array.from({ length: wanted }, () => record),
      emptyFrames: 0,
      otherFrames: [],
    });
    if (c.expect.failureRecords?.reason) {
      expect(JSON.stringify(failures)).toMatch(c.expect.failureRecords.reason);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// HTTP: management, applications and the token endpoint.

interface HttpAnswer {
  status: number;
  body: string;
}

/** A request with the path sent exactly as given (percent-escapes untouched). */
function rawRequest(
  url: string,
  rawPath: string,
  method: string,
  headers: Record<string, string>,
  body?: string,
): Promise<HttpAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const req = httpRequest({ hostname, port, path: rawPath, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', (error) => resolve({ status: 0, body: String(error) }));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

async function sigv4Headers(
  url: string,
  rawPath: string,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  options: {
    dateOffset?: number;
    unsigned?: string[];
    service?: string;
    region?: string;
    secret?: 'wrong';
  } = {},
): Promise<Record<string, string>> {
  const { hostname, port, host } = new URL(url);
  const [pathname, query = ''] = rawPath.split('?') as [string, string?];
  const signer = new SignatureV4({
    credentials: {
      ...stack.credentials,
      ...(options.secret ? { secretAccessKey: 'wrong-secret' } : {}),
    },
    region: options.region ?? 'us-east-1',
    service: options.service ?? 'execute-api',
    sha256: Sha256,
  });
  const signed = await signer.sign(
    {
      method,
      protocol: 'http:',
      hostname,
      ...(port ? { port: Number(port) } : {}),
      path: pathname,
      query: Object.fromEntries(new URLSearchParams(query)),
      headers: { host, ...headers },
      ...(body !== undefined ? { body } : {}),
    },
    {
      signingDate: new Date(Date.now() + (options.dateOffset ?? 0) * 1000),
      ...(options.unsigned ? { unsignableHeaders: new Set(options.unsigned) } : {}),
    },
  );
  return signed.headers as Record<string, string>;
}

async function sendHttpCase(c: HttpCase): Promise<HttpAnswer> {
  const rawPath = c.path
    .replaceAll('{plan}', unique('HostilePlan'))
    .replaceAll('{app}', unique('hostile-app'));
  const name = unique('hostile-app');
  const body =
    c.raw?.text ??
    (c.body === undefined ? undefined : JSON.stringify(c.body).replaceAll('"{app}"', JSON.stringify(name)));
  const headers: Record<string, string> = {
    ...(body !== undefined ? { 'content-type': c.raw?.contentType ?? 'application/json' } : {}),
    ...(c.headers ?? {}),
  };
  if (c.auth === 'app') {
    const app = stack.defaultApp.tenants['carbon.super']?.keys.PRODUCTION;
    headers.authorization = `Basic ${Buffer.from(`${app?.clientId}:${app?.clientSecret}`).toString('base64')}`;
  }
  const signed =
    c.auth === 'admin' ? await sigv4Headers(stack.urls.http, rawPath, c.method, headers, body) : headers;
  return rawRequest(stack.urls.http, rawPath, c.method, signed, body);
}

describe('management and token input', () => {
  it.each(httpCases)('$name', async (c) => {
    const answer = await sendHttpCase(c);
    const shown = `${answer.status} ${answer.body.slice(0, 200)}`;
    if ('status' in c.expect) expect(answer.status, shown).toBe(c.expect.status);
    else expect(Math.floor(answer.status / 100), shown).toBe(c.expect.statusClass);
  });
});

// ---------------------------------------------------------------------------------------------
// The local @connections endpoint.

describe('the local @connections endpoint', () => {
  it.each(connectionsCases)('$name', async (c: ConnectionsCase) => {
    const room = unique('room');
    const client = await track(connect(wsUrl(`/testchats/1.0.0/rooms/${room}`), { token: await tokenFor() }));
    const [id] = await connectionIdsOn(`carbon.super/testchats/1.0.0/rooms/${room}`);
    const rawPath = `${c.path === 'stage' ? `/${stack.stageName}` : ''}/@connections/${encodeURIComponent(String(id))}`;
    const data = c.method === 'POST' ? unique('pushed') : undefined;
    const base = `http://127.0.0.1:${stack.ports.ws}`;
    const headers =
      c.signing === 'none' ? {} : await sigv4Headers(base, rawPath, c.method, {}, data, c.signing);
    const answer = await rawRequest(base, rawPath, c.method, headers, data);
    await sleep(400);
    const observed = {
      status: answer.status,
      delivered: data !== undefined && client.received.includes(data),
      stillOpen: client.ws.readyState === client.ws.OPEN,
    };
    const shown = `${answer.status} ${answer.body.slice(0, 200)}`;
    if ('status' in c.expect && c.expect.status < 300) {
      expect(observed, shown).toEqual({
        status: c.expect.status,
        delivered: c.method === 'POST',
        stillOpen: true,
      });
    } else {
      expect(observed, shown).toEqual({
        status: 'status' in c.expect ? c.expect.status : expect.any(Number),
        delivered: false,
        stillOpen: true,
      });
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Class 7 (privilege): channel handlers run user code with no rights of their own; http backends
// can tell the gateway's requests from forgeries; a backend's network errors stay in the log.

/** The deployed template (the one the local stack runs) and its stack name. */
function deployedTemplate(): {
  name: string;
  resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
} {
  const file = readdirSync(stack.assemblyDir).find((f) => f.endsWith('.template.json'));
  if (!file) throw new Error(`no template in ${stack.assemblyDir}`);
  const template = JSON.parse(readFileSync(path.join(stack.assemblyDir, file), 'utf8'));
  return { name: file.replace(/\.template\.json$/, ''), resources: template.Resources };
}

/** Logical id of the function of a channel handler module. */
function handlerFunctionOf(
  resources: ReturnType<typeof deployedTemplate>['resources'],
  module: string,
): string {
  const entry = Object.entries(resources).find(
    ([, r]) =>
      r.Type === 'AWS::Lambda::Function' &&
      JSON.stringify(r.Properties?.Environment ?? {}).includes(`"POWERTOOLS_SERVICE_NAME":"${module}"`),
  );
  if (!entry) throw new Error(`no function for ${module}`);
  return entry[0];
}

describe('least privilege and backends', () => {
  it('a channel handler function holds no table, @connections, invoke or secret rights, nor their addresses', () => {
    const { resources } = deployedTemplate();
    const fnId = handlerFunctionOf(resources, 'examples/chat-backend');
    const fn = resources[fnId];
    const role = fn?.Properties?.Role as { 'Fn::GetAtt': [string, string] } | undefined;
    const roleId = role?.['Fn::GetAtt'][0] ?? '';
    expect(roleId).not.toBe('');
    const statements = Object.values(resources)
      .filter(
        (r) =>
          r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties?.Roles ?? []).includes(`"${roleId}"`),
      )
      .concat(resources[roleId] ? [resources[roleId]] : [])
      .map((r) => JSON.stringify(r.Properties ?? {}));
    expect(statements.join('\n')).not.toMatch(/dynamodb:|execute-api:|lambda:Invoke|secretsmanager:|sqs:/);
    expect(JSON.stringify(fn?.Properties?.Environment ?? {})).not.toMatch(
      /CONNECTIONS_TABLE|THROTTLE_TABLE|REGISTRY_TABLE|CALLBACK_URL/,
    );
  });

  it('a handler invoked outside the gateway only answers: it writes and delivers nothing itself', async () => {
    const token = await tokenFor('carbon.super', 'chat:read chat:write');
    const room = 'room2';
    const listener = await track(connect(wsUrl(`/chats/1.0.0/rooms/${room}`), { token }));
    await listener.waitFor((m) => m === `You joined ${room}!`);
    const { name, resources } = deployedTemplate();
    const { LambdaClient, InvokeCommand } = await import('@aws-sdk/client-lambda');
    const lambda = new LambdaClient({
      endpoint: stack.urls.aws,
      region: 'us-east-1',
      credentials: stack.credentials,
    });
    const chatsId = 'carbon.super/Chats/1.0.0';
    // What a compromised handler would try: broadcast into a room it was not asked about.
    const response = await lambda.send(
      new InvokeCommand({
        FunctionName: `${name}-${handlerFunctionOf(resources, 'examples/chat-backend')}`,
        Payload: Buffer.from(
          JSON.stringify({
            phase: 'message',
            connectionId: 'AAAAAAAAAAAAAAA=',
            apiId: chatsId,
            topic: `/rooms/${room}`,
            params: { roomID: room },
            message: 'forged broadcast',
          }),
        ),
      }),
    );
    const answer = JSON.parse(Buffer.from(response.Payload ?? []).toString('utf8'));
    expect(answer).toEqual({
      actions: [{ type: 'publish', topic: `/rooms/${room}`, data: 'forged broadcast', exceptSender: true }],
    });
    await sleep(1_500);
    expect(listener.received).not.toContain('forged broadcast');
  });

  it('a request without a valid signature is told from a genuine one by the verifier', async () => {
    const { verifyBackendSignature, signatureHeader } = await import(
      '../../lambdas/core/backend-signature.ts'
    );
    const { httpBackendSigningSecret } = await import('./helpers.ts');
    const { createServer } = await import('node:http');
    const requests: { url: string; headers: Record<string, unknown>; body: string }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString('utf8');
      });
      req.on('end', () => {
        requests.push({ url: req.url ?? '', headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(19096, '127.0.0.1', resolve));
    try {
      const token = await tokenFor('carbon.super', '');
      const client = await track(connect(wsUrl(`/httprooms/1.0.0/rooms/${unique('r')}`), { token }));
      client.ws.send('genuine frame');
      for (let i = 0; i < 50 && requests.length === 0; i++) await sleep(100);
      const genuine = requests[0];
      expect(genuine).toBeDefined();
      if (!genuine) return;
      const secret = httpBackendSigningSecret();
      const signed = { method: 'POST', path: genuine.url, body: genuine.body };
      const header = genuine.headers['x-streamgate-signature'] as string;
      expect(verifyBackendSignature(header, signed, secret)).toMatchObject({ valid: true });
      // Forgeries: the same unsigned x-streamgate-* headers, no signature / another body / a guessed
      // secret / a replay after the tolerance.
      expect(verifyBackendSignature(undefined, signed, secret)).toEqual({ valid: false, reason: 'missing' });
      expect(verifyBackendSignature(header, { ...signed, body: 'forged' }, secret)).toEqual({
        valid: false,
        reason: 'mismatch',
      });
      const guessed = signatureHeader('guessed', signed, Math.floor(Date.now() / 1000));
      expect(verifyBackendSignature(guessed, signed, secret)).toEqual({ valid: false, reason: 'mismatch' });
      expect(
        verifyBackendSignature(header, signed, secret, { now: Math.floor(Date.now() / 1000) + 3_600 }),
      ).toEqual({ valid: false, reason: 'expired' });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('a refused backend connection answers 502 without a host name, port or network reason', async () => {
    // Nothing listens on the HttpRooms backend port now: the connection is refused.
    const token = await tokenFor('carbon.super', '');
    const client = await track(connect(wsUrl(`/httprooms/1.0.0/rooms/${unique('r')}`), { token }));
    client.ws.send('anyone there?');
    const frame = await client.waitFor(() => true, 5_000);
    expect(json(frame)).toEqual({
      type: 'error',
      status: 502,
      error: 'bad_gateway',
      message: 'the backend could not be reached',
    });
    expect(frame).not.toMatch(/127\.0\.0\.1|localhost|19096|ECONNREFUSED/);
  });
});

// ---------------------------------------------------------------------------------------------
// One client cannot starve everyone.

/** A token request with the default application's credentials, answered with its status. */
async function tokenStatus(): Promise<number> {
  const app = stack.defaultApp.tenants['carbon.super']?.keys.PRODUCTION;
  const response = await fetch(`${stack.urls.http}/oauth2/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${app?.clientId}:${app?.clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  await response.arrayBuffer();
  return response.status;
}

describe('one client cannot starve everyone', () => {
  it.each(starvationCases)('$name', async (c: StarvationCase) => {
    if (c.kind === 'http') {
      const statuses = await Promise.all(
        Array.from({ length: c.requests }, async () => {
          const response = await fetch(`${stack.urls.http}${c.path}`);
          await response.arrayBuffer();
          return response.status;
        }),
      );
      const observed = { tokenStatus: await tokenStatus(), no5xx: statuses.every((s) => s < 500) };
      expect(observed, `document answers: ${[...new Set(statuses)].join(', ')}`).toEqual(c.expect);
      await sleep(1_000); // the documents' bucket refills for the next case
      return;
    }
    const token = await tokenFor('carbon.super', 'chat:read chat:write');
    const room = unique('flood');
    const flooder = await track(connect(wsUrl(`/testchats/1.0.0/rooms/${room}`), { token }));
    const calm = unique('calm');
    const listener = await track(connect(wsUrl(`/testchats/1.0.0/rooms/${calm}`), { token }));
    const speaker = await track(connect(wsUrl(`/testchats/1.0.0/rooms/${calm}`), { token }));
    const frame = (n: number) =>
      c.frame === 'raw'
        ? `flood ${n}`
        : c.frame === 'subscribe'
          ? { action: 'subscribe', topic: `/rooms/${room}-${n % 10}` }
          : { action: 'publish', topic: `/rooms/${room}`, data: `flood ${n}` };
    for (let n = 0; n < c.frames; n++) {
      if (flooder.ws.readyState !== flooder.ws.OPEN) break;
      send(flooder, frame(n));
      if ((n + 1) % c.perTick === 0) await sleep(100);
    }
    const errors = () => answers(flooder.received).filter((a) => a.type === 'error');
    await expect
      .poll(() => errors().some((e) => e.error === c.expect.closed.error), { timeout: 30_000 })
      .toBe(true)
      .catch(() => undefined);
    const refused = errors().find((e) => e.error === c.expect.refused.error);
    const last = errors().find((e) => e.error === c.expect.closed.error);
    const closedBy = await Promise.race([flooder.closed.then(() => true), sleep(10_000).then(() => false)]);
    const line = unique('after the flood');
    speaker.ws.send(line);
    const served = await listener
      .waitFor((m) => m === line, 30_000)
      .then(() => true)
      .catch(() => false);
    expect({
      refused: refused && { status: refused.status, error: refused.error },
      closed: last && { error: last.error, closeCode: last.closeCode },
      flooderClosed: closedBy,
      bystanderServed: served,
    }).toEqual({ ...c.expect, flooderClosed: true });
  });
});

// ---------------------------------------------------------------------------------------------

describe('after the corpus', () => {
  it('a normal chat on the Chats API still works', async () => {
    const token = await tokenFor('carbon.super', 'chat:read chat:write');
    const alice = await track(connect(wsUrl('/chats/1.0.0/rooms/room1'), { token }));
    const bob = await track(connect(wsUrl('/chats/1.0.0/rooms/room1'), { token }));
    await bob.waitFor((m) => m === 'You joined room1!');
    alice.ws.send('still chatting after the hostile corpus');
    expect(await bob.waitFor((m) => m === 'still chatting after the hostile corpus')).toBeTruthy();
  });

  it('the stack log has no ERROR line or stack trace from the suite', async () => {
    const text = readFileSync(logFile).subarray(logStart).toString('utf8');
    const lines = text.split('\n');
    const errors = lines.filter((line) => /\sERROR\s/.test(line) || /^\s+at\s.+[:(]/.test(line));
    expect(errors.slice(0, 40), `${errors.length} line(s)`).toEqual([]);
  });
});
