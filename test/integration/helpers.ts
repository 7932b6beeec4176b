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
import WebSocket from 'ws';
import { requestToken } from '../../cli/token-request.ts';
import { ConnectionStore } from '../../lambdas/adapters/connection-store.ts';
import { activeKey, parseKeySet } from '../../lambdas/core/signing-keys.ts';
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

export interface Client {
  ws: WebSocket;
  /** Every message received so far (text). */
  received: string[];
  /** Resolves with the first message (already received or next) that matches. */
  waitFor(predicate: (message: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Resolves after `ms` with what arrived meanwhile. */
  quietFor(ms: number): Promise<string[]>;
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

export class HandshakeRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`handshake refused: ${status} ${body}`);
  }
}

export function wsUrl(target: string): string {
  return `${stack.urls.ws}${target}`;
}

export function connect(
  url: string,
  options: {
    token?: string;
    via?: 'header' | 'query';
    headers?: Record<string, string>;
    rejectUnauthorized?: boolean;
  } = {},
): Promise<Client> {
  const via = options.via ?? 'header';
  let fullUrl = url;
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.token && via === 'query') {
    fullUrl += `${url.includes('?') ? '&' : '?'}access_token=${encodeURIComponent(options.token)}`;
  } else if (options.token) {
    headers.Authorization = `Bearer ${options.token}`;
  }
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(fullUrl, {
      headers,
      ...(options.rejectUnauthorized === false ? { rejectUnauthorized: false } : {}),
    });
    const received: string[] = [];
    const waiters: { predicate: (m: string) => boolean; resolve: (m: string) => void }[] = [];
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? `binary:${(data as Buffer).toString('hex')}` : data.toString();
      received.push(text);
      for (const waiter of [...waiters]) {
        if (waiter.predicate(text)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(text);
        }
      }
    });
    const closed = new Promise<{ code: number; reason: string }>((resolveClose) =>
      ws.on('close', (code, reason) => resolveClose({ code, reason: reason.toString() })),
    );
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () => reject(new HandshakeRefused(res.statusCode ?? 0, body)));
    });
    ws.on('error', (error) => reject(error));
    ws.on('open', () =>
      resolve({
        ws,
        received,
        closed,
        close: () => ws.close(),
        waitFor(predicate, timeoutMs = 5_000) {
          const found = received.find(predicate);
          if (found !== undefined) return Promise.resolve(found);
          return new Promise((resolveWait, rejectWait) => {
            const timer = setTimeout(() => {
              waiters.splice(
                waiters.findIndex((w) => w.resolve === done),
                1,
              );
              rejectWait(
                new Error(`no matching message within ${timeoutMs} ms; received ${JSON.stringify(received)}`),
              );
            }, timeoutMs);
            const done = (message: string) => {
              clearTimeout(timer);
              resolveWait(message);
            };
            waiters.push({ predicate, resolve: done });
          });
        },
        async quietFor(ms) {
          const before = received.length;
          await new Promise((r) => setTimeout(r, ms));
          return received.slice(before);
        },
      }),
    );
  });
}

export async function refusal(promise: Promise<unknown>): Promise<HandshakeRefused> {
  const error = await promise.then(
    (client) => {
      (client as Client).close();
      return new Error('the handshake was accepted');
    },
    (e: unknown) => e,
  );
  if (!(error instanceof HandshakeRefused)) throw error;
  return error;
}

/** The connection ids registered on a topic (the test's own unique topic), via the registry. */
export async function connectionIdsOn(topicKey: string): Promise<string[]> {
  return (await connectionStore().subscribers(topicKey)).map((s) => s.connectionId);
}

export const unique = (prefix: string) =>
  `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;

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
