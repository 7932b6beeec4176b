/**
 * B3 — the cost of one `@connections` call, on the local stack.
 *
 * Every frame streamgate's functions send goes out as one HTTP POST to API Gateway's `@connections`
 * API (PostToConnection). With N calls in flight the throughput is bounded by Little's law,
 * calls/s ≈ in-flight / round-trip time, and the round trip carries the per-message HTTP overhead
 * (a request, SigV4 signing and verification, a response; plus a TCP handshake per call without
 * keep-alive). This benchmark measures it against the local gateway emulator:
 *  - the AWS SDK v3 client (as lambdas/adapters/connections-api.ts uses it) with an http.Agent
 *    keep-alive on/off × maxSockets ∈ {1, 10, 50, ∞}, exactly maxSockets calls in flight (200 for ∞);
 *  - a raw `http.request` baseline signed with @smithy/signature-v4 (no SDK), keep-alive, 50 in
 *    flight: the SDK's own overhead is the difference; and the same unsigned (the emulator serves
 *    unsigned calls with --allow-unsigned-connections, which this bench sets), to show what SigV4
 *    costs both sides;
 *  - a "direct send" baseline: a plain `ws` server (bench/lib/raw-ws-server.ts, its own process)
 *    that writes the frames with ws.send — what one frame costs without the HTTP hop at all.
 * One WebSocket client receives every frame and checks each sequence number arrived (reach).
 * The stack and the raw ws server run pinned to CPU 0, this load process to CPU 1. Besides wall
 * time, the CPU time of both sides per call is read (process.cpuUsage, /proc/<pid>/stat): it is the
 * figure least disturbed by whatever else the machine runs. After an unreported warm-up round, the
 * configurations run in interleaved rounds (default 3) and each row is its median round.
 *
 * `npm run bench -- connections-call [--calls 2000] [--rounds 3]`
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Sha256 } from '@aws-crypto/sha256-js';
import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { SignatureV4 } from '@smithy/signature-v4';
import WebSocket from 'ws';
import { LOCAL_CREDENTIALS } from '../local/credentials.ts';
import { barChart, writeChart } from './lib/chart.ts';
import { pinSelf } from './lib/pin.ts';
import { hasTaskset, startStackProcess, tokenFrom } from './lib/stack-process.ts';
import { summarize, table } from './lib/stats.ts';

const REGION = 'us-east-1';
const BASE_PORT = 30_000;
/** The raw ws server's port: inside this benchmark's 30xxx block, clear of the stack's ports. */
const RAW_WS_PORT = BASE_PORT + 50;
/** In flight when the agent's maxSockets is unbounded. */
const UNBOUNDED_IN_FLIGHT = 200;
const MAX_SOCKETS = [1, 10, 50, Number.POSITIVE_INFINITY];

/** The payload of every measured frame: small, with a run number and a sequence number. */
const payload = (run: number, seq: number) => `{"bench":"calls","run":${run},"seq":${seq}}`;
const PAYLOAD = /^\{"bench":"calls","run":(\d+),"seq":(\d+)\}$/;

interface Row {
  configuration: string;
  group: 'keep-alive on' | 'keep-alive off' | 'baseline';
  keepAlive: boolean | null;
  maxSockets: number | null;
  inFlight: number | null;
  calls: number;
  received: number;
  errors: number;
  firstError?: string;
  seconds: number;
  callsPerSecond: number;
  /** Wall-clock time per call at that throughput: 1e6 / calls per second. */
  usPerCall: number;
  /** Per-call latency (send → resolved), ms; absent for direct send (no per-call request). */
  latency?: ReturnType<typeof summarize>;
  /** Little's law: in flight / mean latency, what the throughput should be if nothing else limits it. */
  littleCallsPerSecond?: number;
  reach: number;
  /** CPU time of this process (the SDK / HTTP client and the WebSocket receiver) per call, µs. */
  loadCpuUsPerCall: number;
  /** CPU time of the process that sends the frames (the stack's gateway, or the raw ws server) per call, µs. */
  serverCpuUsPerCall?: number;
  extra?: Record<string, unknown>;
}

