/**
 * Kafka → WebSocket on the local stack, for 1 topic with N subscribers:
 *  - latency: records produced open-loop at a fixed rate (500 deliveries/s by default), each carrying its send time; every
 *    delivery's latency is receive time − send time (producer and clients share this process's clock);
 *  - throughput: a burst of records produced as fast as possible; delivered events per second until
 *    the last delivery arrives.
 * The stack runs in its own process (CPU 0 where taskset exists); this process is the load.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { connectMany } from './lib/clients.ts';
import { pinSelf } from './lib/pin.ts';
import { kafkaProducer, startStackProcess, tokenFrom } from './lib/stack-process.ts';
import { summarize, table } from './lib/stats.ts';

interface Options {
  subscribers?: string;
  rate?: number;
  seconds?: number;
  burst?: number;
}

export async function run(options: Options = {}): Promise<void> {
  const counts = String(options.subscribers ?? '1,100,1000')
    .split(',')
    .map(Number);
  // By default 500 deliveries/s (50 records/s at most) for the latency phase: well inside what the
  // local stack sustains at every N, so latency is not queueing; the burst is 200k deliveries at most.
  const rateFor = (n: number) => options.rate ?? Math.min(50, 500 / n);
  const seconds = options.seconds ?? 10;
  const burstFor = (n: number) => options.burst ?? Math.min(2000, Math.round(200_000 / n));
  pinSelf('1');
  // The benchmarks' own API (bench/apis): AsyncUnlimited, so no plan quota throttles the stream.
  const stack = await startStackProcess({ cpu: '0', apiDirs: [path.join(import.meta.dirname, 'apis')] });
  const producer = await kafkaProducer(stack);
  const token = await tokenFrom(stack, 'carbon.super', '');
  const rows: Record<string, string | number>[] = [];
  const results: Record<string, unknown>[] = [];
  try {
    for (const n of counts) {
      const rate = rateFor(n);
      const burst = burstFor(n);
      const key = `bench-${n}-${Date.now().toString(36)}`;
      process.stdout.write(`\n${n} subscribers: connecting…\n`);
      const latencies: number[] = [];
      let delivered = 0;
      const clients = await connectMany(
        n,
        `${stack.urls.ws}/bench/1.0.0/plain/${key}`,
        { Authorization: `Bearer ${token}` },
        (raw) => {
          const data = raw.toString();
          delivered++;
          const sent = Number(/"t":(\d+(\.\d+)?)/.exec(data)?.[1]);
          if (sent) latencies.push(performance.timeOrigin + performance.now() - sent);
        },
      );
      // warm-up: cold starts of the fan-out function
      await producer.send({
        topic: 'bench-events',
        messages: [{ key, value: JSON.stringify({ warm: true }) }],
      });
      await waitUntil(() => delivered >= n, 30_000);
      delivered = 0;
      latencies.length = 0;

      process.stdout.write(`  latency: ${rate} records/s for ${seconds} s (open loop)…\n`);
      const total = Math.max(5, Math.round(rate * seconds));
      const started = performance.now();
      for (let i = 0; i < total; i++) {
        const due = started + (i * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        void producer.send({
          topic: 'bench-events',
          messages: [
            { key, value: JSON.stringify({ seq: i, t: performance.timeOrigin + performance.now() }) },
          ],
        });
      }
      await waitUntil(() => delivered >= total * n, 60_000);
      const latency = summarize(latencies);
      const lost = total * n - delivered;

      process.stdout.write(`  throughput: a burst of ${burst} records…\n`);
      delivered = 0;
      latencies.length = 0;
      const burstStart = performance.now();
      for (let i = 0; i < burst; i += 500) {
        await producer.send({
          topic: 'bench-events',
          messages: Array.from({ length: Math.min(500, burst - i) }, (_, j) => ({
            key,
            value: JSON.stringify({ seq: i + j, t: performance.timeOrigin + performance.now() }),
          })),
        });
      }
      const complete = await waitUntil(() => delivered >= burst * n, 300_000);
      const burstSeconds = (performance.now() - burstStart) / 1000;
      const perSecond = delivered / burstSeconds;
      for (const client of clients) client.terminate();

      rows.push({
        subscribers: n,
        'rate rec/s': rate,
        'p50 ms': latency.p50,
        'p99 ms': latency.p99,
        'max ms': latency.max,
        lost,
        'burst deliveries/s': Math.round(perSecond),
        'burst complete': complete ? 'yes' : 'NO',
      });
      results.push({
        subscribers: n,
        rate,
        latency,
        lost,
        burst,
        burstSeconds,
        deliveriesPerSecond: perSecond,
        complete,
      });
    }
  } finally {
    await producer.disconnect();
    await stack.stop();
  }
  process.stdout.write(`\nKafka → WebSocket, 1 topic, local stack\n${table(rows)}\n`);
  const file = path.join(import.meta.dirname, 'results', 'kafka-fanout.json');
  writeFileSync(
    file,
    `${JSON.stringify({ benchmark: 'kafka-fanout', at: new Date().toISOString(), results }, null, 1)}\n`,
  );
  process.stdout.write(`written: ${path.relative(process.cwd(), file)}\n`);
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}
