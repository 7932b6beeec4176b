/**
 * DynamoDB writes per delivered event with business plans on: N subscribers of one application
 * (one subscription, plan AsyncGold: limited, so every reservation is a conditional write) on a
 * Kafka-fed topic; the fan-out reports its counter and checkpoint writes per batch.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { pinSelf } from './lib/pin.ts';
import { kafkaProducer, startStackProcess, tokenFrom } from './lib/stack-process.ts';
import { table } from './lib/stats.ts';

export async function run(options: { subscribers?: number; records?: number } = {}): Promise<void> {
  const subscribers = options.subscribers ?? 100;
  const records = options.records ?? 500;
  pinSelf('1');
  const stack = await startStackProcess({ cpu: '0' });
  try {
    const token = await tokenFrom(stack, 'quantis.com', '');
    const train = `writes-${Date.now().toString(36)}`;
    let delivered = 0;
    const clients = await Promise.all(
      Array.from(
        { length: subscribers },
        () =>
          new Promise<WebSocket>((resolve, reject) => {
            const ws = new WebSocket(
              `${stack.urls.ws}/t/quantis.com/train/location/1.0.0/loc-train-qnt-${train}`,
              {
                headers: { Authorization: `Bearer ${token}` },
              },
            );
            ws.on('message', () => delivered++);
            ws.once('open', () => resolve(ws));
            ws.once('error', reject);
          }),
      ),
    );
    const producer = await kafkaProducer(stack);
    const logStart = readFileSync(stack.logFile, 'utf8').length;
    for (let i = 0; i < records; i += 50) {
      await producer.send({
        topic: 'train-locations',
        messages: Array.from({ length: Math.min(50, records - i) }, (_, j) => ({
          key: train,
          value: JSON.stringify({ seq: i + j }),
        })),
      });
    }
    const deadline = Date.now() + 120_000;
    while (delivered < records * subscribers && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    await producer.disconnect();
    for (const c of clients) c.terminate();
    await new Promise((r) => setTimeout(r, 500));

    const batches = readFileSync(stack.logFile, 'utf8')
      .slice(logStart)
      .split('\n')
      .filter((line) => line.includes('batch delivered'))
      .map(
        (line) =>
          JSON.parse(line.slice(line.indexOf('{'))) as {
            records: number;
            sent: number;
            counterWrites: number;
          },
      );
    const counterWrites = batches.reduce((n, b) => n + b.counterWrites, 0);
    const checkpointWrites = batches.length; // one partition per batch here: one checkpoint write each
    const sent = batches.reduce((n, b) => n + b.sent, 0);
    const row = {
      subscribers,
      records,
      batches: batches.length,
      deliveries: sent,
      'counter writes': counterWrites,
      'checkpoint writes': checkpointWrites,
      'writes/delivery': (counterWrites + checkpointWrites) / Math.max(1, sent),
    };
    process.stdout.write(`\nDynamoDB writes per delivered event, business plan AsyncGold\n${table([row])}\n`);
    writeFileSync(
      path.join(import.meta.dirname, 'results', 'throttle-writes.json'),
      `${JSON.stringify({ benchmark: 'throttle-writes', at: new Date().toISOString(), ...row }, null, 1)}\n`,
    );
  } finally {
    await stack.stop();
  }
}
