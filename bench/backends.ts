/**
 * What channel backends and transforms add, on the local stack (issue 5's figures):
 *  - http backend: round trip of a frame to an HTTP backend that answers at once (client → message
 *    function → POST → reply to the sender), next to the built-in fan-out's one hop (client →
 *    message function → another subscriber);
 *  - transform: Kafka → subscriber latency of a stateful transform (SensorStats: filter, avg/max/
 *    count grouped by sensor in an hourly window, state in DynamoDB) next to a plain Kafka channel
 *    (train-locations), records produced open-loop at the same rate;
 *  - DynamoDB writes per aggregated batch, from the fan-out's own log lines.
 * The stack runs in its own process (CPU 0 where taskset exists) with the test fixtures' APIs.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import type { Producer } from 'kafkajs';
import WebSocket from 'ws';
import { pinSelf } from './lib/pin.ts';
import { kafkaProducer, startStackProcess, tokenFrom } from './lib/stack-process.ts';
import { summarize, table } from './lib/stats.ts';

interface Options {
  rounds?: number;
  rate?: number;
  seconds?: number;
}

/** The HttpRooms fixture's endpoint. */
const BACKEND_PORT = 19096;
const root = path.resolve(import.meta.dirname, '..');

export async function run(options: Options = {}): Promise<void> {
  const rounds = options.rounds ?? 300;
  const rate = options.rate ?? 20;
  const seconds = options.seconds ?? 10;
  pinSelf('1');
  const backend = await echoBackend();
  const stack = await startStackProcess({
    cpu: '0',
    apiDirs: [path.join(root, 'test', 'fixtures', 'apis')],
    verbose: true, // EMF metrics in the log: the message function's own backendLatency
  });
  const logLength = () => readFileSync(stack.logFile, 'utf8').length;
  const logSince = (start: number) => readFileSync(stack.logFile, 'utf8').slice(start).split('\n');
  const token = await tokenFrom(stack, 'carbon.super', 'chat:read chat:write');
  const quantis = await tokenFrom(stack, 'quantis.com', '');
  const open = (topicPath: string) =>
    openClient(`${stack.urls.ws}${topicPath}`, topicPath.startsWith('/t/quantis.com/') ? quantis : token);
  const producer = await kafkaProducer(stack);
  const results: Record<string, unknown> = {};
  const rows: Record<string, string | number>[] = [];
  try {
    // --- http backend next to a fan-out hop ------------------------------------------------------
    process.stdout.write(`\nhttp backend: ${rounds} sequential round trips…\n`);
    const sender = await open('/httprooms/1.0.0/rooms/bench');
    const httpLogStart = logLength();
    const http = summarize(await sequential(rounds, sender, (i) => sender.send(`frame ${i}`)));
    sender.ws.terminate();
    await new Promise((r) => setTimeout(r, 300));
    // The POST itself, as the message function timed it (EMF), warm-up rounds left out.
    const backendCall = summarize(
      logSince(httpLogStart)
        .filter((line) => line.includes('"backendLatency"'))
        .map((line) => Number(JSON.parse(line.slice(line.indexOf('{'))).backendLatency))
        .slice(20),
    );

    process.stdout.write(`fan-out: ${rounds} sequential one-hop deliveries…\n`);
    const [from, to] = [
      await open('/testchats/1.0.0/rooms/bench'),
      await open('/testchats/1.0.0/rooms/bench'),
    ];
    const fanout = summarize(await sequential(rounds, to, (i) => from.send(`frame ${i}`)));
    from.ws.terminate();
    to.ws.terminate();
    rows.push(
      row('client → fan-out → subscriber', fanout),
      row('client → http backend → reply', http),
      row('  of which the POST to the backend', backendCall),
    );
    results.http = { rounds, httpBackend: http, fanout, backendCall };

    // --- a transformed Kafka channel next to a plain one -----------------------------------------
    // Each runs twice; the first round warms the pollers and the function workers up.
    let plain = summarize([]);
    let transformed = summarize([]);
    let logStart = 0;
    for (const round of [1, 2]) {
      logStart = logLength();
      const train = `bench-${round}-${Date.now().toString(36)}`;
      plain = await kafkaLatency(
        producer,
        await open(`/t/quantis.com/train/location/1.0.0/loc-train-qnt-${train}`),
        {
          topic: 'train-locations',
          rate,
          seconds,
          record: (i, t) => ({ key: train, value: JSON.stringify({ seq: i, t }) }),
          indexOf: (message) => Number(JSON.parse(message).seq),
        },
      );
      const sensor = `bench-${round}-${Date.now().toString(36)}`;
      transformed = await kafkaLatency(producer, await open(`/sensorstats/1.0.0/sensors/${sensor}`), {
        topic: 'test-sensor-readings',
        rate,
        seconds,
        record: (i) => ({ key: sensor, value: JSON.stringify({ event: { sensor, value: i, ok: true } }) }),
        // The i-th reading makes the running count i + 1.
        indexOf: (message) => Number(JSON.parse(message).event.readings) - 1,
      });
    }
    await new Promise((r) => setTimeout(r, 500));
    const batches = logSince(logStart)
      .filter((line) => line.includes('batch delivered') && line.includes('"transformStateWrites":'))
      .map(
        (line) =>
          JSON.parse(line.slice(line.indexOf('{'))) as {
            records: number;
            transformStateWrites: number;
            transformMs: number;
          },
      )
      .filter((b) => b.transformStateWrites > 0);
    const transformStep = summarize(batches.map((b) => b.transformMs));
    const stateWrites = batches.reduce((n, b) => n + b.transformStateWrites, 0);
    const aggregatedRecords = batches.reduce((n, b) => n + b.records, 0);
    rows.push(
      row('Kafka → plain channel', plain),
      row('Kafka → transformed channel', transformed),
      row('  of which the transform step', transformStep),
    );
    results.transform = {
      rate,
      seconds,
      plain,
      transformed,
      transformStep,
      aggregatedBatches: batches.length,
      aggregatedRecords,
      stateWrites,
      stateWritesPerBatch: stateWrites / Math.max(1, batches.length),
    };
    process.stdout.write(`\nLatency on the local stack (ms)\n${table(rows)}\n`);
    process.stdout.write(
      `\nthe POST to the http backend: p50 ${backendCall.p50.toFixed(1)} ms, p99 ${backendCall.p99.toFixed(1)} ms of each round trip` +
        `\nthe transform step (state read, apply, conditional write): p50 ${transformStep.p50.toFixed(1)} ms, p99 ${transformStep.p99.toFixed(1)} ms per batch` +
        `\nDynamoDB state writes: ${stateWrites} for ${batches.length} aggregated batches (${aggregatedRecords} records) = ${(stateWrites / Math.max(1, batches.length)).toFixed(2)} per batch\n`,
    );
  } finally {
    await producer.disconnect();
    await stack.stop();
    backend.close();
  }
  const file = path.join(import.meta.dirname, 'results', 'backends.json');
  writeFileSync(
    file,
    `${JSON.stringify({ benchmark: 'backends', at: new Date().toISOString(), ...results }, null, 1)}\n`,
  );
  process.stdout.write(`written: ${path.relative(process.cwd(), file)}\n`);
}

