/**
 * Real clients for the integration tests: `ws` WebSocket clients, the token endpoint over HTTP,
 * and DynamoDB Local through the same ConnectionStore the handlers use.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { importJWK, SignJWT } from 'jose';
import type { Admin } from 'kafkajs';
import { inject } from 'vitest';
import { requestToken } from '../../cli/token-request.ts';
import { ConnectionStore } from '../../lambdas/adapters/connection-store.ts';
import { activeKey, parseKeySet } from '../../lambdas/core/signing-keys.ts';
import type { ScenarioTarget } from '../scenarios/target.ts';
import type { StackInfo } from './stack-info.ts';

export const stack: StackInfo = inject('stack');

export function documentClient(): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: stack.urls.dynamodb,
      region: 'us-east-1',
      credentials: stack.credentials,
    }),
  );
}

export const connectionStore = () =>
  new ConnectionStore(documentClient(), stack.tables.ConnectionsTable as string, 4);

/** A token from the local token endpoint for the tenant's DefaultApplication. */
export async function tokenFor(
  tenant = 'carbon.super',
  scope = 'chat:read chat:write',
  keyType: 'PRODUCTION' | 'SANDBOX' = 'PRODUCTION',
): Promise<string> {
  const keys = stack.defaultApp.tenants[tenant]?.keys[keyType];
  if (!keys) throw new Error(`no default application for ${tenant}`);
  return (await requestToken(`${stack.urls.http}/oauth2/token`, keys, scope)).access_token;
}

/**
 * A token signed with the local issuer's own key, with any claims: for the cases the token
 * endpoint would never issue (expired, wrong tenant, wrong audience…).
 */
export async function mintToken(
  claims: Record<string, unknown>,
  options: { expiresIn?: number } = {},
): Promise<string> {
  const state = JSON.parse(readFileSync(path.join(stack.stateDir, 'secrets.json'), 'utf8')) as {
    secrets: { versions: { secretString?: string; stages: string[] }[] }[];
  };
  const current = state.secrets
    .flatMap((s) => s.versions)
    .find((v) => v.stages.includes('AWSCURRENT') && v.secretString?.includes('privateJwk'));
  const key = activeKey(parseKeySet(current?.secretString));
  if (!key) throw new Error('no signing key in the local Secrets Manager state');
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    client_id: 'test-client',
    scope: 'chat:read chat:write',
    tenant: 'carbon.super',
    ...claims,
  })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' })
    .setIssuer((claims.iss as string) ?? stack.urls.http)
    .setAudience((claims.aud as string) ?? 'streamgate')
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expiresIn ?? 600))
    .sign(await importJWK(key.privateJwk, key.alg));
}

export function wsUrl(target: string): string {
  return `${stack.urls.ws}${target}`;
}

export { type Client, connect, HandshakeRefused, refusal } from '../scenarios/client.ts';

/** The connection ids registered on a topic (the test's own unique topic), via the registry. */
export async function connectionIdsOn(topicKey: string): Promise<string[]> {
  return (await connectionStore().subscribers(topicKey)).map((s) => s.connectionId);
}

export { unique } from '../scenarios/seeds.ts';

export const json = (text: string) => JSON.parse(text) as Record<string, unknown>;

/** Run `use` with a kafkajs admin client on the local broker, disconnected afterwards. */
export async function withKafkaAdmin<T>(use: (admin: Admin) => Promise<T>): Promise<T> {
  const { Kafka, logLevel } = await import('kafkajs');
  const admin = new Kafka({
    clientId: 'streamgate-tests',
    brokers: stack.kafkaBrokers,
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    return await use(admin);
  } finally {
    await admin.disconnect();
  }
}

/** A kafkajs producer on the local broker (one per test file). */
export async function kafkaProducer() {
  const { Kafka, Partitioners, logLevel } = await import('kafkajs');
  const producer = new Kafka({
    clientId: 'streamgate-tests',
    brokers: stack.kafkaBrokers,
    logLevel: logLevel.NOTHING,
  }).producer({
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  return producer;
}

/** Ask the local stack to fail the next invocations of a function (its handler folder name). */
export async function injectFault(fn: string, count: number, mode: 'before' | 'after'): Promise<void> {
  const response = await fetch(`${stack.urls.http}/_local/faults`, {
    method: 'POST',
    body: JSON.stringify({ function: fn, count, mode }),
  });
  if (!response.ok) throw new Error(`fault injection: ${response.status} ${await response.text()}`);
}

/** Messages on a local SQS queue (received, then deleted). */
export async function drainQueue(queueUrl: string): Promise<Record<string, unknown>[]> {
  const { SQSClient, ReceiveMessageCommand, DeleteMessageCommand } = await import('@aws-sdk/client-sqs');
  const sqs = new SQSClient({
    endpoint: stack.urls.aws,
    region: 'us-east-1',
    credentials: stack.credentials,
  });
  const out: Record<string, unknown>[] = [];
  for (;;) {
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }),
    );
    if (!Messages?.length) break;
    for (const message of Messages) {
      out.push(JSON.parse(message.Body ?? '{}'));
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
    }
  }
  sqs.destroy();
  return out;
}

/** The reasons of the poison records of a topic that reached the failure queue (drained). */
export async function poisonReasons(topic: string): Promise<(string | undefined)[]> {
  const failures = await drainQueue(stack.queues.FailureQueue as string);
  return failures
    .filter((f) => f.kind === 'poison-record' && f.topic === topic)
    .map((f) => (f.reasons as { reason: string }[])[0]?.reason);
}

/** The stack's http backend signing secret (its current value in the local Secrets Manager's state). */
export function httpBackendSigningSecret(): string {
  const state = JSON.parse(readFileSync(path.join(stack.stateDir, 'secrets.json'), 'utf8')) as {
    secrets: { name: string; versions: { secretString: string; stages: string[] }[] }[];
  };
  const secret = state.secrets.find((s) => s.name.includes('HttpBackendSigningSecret'));
  const current = secret?.versions.find((v) => v.stages.includes('AWSCURRENT'));
  if (!current) throw new Error('no http backend signing secret in the local stack');
  return current.secretString;
}

/**
 * The local stack as a scenario target (test/scenarios): its edge, the DefaultApplication's tokens
 * and a kafkajs producer on the local broker. `close()` disconnects the producer.
 */
export function localTarget(): ScenarioTarget & { close(): Promise<void> } {
  let producer: ReturnType<typeof kafkaProducer> | undefined;
  return {
    name: 'local',
    edgeUrl: stack.urls.ws,
    patience: 1,
    token: (tenant, scope) => tokenFor(tenant, scope),
    async kafka() {
      producer ??= kafkaProducer();
      const connected = await producer;
      return {
        async send(topic, messages) {
          await connected.send({ topic, acks: -1, messages });
        },
      };
    },
    async close() {
      await (await producer)?.disconnect();
    },
  };
}