/** CPU time (user + system, all threads) of another process so far, ms; undefined without /proc. */
function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm) ": state is field 3, utime 14, stime 15 (clock ticks, 100 per second).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

/** Starts counting CPU time of this process and of `pid`; the result is ms of each since. */
function cpuMeter(pid: number): () => { loadMs: number; serverMs?: number } {
  const load = process.cpuUsage();
  const server = processCpuMs(pid);
  return () => {
    const used = process.cpuUsage(load);
    const serverNow = processCpuMs(pid);
    return {
      loadMs: (used.user + used.system) / 1000,
      ...(server !== undefined && serverNow !== undefined ? { serverMs: serverNow - server } : {}),
    };
  };
}

/** Counts the measured frames of the current run on one WebSocket client. */
class Receiver {
  private run = -1;
  private seen = new Uint8Array(0);
  received = 0;
  duplicates = 0;
  lastFrameAt = 0;
  private probe: { nonce: string; resolve: () => void } | undefined;

  constructor(ws: WebSocket) {
    ws.on('message', (data: WebSocket.RawData) => this.onFrame(data.toString()));
  }

  private onFrame(text: string): void {
    if (this.probe && text === this.probe.nonce) {
      this.probe.resolve();
      this.probe = undefined;
      return;
    }
    const match = PAYLOAD.exec(text);
    if (!match) return; // "You joined …" and anything else the channel sends
    if (Number(match[1]) !== this.run) return;
    const seq = Number(match[2]);
    if (this.seen[seq]) {
      this.duplicates++;
      return;
    }
    this.seen[seq] = 1;
    this.received++;
    this.lastFrameAt = performance.now();
  }

  start(run: number, n: number): void {
    this.run = run;
    this.seen = new Uint8Array(n);
    this.received = 0;
    this.duplicates = 0;
    this.lastFrameAt = 0;
  }

  /** Resolves when `nonce` arrives as a frame, false after `ms`. */
  expect(nonce: string, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.probe = undefined;
        resolve(false);
      }, ms);
      this.probe = {
        nonce,
        resolve: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
    });
  }

  /** Until every frame of the run is in, or nothing new came for `idleMs`. */
  async settle(n: number, idleMs = 2_000): Promise<void> {
    let last = this.received;
    let lastChange = performance.now();
    while (this.received < n) {
      await new Promise((r) => setTimeout(r, 5));
      if (this.received !== last) {
        last = this.received;
        lastChange = performance.now();
      } else if (performance.now() - lastChange > idleMs) return;
    }
  }
}

/** `total` calls, exactly `inFlight` at a time; per-call latency from call to resolution. */
async function drive(
  total: number,
  inFlight: number,
  call: (seq: number) => Promise<void>,
): Promise<{ latencies: number[]; errors: number; firstError?: string; firstSend: number }> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let next = 0;
  const firstSend = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(inFlight, total) }, async () => {
      for (;;) {
        const seq = next++;
        if (seq >= total) return;
        const started = performance.now();
        try {
          await call(seq);
          latencies.push(performance.now() - started);
        } catch (error) {
          errors++;
          firstError ??=
            `${(error as { name?: string }).name ?? 'Error'}: ${(error as Error).message ?? String(error)}`.slice(
              0,
              200,
            );
        }
      }
    }),
  );
  return { latencies, errors, firstError, firstSend };
}

function sdkClient(endpoint: string, keepAlive: boolean, maxSockets: number): ApiGatewayManagementApiClient {
  return new ApiGatewayManagementApiClient({
    endpoint,
    region: REGION,
    credentials: LOCAL_CREDENTIALS,
    // No retries: a failed call counts as failed (and shows in reach), it does not hide in latency.
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({
      httpAgent: new HttpAgent({ keepAlive, maxSockets }),
      connectionTimeout: 5_000,
      requestTimeout: 10_000,
    }),
  });
}