function row(path: string, s: ReturnType<typeof summarize>): Record<string, string | number> {
  return { path, n: s.n, 'p50 ms': s.p50, 'p90 ms': s.p90, 'p99 ms': s.p99, 'max ms': s.max };
}

/** A backend that answers every frame at once with the frame itself. */
function echoBackend(): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end(Buffer.concat(chunks)));
  });
  return new Promise((resolve) => server.listen(BACKEND_PORT, '127.0.0.1', () => resolve(server)));
}

interface BenchClient {
  ws: WebSocket;
  send(data: string): void;
  next(): Promise<string>;
  onMessage?: (data: string) => void;
}

function openClient(url: string, token: string): Promise<BenchClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` } });
    const queue: string[] = [];
    const waiting: ((data: string) => void)[] = [];
    const client: BenchClient = {
      ws,
      send: (data) => ws.send(data),
      next: () => {
        const ready = queue.shift();
        return ready !== undefined ? Promise.resolve(ready) : new Promise((r) => waiting.push(r));
      },
    };
    ws.on('message', (data) => {
      const text = data.toString();
      client.onMessage?.(text);
      const waiter = waiting.shift();
      if (waiter) waiter(text);
      else if (!client.onMessage) queue.push(text);
    });
    ws.once('open', () => resolve(client));
    ws.once('error', reject);
  });
}

/** Send, wait for the frame to arrive at `receiver`, repeat; the first 20 warm up. */
async function sequential(
  rounds: number,
  receiver: BenchClient,
  send: (i: number) => void,
): Promise<number[]> {
  const samples: number[] = [];
  for (let i = -20; i < rounds; i++) {
    const started = performance.now();
    send(i);
    await Promise.race([
      receiver.next(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('no frame within 10 s')), 10_000)),
    ]);
    if (i >= 0) samples.push(performance.now() - started);
  }
  return samples;
}

/** Records open-loop at `rate` for `seconds`; the latency of each from its send to its delivery. */
async function kafkaLatency(
  producer: Producer,
  client: BenchClient,
  spec: {
    topic: string;
    rate: number;
    seconds: number;
    record: (i: number, sentAt: number) => { key: string; value: string };
    indexOf: (message: string) => number;
  },
): Promise<ReturnType<typeof summarize>> {
  process.stdout.write(`Kafka ${spec.topic}: ${spec.rate} records/s for ${spec.seconds} s…\n`);
  // Warm-up record (the fan-out's cold start), then the measured ones from index 1.
  const sentAt: number[] = [];
  const latencies: number[] = [];
  let received = 0;
  client.onMessage = (message) => {
    received++;
    const i = spec.indexOf(message);
    const sent = sentAt[i];
    if (i > 0 && sent !== undefined) latencies.push(performance.now() - sent);
  };
  const total = 1 + spec.rate * spec.seconds;
  sentAt[0] = performance.now();
  await producer.send({ topic: spec.topic, messages: [spec.record(0, Date.now())] });
  await until(() => received >= 1, 30_000);
  const started = performance.now();
  for (let i = 1; i < total; i++) {
    const wait = started + ((i - 1) * 1000) / spec.rate - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    sentAt[i] = performance.now();
    void producer.send({ topic: spec.topic, acks: -1, messages: [spec.record(i, Date.now())] });
  }
  await until(() => received >= total, 60_000);
  client.ws.terminate();
  return summarize(latencies);
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for deliveries');
    await new Promise((r) => setTimeout(r, 20));
  }
}
