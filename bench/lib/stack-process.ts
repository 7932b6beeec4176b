/**
 * The system under test for benchmarks: the local stack in a process of its own (pinned to CPU 0
 * where `taskset` exists), on ports of its own, so the load generator never shares its event loop.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { requestToken } from '../../cli/token-request.ts';
import type { DevApplication } from '../../local/dev-app.ts';

export interface StackProcess {
  urls: { ws: string; http: string; callback: string; dynamodb: string; kafka: string };
  stateDir: string;
  defaultApp: DevApplication;
  pid: number;
  /** The stack's log so far (function logs as JSON lines, prefixed). */
  logFile: string;
  stop(): Promise<void>;
}

const root = path.resolve(import.meta.dirname, '../..');

export function hasTaskset(): boolean {
  return !spawnSync('taskset', ['-c', '0', 'true']).error;
}

export async function startStackProcess(
  options: {
    basePort?: number;
    cpu?: string;
    concurrency?: number;
    /** Added to every `@connections` call: a network round trip as on AWS. */
    connectionsLatencyMs?: number;
    /** Serve unsigned `@connections` calls (`--allow-unsigned-connections`; the bench compares both). */
    allowUnsignedConnections?: boolean;
    apiDirs?: string[];
    /** Function debug logs and EMF metrics in the stack log too. */
    verbose?: boolean;
    /** State folder `.streamgate/bench-<name>` instead of `.streamgate/bench` (stacks side by side). */
    name?: string;
  } = {},
): Promise<StackProcess> {
  const base = options.basePort ?? 29000;
  const ports = {
    ws: base + 99,
    wss: base + 98,
    http: base + 90,
    aws: base + 91,
    dynamodb: base + 1,
    kafka: base + 92,
    kafkaController: base + 93,
  };
  const stateDir = path.join(root, '.streamgate', options.name ? `bench-${options.name}` : 'bench');
  const args = [
    '--import',
    'tsx',
    path.join(root, 'local/start.ts'),
    '--no-persist',
    '--state-dir',
    stateDir,
    '--concurrency',
    String(options.concurrency ?? 4),
    '--connections-latency-ms',
    String(options.connectionsLatencyMs ?? 0),
    '--ws-port',
    String(ports.ws),
    '--wss-port',
    String(ports.wss),
    '--http-port',
    String(ports.http),
    '--aws-port',
    String(ports.aws),
    '--dynamodb-port',
    String(ports.dynamodb),
    '--kafka-port',
    String(ports.kafka),
    '--kafka-controller-port',
    String(ports.kafkaController),
    ...(options.apiDirs?.length ? ['--apis', options.apiDirs.join(',')] : []),
    ...(options.verbose ? ['--verbose'] : []),
    ...(options.allowUnsignedConnections ? ['--allow-unsigned-connections'] : []),
  ];
  const pinned = options.cpu !== undefined && hasTaskset();
  const child: ChildProcess = pinned
    ? spawn('taskset', ['-c', options.cpu as string, process.execPath, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const logFile = path.join(stateDir, 'stack.log');
  mkdirSync(stateDir, { recursive: true });
  const log = createWriteStream(logFile);
  child.stdout?.on('data', (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000);
    log.write(d);
  });
  child.stderr?.on('data', (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000);
  });
  const http = `http://localhost:${ports.http}`;
  const deadline = Date.now() + 180_000;
  process.stdout.write('starting the local stack (system under test)…\n');
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the local stack exited:\n${output}`);
    if (Date.now() > deadline) throw new Error(`the local stack did not become healthy:\n${output}`);
    try {
      if ((await fetch(`${http}/health`)).ok) break;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const defaultApp = JSON.parse(
    readFileSync(path.join(stateDir, 'default-app.json'), 'utf8'),
  ) as DevApplication;
  return {
    urls: {
      ws: `ws://localhost:${ports.ws}`,
      http,
      callback: `http://localhost:${ports.ws}/prod`,
      dynamodb: `http://127.0.0.1:${ports.dynamodb}`,
      kafka: `127.0.0.1:${ports.kafka}`,
    },
    stateDir,
    defaultApp,
    pid: child.pid as number,
    logFile,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGINT');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

export async function tokenFrom(
  stack: StackProcess,
  tenant = 'carbon.super',
  scope = 'chat:read chat:write',
): Promise<string> {
  const keys = stack.defaultApp.tenants[tenant]?.keys.PRODUCTION;
  if (!keys) throw new Error(`no default application for ${tenant}`);
  return (await requestToken(`${stack.urls.http}/oauth2/token`, keys, scope)).access_token;
}

/** A connected kafkajs producer on the stack's broker (the load's side). */
export async function kafkaProducer(stack: StackProcess): Promise<Producer> {
  const producer = new Kafka({
    clientId: 'bench',
    brokers: [stack.urls.kafka],
    logLevel: logLevel.NOTHING,
  }).producer({
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  return producer;
}