/**
 * The connection id of our one client. The emulator does not tell a client its id, and posting
 * needs one, so: Scan the stack's connections table in DynamoDB Local (ListTables, the one whose
 * name contains "ConnectionsTable") for `C#…` connection records on our room that connected after
 * we started, newest first; then prove each candidate with a PostToConnection of a random nonce
 * that must arrive on this client. A fresh `--no-persist` stack has only our connection, but the
 * proof makes it right even if it were not (another client on the same room, a stale record).
 */
async function findConnectionId(
  urls: { dynamodb: string; callback: string },
  receiver: Receiver,
  room: string,
  since: number,
): Promise<string> {
  const dynamodb = new DynamoDBClient({
    endpoint: urls.dynamodb,
    region: REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  const documents = DynamoDBDocumentClient.from(dynamodb);
  const probeClient = sdkClient(urls.callback, true, 1);
  try {
    const { TableNames = [] } = await dynamodb.send(new ListTablesCommand({}));
    const tableName = TableNames.find((name) => name.includes('ConnectionsTable'));
    if (!tableName) throw new Error(`no ConnectionsTable among ${TableNames.join(', ')}`);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const items: Record<string, unknown>[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const page = await documents.send(
          new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey: start }),
        );
        items.push(...((page.Items ?? []) as Record<string, unknown>[]));
        start = page.LastEvaluatedKey;
      } while (start);
      const candidates = items
        .filter(
          (item) =>
            String(item.pk).startsWith('C#') &&
            String(item.topic ?? '').endsWith(`/${room}`) &&
            Number(item.connectedAt ?? 0) >= since - 5_000,
        )
        .sort((a, b) => Number(b.connectedAt) - Number(a.connectedAt));
      for (const item of candidates) {
        const id = String(item.connectionId);
        const nonce = `probe-${Math.random().toString(36).slice(2)}`;
        const arrived = receiver.expect(nonce, 2_000);
        try {
          await probeClient.send(new PostToConnectionCommand({ ConnectionId: id, Data: Buffer.from(nonce) }));
        } catch {
          continue; // gone or not ours
        }
        if (await arrived) return id;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('could not find the benchmark client’s connection id');
  } finally {
    probeClient.destroy();
    documents.destroy();
    dynamodb.destroy();
  }
}

function openClient(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) =>
      reject(new Error(`WebSocket handshake refused: ${res.statusCode}`)),
    );
  });
}

