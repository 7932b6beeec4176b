/**
 * B5 — churn and bursts, and what a connection costs the local gateway in memory:
 *  - memory: idle connections held by the gateway (1k, 2k, 5k), the stack process's RSS per connection;
 *  - churn: 200 steady subscribers receive a stream at 20 events/s; then for 10 s new clients try
 *    to connect at 500/s (each leaves after 2 s) while the stream bursts 20× (400 events/s), and 100
 *    stale connections (registered, long gone: @connections answers 410) sit on the topic. Reported:
 *    connects that got in and their latency, delivery latency during the burst, how long the backlog
 *    takes to drain, whether the stale records were cleaned up, and the peak RSS.
 * The stack runs in its own process (CPU 0 where taskset exists); this process is the load.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import WebSocket from 'ws';
import { ConnectionStore } from '../lambdas/adapters/connection-store.ts';
import { LOCAL_CREDENTIALS } from '../local/credentials.ts';
import { lineChart, writeChart } from './lib/chart.ts';
import { pinSelf } from './lib/pin.ts';
import { kafkaProducer, startStackProcess, tokenFrom } from './lib/stack-process.ts';
import { summarize, table } from './lib/stats.ts';

const root = path.resolve(import.meta.dirname, '..');
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

export async function run(
  options: { memory?: string; connectRate?: number; smoke?: number } = {},
): Promise<void> {
  const smoke = Boolean(options.smoke);
  const memorySteps = String(options.memory ?? (smoke ? '50,100' : '1000,2000,5000'))
    .split(',')
    .map(Number);
  const connectRate = options.connectRate ?? (smoke ? 20 : 500);
  const steady = smoke ? 10 : 200;
  pinSelf('1');
  const stack = await startStackProcess({
    cpu: '0',
    name: 'churn',
    apiDirs: [path.join(root, 'bench', 'apis')],
  });
  const producer = await kafkaProducer(stack);
  const token = await tokenFrom(stack, 'carbon.super', '');
  const open = (topic: string, onMessage?: (text: string) => void) =>
    new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(`${stack.urls.ws}/bench/1.0.0/plain/${topic}`, {
        headers: { Authorization: `Bearer ${token}` },
        perMessageDeflate: false,
      });
      if (onMessage) ws.on('message', (d) => onMessage(d.toString()));
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
  const results: Record<string, unknown> = {};
  try {
    // --- memory per idle connection --------------------------------------------------------------
    process.stdout.write('\nmemory: idle connections held by the gateway…\n');
    await sleep(2_000);
    const baseline = rssMb(stack.pid);
    const memory: { connections: number; rssMb: number }[] = [{ connections: 0, rssMb: baseline }];
    const idle: WebSocket[] = [];
    for (const target of memorySteps) {
      while (idle.length < target) {
        idle.push(
          ...(await Promise.all(
            Array.from({ length: Math.min(50, target - idle.length) }, () => open('idle')),
          )),
        );
      }
      await sleep(3_000);
      memory.push({ connections: idle.length, rssMb: rssMb(stack.pid) });
      process.stdout.write(`  ${idle.length} connections: stack RSS ${rssMb(stack.pid).toFixed(0)} MB\n`);
    }
    // The slope between the first and last steps: the first connections also start the Lambda
    // workers they invoke (tens of MB once), which is not a per-connection cost.
    const first = memory[1] ?? memory[0];
    const last = memory.at(-1) ?? first;
    const perConnectionKb =
      first && last && last.connections > first.connections
        ? ((last.rssMb - first.rssMb) * 1024) / (last.connections - first.connections)
        : 0;
    for (const ws of idle) ws.terminate();
    await sleep(3_000);
    results.memory = { steps: memory, perConnectionKb };

    // --- churn with a burst and stale connections ------------------------------------------------
    const topic = `churn-${Date.now().toString(36)}`;
    const latencies: { at: number; ms: number }[] = [];
    let received = 0;
    const onMessage = (text: string) => {
      const t = Number(/"t":([\d.]+)/.exec(text)?.[1]);
      if (!t) return;
      received++;
      latencies.push({ at: now(), ms: now() - t });
    };
    process.stdout.write(`\nchurn: ${steady} steady subscribers…\n`);
    const subscribers: WebSocket[] = [];
    while (subscribers.length < steady) {
      subscribers.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(50, steady - subscribers.length) }, () => open(topic, onMessage)),
        )),
      );
    }
    // Stale connections: registered on the topic, gone from the gateway.
    const db = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: stack.urls.dynamodb,
        region: 'us-east-1',
        credentials: LOCAL_CREDENTIALS,
      }),
    );
    const table_ = ((await db.send(new ListTablesCommand({}))).TableNames ?? []).find((t) =>
      t.includes('ConnectionsTable'),
    ) as string;
    const store = new ConnectionStore(db, table_, 4);
    const topicKey = `carbon.super/bench/1.0.0/plain/${topic}`;
    const [template] = await store.subscribers(topicKey);
    const record = template ? await store.get(template.connectionId) : undefined;
    const staleIds = Array.from(
      { length: smoke ? 5 : 100 },
      (_, i) => `Stale${String(i).padStart(6, '0')}A=`,
    );
    if (record) for (const id of staleIds) await store.put({ ...record, connectionId: id });

    const produce = async (rate: number, seconds: number, first: number) => {
      const started = now();
      const count = Math.round(rate * seconds);
      for (let i = 0; i < count; i++) {
        const wait = started + (i * 1000) / rate - now();
        if (wait > 0) await sleep(wait);
        void producer
          .send({
            topic: 'bench-events',
            messages: [{ key: topic, value: `{"s":${first + i},"t":${now().toFixed(3)}}` }],
          })
          .catch(() => undefined);
      }
      return count;
    };
    process.stdout.write('  steady stream, 20 events/s for 5 s…\n');
    let sent = await produce(20, 5, 0);
    const burstStart = now();
    process.stdout.write(
      `  burst: 400 events/s for 10 s, ${connectRate} connects/s, ${staleIds.length} stale connections…\n`,
    );
    const connects: { ok: boolean; ms: number; refusal?: string }[] = [];
    const connecting = (async () => {
      const started = now();
      const total = connectRate * 10;
      const attempts: Promise<void>[] = [];
      for (let i = 0; i < total; i++) {
        const wait = started + (i * 1000) / connectRate - now();
        if (wait > 0) await sleep(wait);
        const t0 = now();
        attempts.push(
          open(`churn-joiner-${i % 50}`).then(
            (ws) => {
              connects.push({ ok: true, ms: now() - t0 });
              setTimeout(() => ws.close(), 2_000);
            },
            (error: Error) => {
              // "Unexpected server response: 429" → 429; anything else by its message.
              const refusal = /\b([45]\d\d)\b/.exec(error.message)?.[1] ?? error.message.slice(0, 60);
              connects.push({ ok: false, ms: now() - t0, refusal });
            },
          ),
        );
      }
      await Promise.all(attempts);
    })();
    sent += await produce(400, smoke ? 2 : 10, sent);
    const burstEnd = now();
    await connecting;
    const expected = sent * steady;
    const drainDeadline = now() + 300_000;
    while (received < expected && now() < drainDeadline) await sleep(50);
    const drained = now();
    const peakRss = rssMb(stack.pid);
    await sleep(1_000);
    const staleLeft = (await store.subscribers(topicKey)).filter((s) =>
      s.connectionId.startsWith('Stale'),
    ).length;
    const delivery = summarize(latencies.map((l) => l.ms));
    const connectStats = summarize(connects.filter((c) => c.ok).map((c) => c.ms));
    results.churn = {
      steadySubscribers: steady,
      eventsSent: sent,
      expectedDeliveries: expected,
      delivered: received,
      delivery,
      burstSeconds: (burstEnd - burstStart) / 1000,
      backlogDrainSeconds: (drained - burstEnd) / 1000,
      connectAttempts: connects.length,
      connectsAccepted: connects.filter((c) => c.ok).length,
      connectRefusals: connects.reduce<Record<string, number>>((by, c) => {
        if (c.refusal) by[c.refusal] = (by[c.refusal] ?? 0) + 1;
        return by;
      }, {}),
      connectLatency: connectStats,
      staleRegistered: staleIds.length,
      staleLeft,
      peakRssMb: peakRss,
    };
    const rows = [
      { figure: 'idle connection, gateway process RSS', value: `${perConnectionKb.toFixed(1)} KB` },
      {
        figure: 'connect attempts accepted',
        value: `${connects.filter((c) => c.ok).length} / ${connects.length}`,
      },
      {
        figure: 'connects refused, by answer',
        value:
          Object.entries((results.churn as { connectRefusals: Record<string, number> }).connectRefusals)
            .map(([why, count]) => `${why}: ${count}`)
            .join(', ') || 'none',
      },
      {
        figure: 'connect latency p50 / p99',
        value: `${connectStats.p50.toFixed(0)} / ${connectStats.p99.toFixed(0)} ms`,
      },
      { figure: 'deliveries', value: `${received} / ${expected}` },
      {
        figure: 'delivery latency p50 / p99',
        value: `${delivery.p50.toFixed(0)} / ${delivery.p99.toFixed(0)} ms`,
      },
      {
        figure: 'backlog drained after the burst in',
        value: `${((drained - burstEnd) / 1000).toFixed(1)} s`,
      },
      { figure: 'stale connections left on the topic', value: `${staleLeft} / ${staleIds.length}` },
      { figure: 'stack RSS at the end of the burst', value: `${peakRss.toFixed(0)} MB` },
    ];
    process.stdout.write(`\nChurn and a 20× burst on the local stack\n${table(rows)}\n`);
    const note = `${os.cpus()[0]?.model ?? 'cpu'} · ${os.cpus().length} cores · ${new Date().toISOString().slice(0, 10)}`;
    const dir = path.join(import.meta.dirname, 'results');
    const bucket = 500;
    const buckets = new Map<number, number[]>();
    for (const l of latencies) {
      const k = Math.floor((l.at - burstStart) / bucket);
      buckets.set(k, [...(buckets.get(k) ?? []), l.ms]);
    }
    // The chart's series go into the JSON too, so that `npm run bench -- charts` can redraw it.
    const latencySeries = [...buckets]
      .sort((a, b) => a[0] - b[0])
      .map(([k, v]) => {
        const { p50, p99 } = summarize(v);
        return { seconds: (k * bucket) / 1000, p50, p99 };
      });
    const file = path.join(dir, 'churn.json');
    writeFileSync(
      file,
      `${JSON.stringify({ benchmark: 'churn', at: new Date().toISOString(), machine: note, ...results, latencySeries }, null, 1)}\n`,
    );
    await renderCharts({ machine: note, latencySeries }, dir);
    process.stdout.write(`written: ${path.relative(process.cwd(), file)}, churn.svg\n`);
    for (const ws of subscribers) ws.terminate();
  } finally {
    await producer.disconnect();
    await stack.stop();
  }
}

/** What churn.json holds that the chart reads (runs before the series was recorded have none). */
export interface ChurnResults {
  /** CPU · cores · date of the run. */
  machine: string;
  /** Delivery latency per 500 ms bucket since the burst began, ms. */
  latencySeries?: { seconds: number; p50: number; p99: number }[];
}

/** churn.svg from churn.json: p50 and p99 delivery latency through the burst; nothing when the JSON has no series. */
export async function renderCharts(report: ChurnResults, dir: string): Promise<string[]> {
  const series = report.latencySeries;
  if (!series) return [];
  writeChart(
    path.join(dir, 'churn.svg'),
    await lineChart({
      title: 'Delivery latency through a 20× burst with 500 connects/s',
      xLabel: 'seconds since the burst began',
      yLabel: 'latency (ms)',
      logY: true,
      note: report.machine,
      series: [
        { name: 'p50', points: series.map((b) => ({ x: b.seconds, y: b.p50 })) },
        { name: 'p99', points: series.map((b) => ({ x: b.seconds, y: b.p99 })) },
      ],
    }),
  );
  return ['churn.svg'];
}
