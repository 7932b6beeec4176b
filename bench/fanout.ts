/**
 * Fan-out, side by side (issue 6's B1 saturation sweep, B2 broadcast completion, and the cost model):
 *  (a) streamgate: Kafka → poller → fan-out function → DynamoDB Local → @connections → gateway → clients;
 *  (b) the naive pattern of AWS's sample chat app on the same gateway and DynamoDB Local: one Scan
 *      of every connection, then one PostToConnection each — b1 awaiting each, b2 Promise.all;
 *  (c) the ceiling: one raw `ws` server sending a pre-built buffer to every client.
 * The stack, the naive workers and the ceiling server run on CPU 0; this process (events, clients,
 * measurement) on CPU 1. Load is open-loop at a set rate; every delivery's latency is measured from
 * the send time in its payload; contenders are interleaved step by step, and the confirm rounds
 * report medians and ratios.
 */
import { type ChildProcess, fork, spawn, spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DynamoDBClient,
  ListTablesCommand,
} from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Producer } from 'kafkajs';
import type WebSocket from 'ws';
import { ConnectionStore } from '../lambdas/adapters/connection-store.ts';
import { LOCAL_CREDENTIALS } from '../local/credentials.ts';
import { barChart, lineChart, writeChart } from './lib/chart.ts';
import { connectMany } from './lib/clients.ts';
import { costPerMillion, formatDollars, gbSeconds, loadPrices, type Usage } from './lib/cost.ts';
import { pinSelf } from './lib/pin.ts';
import { kafkaProducer, type StackProcess, startStackProcess, tokenFrom } from './lib/stack-process.ts';
import { summarize, table } from './lib/stats.ts';

interface Options {
  subscribers?: string;
  seconds?: number;
  confirm?: number;
  bytes?: number;
  /** Smoke run: tiny sizes, a few seconds. */
  smoke?: number;
  /**
   * Milliseconds the gateway adds to every `@connections` call, as the network round trip on AWS
   * would; results go to fanout-rtt<ms>.* beside the plain run's.
   */
  rtt?: number;
}

type Contender = 'a' | 'a2' | 'a3' | 'b1' | 'b2' | 'c';
const NAMES: Record<Contender, string> = {
  a: 'streamgate',
  a2: 'streamgate, coalesced',
  a3: 'streamgate, coalesced, 1 s window',
  b1: 'naive, sequential',
  b2: 'naive, Promise.all',
  c: 'raw ws ceiling',
};
/** The contenders of the saturation and completion benchmarks. */
const CONTENDERS: Contender[] = ['a', 'a2', 'b1', 'b2', 'c'];
/**
 * The contenders that pay for API Gateway and Lambda (the ceiling has no AWS price). a3 trades up
 * to a second of latency for cost, so it is priced only, at a busy topic's rate (COST_RATE_BATCHED).
 */
const PRICED = ['a', 'a2', 'a3', 'b1', 'b2'] as const;
const COST_RATE_BATCHED = 10;
const HEARTBEAT_MS = 9 * 60_000;
const KAFKA_TOPICS = { a: 'bench-events', a2: 'bench-events-coalesced', a3: 'bench-events-batched' };
/** Deliveries per second to try, in steps. */
const LADDER = [250, 500, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000];
const P99_LIMIT_MS = 250;
const CEILING_PORTS = { ws: 29_600, control: 29_601 };
const NAIVE_TABLE = 'NaiveConnections';
const FANOUT_MEMORY_MB = 1024;
const root = path.resolve(import.meta.dirname, '..');
const now = () => performance.timeOrigin + performance.now();

interface Event {
  c: Contender;
  s: number;
  t: number;
}

interface PhaseResult {
  contender: Contender;
  subscribers: number;
  rate: number;
  events: number;
  expected: number;
  delivered: number;
  reach: number;
  p50: number;
  p99: number;
  deliveriesPerSecond: number;
  /** The slowest recipient of each event, median over the events (broadcast completion). */
  completionP50: number;
  clientCpuPercent: number;
  /** p99 under the limit and nothing lost. */
  pass: boolean;
  /** Nothing lost and delivering at ≥ 85% of the offered rate, whatever the latency: no backlog growing. */
  keptUp: boolean;
}

/** Deliveries of the phase under way, matched by contender and sequence range. */
interface Tracker {
  contender: Contender;
  from: number;
  to: number;
  delivered: number;
  latencies: number[];
  lastAt: number;
  sentAt: Map<number, number>;
  slowest: Map<number, number>;
}

