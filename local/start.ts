/**
 * `npm start`: the local stack with the sample APIs, until Ctrl-C.
 *
 *   npm start -- --verbose --ws-port 9099 --wss-port 8099 --http-port 9090 --dynamodb-port 8000 \
 *                --aws-port 9091 --kafka-port 9092 --kafka-controller-port 9093 --host 127.0.0.1 \
 *                --no-persist --state-dir .streamgate --concurrency 4 --kafka <bootstrap servers> \
 *                --apis <more definition folders, comma-separated> --connections-latency-ms 0 \
 *                --allow-unsigned-connections
 *
 * `--allow-unsigned-connections` serves unsigned `@connections` calls (curl without SigV4); it is
 * refused with a non-loopback `--host`. Without it the endpoint is as strict as execute-api's.
 */

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DefinitionError } from '../lib/definitions/problems.ts';
import { CustomResourceError } from './custom-resources.ts';
import { isLoopbackHost } from './gateway/server.ts';
import { MissingToolError } from './java.ts';
import { LogSink } from './log.ts';
import { PortInUseError } from './process.ts';
import { DEFAULT_PORTS, type LocalPorts, startLocalStack } from './stack.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const { values } = parseArgs({
  options: {
    verbose: { type: 'boolean', default: false },
    host: { type: 'string', default: '127.0.0.1' },
    'no-persist': { type: 'boolean', default: false },
    'ws-port': { type: 'string' },
    'wss-port': { type: 'string' },
    'http-port': { type: 'string' },
    'aws-port': { type: 'string' },
    'dynamodb-port': { type: 'string' },
    'kafka-port': { type: 'string' },
    'kafka-controller-port': { type: 'string' },
    kafka: { type: 'string' },
    concurrency: { type: 'string', default: '4' },
    'connections-latency-ms': { type: 'string', default: '0' },
    'state-dir': { type: 'string' },
    apis: { type: 'string' },
    'allow-unsigned-connections': { type: 'boolean', default: false },
  },
  allowPositionals: false,
});

function port(name: keyof LocalPorts, flag: string | undefined): number {
  const value =
    flag ?? process.env[`STREAMGATE_${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}_PORT`];
  if (value === undefined) return DEFAULT_PORTS[name];
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new Error(`--${name}-port must be a port number (got ${value})`);
  return n;
}

const log = new LogSink({ out: process.stdout, verbose: values.verbose, color: process.stdout.isTTY });

async function main(): Promise<void> {
  if (values['allow-unsigned-connections'] && !isLoopbackHost(values.host))
    throw new Error(`--allow-unsigned-connections is refused with a non-loopback --host (${values.host})`);
  const ports: LocalPorts = {
    ws: port('ws', values['ws-port']),
    wss: port('wss', values['wss-port']),
    http: port('http', values['http-port']),
    aws: port('aws', values['aws-port']),
    dynamodb: port('dynamodb', values['dynamodb-port']),
    kafka: port('kafka', values['kafka-port']),
    kafkaController: port('kafkaController', values['kafka-controller-port']),
  };
  const connectionsLatencyMs = Number(values['connections-latency-ms']);
  if (!Number.isInteger(connectionsLatencyMs) || connectionsLatencyMs < 0)
    throw new Error(
      `--connections-latency-ms must be a whole number of milliseconds (got ${values['connections-latency-ms']})`,
    );
  const stack = await startLocalStack({
    root,
    stateDir: path.resolve(values['state-dir'] ?? path.join(root, '.streamgate')),
    host: values.host,
    ports,
    log,
    persist: !values['no-persist'],
    lambdaConcurrency: Number(values.concurrency),
    connectionsLatencyMs,
    ...(values['allow-unsigned-connections'] ? { allowUnsignedConnections: true } : {}),
    ...(values.kafka ? { kafkaBrokers: values.kafka.split(',').map((b) => b.trim()) } : {}),
    ...(values.apis ? { extraApiDirs: values.apis.split(',').map((dir) => path.resolve(dir.trim())) } : {}),
  });
  const seconds = (stack.startedInMs / 1000).toFixed(1);
  process.stdout.write(`
streamgate local stack is up (${seconds} s) — Ctrl-C stops everything.

  WebSocket (WSO2-style paths)  ${stack.urls.ws}/<context>/<version>/<topic>    wss: ${stack.urls.wss}
  WebSocket stage URL           ${stack.urls.ws}/${stack.stageName}?target=/<context>/<version>/<topic>
  @connections API              ${stack.urls.callback}/@connections/<connectionId>
  OAuth2 token endpoint         ${stack.urls.http}/oauth2/token      JWKS: ${stack.urls.http}/.well-known/jwks.json
  Health                        ${stack.urls.http}/health
  DynamoDB (IAM-checked)        ${stack.urls.dynamodbProxy}    DynamoDB Local itself (no checks): ${stack.urls.dynamodb}
  Failure queue (SQS)           ${stack.queues.FailureQueue ?? '(none)'}
  Kafka bootstrap servers       ${stack.urls.kafka}${values.kafka ? ` (external; consumer groups end in ${stack.kafka.groupSuffix})` : ' (plaintext, administrator)'}${
    stack.kafka.iamBrokers.length
      ? `
  Kafka IAM listener (as MSK)   ${stack.kafka.iamBrokers.join(',')} (TLS + SASL OAUTHBEARER, MSK IAM tokens)`
      : ''
  }

AWS CLI and SDKs (@connections, DynamoDB, SQS, Secrets Manager) sign with the local key:
  access key id ${stack.credentials.accessKeyId}, secret ${stack.credentials.secretAccessKey}  (other keys: UnrecognizedClientException)
  eval "$(npx streamgate local env)"      # sets the key, region and endpoints in this shell
  Each function signs with its own role's key; a call its role does not allow fails with AccessDeniedException.

Try the chat (seed 001):
  TOKEN=$(npx streamgate token --api /chats/1.0.0)
  npx wscat -c ${stack.urls.ws}/chats/1.0.0/rooms/room1 -H "Authorization: Bearer $TOKEN"
  npx wscat -c "${stack.urls.ws}/chats/1.0.0/rooms/room1?access_token=$TOKEN"     # as browsers do

Kafka to WebSocket (seed 002):
  TOKEN=$(npx streamgate token --api /t/quantis.com/train/location/1.0.0)
  npx wscat -c "${stack.urls.ws}/t/quantis.com/train/location/1.0.0/loc-train-qnt-456" -H "Authorization: Bearer $TOKEN"
  kcat -P -b ${stack.urls.kafka} -t train-locations -k 456 <<<'{"lat":6.93,"lon":79.85}'

`);
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('stack', `${signal}: stopping…`);
    await stack.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  if (
    error instanceof DefinitionError ||
    error instanceof MissingToolError ||
    error instanceof CustomResourceError ||
    error instanceof PortInUseError
  ) {
    process.stderr.write(`\n${(error as Error).message}\n`);
  } else {
    process.stderr.write(`\nThe local stack could not start: ${(error as Error).stack ?? String(error)}\n`);
  }
  process.exit(1);
});
