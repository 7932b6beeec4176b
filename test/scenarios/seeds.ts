/**
 * The seed scenarios — chat (seed 001), sweet count (000), train locations (002), echo (003) and the
 * seeds' wscat commands — as steps and assertions against a `ScenarioTarget`. The integration tests
 * run them on the local stack (test/integration/seeds-handlers, kafka, transforms, wscat), and
 * `npm run test:aws` runs the same functions against a deployed stack: what passes locally and fails
 * there is a parity gap. Assertions are node:assert's, so they run outside vitest too.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { type Client, refusal } from './client.ts';
import { type ScenarioTarget, Session, until } from './target.ts';

const run = promisify(execFile);
const wscat = path.resolve(import.meta.dirname, '../../node_modules/.bin/wscat');

/** A random suffix that keeps one run's topic instances apart from another's. */
export const unique = (prefix: string) =>
  `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;

const count = (client: Client, message: string) => client.received.filter((m) => m === message).length;
const json = (text: string) => JSON.parse(text) as Record<string, unknown>;

/** Runs `steps` with a session on `target`, closing every client it opened, pass or fail. */
async function withSession(target: ScenarioTarget, steps: (session: Session) => Promise<void>) {
  const session = new Session(target);
  try {
    await steps(session);
  } finally {
    session.close();
  }
}

// --- seed 001: the chat backend (a channel handler) ------------------------------------------------

/** Five clients in two rooms and a notifications listener hear exactly what seed 001 says. */
export function chatRoomsScenario(target: ScenarioTarget): Promise<void> {
  return withSession(target, async (s) => {
    const token = await target.token('carbon.super', 'chat:read chat:write');
    const listener = await s.join('/chats/1.0.0/notifications', token);
    await listener.waitFor((m) => m === 'Subscribed to notifications!');

    const room1 = [
      await s.join('/chats/1.0.0/rooms/room1', token),
      await s.join('/chats/1.0.0/rooms/room1', token),
      await s.join('/chats/1.0.0/rooms/room1', token),
    ];
    const room2 = [
      await s.join('/chats/1.0.0/rooms/room2', token),
      await s.join('/chats/1.0.0/rooms/room2', token),
    ];
    for (const member of room1) await member.waitFor((m) => m === 'You joined room1!');
    for (const member of room2) await member.waitFor((m) => m === 'You joined room2!');
    await until(() => count(listener, 'Someone joined room1!'), 3, s.wait(1_000), 'room1 joins announced');
    await until(() => count(listener, 'Someone joined room2!'), 2, s.wait(1_000), 'room2 joins announced');

    const [alice, bob, carol] = room1 as [Client, Client, Client];
    const [dave, erin] = room2 as [Client, Client];
    alice.ws.send('hello room1, alice here');
    await bob.waitFor((m) => m === 'hello room1, alice here');
    await carol.waitFor((m) => m === 'hello room1, alice here');
    erin.ws.send('room2 only');
    await dave.waitFor((m) => m === 'room2 only');
    bob.ws.send('hi alice');
    await alice.waitFor((m) => m === 'hi alice');
    await alice.quietFor(s.wait(300));

    assert.deepEqual(alice.received, ['You joined room1!', 'hi alice']);
    assert.deepEqual(bob.received, ['You joined room1!', 'hello room1, alice here']);
    assert.deepEqual(carol.received, ['You joined room1!', 'hello room1, alice here', 'hi alice']);
    assert.deepEqual(dave.received, ['You joined room2!', 'room2 only']);
    assert.deepEqual(erin.received, ['You joined room2!']);
    assert.deepEqual(
      listener.received.filter((m) => !m.startsWith('Someone joined')),
      ['Subscribed to notifications!'],
    );
  });
}

/** The common room has its own greeting; a room the chat backend does not have is refused with 404. */
export function chatCommonRoomScenario(target: ScenarioTarget): Promise<void> {
  return withSession(target, async (s) => {
    const token = await target.token('carbon.super', 'chat:read chat:write');
    const member = await s.join('/chats/1.0.0/rooms/common', token);
    await member.waitFor((m) => m === 'You joined the common room!');
    const refused = await refusal(s.join('/chats/1.0.0/rooms/room9', token));
    assert.equal(refused.status, 404);
    assert.match(String(json(refused.body).message), /there is no room room9/);
  });
}

/** What a notifications listener sends reaches the other listeners, not itself. */
export function chatNotificationsScenario(target: ScenarioTarget): Promise<void> {
  return withSession(target, async (s) => {
    const token = await target.token('carbon.super', 'chat:read chat:write');
    const one = await s.join('/chats/1.0.0/notifications', token);
    const two = await s.join('/chats/1.0.0/notifications', token);
    await two.waitFor((m) => m === 'Subscribed to notifications!');
    one.ws.send('maintenance at noon');
    await two.waitFor((m) => m === 'maintenance at noon');
    assert.ok(!(await one.quietFor(s.wait(300))).includes('maintenance at noon'));
  });
}

// --- seed 003: EchoWebSocket -----------------------------------------------------------------------

/** Echoes what a client sends, to that client only. */
export function echoScenario(target: ScenarioTarget): Promise<void> {
  return withSession(target, async (s) => {
    const a = await s.join('/echowebsocket/1.0.0', await target.token('carbon.super', ''));
    const b = await s.join('/echowebsocket/1.0.0', await target.token('carbon.super', ''));
    a.ws.send('Hello, echo!');
    await a.waitFor((m) => m === 'Hello, echo!');
    assert.deepEqual(await b.quietFor(s.wait(300)), []);
  });
}

// --- the seeds' wscat commands ----------------------------------------------------------------------

/**
 * wscat as seed 001 uses it, on the chat API's common room: `-H "Authorization: Bearer …"` sends and
 * receives, `?access_token=` (the browsers' way) sends, and no token is refused with 401.
 */
export function wscatChatScenario(target: ScenarioTarget): Promise<void> {
  return withSession(target, async (s) => {
    const token = await target.token('carbon.super', 'chat:read chat:write');
    const room = '/chats/1.0.0/rooms/common';
    const listener = await s.join(room, token);
    await listener.waitFor((m) => m === 'You joined the common room!');
    const seconds = String(Math.ceil(s.wait(2_000) / 1000));
    const talker = run(wscat, [
      '-c',
      s.url(room),
      '-H',
      `Authorization: Bearer ${token}`,
      '-x',
      'hello from wscat',
      '-w',
      seconds,
    ]);
    await listener.waitFor((m) => m === 'hello from wscat', s.wait(10_000));
    listener.ws.send('hello back');
    assert.match((await talker).stdout, /hello back/);

    await run(wscat, ['-c', `${s.url(room)}?access_token=${token}`, '-x', 'via query', '-w', '1']);
    await listener.waitFor((m) => m === 'via query');

    const refused = await run(wscat, ['-c', s.url(room), '-x', 'x', '-w', '1']).catch(
      (error: { stdout: string; stderr: string }) => error,
    );
    assert.match(`${refused.stdout}${refused.stderr}`, /Unexpected server response: 401/);
  });
}

// --- Kafka: seeds 002 and 000 -----------------------------------------------------------------------

/**
 * Produces `record` every few seconds until `client` receives something (the topic's event source
 * mapping is reading), then waits for stragglers. On AWS a new mapping takes minutes to start
 * reading and starts at LATEST, so a scenario's own records must wait for it; locally the first
 * record arrives at once.
 */
async function primeTopic(
  s: Session,
  client: Client,
  send: () => Promise<void>,
  what: string,
): Promise<void> {
  const deadline = Date.now() + s.wait(20_000);
  while (client.received.length === 0) {
    if (Date.now() > deadline)
      throw new Error(`${what}: no record reached a subscriber within ${s.wait(20_000)} ms`);
    await send();
    await client.waitFor(() => true, s.wait(3_000)).catch(() => undefined);
  }
  await client.quietFor(s.wait(1_000));
  client.close();
}

const trainPath = (train: string) => `/t/quantis.com/train/location/1.0.0/loc-train-qnt-${train}`;

/** Seed 002: records keyed by train reach that train's topic instance only (the seed's trailing slash too). */
export function trainScenario(target: ScenarioTarget): Promise<void> {
  return withSession(target, async (s) => {
    const kafka = await target.kafka();
    const token = await target.token('quantis.com', '');
    const send = (key: string, value: string) => kafka.send('train-locations', [{ key, value }]);
    const primer = unique('prime');
    await primeTopic(
      s,
      await s.join(trainPath(primer), token),
      () => send(primer, '{"prime":1}'),
      'train-locations',
    );

    const [t456, t789] = [unique('456'), unique('789')];
    const a = await s.join(`${trainPath(t456)}/`, token);
    const b = await s.join(trainPath(t789), token);
    await send(t456, '{"lat":6.93,"lon":79.85}');
    assert.deepEqual(json(await a.waitFor((m) => m.includes('6.93'))), { lat: 6.93, lon: 79.85 });
    await send(t789, '{"lat":7.29,"lon":80.63}');
    await b.waitFor((m) => m.includes('7.29'));
    assert.deepEqual(await a.quietFor(s.wait(300)), []);
    assert.equal(a.received.length, 1);
  });
}

/** A SweetProductionStream event in seed 000's XML mapping. */
export const sweet = (name: string, amount: number | string) =>
  `<events><event><name>${name}</name><amount>${amount}</amount></event></events>`;

/** The count of a TotalCountStream XML event; throws on anything else. */
export const totalOf = (message: string) => {
  const match = /^<events><event><totalCount>(\d+)<\/totalCount><\/event><\/events>$/.exec(message);
  if (!match) throw new Error(`not a TotalCountStream event: ${message}`);
  return Number(match[1]);
};

/** Seed 000: subscribers get TotalCountStream events counting the SweetProductionStream events (the Siddhi app). */
export function sweetCountScenario(target: ScenarioTarget): Promise<void> {
  return withSession(target, async (s) => {
    const kafka = await target.kafka();
    const token = await target.token('carbon.super', '');
    const produce = (...values: string[]) =>
      kafka.send(
        'kafka_sample_topic',
        values.map((value) => ({ value })),
      );
    await primeTopic(
      s,
      await s.join('/sweetProdApp/1.0.0', token),
      () => produce(sweet('Primer', 1)),
      'kafka_sample_topic',
    );

    const client = await s.join('/sweetProdApp/1.0.0', token);
    await produce(sweet('Toffee', 4532.918273645));
    const first = totalOf(await client.waitFor(() => true, s.wait(10_000)));
    await produce(sweet('Eclair', 120.5), sweet('Gingerbread', 87));
    await client.waitFor(() => client.received.length === 3);
    assert.deepEqual(client.received.map(totalOf), [first, first + 1, first + 2]);
    assert.equal(client.received[0], `<events><event><totalCount>${first}</totalCount></event></events>`);
  });
}

/** One scenario of the parity run. */
export interface Scenario {
  /** Short name for the result table. */
  name: string;
  /** The seed it comes from (`000`–`003`). */
  seed: string;
  /** Needs the target's Kafka brokers (reported "not reachable" where they cannot be reached). */
  kafka: boolean;
  run(target: ScenarioTarget): Promise<void>;
}

/** Every seed scenario, in the order the parity run takes them. */
export const SEED_SCENARIOS: readonly Scenario[] = [
  { name: 'chat: rooms and notifications', seed: '001', kafka: false, run: chatRoomsScenario },
  { name: 'chat: common room, unknown room refused', seed: '001', kafka: false, run: chatCommonRoomScenario },
  { name: 'chat: notifications listeners', seed: '001', kafka: false, run: chatNotificationsScenario },
  { name: 'chat: wscat header, query, no token', seed: '001', kafka: false, run: wscatChatScenario },
  { name: 'echo', seed: '003', kafka: false, run: echoScenario },
  { name: 'train: routed by record key', seed: '002', kafka: true, run: trainScenario },
  { name: 'sweet count: Siddhi transform', seed: '000', kafka: true, run: sweetCountScenario },
];