export async function run(options: Options = {}): Promise<void> {
  const smoke = Boolean(options.smoke);
  const counts = String(options.subscribers ?? (smoke ? '1,20' : '1,100,1000,5000'))
    .split(',')
    .map(Number);
  const seconds = options.seconds ?? (smoke ? 1 : 4);
  const confirmRounds = options.confirm ?? (smoke ? 1 : 3);
  const bytes = options.bytes ?? 100;
  const rtt = options.rtt ?? 0;
  pinSelf('1');
  const stack = await startStackProcess({
    cpu: '0',
    connectionsLatencyMs: rtt,
    name: 'fanout',
    apiDirs: [path.join(root, 'bench', 'apis')],
  });
  const children: ChildProcess[] = [];
  let producer: Producer | undefined;
  const results: Record<string, unknown>[] = [];
  const phases: PhaseResult[] = [];
  try {
    producer = await kafkaProducer(stack);
    const token = await tokenFrom(stack, 'carbon.super', '');
    const db = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: stack.urls.dynamodb,
        region: 'us-east-1',
        credentials: LOCAL_CREDENTIALS,
      }),
    );
    const tables = (await db.send(new ListTablesCommand({}))).TableNames ?? [];
    const connectionsTable = tables.find((t) => t.includes('ConnectionsTable')) as string;
    const store = new ConnectionStore(db, connectionsTable, 4);
    await resetNaiveTable(db);
    const ceiling = await startChild(
      spawn(process.execPath, [
        '--import',
        'tsx',
        path.join(root, 'bench/lib/ceiling-server.ts'),
        ...ports(),
      ]),
      'ready',
    );
    children.push(ceiling);
    const naiveConfig = (mode: string) =>
      JSON.stringify({
        mode,
        table: NAIVE_TABLE,
        dynamodb: stack.urls.dynamodb,
        callback: stack.urls.callback,
        credentials: LOCAL_CREDENTIALS,
      });
    const naive: Record<'b1' | 'b2', ChildProcess> = {
      b1: await startWorker(naiveConfig('sequential')),
      b2: await startWorker(naiveConfig('parallel')),
    };
    children.push(naive.b1, naive.b2);
    const ceilingAgent = new Agent({ keepAlive: true, maxSockets: 8 });

    let tracker: Tracker | undefined;
    let seq = 0;
    let anyDeliveryAt = 0;
    const onEvent = (at: number, event: Event) => {
      if (!tracker || event.c !== tracker.contender || event.s < tracker.from || event.s >= tracker.to)
        return;
      tracker.delivered++;
      tracker.lastAt = at;
      tracker.latencies.push(at - event.t);
      tracker.slowest.set(event.s, Math.max(tracker.slowest.get(event.s) ?? 0, at - event.t));
    };
    const onMessage = (data: WebSocket.RawData) => {
      const at = now();
      anyDeliveryAt = at;
      const text = data.toString();
      if (!text.startsWith('{"c"') && !text.startsWith('[')) return; // acknowledgements
      const parsed = JSON.parse(text) as Event | Event[];
      // A coalesced frame carries several events.
      for (const event of Array.isArray(parsed) ? parsed : [parsed]) onEvent(at, event);
    };

    for (const n of counts) {
      const topic = `fan-${n}-${Date.now().toString(36)}`;
      process.stdout.write(
        `\n${n} subscriber${n === 1 ? '' : 's'}: connecting to the gateway and to the ceiling…\n`,
      );
      const gatewayClients = await connectMany(
        n,
        `${stack.urls.ws}/bench/1.0.0/plain/${topic}`,
        { Authorization: `Bearer ${token}` },
        onMessage,
      );
      // The same connections take the coalesced channels' instances too (more topics each), in
      // chunks the stage's throttle (burst 500, 1,000/s) lets through; refused ones try again.
      for (const channel of ['coalesced', 'batched']) {
        const subscribe = (ws: WebSocket) =>
          new Promise<boolean>((resolve) => {
            ws.send(JSON.stringify({ action: 'subscribe', topic: `/${channel}/${topic}` }));
            ws.once('message', (data) => resolve(data.toString().includes('"subscribed"')));
          });
        let pending = gatewayClients;
        for (let attempt = 0; pending.length > 0; attempt++) {
          if (attempt === 10) throw new Error(`${pending.length} subscriptions to /${channel} refused`);
          const refused: WebSocket[] = [];
          for (let i = 0; i < pending.length; i += 200) {
            const chunk = pending.slice(i, i + 200);
            const accepted = await Promise.all(chunk.map(subscribe));
            refused.push(...chunk.filter((_, k) => !accepted[k]));
            await sleep(250);
          }
          pending = refused;
        }
      }
      const ids = (await store.subscribers(`carbon.super/bench/1.0.0/plain/${topic}`)).map(
        (s) => s.connectionId,
      );
      await fillNaiveTable(db, ids);
      const ceilingClients = await connectMany(n, `ws://127.0.0.1:${CEILING_PORTS.ws}`, {}, onMessage);
      // The gateway closes a connection after 10 quiet minutes, as API Gateway does; like a real
      // client, each sends a heartbeat (an idempotent subscribe) every 9 minutes, spread out.
      const heartbeats = gatewayClients.map((ws, i) => {
        const beat = () => ws.send(JSON.stringify({ action: 'subscribe', topic: `/plain/${topic}` }));
        let interval: NodeJS.Timeout | undefined;
        const first = setTimeout(
          () => {
            beat();
            interval = setInterval(beat, HEARTBEAT_MS);
          },
          HEARTBEAT_MS * (0.5 + (0.5 * i) / n),
        );
        return () => {
          clearTimeout(first);
          clearInterval(interval);
        };
      });

      const send = (contender: Contender, s: number) => {
        const body = `{"c":"${contender}","s":${s},"t":${now().toFixed(3)},"p":"${'x'.repeat(Math.max(0, bytes - 60))}"}`;
        if (contender === 'a' || contender === 'a2' || contender === 'a3') {
          void producer
            ?.send({
              topic: KAFKA_TOPICS[contender],
              messages: [{ key: topic, value: body }],
            })
            .catch(() => undefined);
        } else if (contender === 'c') {
          const req = request({
            host: '127.0.0.1',
            port: CEILING_PORTS.control,
            path: '/broadcast',
            method: 'POST',
            agent: ceilingAgent,
          });
          req.on('response', (res) => res.resume());
          req.on('error', () => undefined);
          req.end(body);
        } else naive[contender].send({ type: 'event', data: body });
        return body;
      };

      const phase = async (contender: Contender, rate: number, minEvents = 5): Promise<PhaseResult> => {
        const events = Math.max(minEvents, Math.round(rate * seconds));
        const current: Tracker = {
          contender,
          from: seq,
          to: seq + events,
          delivered: 0,
          latencies: [],
          lastAt: 0,
          sentAt: new Map(),
          slowest: new Map(),
        };
        tracker = current;
        const cpu = process.cpuUsage();
        const started = now();
        for (let i = 0; i < events; i++) {
          const wait = started + (i * 1000) / rate - now();
          if (wait > 0) await sleep(wait);
          current.sentAt.set(seq, now());
          send(contender, seq++);
        }
        const sentAll = now();
        const expected = events * n;
        // Until everything arrived, or nothing more came for 3 s (30 s at most after the last send).
        while (current.delivered < expected) {
          const quietFor = now() - Math.max(sentAll, current.lastAt);
          if (quietFor > 3_000 || now() - sentAll > 30_000) break;
          await sleep(20);
        }
        const elapsed = Math.max(1, (current.lastAt || now()) - started);
        const used = process.cpuUsage(cpu);
        const stats = summarize(current.latencies);
        const result: PhaseResult = {
          contender,
          subscribers: n,
          rate,
          events,
          expected,
          delivered: current.delivered,
          reach: current.delivered / expected,
          p50: stats.p50,
          p99: stats.p99,
          deliveriesPerSecond: (current.delivered * 1000) / elapsed,
          completionP50: summarize([...current.slowest.values()]).p50,
          clientCpuPercent: ((used.user + used.system) / 1000 / elapsed) * 100,
          pass: current.delivered === expected && stats.p99 < P99_LIMIT_MS,
          keptUp: current.delivered === expected && (current.delivered * 1000) / elapsed >= 0.85 * rate * n,
        };
        tracker = undefined;
        phases.push(result);
        process.stdout.write(
          `  ${NAMES[contender].padEnd(18)} ${rate.toFixed(2).padStart(8)} events/s → ${Math.round(
            result.deliveriesPerSecond,
          )
            .toString()
            .padStart(
              6,
            )} deliveries/s, p99 ${stats.p99.toFixed(0).padStart(5)} ms, reach ${(result.reach * 100).toFixed(1)}%${result.clientCpuPercent > 80 ? ' (load CPU > 80%: the clients limit this figure)' : ''} ${result.pass ? '' : '✗'}\n`,
        );
        // Let a backlog drain before the next contender runs.
        const drainUntil = now() + 60_000;
        while (now() - anyDeliveryAt < 1_500 && now() < drainUntil) await sleep(100);
        return result;
      };

      const summary: Record<string, unknown> = { subscribers: n };
      // --- B1: saturation sweep (N ≥ 100) ---------------------------------------------------------
      if (n >= (smoke ? 2 : 100)) {
        process.stdout.write(`  saturation sweep (p99 < ${P99_LIMIT_MS} ms, nothing lost):\n`);
        const sustained: Partial<Record<Contender, number>> = {};
        const capacity: Partial<Record<Contender, number>> = {};
        const peak: Partial<Record<Contender, number>> = {};
        // A contender climbs while it keeps up. Sustained is the highest step that met the latency
        // limit too (one noisy step below it does not end the climb); confirm rounds check it.
        const active = new Set<Contender>(CONTENDERS);
        for (const deliveries of LADDER) {
          const rate = deliveries / n;
          if (rate < 0.2) continue;
          for (const contender of CONTENDERS) {
            if (!active.has(contender)) continue;
            const result = await phase(contender, rate);
            peak[contender] = Math.max(peak[contender] ?? 0, result.deliveriesPerSecond);
            if (result.pass) sustained[contender] = deliveries;
            if (result.keptUp) capacity[contender] = deliveries;
            else active.delete(contender);
          }
          if (active.size === 0 || (smoke && deliveries >= 500)) break;
        }
        // Confirm rounds at each contender's sustained rate, interleaved: medians and ratios.
        process.stdout.write('  confirm rounds at each sustained rate:\n');
        const confirmed: Record<Contender, PhaseResult[]> = { a: [], a2: [], a3: [], b1: [], b2: [], c: [] };
        for (let round = 0; round < confirmRounds; round++) {
          for (const contender of CONTENDERS) {
            const rate = (sustained[contender] ?? LADDER.find((d) => d / n >= 0.2) ?? n) / n;
            confirmed[contender].push(await phase(contender, rate));
          }
        }
        const median = (values: number[]) => summarize(values).p50;
        const delivered = Object.fromEntries(
          CONTENDERS.map((c) => [c, median(confirmed[c].map((r) => r.deliveriesPerSecond))]),
        ) as Record<Contender, number>;
        summary.saturation = {
          sustainedDeliveriesPerSecond: sustained,
          capacityDeliveriesPerSecond: capacity,
          peakDeliveriesPerSecond: peak,
          confirmedMedian: delivered,
          confirmedP99Median: Object.fromEntries(
            CONTENDERS.map((c) => [c, median(confirmed[c].map((r) => r.p99))]),
          ),
          capacityRatios: {
            streamgateToCeiling: ratio(capacity.a, capacity.c),
            streamgateToNaiveSequential: ratio(capacity.a, capacity.b1),
            coalescedToCeiling: ratio(capacity.a2, capacity.c),
            coalescedToNaiveSequential: ratio(capacity.a2, capacity.b1),
          },
          ratios: {
            streamgateToCeiling: delivered.a / delivered.c,
            streamgateToNaiveSequential: delivered.a / delivered.b1,
            streamgateToNaiveParallel: delivered.a / delivered.b2,
            coalescedToCeiling: delivered.a2 / delivered.c,
            coalescedToNaiveSequential: delivered.a2 / delivered.b1,
          },
        };
        // p99 of streamgate at half its saturation.
        if (sustained.a) {
          const half = await phase('a', sustained.a / 2 / n);
          summary.streamgateAtHalfSaturation = {
            deliveriesPerSecond: sustained.a / 2,
            p50: half.p50,
            p99: half.p99,
          };
        }
      }

      // --- B2: broadcast completion at a rate every contender sustains ---------------------------
      process.stdout.write('  broadcast completion (0.5 events/s, 6 events):\n');
      const completion: Partial<Record<Contender, number>> = {};
      for (const contender of CONTENDERS)
        completion[contender] = (await phase(contender, 0.5, smoke ? 2 : 6)).completionP50;
      summary.completionP50Ms = completion;

      // --- cost per million deliveries (N ≤ 1000): 2 events/s for 10 s each ----------------------
      if (n <= 1000) {
        const costRate = Math.min(10, 1000 / n);
        process.stdout.write(
          `  cost: ${costRate} events/s (${NAMES.a3}: ${COST_RATE_BATCHED}) for 10 s each, counting every billable call:\n`,
        );
        const prices = loadPrices();
        const cost: Record<string, unknown> = {};
        for (const contender of PRICED) {
          const before = await snapshot(stack, naive);
          const rate = contender === 'a3' ? COST_RATE_BATCHED : costRate;
          const result = await phase(contender, rate, smoke ? 4 : Math.round(rate * 10));
          const after = await snapshot(stack, naive);
          const usage = usageOf(contender, before, after, result, n);
          const dollars = costPerMillion(usage, prices);
          cost[contender] = { eventsPerSecond: rate, usage, perMillionDeliveries: dollars };
        }
        summary.cost = cost;
      }
      results.push(summary);
      for (const stop of heartbeats) stop();
      for (const client of [...gatewayClients, ...ceilingClients]) client.terminate();
      await sleep(1_000);
    }

    const report = await finish(stack, results, phases, { seconds, bytes, counts, rtt });
    process.stdout.write(report);
  } finally {
    await producer?.disconnect().catch(() => undefined);
    for (const child of children) child.kill();
    await stack.stop();
  }
}

