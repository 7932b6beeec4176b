/**
 * Starts the local stack once for the integration tests, on ports of its own (a running
 * `npm start` is left alone) and with state under `.streamgate/test`. Its log goes to
 * `.streamgate/test/stack.log`.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import type { TestProject } from 'vitest/node';
import { LogSink } from '../../local/log.ts';
import { LOCAL_CREDENTIALS, type LocalStack, startLocalStack } from '../../local/stack.ts';
import { fixtureIam, KAFKA_IAM_POLICY_FILE } from '../helpers/kafka-iam-fake.ts';
import type { StackInfo } from './stack-info.ts';

const root = path.resolve(import.meta.dirname, '../..');
let stack: LocalStack | undefined;
let idp: Server | undefined;

/**
 * An external OAuth2 issuer for the tests (as Cognito or Keycloak would be): its JWKS served here,
 * its private key left in the state folder for the tests to sign with.
 */
async function startExternalIssuer(
  stateDir: string,
): Promise<{ issuer: string; jwksUri: string; audience: string }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'external-1', alg: 'ES256', use: 'sig' };
  await writeFile(
    path.join(stateDir, 'external-idp.json'),
    JSON.stringify({ privateJwk: await exportJWK(privateKey), kid: 'external-1' }),
  );
  idp = createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })),
  );
  await new Promise<void>((resolve) => idp?.listen(19095, '127.0.0.1', resolve));
  return {
    issuer: 'https://idp.example.test',
    jwksUri: 'http://127.0.0.1:19095/jwks',
    audience: 'external-api',
  };
}

export async function setup(project: TestProject): Promise<void> {
  const stateDir = path.join(root, '.streamgate', 'test');
  await mkdir(stateDir, { recursive: true });
  const logFile = createWriteStream(path.join(stateDir, 'stack.log'), { flags: 'w' });
  const log = new LogSink({ out: logFile, verbose: true });
  const external = await startExternalIssuer(stateDir);
  const ports = {
    ws: 19099,
    wss: 18099,
    http: 19090,
    aws: 19091,
    dynamodb: 18000,
    kafka: 19092,
    kafkaController: 19093,
  };
  // The Kafka IAM listener decides by the functions' role policy in this file (none: everything
  // allowed); kafka-iam.test.ts writes it to remove one statement at a time.
  const kafkaIamPolicy = path.join(stateDir, KAFKA_IAM_POLICY_FILE);
  await rm(kafkaIamPolicy, { force: true });
  const kafkaIam = fixtureIam({ credentials: LOCAL_CREDENTIALS, policy: kafkaIamPolicy });
  process.stdout.write('[integration] starting the local stack (DynamoDB Local, gateway, functions)…\n');
  stack = await startLocalStack({
    root,
    stateDir,
    host: '127.0.0.1',
    ports,
    log,
    persist: false,
    lambdaConcurrency: 4,
    extraApiDirs: [path.join(root, 'test', 'fixtures', 'apis')],
    kafkaIam: () => kafkaIam,
    // Registry and signing-key changes reach the functions in a second instead of seconds or minutes.
    functionEnvironment: {
      REGISTRY_CACHE_SECONDS: '1',
      SIGNING_KEY_CACHE_SECONDS: '1',
      SIGNING_KEY_ACTIVATION_SECONDS: '3',
      JWKS_COOLDOWN_SECONDS: '1',
      // Tests subscribe and produce at once; the cache's join delay is measured by the benchmarks.
      SUBSCRIBER_CACHE_MS: '0',
      // The built-in issuer as the template configures it, plus the external one (streamgate.config.json "issuers").
      TOKEN_ISSUERS: JSON.stringify([
        {
          issuer: 'http://localhost:19090',
          jwksUri: 'http://localhost:19090/.well-known/jwks.json',
          audience: 'streamgate',
          typ: 'at+jwt',
        },
        { ...external, clientIdClaim: 'azp', tenant: 'carbon.super' },
      ]),
    },
  });
  process.stdout.write(`[integration] local stack up in ${(stack.startedInMs / 1000).toFixed(1)} s\n`);
  const info: StackInfo = {
    root,
    stateDir,
    assemblyDir: path.join(stateDir, 'cdk.out'),
    urls: stack.urls,
    ports,
    stageName: stack.stageName,
    credentials: stack.credentials,
    awsEnvironment: stack.awsEnvironment,
    defaultApp: stack.defaultApp,
    kafkaBrokers: stack.kafka.brokers,
    kafkaClasspath: stack.kafka.broker?.classpath ?? '',
    queues: Object.fromEntries(
      stack.template.queues().map((q) => [q.logicalId.replace(/[A-F0-9]{8}$/, ''), q.url]),
    ),
    tables: Object.fromEntries(
      stack.template.tables().map((t) => [t.logicalId.replace(/[A-F0-9]{8}$/, ''), t.name]),
    ),
  };
  project.provide('stack', info);
}

export async function teardown(): Promise<void> {
  await stack?.stop();
  idp?.close();
}
