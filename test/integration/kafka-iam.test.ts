/**
 * The local broker authorizes the functions as MSK with IAM access control does: the producer and
 * the event source mapping authenticate with their role's credentials on the IAM listener, and each
 * Kafka operation is the role policy's kafka-cluster:* action on the topic or group ARN, evaluated
 * on the template's policies (local/iam). Taking one action out of the role fails exactly the call
 * it allowed, with Kafka's authorization error.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Client, connect, json, stack, tokenFor, unique, wsUrl } from './helpers.ts';

const ARN = 'arn:aws:kafka:us-east-1:000000000000';
const TOPIC = 'test-kafka-rooms';
/** The broker keeps a decision one second. */
const DECISION_CACHE_MS = 1_000;

/**
 * Takes `action` out of the role of a function (`producer`, `fanout`: its service name) in the
 * local stack's IAM, as editing the role in the console would; the policies are the template's.
 */
async function removeFromRole(fn: string, action: string): Promise<void> {
  const res = await fetch(`${stack.urls.http}/_local/iam/remove-action`, {
    method: 'POST',
    body: JSON.stringify({ function: fn, action }),
  });
  expect(res.status, await res.text()).toBe(200);
  await new Promise((r) => setTimeout(r, DECISION_CACHE_MS + 500));
}

/** Every role back to the template's policies. */
async function restoreRoles(): Promise<void> {
  expect((await fetch(`${stack.urls.http}/_local/iam/restore`, { method: 'POST' })).status).toBe(200);
  await new Promise((r) => setTimeout(r, DECISION_CACHE_MS + 500));
}

const stackLog = () => readFileSync(path.join(stack.stateDir, 'stack.log'), 'utf8');

async function roomsPoller(): Promise<{ topics: string[]; batches: number; lastError?: string }> {
  const status = (await (await fetch(`${stack.urls.http}/_local/status`)).json()) as {
    pollers: { topics: string[]; batches: number; lastError?: string }[];
  };
  const poller = status.pollers.find((p) => p.topics.includes(TOPIC));
  if (!poller) throw new Error(`no event source mapping reads ${TOPIC}`);
  return poller;
}

const open: Client[] = [];
const join = async (room: string) => {
  const client = await connect(wsUrl(`/kafkarooms/1.0.0/rooms/${room}`), {
    token: await tokenFor('carbon.super', ''),
  });
  open.push(client);
  return client;
};
const publish = (client: Client, room: string, data: unknown, id: string) =>
  client.ws.send(JSON.stringify({ action: 'publish', topic: `/rooms/${room}`, data, id }));

afterEach(async () => {
  for (const c of open.splice(0)) c.close();
  await restoreRoles();
});

describe('Kafka authorization by the functions’ IAM policies (MSK IAM access control)', () => {
  it('without WriteData on the topic the producer’s publish fails with TOPIC_AUTHORIZATION_FAILED; with it, it succeeds', async () => {
    const room = unique('room');
    const sender = await join(room);
    await removeFromRole('producer', 'kafka-cluster:WriteData');
    publish(sender, room, { n: 1 }, 'denied');
    expect(json(await sender.waitFor((m) => json(m).id === 'denied', 15_000))).toMatchObject({
      type: 'error',
      status: 502,
      message: 'producing to Kafka failed',
    });
    await expect
      .poll(stackLog, { timeout: 5_000 })
      .toMatch(new RegExp(`denied kafka-cluster:WriteData on ${ARN}:topic/[^/\\s]+/[^/\\s]+/${TOPIC} to `));
    // The producer function saw Kafka's own error (TOPIC_AUTHORIZATION_FAILED), as against MSK.
    expect(stackLog()).toMatch(
      /producing failed .*Not authorized to access topics: \[Topic authorization failed\]/,
    );

    await restoreRoles();
    publish(sender, room, { n: 2 }, 'allowed');
    expect(json(await sender.waitFor((m) => json(m).id === 'allowed', 15_000))).toEqual({
      type: 'published',
      topic: `/rooms/${room}`,
      id: 'allowed',
    });
    expect(json(await sender.waitFor((m) => json(m).n === 2, 15_000))).toEqual({ n: 2 });
  });

  it('without ReadData on the topic the event source mapping stops with TOPIC_AUTHORIZATION_FAILED; with it, it delivers', async () => {
    const room = unique('room');
    const [sender, listener] = [await join(room), await join(room)];
    // A record the mapping reads first: the group has an offset on the room's partition (same key),
    // so what is written while it is denied is read from there, not skipped as LATEST would.
    publish(sender, room, { n: 'before' }, 'before');
    expect(json(await listener.waitFor((m) => json(m).n === 'before', 15_000))).toEqual({ n: 'before' });
    await new Promise((r) => setTimeout(r, 1_000)); // its offset committed
    await removeFromRole('fanout', 'kafka-cluster:ReadData');
    const before = listener.received.length;
    publish(sender, room, { n: 3 }, 'while-denied');
    expect(json(await sender.waitFor((m) => json(m).id === 'while-denied', 15_000))).toEqual({
      type: 'published',
      topic: `/rooms/${room}`,
      id: 'while-denied',
    });
    await expect
      .poll(async () => (await roomsPoller()).lastError, { timeout: 20_000 })
      .toMatch(/Not authorized to access topics: \[Topic authorization failed\]/);
    expect(stackLog()).toMatch(
      new RegExp(`denied kafka-cluster:ReadData on ${ARN}:topic/[^/\\s]+/[^/\\s]+/${TOPIC} to `),
    );
    await listener.quietFor(1_000);
    expect(listener.received.slice(before)).toEqual([]);

    await restoreRoles();
    // The mapping resumes from its committed offset: the record written while it was denied arrives.
    expect(json(await listener.waitFor((m) => json(m).n === 3, 30_000))).toEqual({ n: 3 });
    expect((await roomsPoller()).lastError).toBeUndefined();
  });

  it('without Connect the mapping cannot authenticate (SASL authentication failed), as on MSK', {
    timeout: 120_000,
  }, async () => {
    await removeFromRole('fanout', 'kafka-cluster:Connect');
    // Connections authenticate once: a broker restart makes the mapping connect again, as a new poller would.
    expect((await fetch(`${stack.urls.http}/_local/kafka/restart`, { method: 'POST' })).status).toBe(200);
    await expect.poll(async () => (await roomsPoller()).lastError, { timeout: 20_000 }).toMatch(/SASL/i);
    expect(stackLog()).toMatch(
      /SASL authentication failed: .* is not allowed kafka-cluster:Connect on arn:aws:kafka:/,
    );
  });
});