function ports(): string[] {
  return [String(CEILING_PORTS.ws), String(CEILING_PORTS.control)];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** NaN unless both sides were measured. */
const ratio = (of: number | undefined, to: number | undefined) => (of && to ? of / to : Number.NaN);

/** Pin a child beside the stack (CPU 0) where taskset exists. */
function pin(child: ChildProcess): void {
  if (child.pid) spawnSync('taskset', ['-cp', '0', String(child.pid)], { stdio: 'ignore' });
}

function startChild(child: ChildProcess, readyLine: string): Promise<ChildProcess> {
  pin(child);
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes(readyLine)) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`a benchmark process exited (${code})`)));
  });
}

function startWorker(config: string): Promise<ChildProcess> {
  const child = fork(path.join(root, 'bench/lib/naive-worker.ts'), [config], {
    execArgv: ['--import', 'tsx'],
  });
  pin(child);
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`a naive worker exited (${code})`)));
  });
}

async function resetNaiveTable(db: DynamoDBDocumentClient): Promise<void> {
  await db.send(new DeleteTableCommand({ TableName: NAIVE_TABLE })).catch(() => undefined);
  await db.send(
    new CreateTableCommand({
      TableName: NAIVE_TABLE,
      KeySchema: [{ AttributeName: 'connectionId', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'connectionId', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}

/** The sample's table holds every connection of the chat: exactly this run's subscribers. */
async function fillNaiveTable(db: DynamoDBDocumentClient, ids: string[]): Promise<void> {
  await resetNaiveTable(db);
  for (let i = 0; i < ids.length; i += 25) {
    await db.send(
      new BatchWriteCommand({
        RequestItems: {
          [NAIVE_TABLE]: ids
            .slice(i, i + 25)
            .map((connectionId) => ({ PutRequest: { Item: { connectionId } } })),
        },
      }),
    );
  }
}

interface Snapshot {
  at: number;
  status: {
    functions: Record<string, { invocations: number; billedMs: number; memoryMb: number }>;
    metrics: Record<string, Record<string, number>>;
    gateway: { outboundMessages: number; messageUnits: number; connectionMinutes: number };
  };
  naive: Record<'b1' | 'b2', { invocations: number; billedMs: number; readUnits: number; posts: number }>;
}

async function snapshot(stack: StackProcess, naive: Record<'b1' | 'b2', ChildProcess>): Promise<Snapshot> {
  const status = (await (await fetch(`${stack.urls.http}/_local/status`)).json()) as Snapshot['status'];
  const ask = (child: ChildProcess) =>
    new Promise<Snapshot['naive']['b1']>((resolve) => {
      child.once('message', (m: { usage: Snapshot['naive']['b1'] }) => resolve(m.usage));
      child.send({ type: 'usage' });
    });
  return { at: now(), status, naive: { b1: await ask(naive.b1), b2: await ask(naive.b2) } };
}

/** Billable usage of one contender between two snapshots. */
function usageOf(
  contender: (typeof PRICED)[number],
  before: Snapshot,
  after: Snapshot,
  result: PhaseResult,
  n: number,
): Usage {
  const minutes = ((after.at - before.at) / 60_000) * n;
  const gateway = {
    units: after.status.gateway.messageUnits - before.status.gateway.messageUnits,
  };
  if (contender === 'a' || contender === 'a2' || contender === 'a3') {
    const fanoutId = Object.keys(after.status.functions).find((id) => id.startsWith('Fanout')) as string;
    const fnAfter = after.status.functions[fanoutId] as Snapshot['status']['functions'][string];
    const fnBefore = before.status.functions[fanoutId] as Snapshot['status']['functions'][string];
    const metric = (name: string) =>
      (after.status.metrics[fanoutId]?.[name] ?? 0) - (before.status.metrics[fanoutId]?.[name] ?? 0);
    return {
      deliveredEvents: result.delivered,
      apiGatewayMessages: gateway.units,
      connectionMinutes: minutes,
      lambdaRequests: fnAfter.invocations - fnBefore.invocations,
      lambdaGbSeconds: gbSeconds(fnAfter.billedMs - fnBefore.billedMs, fnAfter.memoryMb),
      dynamoReadUnits: metric('dynamoReadUnits'),
      dynamoWriteUnits: metric('dynamoWriteUnits'),
    };
  }
  const b = after.naive[contender];
  const a = before.naive[contender];
  return {
    deliveredEvents: result.delivered,
    apiGatewayMessages: gateway.units,
    connectionMinutes: minutes,
    lambdaRequests: b.invocations - a.invocations,
    lambdaGbSeconds: gbSeconds(b.billedMs - a.billedMs, FANOUT_MEMORY_MB),
    dynamoReadUnits: b.readUnits - a.readUnits,
    dynamoWriteUnits: 0,
  };
}

/** Tables, targets, charts and the JSON file. */
async function finish(
  stack: StackProcess,
  results: Record<string, unknown>[],
  phases: PhaseResult[],
  settings: Record<string, unknown>,
): Promise<string> {
  const machine = `${os.cpus()[0]?.model ?? 'cpu'} · ${os.cpus().length} cores · ${Math.round(os.totalmem() / 2 ** 30)} GB · Node ${process.version}`;
  const rtt = Number(settings.rtt ?? 0);
  const name = rtt ? `fanout-rtt${rtt}` : 'fanout';
  type Saturation = {
    sustainedDeliveriesPerSecond: Partial<Record<Contender, number>>;
    capacityDeliveriesPerSecond: Partial<Record<Contender, number>>;
    capacityRatios: {
      streamgateToCeiling: number;
      streamgateToNaiveSequential: number;
      coalescedToCeiling: number;
      coalescedToNaiveSequential: number;
    };
    peakDeliveriesPerSecond: Partial<Record<Contender, number>>;
    confirmedMedian: Record<Contender, number>;
    confirmedP99Median: Record<Contender, number>;
    ratios: {
      streamgateToCeiling: number;
      streamgateToNaiveSequential: number;
      streamgateToNaiveParallel: number;
      coalescedToCeiling: number;
      coalescedToNaiveSequential: number;
    };
  };
  const out: string[] = [];
  const satRows = results
    .filter((r) => r.saturation)
    .flatMap((r) =>
      CONTENDERS.map((c) => {
        const s = r.saturation as Saturation;
        return {
          subscribers: r.subscribers as number,
          contender: NAMES[c],
          'sustained/s': s.sustainedDeliveriesPerSecond[c] ?? 0,
          'capacity/s': s.capacityDeliveriesPerSecond[c] ?? 0,
          'peak/s': Math.round(s.peakDeliveriesPerSecond[c] ?? 0),
          'confirmed median/s': Math.round(s.confirmedMedian[c]),
          'p99 ms': Math.round(s.confirmedP99Median[c]),
        };
      }),
    );
  out.push(
    `\nB1 — saturation: sustained = deliveries/s with p99 < ${P99_LIMIT_MS} ms and nothing lost; capacity = kept up, nothing lost, any latency\n${table(satRows)}\n`,
  );
  const completionRows = results.map((r) => ({
    subscribers: r.subscribers as number,
    ...Object.fromEntries(
      CONTENDERS.map((c) => [NAMES[c], Math.round((r.completionP50Ms as Record<Contender, number>)[c])]),
    ),
  }));
  out.push(
    `\nB2 — broadcast completion, median ms until the last subscriber has an event\n${table(completionRows)}\n`,
  );
  const costRows = results
    .filter((r) => r.cost)
    .flatMap((r) =>
      PRICED.map((c) => {
        const entry = (
          r.cost as Record<
            string,
            { eventsPerSecond: number; perMillionDeliveries: ReturnType<typeof costPerMillion> }
          >
        )[c];
        const by = entry?.perMillionDeliveries.byService;
        return {
          subscribers: r.subscribers as number,
          contender: NAMES[c],
          'events/s': entry?.eventsPerSecond ?? Number.NaN,
          'API GW msgs': formatDollars(by?.apiGatewayMessages ?? Number.NaN),
          'conn-min': formatDollars(by?.connectionMinutes ?? Number.NaN),
          Lambda: formatDollars((by?.lambdaRequests ?? 0) + (by?.lambdaDuration ?? 0)),
          DynamoDB: formatDollars((by?.dynamoReads ?? 0) + (by?.dynamoWrites ?? 0)),
          'total per 1M deliveries': formatDollars(entry?.perMillionDeliveries.total ?? Number.NaN),
        };
      }),
    );
  out.push(`\nCost per million delivered events at list prices (bench/prices.json)\n${table(costRows)}\n`);

  // Targets.
  const at1000 = results.find((r) => r.subscribers === 1000);
  const sat1000 = at1000?.saturation as Saturation | undefined;
  const cost1000 = at1000?.cost as Record<string, { perMillionDeliveries: { total: number } }> | undefined;
  // At half of streamgate's sustained rate, at the most subscribers where it sustained one.
  const halfAt = results
    .filter((r) => r.streamgateAtHalfSaturation)
    .map((r) => ({
      subscribers: r.subscribers as number,
      half: r.streamgateAtHalfSaturation as { p99: number },
    }))
    .at(-1);
  // A ratio means nothing when the contender never met the criterion.
  const percent = (value: number, met: number | undefined) =>
    !met ? 'none met' : Number.isNaN(value) ? 'n/a' : `${(value * 100).toFixed(1)}%`;
  const cheaper = (cost: Record<string, { perMillionDeliveries: { total: number } }>, c: string) =>
    `${((cost.b2?.perMillionDeliveries.total ?? Number.NaN) / (cost[c]?.perMillionDeliveries.total ?? Number.NaN)).toFixed(1)}×`;
  const times = (value: number, met: number | undefined) =>
    !met ? 'none met' : Number.isNaN(value) ? 'n/a' : `${value.toFixed(1)}×`;
  const bundle = fanoutBundleBytes(stack);
  const status = (await (
    await fetch(`${stack.urls.http}/_local/status`).catch(() => undefined)
  )
    ?.json()
    .catch(() => undefined)) as { functions: Record<string, { initMs: number[] }> } | undefined;
  const fanoutInit =
    Object.entries(status?.functions ?? {}).find(([id]) => id.startsWith('Fanout'))?.[1].initMs ?? [];
  const targets = [
    [
      'delivered/s at 1,000 subscribers ≥ 30% of the ws ceiling',
      sat1000
        ? `sustained ${percent(sat1000.ratios.streamgateToCeiling, sat1000.sustainedDeliveriesPerSecond.a)}, capacity ${percent(sat1000.capacityRatios.streamgateToCeiling, sat1000.capacityDeliveriesPerSecond.a)}; coalesced: sustained ${percent(sat1000.ratios.coalescedToCeiling, sat1000.sustainedDeliveriesPerSecond.a2)}, capacity ${percent(sat1000.capacityRatios.coalescedToCeiling, sat1000.capacityDeliveriesPerSecond.a2)}`
        : 'n/a',
    ],
    [
      '… and ≥ 10× the naive sequential pattern',
      sat1000
        ? `capacity ${times(sat1000.capacityRatios.streamgateToNaiveSequential, sat1000.capacityDeliveriesPerSecond.a)} (coalesced: ${times(sat1000.capacityRatios.coalescedToNaiveSequential, sat1000.capacityDeliveriesPerSecond.a2)})`
        : 'n/a',
    ],
    [
      'p99 Kafka → client < 100 ms at half of saturation',
      halfAt ? `${halfAt.half.p99.toFixed(0)} ms at ${halfAt.subscribers} subscribers` : 'n/a',
    ],
    [
      'cost per million deliveries ≥ 3× lower than naive at 1,000 subscribers',
      cost1000
        ? `${cheaper(cost1000, 'a')} (coalesced: ${cheaper(cost1000, 'a2')}; with a 1 s window at ${COST_RATE_BATCHED} events/s: ${cheaper(cost1000, 'a3')}), vs Promise.all`
        : 'n/a',
    ],
    ['fan-out bundle < 150 KB', `${(bundle / 1024).toFixed(0)} KB`],
    [
      'fan-out init < 150 ms',
      fanoutInit.length
        ? `${summarize(fanoutInit).p50.toFixed(0)} ms (median of ${fanoutInit.length} cold starts, local)`
        : 'n/a',
    ],
  ];
  out.push(
    `\nTargets\n${table(targets.map(([target, measured]) => ({ target: target as string, measured: measured as string })))}\n`,
  );

  const dir = path.join(import.meta.dirname, 'results');
  const file = path.join(dir, `${name}.json`);
  const at = new Date().toISOString();
  writeFileSync(
    file,
    `${JSON.stringify({ benchmark: 'fanout', at, machine, settings, results, targets, phases }, null, 1)}\n`,
  );
  await renderCharts({ at, machine, settings: { rtt }, results: results as FanoutResults['results'] }, dir);
  out.push(
    `\nwritten: ${path.relative(process.cwd(), file)}, ${['saturation', 'capacity', 'completion', 'cost'].map((c) => `${name}-${c}.svg`).join(', ')}\n`,
  );
  return out.join('');
}

/** Size of the deployed fan-out bundle: the asset (`asset.<hash>`) the template's Code names. */
function fanoutBundleBytes(stack: StackProcess): number {
  const assembly = path.join(stack.stateDir, 'cdk.out');
  const template = JSON.parse(readFileSync(path.join(assembly, 'Streamgate.template.json'), 'utf8')) as {
    Resources: Record<string, { Type: string; Properties?: { Code?: { S3Key?: string } } }>;
  };
  const fanout = Object.entries(template.Resources).find(
    ([id, r]) => r.Type === 'AWS::Lambda::Function' && /^Fanout[0-9A-F]{8}$/.test(id),
  )?.[1];
  const hash = fanout?.Properties?.Code?.S3Key?.replace(/\.zip$/, '');
  return hash ? statSync(path.join(assembly, `asset.${hash}`, 'index.js')).size : Number.NaN;
}

/** What fanout.json (or fanout-rtt<ms>.json) holds that the charts read. */
export interface FanoutResults {
  at: string;
  machine: string;
  settings: { rtt?: number };
  results: {
    subscribers: number;
    saturation?: Pick<
      FanoutSaturation,
      'sustainedDeliveriesPerSecond' | 'capacityDeliveriesPerSecond' | 'confirmedMedian'
    >;
    completionP50Ms: Record<Contender, number>;
    cost?: Partial<Record<Contender, { perMillionDeliveries: { total: number } }>>;
  }[];
}

type FanoutSaturation = {
  sustainedDeliveriesPerSecond: Partial<Record<Contender, number>>;
  capacityDeliveriesPerSecond: Partial<Record<Contender, number>>;
  confirmedMedian: Record<Contender, number>;
};

/** The four fan-out charts (saturation, capacity, completion, cost) from a fan-out run's JSON. */
export async function renderCharts(report: FanoutResults, dir: string): Promise<string[]> {
  const rtt = Number(report.settings.rtt ?? 0);
  const name = rtt ? `fanout-rtt${rtt}` : 'fanout';
  const note = `${report.machine} · ${report.at.slice(0, 10)}${rtt ? ` · @connections round trip +${rtt} ms` : ''}`;
  const { results } = report;
  type Saturation = FanoutSaturation;
  const saturationChart = async (
    file: string,
    title: string,
    value: (s: Saturation, c: Contender) => number,
  ) =>
    writeChart(
      path.join(dir, file),
      await barChart({
        title,
        yLabel: 'deliveries per second',
        logY: true,
        note,
        groups: results
          .filter((r) => r.saturation)
          .map((r) => ({
            label: `${r.subscribers} subscribers`,
            bars: CONTENDERS.map((c) => ({ name: NAMES[c], value: value(r.saturation as Saturation, c) })),
          })),
      }),
    );
  // Confirmed median where the contender met the limit; no bar where it never did.
  await saturationChart(
    `${name}-saturation.svg`,
    `Sustained deliveries/s (p99 < ${P99_LIMIT_MS} ms, nothing lost)`,
    (s, c) => (s.sustainedDeliveriesPerSecond[c] ? s.confirmedMedian[c] : Number.NaN),
  );
  await saturationChart(
    `${name}-capacity.svg`,
    'Capacity: deliveries/s kept up with, nothing lost, any latency',
    (s, c) => s.capacityDeliveriesPerSecond[c] ?? Number.NaN,
  );
  writeChart(
    path.join(dir, `${name}-completion.svg`),
    await lineChart({
      title: 'Broadcast completion: until the last subscriber has the event',
      xLabel: 'subscribers',
      yLabel: 'median ms',
      logX: true,
      logY: true,
      note,
      series: CONTENDERS.map((c) => ({
        name: NAMES[c],
        points: results.map((r) => ({
          x: r.subscribers as number,
          y: (r.completionP50Ms as Record<Contender, number>)[c],
        })),
      })),
    }),
  );
  writeChart(
    path.join(dir, `${name}-cost.svg`),
    await barChart({
      title: 'Dollars per million delivered events (AWS list prices)',
      yLabel: 'USD per 1M deliveries',
      logY: true,
      note,
      groups: results
        .filter((r) => r.cost)
        .map((r) => ({
          label: `${r.subscribers} subscriber${r.subscribers === 1 ? '' : 's'}`,
          bars: PRICED.map((c) => ({
            name: NAMES[c],
            value:
              (r.cost as Record<string, { perMillionDeliveries: { total: number } }>)[c]?.perMillionDeliveries
                .total ?? 0,
          })),
        })),
    }),
  );
  return ['saturation', 'capacity', 'completion', 'cost'].map((chart) => `${name}-${chart}.svg`);
}