/** The raw ws server in its own process, pinned to CPU 0 like the stack. */
async function startRawServer(port: number): Promise<{ child: ChildProcess; stop(): Promise<void> }> {
  const args = ['--import', 'tsx', path.join(import.meta.dirname, 'lib', 'raw-ws-server.ts'), String(port)];
  const child = hasTaskset()
    ? spawn('taskset', ['-c', '0', process.execPath, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`raw ws server did not start:\n${output}`)), 30_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      if (output.includes('listening')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`raw ws server exited (${code}):\n${output}`));
    });
  });
  return {
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The commit, and the files under test that differ from it: the emulator's SigV4 check is one of them. */
function sourceState(): { commit?: string; modified?: string[] } {
  const git = (...args: string[]) =>
    spawnSync('git', args, { cwd: import.meta.dirname, encoding: 'utf8' }).stdout?.trim();
  const commit = git('rev-parse', 'HEAD');
  const status = git('status', '--porcelain', '--', '../local', '../lambdas/adapters');
  return {
    ...(commit ? { commit } : {}),
    ...(status ? { modified: status.split('\n').map((line) => line.slice(3)) } : {}),
  };
}

const fmtSockets = (n: number) => (Number.isFinite(n) ? String(n) : '∞');

function finish(
  base: Omit<
    Row,
    | 'received'
    | 'seconds'
    | 'callsPerSecond'
    | 'usPerCall'
    | 'reach'
    | 'errors'
    | 'loadCpuUsPerCall'
    | 'serverCpuUsPerCall'
  >,
  receiver: Receiver,
  firstSend: number,
  errors: number,
  cpu: { loadMs: number; serverMs?: number },
  latencies?: number[],
): Row {
  const seconds = (receiver.lastFrameAt - firstSend) / 1000;
  const callsPerSecond = receiver.received > 0 && seconds > 0 ? receiver.received / seconds : 0;
  const latency = latencies ? summarize(latencies) : undefined;
  return {
    ...base,
    received: receiver.received,
    errors,
    seconds,
    callsPerSecond,
    usPerCall: callsPerSecond > 0 ? 1e6 / callsPerSecond : Number.NaN,
    ...(latency ? { latency } : {}),
    ...(latency && base.inFlight ? { littleCallsPerSecond: (base.inFlight / latency.mean) * 1000 } : {}),
    reach: receiver.received / base.calls,
    loadCpuUsPerCall: (cpu.loadMs * 1000) / base.calls,
    ...(cpu.serverMs !== undefined ? { serverCpuUsPerCall: (cpu.serverMs * 1000) / base.calls } : {}),
    ...(receiver.duplicates ? { extra: { ...base.extra, duplicates: receiver.duplicates } } : {}),
  };
}

function progress(row: Row): void {
  const latency = row.latency
    ? `, p50 ${row.latency.p50.toFixed(2)} ms, p99 ${row.latency.p99.toFixed(2)} ms`
    : '';
  const errors = row.errors ? `, ${row.errors} errors (${row.firstError})` : '';
  const server =
    row.serverCpuUsPerCall !== undefined ? `, server ${Math.round(row.serverCpuUsPerCall)} µs` : '';
  process.stdout.write(
    `    ${Math.round(row.callsPerSecond)} /s${latency}, reach ${row.received}/${row.calls}${errors}; ` +
      `CPU per call: load ${Math.round(row.loadCpuUsPerCall)} µs${server}\n`,
  );
}

/** One configuration of the matrix: `measure` does a warm-up and then `calls` measured calls. */
interface Configuration {
  base: Pick<Row, 'configuration' | 'group' | 'keepAlive' | 'maxSockets' | 'inFlight'>;
  measure(calls: number, warmup: number): Promise<Row>;
}

export async function run(options: { calls?: number; rounds?: number } = {}): Promise<void> {
  const calls = options.calls ?? 2_000;
  // Interleaved rounds (every configuration once per round) so drift — JIT, other work on the
  // machine — hits all of them alike; each row reports its median round by calls/s.
  const rounds = options.rounds ?? 3;
  /** Per measurement: calls before the measured ones (sockets open, caches warm). */
  const warmup = Math.min(100, calls);
  /** The first, unreported round: every code path compiled before anything counts. */
  const warmupRound = Math.min(500, calls);
  const pinned = pinSelf('1');
  process.stdout.write(`load process ${pinned ? 'pinned to CPU 1' : 'not pinned (no taskset)'}\n`);
  const stack = await startStackProcess({
    basePort: BASE_PORT,
    cpu: '0',
    name: 'calls',
    allowUnsignedConnections: true,
  });
  const measured = new Map<string, Row[]>();
  const sockets: WebSocket[] = [];
  let rawServer: Awaited<ReturnType<typeof startRawServer>> | undefined;
  let runNumber = 0;
  try {
    const token = await tokenFrom(stack);
    // The brief's room was "bench-calls", but the Chats API's channel handler (examples/chat-backend)
    // refuses rooms other than room1, room2 and common with a 404 at $connect; the stack is our own
    // (`.streamgate/bench-calls`, ports 30xxx), so nobody else is in the room anyway.
    const room = 'common';
    const since = Date.now();
    const ws = await openClient(`${stack.urls.ws}/chats/1.0.0/rooms/${room}`, {
      Authorization: `Bearer ${token}`,
    });
    sockets.push(ws);
    const receiver = new Receiver(ws);
    const connectionId = await findConnectionId(stack.urls, receiver, room, since);
    process.stdout.write(`client connected, connection id ${connectionId}\n`);

    /** Warm-up, then `calls` calls of `post` with `inFlight` at a time, against the stack. */
    const measureCalls = async (
      base: Configuration['base'],
      calls: number,
      warmup: number,
      post: (run: number) => (seq: number) => Promise<void>,
    ): Promise<Row> => {
      const inFlight = base.inFlight as number;
      const warm = ++runNumber;
      receiver.start(warm, warmup);
      await drive(warmup, inFlight, post(warm));
      await receiver.settle(warmup);
      const run = ++runNumber;
      receiver.start(run, calls);
      const cpu = cpuMeter(stack.pid);
      const result = await drive(calls, inFlight, post(run));
      await receiver.settle(calls);
      const used = cpu();
      return finish(
        { ...base, calls, ...(result.firstError ? { firstError: result.firstError } : {}) },
        receiver,
        result.firstSend,
        result.errors,
        used,
        result.latencies,
      );
    };

    const configurations: Configuration[] = [];

    // --- the AWS SDK: keep-alive on/off × maxSockets -------------------------------------------
    for (const keepAlive of [true, false]) {
      for (const maxSockets of MAX_SOCKETS) {
        const base: Configuration['base'] = {
          configuration: `SDK keep-alive ${keepAlive ? 'on' : 'off'}, maxSockets ${fmtSockets(maxSockets)}`,
          group: keepAlive ? 'keep-alive on' : 'keep-alive off',
          keepAlive,
          maxSockets: Number.isFinite(maxSockets) ? maxSockets : null,
          inFlight: Number.isFinite(maxSockets) ? maxSockets : UNBOUNDED_IN_FLIGHT,
        };
        configurations.push({
          base,
          async measure(calls, warmup) {
            // A new client (and agent) per measurement: no socket carries over from another row.
            const client = sdkClient(stack.urls.callback, keepAlive, maxSockets);
            try {
              return await measureCalls(base, calls, warmup, (run) => async (seq) => {
                await client.send(
                  new PostToConnectionCommand({
                    ConnectionId: connectionId,
                    Data: Buffer.from(payload(run, seq)),
                  }),
                );
              });
            } finally {
              client.destroy();
            }
          },
        });
      }
    }

    // --- raw HTTP: the same POST without the SDK, signed and unsigned -----------------------------
    const callback = new URL(stack.urls.callback);
    const postPath = `${callback.pathname.replace(/\/$/, '')}/@connections/${encodeURIComponent(connectionId)}`;
    const signer = new SignatureV4({
      credentials: LOCAL_CREDENTIALS,
      region: REGION,
      service: 'execute-api',
      sha256: Sha256,
    });
    for (const signed of [true, false]) {
      const base: Configuration['base'] = {
        configuration: `raw http.request${signed ? ' + SigV4' : ', unsigned'}, keep-alive, 50`,
        group: 'baseline',
        keepAlive: true,
        maxSockets: 50,
        inFlight: 50,
      };
      configurations.push({
        base,
        async measure(calls, warmup) {
          const agent = new HttpAgent({ keepAlive: true, maxSockets: 50 });
          try {
            return await measureCalls(base, calls, warmup, (run) => async (seq) => {
              const body = payload(run, seq);
              let headers: Record<string, string> = {
                host: callback.host,
                'content-type': 'application/octet-stream',
                'content-length': String(Buffer.byteLength(body)),
              };
              if (signed) {
                const request = await signer.sign({
                  method: 'POST',
                  protocol: callback.protocol,
                  hostname: callback.hostname,
                  port: Number(callback.port),
                  path: postPath,
                  query: {},
                  headers,
                  body,
                });
                headers = request.headers;
              }
              await new Promise<void>((resolve, reject) => {
                const req = httpRequest(
                  {
                    agent,
                    host: callback.hostname,
                    port: callback.port,
                    method: 'POST',
                    path: postPath,
                    headers,
                  },
                  (res) => {
                    res.resume();
                    res.once('end', () =>
                      res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`)),
                    );
                    res.once('error', reject);
                  },
                );
                req.once('error', reject);
                req.end(body);
              });
            });
          } finally {
            agent.destroy();
          }
        },
      });
    }

    // --- direct send: ws.send in a plain ws server (its own process, CPU 0), no HTTP hop ----------
    rawServer = await startRawServer(RAW_WS_PORT);
    const serverPid = rawServer.child.pid as number;
    const direct = await openClient(`ws://127.0.0.1:${RAW_WS_PORT}/`);
    sockets.push(direct);
    const directReceiver = new Receiver(direct);
    const sendFrames = async (run: number, n: number) => {
      const response = await fetch(`http://127.0.0.1:${RAW_WS_PORT}/send?n=${n}&run=${run}`, {
        method: 'POST',
      });
      if (!response.ok) throw new Error(`raw ws server: ${response.status} ${await response.text()}`);
      return (await response.json()) as { ms: number };
    };
    configurations.push({
      base: {
        configuration: 'direct ws.send (no HTTP)',
        group: 'baseline',
        keepAlive: null,
        maxSockets: null,
        inFlight: null,
      },
      async measure(calls, warmup) {
        // Ten times the frames: a ws.send is so cheap that `calls` of them take about a millisecond.
        const frames = calls * 10;
        const warm = ++runNumber;
        directReceiver.start(warm, warmup);
        await sendFrames(warm, warmup);
        await directReceiver.settle(warmup);
        const run = ++runNumber;
        directReceiver.start(run, frames);
        const cpu = cpuMeter(serverPid);
        const firstSend = performance.now();
        const { ms: serverMs } = await sendFrames(run, frames);
        await directReceiver.settle(frames);
        const used = cpu();
        return finish(
          {
            ...this.base,
            calls: frames,
            extra: { serverSendLoopMs: serverMs, serverSendLoopUsPerFrame: (serverMs * 1000) / frames },
          },
          directReceiver,
          firstSend,
          0,
          used,
        );
      },
    });

    process.stdout.write(
      `warm-up round: ${warmupRound} calls per configuration (not reported)…\n` +
        `then ${rounds} rounds × ${configurations.length} configurations × (${warmup} warm-up + ${calls} measured calls)\n`,
    );
    for (const configuration of configurations) await configuration.measure(warmupRound, warmup);
    for (let round = 1; round <= rounds; round++) {
      process.stdout.write(`round ${round}/${rounds}\n`);
      for (const configuration of configurations) {
        const { base } = configuration;
        process.stdout.write(
          `  ${base.configuration}${base.inFlight ? `, ${base.inFlight} in flight` : ''}…\n`,
        );
        const row = await configuration.measure(calls, warmup);
        progress(row);
        const list = measured.get(base.configuration) ?? [];
        list.push(row);
        measured.set(base.configuration, list);
      }
    }
  } finally {
    for (const socket of sockets) socket.terminate();
    await rawServer?.stop();
    await stack.stop();
  }

  /** Each configuration's median round by calls/s; all rounds go to the JSON. */
  const rows: Row[] = [...measured.values()].map((list) => {
    const sorted = [...list].sort((a, b) => a.callsPerSecond - b.callsPerSecond);
    return sorted[Math.floor((sorted.length - 1) / 2)] as Row;
  });
  const printed = rows.map((row) => ({
    configuration: row.configuration,
    'in flight': row.inFlight ?? '-',
    'calls/s': Math.round(row.callsPerSecond),
    'p50 ms': row.latency?.p50 ?? '-',
    'p99 ms': row.latency?.p99 ?? '-',
    reach: `${row.received}/${row.calls}`,
    'µs per call': row.usPerCall,
    'in flight / mean': row.littleCallsPerSecond ? Math.round(row.littleCallsPerSecond) : '-',
    'load CPU µs': Math.round(row.loadCpuUsPerCall),
    'server CPU µs': row.serverCpuUsPerCall !== undefined ? Math.round(row.serverCpuUsPerCall) : '-',
  }));
  const everyReach = [...measured.values()].flat();
  const lost = everyReach.reduce((n, r) => n + (r.calls - r.received), 0);
  process.stdout.write(
    `\nB3 — cost of one @connections call (PostToConnection on the local gateway): ${calls} calls per row,\n` +
      `median of ${rounds} interleaved rounds by calls/s (direct send: ${calls * 10} frames)\n` +
      `${table(printed)}\n` +
      'calls/s: delivered frames / (first send → last frame received); p50/p99: per call, send → resolved;\n' +
      "µs per call: 1e6 / calls/s; in flight / mean: Little's law (in flight / mean latency) in calls/s;\n" +
      'load CPU µs: this process (client + receiver) per call; server CPU µs: the stack process\n' +
      '(the gateway emulator) per call, or the raw ws server per frame for direct send.\n' +
      `frames lost over all ${everyReach.length} measurements: ${lost}\n`,
  );

  const results = path.join(import.meta.dirname, 'results');
  const file = path.join(results, 'connections-call.json');
  const cpus = os.cpus();
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        benchmark: 'connections-call',
        at: new Date().toISOString(),
        machine: { cpu: cpus[0]?.model ?? 'unknown', cpus: cpus.length, node: process.version },
        source: sourceState(),
        calls,
        rounds,
        warmup,
        warmupRound,
        rows,
        allRounds: Object.fromEntries(measured),
      },
      null,
      1,
    )}\n`,
  );
  process.stdout.write(`written: ${path.relative(process.cwd(), file)}\n`);

  await renderCharts({ calls, rounds, rows }, results);
  process.stdout.write(
    `written: ${path.relative(process.cwd(), path.join(results, 'connections-call.svg'))}\n`,
  );
}

/** What connections-call.json holds that the chart reads. */
export interface ConnectionsCallResults {
  calls: number;
  rounds: number;
  rows: Pick<Row, 'configuration' | 'group' | 'maxSockets' | 'callsPerSecond'>[];
}

/** connections-call.svg from connections-call.json: calls/s per configuration, grouped by keep-alive. */
export async function renderCharts(report: ConnectionsCallResults, dir: string): Promise<string[]> {
  const { calls, rounds, rows } = report;
  const bar = (row: ConnectionsCallResults['rows'][number]) => ({
    name: `maxSockets ${fmtSockets(row.maxSockets ?? Number.POSITIVE_INFINITY)}`,
    value: Math.round(row.callsPerSecond),
  });
  const svg = await barChart({
    title: 'Cost of one @connections call — PostToConnection on the local gateway',
    yLabel: 'calls/s (frames/s for direct send)',
    logY: true,
    groups: [
      { label: 'SDK, keep-alive on', bars: rows.filter((r) => r.group === 'keep-alive on').map(bar) },
      { label: 'SDK, keep-alive off', bars: rows.filter((r) => r.group === 'keep-alive off').map(bar) },
      {
        label: 'baselines',
        bars: rows
          .filter((r) => r.group === 'baseline')
          .map((r) => ({
            name: r.configuration.startsWith('raw')
              ? `raw HTTP ${r.configuration.includes('SigV4') ? '+ SigV4' : 'unsigned'}, 50 sockets`
              : 'direct ws.send',
            value: Math.round(r.callsPerSecond),
          })),
      },
    ],
    note: `${calls} calls per bar, median of ${rounds} rounds; in flight = maxSockets (${UNBOUNDED_IN_FLIGHT} for ∞); server on CPU 0, load on CPU 1`,
  });
  writeChart(path.join(dir, 'connections-call.svg'), svg);
  return ['connections-call.svg'];
}
