/**
 * Connect-to-open latency on the local stack: from `new WebSocket` to the `open` event, through
 * the edge function, `$connect` (JWT verification, target resolution, DynamoDB write) and the
 * upgrade. Sequential connects, after a warm-up; prints percentiles and writes JSON.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { startStackProcess, tokenFrom } from './lib/stack-process.ts';
import { summarize, table } from './lib/stats.ts';

/** The rooms the Chats API's handler knows (seed 001); any other is refused with 404. */
const ROOMS = ['room1', 'room2', 'common'];

export async function run(options: { count?: number } = {}): Promise<void> {
  const count = options.count ?? 100;
  const stack = await startStackProcess({ cpu: '0' });
  try {
    const token = await tokenFrom(stack);
    const once = (i: number) =>
      new Promise<number>((resolve, reject) => {
        const started = performance.now();
        const ws = new WebSocket(`${stack.urls.ws}/chats/1.0.0/rooms/${ROOMS[i % 3]}`, {
          headers: { Authorization: `Bearer ${token}` },
        });
        ws.once('open', () => {
          const ms = performance.now() - started;
          // Leave as a chat client does, after the room's greeting ("You joined room1!"): a client
          // that hangs up at once keeps the handler's greeting waiting for a connection that is gone.
          const leave = setTimeout(() => ws.close(), 2_000);
          ws.once('message', () => {
            clearTimeout(leave);
            ws.close();
          });
          ws.once('close', () => resolve(ms));
        });
        ws.once('error', reject);
      });
    for (let i = 0; i < 10; i++) await once(i); // warm-up: cold starts of the functions
    const samples: number[] = [];
    for (let i = 0; i < count; i++) {
      samples.push(await once(i));
      if ((i + 1) % 25 === 0) process.stdout.write(`  ${i + 1}/${count} connects\n`);
    }
    const stats = summarize(samples);
    process.stdout.write(`\nconnect-to-open latency, ${count} sequential connects (ms)\n${table([stats])}\n`);
    const file = path.join(import.meta.dirname, 'results', 'connect.json');
    writeFileSync(
      file,
      `${JSON.stringify({ benchmark: 'connect', at: new Date().toISOString(), stats, samples }, null, 1)}\n`,
    );
    process.stdout.write(`written: ${path.relative(process.cwd(), file)}\n`);
  } finally {
    await stack.stop();
  }
}
