/** Token endpoint latency on the local stack: sequential client_credentials requests. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { requestToken } from '../cli/token-request.ts';
import { pinSelf } from './lib/pin.ts';
import { startStackProcess } from './lib/stack-process.ts';
import { summarize, table } from './lib/stats.ts';

export async function run(options: { count?: number } = {}): Promise<void> {
  const count = options.count ?? 200;
  pinSelf('1');
  const stack = await startStackProcess({ cpu: '0' });
  try {
    const keys = stack.defaultApp.tenants['carbon.super']?.keys.PRODUCTION;
    if (!keys) throw new Error('no DefaultApplication');
    const once = async () => {
      const started = performance.now();
      await requestToken(`${stack.urls.http}/oauth2/token`, keys, 'chat:read chat:write');
      return performance.now() - started;
    };
    for (let i = 0; i < 10; i++) await once();
    const samples: number[] = [];
    for (let i = 0; i < count; i++) samples.push(await once());
    const stats = summarize(samples);
    process.stdout.write(
      `\ntoken endpoint latency, ${count} sequential client_credentials requests (ms)\n${table([stats])}\n`,
    );
    const file = path.join(import.meta.dirname, 'results', 'token.json');
    writeFileSync(
      file,
      `${JSON.stringify({ benchmark: 'token', at: new Date().toISOString(), stats }, null, 1)}\n`,
    );
  } finally {
    await stack.stop();
  }
}
